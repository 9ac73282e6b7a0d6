#include "run/run_record.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "run/metrics_file.h"
#include "util/error.h"
#include "util/input_file.h"
#include "util/json_file.h"
#include "util/json_read.h"

namespace moekd {

namespace fs = std::filesystem;
using json = nlohmann::json;

const char* run_status_name(RunStatus s) {
  switch (s) {
    case RunStatus::Finished: return "finished";
    case RunStatus::Stopped: return "stopped";
    case RunStatus::Failed: return "failed";
    case RunStatus::Running: return "running";
    case RunStatus::Incomplete: return "incomplete";
  }
  return "?";
}

namespace {

json read_config(const fs::path& dir) {
  const std::string path = RunFolder(dir.string()).config().string();
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(path, ": does not exist (is ", dir.string(), " a run folder?)");
  json j = read_json_file(path);
  if (!j.is_object()) fail(path, ": expected a JSON object");
  return j;
}

template <typename T>
T field(const json& j, const char* key, T fallback) {
  return field_or<T>(j, key, std::move(fallback));  // a value of another type reads as absent
}

// A resumed run repeats the steps after its last checkpoint: the later record of a step wins.
template <typename Event>
void keep_latest(std::vector<Event>& v) {
  std::vector<Event> out;
  for (auto& x : v) {
    while (!out.empty() && out.back().step >= x.step) out.pop_back();
    out.push_back(std::move(x));
  }
  v = std::move(out);
}

void summarise(RunRecord& r, double ended_sessions_seconds) {
  RunSummary& s = r.summary;
  if (!r.steps.empty()) {
    s.step = r.steps.back().step;
    s.train_loss = r.steps.back().loss;
    // Steps are logged every log_every steps: the mean logged step time stands for all of them.
    double sum = 0;
    for (const auto& m : r.steps) {
      sum += m.step_seconds;
      s.peak_memory = std::max(s.peak_memory, m.peak_memory);
    }
    s.seconds = sum / static_cast<double>(r.steps.size()) * static_cast<double>(s.step);
  }
  if (!r.evals.empty()) {
    const auto& last = r.evals.back();
    s.step = std::max(s.step, last.step);
    s.val_loss = last.val_loss;
    s.rouge_l = last.rouge_l;
    s.exact_match = last.exact_match;
    for (const auto& e : r.evals)
      if (std::isnan(s.best_val_loss) || e.val_loss < s.best_val_loss) s.best_val_loss = e.val_loss;
  }
  if (r.failed) {
    s.status = RunStatus::Failed;
    s.failure = r.failed->message;
  } else if (r.finished) {
    s.status = r.finished->stopped_early ? RunStatus::Stopped : RunStatus::Finished;
    s.step = r.finished->step;
    s.seconds = ended_sessions_seconds;
  }
}

}  // namespace

RunRecord load_run(const std::string& dir_in, RunDetail detail) {
  RunRecord r;
  const fs::path dir = fs::absolute(dir_in).lexically_normal();
  RunSummary& s = r.summary;
  s.dir = dir.string();
  if (!s.dir.empty() && s.dir.back() == '/' && s.dir.size() > 1) s.dir.pop_back();
  r.config = relocate_run_config(read_config(dir), s.dir, &r.relocated);
  s.name = field<std::string>(r.config, "name", fs::path(s.dir).filename().string());
  s.method = field<std::string>(r.config, "method", "?");
  if (const auto t = r.config.find("train"); t != r.config.end() && t->is_object())
    s.total_steps = field<int64_t>(*t, "steps", 0);
  const RunFolder run(dir.string());
  s.has_best = run.checkpoint(Checkpoint::Best).exists();
  s.has_last = run.checkpoint(Checkpoint::Last).exists();

  const fs::path metrics = run.metrics();
  if (!fs::exists(metrics)) return r;  // created, not started
  auto not_routing = [](const std::string& line) { return !is_routing_line(line); };
  const auto events = detail == RunDetail::Summary ? read_metrics(metrics.string(), not_routing)
                                                   : read_metrics(metrics.string());
  double ended_sessions_seconds = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const json& e = events[i];
    try {
      const auto type = field<std::string>(e, "type", "");
      if (type == "step" || type == "eval") {  // training goes on: an earlier ending was resumed
        r.finished.reset();
        r.failed.reset();
      }
      if (type == "step") {
        r.steps.push_back(step_metrics_from_json(e));
      } else if (type == "eval") {
        r.evals.push_back(eval_result_from_json(e));
        if (detail == RunDetail::Summary) r.evals.back().samples.clear();
      } else if (type == "routing") {
        if (detail == RunDetail::Full) r.routing.push_back(routing_snapshot_from_json(e));
      } else if (type == "generation") {
        r.generation = generation_sample_from_json(e);
      } else if (type == "checkpoint") {
        r.checkpoints.push_back(checkpoint_saved_from_json(e));
      } else if (type == "finished") {
        r.finished = run_finished_from_json(e);
        ended_sessions_seconds += r.finished->seconds;
        r.failed.reset();
      } else if (type == "failed") {
        r.failed = run_failed_from_json(e);
        r.finished.reset();
      } else if (type == "message") {
        r.messages.push_back(field<std::string>(e, "text", ""));
      } else if (type == "arithmetic") {
        s.arithmetic.push_back(arithmetic_used_from_json(e));
      }
      // Other types come from newer versions: skipped, so their runs still open.
    } catch (const json::exception& ex) {
      fail(metrics.string(), ": event ", i + 1, " is damaged (", ex.what(), ")");
    }
  }
  keep_latest(r.steps);
  keep_latest(r.evals);
  summarise(r, ended_sessions_seconds);
  return r;
}

}  // namespace moekd
