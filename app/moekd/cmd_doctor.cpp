#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "backend/system_info.h"

namespace moekd::cli {

void add_doctor(CLI::App& app) {
  auto* cmd = app.add_subcommand("doctor", "LibTorch build, BLAS in use and its measured speed, threads, CUDA devices");
  auto json_out = std::make_shared<bool>(false);
  auto device = std::make_shared<std::string>("cpu");
  cmd->add_flag("--json", *json_out, "machine-readable output");
  cmd->add_option("--device", *device, "where to measure the matmul: cpu, cuda, cuda:N")->capture_default_str();
  cmd->callback([=] {
    const auto info = probe_system(parse_device(*device));
    if (*json_out) {
      nlohmann::json j = {{"torch_version", info.torch_version}, {"blas", info.blas},
                          {"blas_path", info.blas_path},         {"blas_optimised", info.blas_optimised},
                          {"gflops", info.gflops},               {"matmul_size", info.matmul_size},
                          {"threads", info.threads},             {"cuda_devices", info.cuda_devices},
                          {"device", info.device}};
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::printf("LibTorch      %s\n", info.torch_version.c_str());
    std::printf("BLAS          %s%s%s\n", info.blas.c_str(), info.blas_path.empty() ? "" : "  ", info.blas_path.c_str());
    std::printf("matmul        %.1f GFLOP/s (float32 %lld^3 on %s)\n", info.gflops,
                static_cast<long long>(info.matmul_size), info.device.c_str());
    std::printf("threads       %d\n", info.threads);
    std::printf("CUDA devices  %d\n", info.cuda_devices);
    if (!info.blas_optimised)
      std::printf("\nwarning: no optimised BLAS is loaded; training will be ~30x slower.\n"
                  "         On Debian: apt-get install libopenblas0-pthread\n");
  });
}

}  // namespace moekd::cli
