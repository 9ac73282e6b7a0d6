// `moekd demo`: the whole story on a laptop CPU. Trains a small MoE teacher on the built-in tasks,
// exports it, then distils one fresh dense student (same seed, same data) with sft (no teacher),
// kd, ka and sar, and prints the comparison.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "bench/bench_distill.h"
#include "commands.h"
#include "format.h"
#include "export/export.h"
#include "progress.h"
#include "session/session.h"
#include "util/error.h"

namespace moekd::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// The final evaluation of a run (every method is compared at the same step) and its best one by
// ROUGE-L (what the run's best checkpoint holds).
struct Evaluations : RunObserver {
  void on_eval(const EvalResult& r) override {
    if (!have || r.rouge_l > best.rouge_l || (r.rouge_l == best.rouge_l && r.val_loss < best.val_loss)) best = r;
    final = r;
    have = true;
  }
  EvalResult final, best;
  bool have = false;
};

json base_run(const std::string& name, const fs::path& dir, int64_t steps, const std::string& device) {
  return {{"name", name},
          {"run_dir", (dir / name).string()},
          {"data", {{"kind", "builtin"}, {"seed", 1234}, {"train_examples", 12000}, {"validation_examples", 240},
                    {"test_examples", 240}, {"max_len", 48}}},
          {"train", {{"steps", steps}, {"batch_size", 32}, {"lr", 3e-3}, {"warmup_steps", steps / 20},
                     {"schedule", "cosine"}, {"min_lr_ratio", 0.05}, {"weight_decay", 0.01}, {"clip_norm", 1.0},
                     {"seed", 7}, {"device", device}}},
          {"eval", {{"every", std::max<int64_t>(1, steps / 4)}, {"samples", 120}, {"max_new_tokens", 16}}},
          {"log_every", std::max<int64_t>(1, steps / 50)},
          {"routing_every", std::max<int64_t>(1, steps / 20)},
          {"checkpoint_every", 0}};
}

}  // namespace

void add_demo(CLI::App& app) {
  struct Args {
    std::string out = "moekd-demo", device = "cpu";
    double scale = 1.0;
    std::vector<std::string> methods = {"sft", "kd", "ka", "sar"};
    bool quiet = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("demo", "train a small MoE teacher on the built-in tasks and distil it with each method");
  cmd->add_option("--out", a->out, "output folder (runs, exported models, results.json)")->capture_default_str();
  cmd->add_option("--device", a->device, "cpu, cuda, cuda:N")->capture_default_str();
  cmd->add_option("--scale", a->scale, "multiply every run's steps (e.g. 0.1 for a quick look)")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 100.0));
  cmd->add_option("--methods", a->methods, "methods to distil with")->capture_default_str();
  cmd->add_flag("--quiet", a->quiet, "print only each run's end and the table");
  cmd->callback([a] {
    for (const auto& m : a->methods)
      if (m != "sft" && m != "kd" && m != "ka" && m != "sar")
        fail("--methods: `", m, "` is not a distillation method; expected sft, kd, ka or sar");
    const fs::path out(a->out);
    if (fs::exists(out / "results.json") || fs::exists(out / "teacher-run"))
      fail(a->out, ": already holds a demo; choose another --out");
    fs::create_directories(out);
    auto steps = [&](int64_t n) { return std::max<int64_t>(2, static_cast<int64_t>(n * a->scale)); };
    json results = json::array();
    auto run = [&](json j, const std::string& label) {
      auto session = std::make_unique<Session>(parse_run_config(j, "demo " + label));
      Evaluations evals;
      session->add_observer(&evals);
      const auto start = std::chrono::steady_clock::now();
      ProgressPrinter progress(session->config().train.steps, "[" + label + "]", a->quiet);
      session->add_observer(&progress);
      if (!session->run()) fail(label, ": ", progress.failure());
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      results.push_back({{"method", label},
                         {"step", evals.final.step},
                         {"val_loss", evals.final.val_loss},
                         {"rouge_l", evals.final.rouge_l},
                         {"exact_match", evals.final.exact_match},
                         {"best_rouge_l", evals.best.rouge_l},
                         {"best_step", evals.best.step},
                         {"seconds", seconds},
                         {"run_dir", session->config().run_dir}});
      json per_cat = json::object();
      for (const auto& [c, s] : evals.final.per_category) per_cat[c] = {{"rouge_l", s.rouge_l}, {"exact_match", s.exact_match}};
      results.back()["per_category"] = per_cat;
    };

    // 1. The teacher: an 8-expert top-2 MoE trained with the Switch balance loss.
    auto teacher = base_run("teacher-run", out, steps(3000), a->device);
    teacher["method"] = "train-teacher";
    teacher["student"] = {{"init", demo_teacher_config()}, {"init_std", 0.02}};
    teacher["train"]["lr"] = 2e-3;
    teacher["train"]["balance_weight"] = 0.01;
    run(teacher, "teacher");
    export_student((out / "teacher-run").string(), Checkpoint::Best, (out / "teacher").string());

    // 2. One student shape, one seed, one data order: only the method differs.
    for (const auto& method : a->methods) {
      auto j = base_run(method, out, steps(800), a->device);
      j["method"] = method;
      j["student"] = {{"init", demo_student_config()}, {"init_std", 0.02}};
      j["teacher"] = {{"path", (out / "teacher").string()}};
      j["distill"] = {{"divergence", "forward_kl"}, {"alpha", 0.5}, {"temperature", 1.0}};
      if (method == "ka") j["ka"] = {{"m", 2}, {"lambda", 0.1}};
      if (method == "sar") j["sar"] = {{"router_lr", 1e-3}, {"direction", "forward"}, {"balance_weight", 0.01}};
      if (method == "sft") j.erase("teacher");
      run(j, method);
    }

    std::ofstream(out / "results.json") << results.dump(2) << "\n";
    std::printf("\nthe last evaluation of each run, and its best ROUGE-L (the best checkpoint)\n");
    std::printf("%-8s %6s %9s %9s %12s %14s %9s\n", "method", "step", "val loss", "ROUGE-L", "exact match",
                "best ROUGE-L", "time");
    for (const auto& r : results)
      std::printf("%-8s %6lld %9.4f %9.1f %11.1f%% %6.1f @ %5lld %9s\n",
                  r["method"].get<std::string>().c_str(), static_cast<long long>(r["step"].get<int64_t>()),
                  r["val_loss"].get<double>(), 100 * r["rouge_l"].get<double>(), 100 * r["exact_match"].get<double>(),
                  100 * r["best_rouge_l"].get<double>(), static_cast<long long>(r["best_step"].get<int64_t>()),
                  format_duration(r["seconds"].get<double>()).c_str());
    std::printf("\nresults: %s\n", (out / "results.json").string().c_str());
  });
}

}  // namespace moekd::cli
