// `moekd demo`: the whole story on a laptop CPU. Takes the demo MoE teacher that ships with the
// project (or trains it again from its recipe with --train-teacher), reports how it scores, then
// distils one fresh dense student (same seed, same data) with sft (no teacher), kd, ka and sar,
// and prints the comparison. results.json keeps the table, which teacher was used, and the BLAS
// kernels that computed it (other kernels round differently, and the numbers differ with them).
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "backend/aten_kernels.h"
#include "backend/openblas_core.h"
#include "commands.h"
#include "ranges.h"
#include "export/export.h"
#include "format.h"
#include "progress.h"
#include "run/demo_recipe.h"
#include "session/session.h"
#include "util/error.h"

namespace moekd::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

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

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

json row(const std::string& label, const EvalResult& final, const EvalResult& best, double seconds,
         const std::string& where) {
  json per_cat = json::object();
  for (const auto& [c, s] : final.per_category) per_cat[c] = {{"rouge_l", s.rouge_l}, {"exact_match", s.exact_match}};
  return {{"method", label},           {"step", final.step},           {"val_loss", final.val_loss},
          {"rouge_l", final.rouge_l},  {"exact_match", final.exact_match}, {"best_rouge_l", best.rouge_l},
          {"best_step", best.step},    {"seconds", seconds},           {"run_dir", where},
          {"per_category", per_cat}};
}

json blas_report() {
  const auto core = openblas_core();
  return {{"openblas_core", core.in_use}, {"source", core.source}, {"best_for_cpu", core.best},
          {"aten_kernels", aten_kernels().in_use}, {"cpu_features", feature_names(detect_cpu_features())}};
}

void print_table(const json& results) {
  std::printf("\nthe last evaluation of each run, and its best ROUGE-L (the best checkpoint)\n");
  std::printf("%-14s %6s %9s %9s %12s %14s %9s\n", "method", "step", "val loss", "ROUGE-L", "exact match",
              "best ROUGE-L", "time");
  bool from_sft = false;
  for (const auto& r : results["runs"]) {
    const std::string label = r["method"].get<std::string>() + (r.contains("from") ? " *" : "");
    from_sft = from_sft || r.contains("from");
    // The shipped teacher was evaluated, not trained here: it has no step of this demo.
    const int64_t step = r["step"].get<int64_t>(), best_step = r["best_step"].get<int64_t>();
    const std::string at = step > 0 ? std::to_string(step) : "-", best_at = step > 0 ? std::to_string(best_step) : "-";
    std::printf("%-14s %6s %9.4f %9.1f %11.1f%% %6.1f @ %5s %9s\n", label.c_str(), at.c_str(),
                r["val_loss"].get<double>(), 100 * r["rouge_l"].get<double>(), 100 * r["exact_match"].get<double>(),
                100 * r["best_rouge_l"].get<double>(), best_at.c_str(), format_duration(r["seconds"].get<double>()).c_str());
  }
  if (from_sft) std::printf("* started from the sft run's student, then trained on its own answers\n");
  std::printf("\nteacher: %s\n", results["teacher"].get<std::string>().c_str());
  const auto& blas = results["blas"];
  std::printf("BLAS kernels: %s (%s), ATen %s; numbers differ under other kernels\n",
              blas["openblas_core"].get<std::string>().c_str(), blas["source"].get<std::string>().c_str(),
              blas["aten_kernels"].get<std::string>().c_str());
  std::printf("total %s\n", format_duration(results["seconds"].get<double>()).c_str());
}

}  // namespace

void add_demo(CLI::App& app) {
  struct Args {
    std::string out = "moekd-demo", device = "cpu";
    double scale = 1.0;
    std::vector<std::string> methods = demo_methods();
    bool quiet = false, train_teacher = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("demo", "distil the demo MoE teacher into a small student with each method");
  cmd->add_option("--out", a->out, "output folder (runs, results.json)")->capture_default_str();
  cmd->add_option("--device", a->device, "cpu, cuda, cuda:N")->capture_default_str();
  cmd->add_option("--scale", a->scale, "multiply every run's steps (e.g. 0.1 for a quick look)")
      ->capture_default_str()
      ->check(finite_in(0.001, 100.0));
  cmd->add_option("--methods", a->methods, "methods to distil with")->capture_default_str();
  cmd->add_flag("--train-teacher", a->train_teacher,
                "train the teacher again from its recipe (resources/presets/demo-teacher.json) instead of "
                "taking the one that ships with moekd");
  cmd->add_flag("--quiet", a->quiet, "print only each run's end and the table");
  cmd->callback([a] {
    for (const auto& m : a->methods)
      if (std::find(demo_methods().begin(), demo_methods().end(), m) == demo_methods().end()) {
        std::string known;
        for (const auto& k : demo_methods()) known += (known.empty() ? "" : ", ") + k;
        fail("--methods: `", m, "` is not a demo run; expected one of ", known);
      }
    const fs::path out(a->out);
    if (fs::exists(out / "results.json") || fs::exists(out / "teacher-run"))
      fail(a->out, ": already holds a demo; choose another --out");
    const std::string shipped = a->train_teacher ? std::string() : shipped_demo_teacher();
    fs::create_directories(out);
    const auto start = clock_type::now();
    json results = {{"runs", json::array()}, {"blas", blas_report()}};
    auto run = [&](const json& config, const std::string& label) {
      auto session = std::make_unique<Session>(parse_run_config(config, "demo " + label));
      Evaluations evals;
      session->add_observer(&evals);
      const auto run_start = clock_type::now();
      ProgressPrinter progress(session->config().train.steps, "[" + label + "]", a->quiet);
      session->add_observer(&progress);
      if (!session->run()) fail(label, ": ", progress.failure());
      results["runs"].push_back(row(label, evals.final, evals.best, seconds_since(run_start), session->config().run_dir));
    };

    // 1. The teacher: an 8-expert top-2 MoE, trained with the Switch balance loss.
    std::string teacher = shipped;
    if (a->train_teacher) {
      run(demo_teacher_run((out / "teacher-run").string(), a->scale, a->device), "teacher");
      teacher = (out / "teacher").string();
      export_student((out / "teacher-run").string(), Checkpoint::Best, teacher);
      results["teacher"] = "trained here (" + (out / "teacher-run").string() + "), exported to " + teacher;
    } else {
      // How the shipped teacher scores on the same validation prompts as the students.
      json config = demo_student_run("sft", (out / "teacher-eval").string(), "", a->scale, a->device);
      config["student"] = {{"path", shipped}};
      const auto eval_start = clock_type::now();
      const auto r = Session(parse_run_config(config, "demo teacher")).evaluate_student(false, config["eval"]["samples"]);
      results["runs"].push_back(row("teacher", r, r, seconds_since(eval_start), shipped));
      results["teacher"] = "shipped with moekd (" + shipped + ")";
      if (!a->quiet)
        std::printf("[teacher] %s: exact match %.1f%%, ROUGE-L %.1f on the validation prompts\n", shipped.c_str(),
                    100 * r.exact_match, 100 * r.rouge_l);
    }

    // 2. One student shape, one seed, one data order: only the method differs.
    //    The on-policy runs start from the sft run's student when it ran first (the paper authors
    //    fine-tune their students before distilling on the students' own answers).
    std::string sft_student;
    for (const auto& method : a->methods) {
      const bool from_sft = demo_run_is_on_policy(method) && !sft_student.empty();
      run(demo_student_run(method, (out / method).string(), teacher, a->scale, a->device, from_sft ? sft_student : ""),
          method);
      if (from_sft) results["runs"].back()["from"] = "sft";
      if (method == "sft") {
        sft_student = (out / "sft-student").string();
        export_student((out / "sft").string(), Checkpoint::Best, sft_student);
      }
    }

    results["seconds"] = seconds_since(start);
    std::ofstream(out / "results.json") << results.dump(2) << "\n";
    print_table(results);
    std::printf("results: %s\n", (out / "results.json").string().c_str());
  });
}

}  // namespace moekd::cli
