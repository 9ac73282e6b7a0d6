// distill, train-teacher, eval and export: runs configured by JSON, overridable per field.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "commands.h"
#include "launch.h"
#include "ranges.h"
#include "format.h"
#include "export/export.h"
#include "progress.h"
#include "session/session.h"
#include "util/error.h"
#include "util/json_file.h"

namespace moekd::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted = true; }

struct RunArgs {
  std::string config, run_dir, resume, control;
  int64_t total_steps = 0;
  std::vector<std::string> overrides;
  bool quiet = false;
  int nproc = 1;
};

void add_run_options(CLI::App* cmd, RunArgs& a) {
  cmd->add_option("--config", a.config, "run configuration (JSON); fields not given take their defaults");
  cmd->add_option("--set", a.overrides, "override one field, e.g. --set train.steps=200 (repeatable)");
  cmd->add_option("--run-dir", a.run_dir, "where the run writes config.json, metrics.jsonl and checkpoints");
  cmd->add_option("--resume", a.resume, "continue the run in this folder from its last checkpoint");
  cmd->add_option("--steps", a.total_steps, "with --resume: continue to this many steps in total (a finished run too)")
      ->check(CLI::Range(int64_t{1}, int64_t{100000000}));
  cmd->add_flag("--quiet", a.quiet, "print only the end of the run");
  cmd->add_option("--control", a.control,
                  "steer the run from outside: write pause, run or stop into this file (read before every step)");
  cmd->add_option("--nproc", a.nproc,
                  "start this many processes on this machine, data parallel on Gloo (torchrun and srun set RANK and "
                  "WORLD_SIZE themselves: leave it out there); train.batch_size is per process")
      ->check(CLI::Range(1, 256));
}

RunConfig build_config(const RunArgs& a, const char* forced_method) {
  json j = json::object();
  std::string source = "command line";
  if (!a.config.empty()) {
    j = read_json_file(a.config);
    source = a.config;
  }
  for (const auto& o : a.overrides) apply_override(j, o);
  if (!a.run_dir.empty()) j["run_dir"] = a.run_dir;
  if (forced_method) {
    if (j.contains("method") && j["method"] != forced_method)
      fail(source, ": `method` is ", quote_json(j["method"]), " but this command runs ", forced_method);
    j["method"] = forced_method;
  } else if (j.value("method", std::string("kd")) == "train-teacher") {
    fail(source, ": use `moekd train-teacher` for method train-teacher");
  }
  auto cfg = parse_run_config(j, source);
  if (cfg.run_dir.empty()) fail(source, ": `run_dir` is required (or pass --run-dir DIR)");
  return cfg;
}

// Runs a session to its end; Ctrl-C stops after the current step with a checkpoint.
int run_session(Session& session, const std::string& label, const RunArgs& a) {
  ProgressPrinter progress(session.config().train.steps, label, a.quiet);
  session.add_observer(&progress);
  if (!a.control.empty()) session.watch_control_file(a.control);
  session.watch_stop_flag(&g_interrupted);
  // Ctrl-C, and SIGTERM (a scheduler's or the launcher's), stop after the step with a checkpoint.
  auto previous = std::signal(SIGINT, on_sigint);
  auto previous_term = std::signal(SIGTERM, on_sigint);
  const bool ok = session.run();
  std::signal(SIGINT, previous);
  std::signal(SIGTERM, previous_term);
  if (!ok) fail(progress.failure());
  if (g_interrupted) {
    const char* rank = std::getenv("RANK");
    if (!rank || std::string(rank) == "0")
      std::printf("resume with: moekd distill --resume %s\n", session.config().run_dir.c_str());
    return 130;
  }
  return 0;
}

void add_training_command(CLI::App& app, const char* name, const char* help, const char* forced_method) {
  auto a = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand(name, help);
  add_run_options(cmd, *a);
  cmd->callback([a, forced_method] {
    if (a->nproc > 1) {
      const int code = launch_local_processes(a->nproc, without_nproc(program_args()), 30);
      if (code != 0) throw CLI::RuntimeError(code);
      return;
    }
    std::unique_ptr<Session> session;
    if (!a->resume.empty()) {
      if (!a->config.empty() || !a->overrides.empty())
        fail("--resume continues a run with its own config.json; --config and --set cannot change it");
      session = Session::resume(a->resume, a->total_steps);
    } else {
      if (a->total_steps > 0) fail("--steps goes with --resume; for a new run use --set train.steps=N");
      session = std::make_unique<Session>(build_config(*a, forced_method));
    }
    const int code = run_session(*session, "[" + session->config().name + "]", *a);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace

void add_training(CLI::App& app) {
  add_training_command(app, "distill", "distil a teacher into a student (methods sft, kd, ka, sar)", nullptr);
  add_training_command(app, "train-teacher", "train an MoE model with the auxiliary balance loss", "train-teacher");

  struct EvalArgs {
    std::string run, checkpoint = "best", split = "validation";
    int64_t samples = -1;
    bool json = false;
  };
  auto e = std::make_shared<EvalArgs>();
  auto* eval = app.add_subcommand("eval", "evaluate a run's checkpoint: loss, perplexity, ROUGE-L, exact match per category");
  eval->add_option("--run", e->run, "run folder")->required();
  eval->add_option("--checkpoint", e->checkpoint, "best or last")->capture_default_str();
  eval->add_option("--split", e->split, "validation or test")->capture_default_str();
  eval->add_option("--samples", e->samples, "prompts to generate (default: the run's eval.samples)")
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}));
  eval->add_flag("--json", e->json, "machine-readable output");
  eval->callback([e] {
    if (e->split != "validation" && e->split != "test") fail("--split must be validation or test, got `", e->split, "`");
    auto session = Session::open_for_evaluation(e->run);
    const auto samples = e->samples >= 0 ? e->samples : session->config().eval.samples;
    const auto r = session->evaluate_checkpoint(parse_name<Checkpoint>(e->checkpoint), e->split == "test", samples);
    if (e->json) {
      auto j = to_json(r);
      j["split"] = e->split;
      j["checkpoint"] = e->checkpoint;
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::printf("%s split, checkpoint %s (step %lld)\n", e->split.c_str(), e->checkpoint.c_str(),
                static_cast<long long>(r.step));
    std::printf("%-14s %9s %9s %9s %6s\n", "category", "val loss", "ROUGE-L", "exact", "n");
    for (const auto& [cat, s] : r.per_category)
      std::printf("%-14s %9.4f %9.1f %8.1f%% %6lld\n", cat.c_str(), s.val_loss, 100 * s.rouge_l,
                  100 * s.exact_match, static_cast<long long>(s.examples));
    std::printf("%-14s %9.4f %9.1f %8.1f%%\n", "all", r.val_loss, 100 * r.rouge_l, 100 * r.exact_match);
  });

  struct ExportArgs {
    std::string run, checkpoint = "best", out, teacher_out, dtype = "auto";
    bool json = false;
  };
  auto x = std::make_shared<ExportArgs>();
  auto* exp = app.add_subcommand("export", "write a run's student (and SAR's tuned teacher) as Hugging Face folders");
  exp->add_option("--run", x->run, "run folder")->required();
  exp->add_option("--checkpoint", x->checkpoint, "best or last")->capture_default_str();
  exp->add_option("--out", x->out, "folder for the student")->required();
  exp->add_option("--teacher-out", x->teacher_out, "SAR runs: folder for the teacher with its tuned routers");
  exp->add_option("--dtype", x->dtype, "float32, bfloat16 or float16; auto = the precision the run computed in")
      ->capture_default_str();
  exp->add_flag("--json", x->json, "machine-readable output");
  exp->callback([x] {
    const auto which = parse_name<Checkpoint>(x->checkpoint);
    const auto dtype = parse_name<Precision>(x->dtype);
    std::vector<ExportSummary> done = {export_student(x->run, which, x->out, {}, dtype)};
    if (!x->teacher_out.empty()) done.push_back(export_tuned_teacher(x->run, which, x->teacher_out, {}, dtype));
    json j = json::array();
    for (const auto& s : done) {
      json files = json::array();
      for (const auto& [n, b] : s.files) files.push_back({{"name", n}, {"bytes", b}});
      j.push_back({{"dir", s.dir}, {"architecture", s.architecture}, {"params", s.params}, {"files", files}});
      if (!x->json) {
        std::printf("exported %s (%s params) to %s\n", s.architecture.c_str(), human_count(s.params).c_str(),
                    s.dir.c_str());
        for (const auto& [n, b] : s.files) std::printf("  %-28s %s\n", n.c_str(), human_bytes(b).c_str());
      }
    }
    if (x->json) std::cout << j.dump(2) << "\n";
  });
}

}  // namespace moekd::cli
