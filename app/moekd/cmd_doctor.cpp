// SPDX-License-Identifier: MIT
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "backend/aten_kernels.h"
#include "backend/openblas_core.h"
#include "backend/system_info.h"
#include "commands.h"
#include "data/spm_library.h"
#include "run/resources.h"
#include "util/error.h"

namespace moekd::cli {

namespace {

// What an installation found of its own files: where the presets and the demo teacher come from,
// and which SentencePiece plugin loads (or why none does).
struct InstallInfo {
  std::string resources, sentencepiece;
  bool sentencepiece_ok = false;
};

InstallInfo probe_install() {
  InstallInfo out;
  try {
    out.resources = std::filesystem::path(find_resource("presets")).parent_path().string();
  } catch (const Error& e) {
    out.resources = e.what();
  }
  try {
    out.sentencepiece = spm_api().path;
    out.sentencepiece_ok = true;
  } catch (const Error& e) {
    out.sentencepiece = e.what();
  }
  return out;
}

}  // namespace

void add_doctor(CLI::App& app) {
  auto* cmd = app.add_subcommand("doctor", "LibTorch build, BLAS in use and its measured speed, threads, CUDA devices");
  auto json_out = std::make_shared<bool>(false);
  auto device = std::make_shared<std::string>("cpu");
  cmd->add_flag("--json", *json_out, "machine-readable output");
  cmd->add_option("--device", *device, "where to measure the matmul: cpu, cuda, cuda:N")->capture_default_str();
  cmd->callback([=] {
    const auto info = probe_system(parse_device(*device));
    const auto core = openblas_core();  // after the probe: its matmul has loaded the BLAS
    const auto aten = aten_kernels();
    const auto features = feature_names(detect_cpu_features());
    const auto install = probe_install();
    std::string check;
    const bool check_ok = core.loaded && blas_self_check(&check);
    // The CPU could run faster kernels than those in use (a core type set by hand, or refused).
    const bool slower = core.loaded && core_rank(core.in_use) >= 0 && core_rank(core.best) > core_rank(core.in_use);
    if (*json_out) {
      nlohmann::json j = {{"torch_version", info.torch_version}, {"blas", info.blas},
                          {"blas_path", info.blas_path},         {"blas_optimised", info.blas_optimised},
                          {"gflops", info.gflops},               {"matmul_size", info.matmul_size},
                          {"threads", info.threads},             {"cuda_devices", info.cuda_devices},
                          {"device", info.device},               {"cpu_features", features},
                          {"resources", install.resources},      {"sentencepiece", install.sentencepiece},
                          {"sentencepiece_ok", install.sentencepiece_ok}};
      j["aten_kernels"] = {{"in_use", aten.in_use}, {"source", aten.source}, {"best_for_cpu", aten.best}};
      if (core.loaded)
        j["openblas"] = {{"core", core.in_use},       {"detected", core.detected}, {"source", core.source},
                         {"best_for_cpu", core.best}, {"rejected", core.rejected}, {"config", core.config},
                         {"self_check", check_ok},    {"self_check_detail", check}, {"slower_than_cpu_allows", slower}};
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::printf("LibTorch      %s\n", info.torch_version.c_str());
    std::printf("BLAS          %s%s%s\n", info.blas.c_str(), info.blas_path.empty() ? "" : "  ", info.blas_path.c_str());
    std::printf("matmul        %.1f GFLOP/s (float32 %lld^3 on %s)\n", info.gflops,
                static_cast<long long>(info.matmul_size), info.device.c_str());
    if (core.loaded) {
      std::printf("BLAS kernels  %s (%s%s)\n", core.in_use.c_str(), core.source.c_str(),
                  core.source == "chosen by moekd" ? (", OpenBLAS detected " + core.detected).c_str() : "");
      std::string cpu;
      for (const auto& f : features) cpu += (cpu.empty() ? "" : " ") + f;
      std::printf("CPU           %s; best kernels for it: %s\n", cpu.empty() ? "no AVX" : cpu.c_str(),
                  core.best.empty() ? "n/a" : core.best.c_str());
      std::printf("self-check    %s (%s)\n", check_ok ? "ok" : "FAILED", check.c_str());
      if (!core.rejected.empty()) std::printf("refused       %s\n", core.rejected.c_str());
    }
    std::printf("ATen kernels  %s (%s; best for this CPU: %s)\n", aten.in_use.c_str(), aten.source.c_str(),
                aten.best.c_str());
    std::printf("threads       %d\n", info.threads);
    std::printf("CUDA devices  %d\n", info.cuda_devices);
    std::printf("resources     %s\n", install.resources.c_str());
    std::printf("SentencePiece %s%s\n", install.sentencepiece_ok ? "" : "not available: ", install.sentencepiece.c_str());
    if (slower)
      std::printf("\nnote: this CPU supports OpenBLAS's %s kernels, faster than %s: %s\n", core.best.c_str(),
                  core.in_use.c_str(),
                  core.source == "set by OPENBLAS_CORETYPE"
                      ? "OPENBLAS_CORETYPE is set, so it is respected (unset it to let moekd choose)"
                      : core.rejected.empty() ? "unset MOEKD_OPENBLAS_AUTO to let moekd choose"
                                               : "they were refused here (above)");
    if (aten_rank(aten.in_use) >= 0 && aten_rank(aten.in_use) < aten_rank(aten.best))
      std::printf("\nnote: this CPU supports ATen's %s kernels, faster than %s: %s\n", aten.best.c_str(),
                  aten.in_use.c_str(),
                  aten.source == "set by ATEN_CPU_CAPABILITY"
                      ? "ATEN_CPU_CAPABILITY is set, so it is respected (unset it to let moekd choose)"
                      : "unset MOEKD_ATEN_AUTO to let moekd choose");
    if (!info.blas_optimised)
      std::printf("\nwarning: no optimised BLAS is loaded; training will be ~30x slower.\n"
                  "         On Debian: apt-get install libopenblas0-pthread\n");
  });
}

}  // namespace moekd::cli
