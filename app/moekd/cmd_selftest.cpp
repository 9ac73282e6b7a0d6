// `moekd selftest`: the engine's numerical checks on one device, one line each; exit code 1 when
// any check fails.
#include <chrono>
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "selftest/selftest.h"

namespace moekd::cli {

void add_selftest(CLI::App& app) {
  struct Args {
    std::string device = "cpu";
    uint64_t seed = 0;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("selftest", "numerical checks of the engine on a device: MoE dispatch, divergences, "
                                             "KA sampling, half-precision forwards, KD/KA/SAR steps");
  cmd->add_option("--device", a->device, "cpu, cuda, cuda:N")->capture_default_str();
  cmd->add_option("--seed", a->seed, "seed of the random models and inputs")->capture_default_str();
  cmd->add_flag("--json", a->json, "one JSON object per check instead of the table");
  cmd->callback([a] {
    SelftestOptions opt;
    opt.device = a->device;
    opt.seed = a->seed;
    const auto start = std::chrono::steady_clock::now();
    if (!a->json) std::printf("%-4s  %-58s %10s %10s  %s\n", "", "check", "error", "tolerance", "measure");
    const auto checks = run_selftest(opt, [&](const SelfCheck& c) {
      if (a->json) {
        std::cout << nlohmann::json{{"name", c.name}, {"error", c.error}, {"tolerance", c.tolerance},
                                    {"measure", c.measure}, {"passed", c.passed()}}
                         .dump()
                  << std::endl;
      } else {
        std::printf("%-4s  %-58s %10.2e %10.2e  %s\n", c.passed() ? "ok" : "FAIL", c.name.c_str(), c.error,
                    c.tolerance, c.measure.c_str());
        std::fflush(stdout);
      }
    });
    int failed = 0;
    for (const auto& c : checks) failed += c.passed() ? 0 : 1;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(a->json ? stderr : stdout, "%zu checks on %s, %d failed (%.1f s)\n", checks.size(), a->device.c_str(),
                 failed, seconds);
    if (failed > 0) throw CLI::RuntimeError(1);
  });
}

}  // namespace moekd::cli
