// `moekd plan`: the memory a run needs and the largest batch that fits, from its config alone.
#include <iostream>

#include "commands.h"
#include "ranges.h"
#include "format.h"
#include "run/run_config.h"
#include "session/plan.h"
#include "util/error.h"
#include "util/json_file.h"

namespace moekd::cli {

void add_plan(CLI::App& app) {
  struct Args {
    std::string config, device;
    std::vector<std::string> overrides;
    double memory_gb = 0;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("plan", "memory a run needs (weights, gradients, optimizer, activations) and the "
                                         "largest batch that fits; from config files alone");
  cmd->add_option("--config", a->config, "run configuration (JSON)")->required();
  cmd->add_option("--set", a->overrides, "override one field, e.g. --set train.batch_size=32 (repeatable)");
  cmd->add_option("--device", a->device, "the target machine: cpu or cuda (default: the config's train.device)");
  cmd->add_option("--memory-gb", a->memory_gb, "the target's memory in GiB: reports the largest batch that fits")
      ->check(finite_in(0.0, 1e6, true));
  cmd->add_flag("--json", a->json, "machine-readable output");
  cmd->callback([a] {
    auto j = read_json_file(a->config);
    for (const auto& o : a->overrides) apply_override(j, o);
    const auto cfg = parse_run_config(j, a->config);
    const std::string device = a->device.empty() ? cfg.train.device : a->device;
    const auto memory = static_cast<int64_t>(a->memory_gb * (1ll << 30));
    const auto p = plan_memory(cfg, device.rfind("cuda", 0) == 0 ? "cuda" : device, memory);
    if (a->json) {
      std::cout << to_json(p).dump(2) << "\n";
      return;
    }
    std::printf("%s run on %s in %s, batch %lld x %lld tokens%s\n", name_of(cfg.method), p.device.c_str(),
                name_of(p.precision), static_cast<long long>(cfg.train.batch_size),
                static_cast<long long>(cfg.data.max_len), cfg.train.checkpoint_activations ? ", checkpointed layers" : "");
    auto row = [](const char* what, int64_t bytes, const std::string& note) {
      std::printf("  %-18s %10s  %s\n", what, human_bytes(static_cast<uint64_t>(bytes)).c_str(), note.c_str());
    };
    if (p.teacher_params > 0) row("teacher weights", p.teacher_weights, human_count(p.teacher_params) + " parameters");
    row("student weights", p.student_weights, human_count(p.student_params) + " parameters, float32 master weights");
    row("gradients", p.gradients, "");
    row("optimizer", p.optimizer, "AdamW moments");
    row("activations", p.activations, "per micro-batch, at data.max_len");
    if (p.runtime > 0) row("runtime", p.runtime, "LibTorch itself");
    row("total", p.total, "");
    if (p.memory > 0)
      std::printf("largest batch in %s: %lld%s\n", human_bytes(static_cast<uint64_t>(p.memory)).c_str(),
                  static_cast<long long>(p.max_batch_size),
                  p.max_batch_size == 0 ? " (not even one sequence: the weights alone do not fit)" : "");
  });
}

}  // namespace moekd::cli
