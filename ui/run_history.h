#pragma once
// A run folder read back from disk: its config.json and every event of its metrics.jsonl as the
// structs the live views take, plus the summary the Runs table compares. The engine writes these
// files (DESIGN.md 7); reading them needs no LibTorch.
#include <QDateTime>
#include <QString>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "session/events.h"

namespace moekd::ui {

enum class RunStatus { Finished, Stopped, Failed, Running, Incomplete };
QString statusName(RunStatus s);

struct RunSummary {
  QString dir;           // absolute path of the run folder
  QString name, method;  // from config.json
  RunStatus status = RunStatus::Incomplete;
  qint64 step = 0, totalSteps = 0;
  double seconds = 0;                  // from the finished event; else the sum of step times
  double trainLoss = qQNaN();          // the last logged step
  double valLoss = qQNaN(), rougeL = qQNaN(), exactMatch = qQNaN();  // the last evaluation
  double bestValLoss = qQNaN();
  QString failure;                     // the failed event's message
  QDateTime modified;                  // metrics.jsonl's last write
  bool hasBest = false, hasLast = false;  // checkpoints/{best,last}/model
};

struct RunHistory {
  nlohmann::json config;
  std::vector<moekd::StepMetrics> steps;
  std::vector<moekd::EvalResult> evals;
  std::vector<moekd::RoutingSnapshot> routing;
  std::vector<moekd::CheckpointSaved> checkpoints;
  std::vector<QString> messages;
  std::optional<moekd::RunFinished> finished;
  std::optional<moekd::RunFailed> failed;
  RunSummary summary;
};

// How much of a run to read. Summary (the Runs table, the overlay, the export dialog) skips the
// routing snapshots and the evaluations' sample generations, the bulk of a long MoE run's file;
// Full is for showing the run in every view.
enum class RunDetail { Summary, Full };

// Reads `dir`/config.json and `dir`/metrics.jsonl. Throws moekd::Error naming the file (and the
// line) when the folder is not a run or a line is damaged; a torn last line (a killed run) is
// skipped. A resumed run's sessions are read as one run.
RunHistory loadRunHistory(const QString& dir, RunDetail detail = RunDetail::Full);

// True when `dir` holds a run's config.json and metrics.jsonl (an exported Hugging Face folder has
// a config.json too).
bool isRunFolder(const QString& dir);

}  // namespace moekd::ui
