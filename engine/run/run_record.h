#pragma once
// A run folder read back from disk: its config.json and the events of its metrics.jsonl as the
// structs the engine emitted, plus a summary for comparing runs (`moekd runs`, the studio's Runs
// view). Needs no LibTorch. A resumed run's sessions read as one run.
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "run/events.h"
#include "run/run_folder.h"

namespace moekd {

enum class RunStatus { Finished, Stopped, Failed, Running, Incomplete };
const char* run_status_name(RunStatus s);  // "finished", ..., "incomplete"

struct RunSummary {
  std::string dir;           // absolute
  std::string name, method;  // from config.json
  RunStatus status = RunStatus::Incomplete;
  int64_t step = 0, total_steps = 0;
  double seconds = 0;        // every ended session's time; else estimated from the logged steps
  double train_loss = NAN;   // the last logged step
  double val_loss = NAN, rouge_l = NAN, exact_match = NAN;  // the last evaluation
  double best_val_loss = NAN;
  int64_t peak_memory = 0;   // bytes: the most any logged step reported
  std::string failure;       // the failed event's message
  bool has_best = false, has_last = false;  // checkpoints/{best,last}/model
  std::vector<ArithmeticUsed> arithmetic;   // reported at the start and at every resume (older runs: none)
};

// Summary skips the routing snapshots (without parsing them) and the evaluations' sample
// generations, the bulk of a long MoE run's file; Full keeps everything.
enum class RunDetail { Summary, Full };

struct RunRecord {
  nlohmann::json config;               // relocated to where the folder is now (relocate_run_config)
  std::vector<StepMetrics> steps;      // a step logged twice (resume) keeps its later record
  std::vector<EvalResult> evals;
  std::vector<RoutingSnapshot> routing;
  std::vector<CheckpointSaved> checkpoints;
  std::optional<GenerationSample> generation;  // on-policy runs: the latest the student wrote
  std::vector<std::string> messages;
  std::optional<RunFinished> finished;  // the run's last ending, unless training went on after it
  std::optional<RunFailed> failed;
  RunSummary summary;
  std::vector<RelocatedPath> relocated;  // paths of a copied or moved run found beside it (run_folder.h)
};

// Throws moekd::Error naming the file (and the line) when `dir` is not a run or its files are
// damaged; a line torn by a killed run is skipped.
RunRecord load_run(const std::string& dir, RunDetail detail = RunDetail::Full);

}  // namespace moekd
