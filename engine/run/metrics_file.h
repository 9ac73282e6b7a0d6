#pragma once
// metrics.jsonl: every event of a run, one JSON object per line, written as it happens and read
// back by the run readers (run/run_record.h) and the studio.
#include <cstdio>
#include <functional>
#include <ios>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "run/events.h"

namespace moekd {

// Appends every event as one JSON line; flushed per line so a crash keeps everything before it.
class MetricsFileObserver : public RunObserver {
 public:
  explicit MetricsFileObserver(const std::string& path, bool append);
  ~MetricsFileObserver() override;
  void on_step(const StepMetrics& e) override { write(to_json(e)); }
  void on_routing(const RoutingSnapshot& e) override { write(to_json(e)); }
  void on_eval(const EvalResult& e) override { write(to_json(e)); }
  void on_generation(const GenerationSample& e) override { write(to_json(e)); }
  void on_checkpoint(const CheckpointSaved& e) override { write(to_json(e)); }
  void on_finished(const RunFinished& e) override { write(to_json(e)); }
  void on_failed(const RunFailed& e) override { write(to_json(e)); }
  void on_arithmetic(const ArithmeticUsed& e) override { write(to_json(e)); }
  void on_message(const std::string& m) override { write({{"type", "message"}, {"text", m}}); }

 private:
  void write(const nlohmann::json& j);
  std::FILE* file_ = nullptr;
};

// Reads a metrics.jsonl back. `keep_line`, when given, sees each raw line first: lines it refuses
// are not parsed (a run's bulky routing lines when only its curves are wanted). A line torn by a
// killed run is skipped; any other damaged line is refused by number.
std::vector<nlohmann::json> read_metrics(const std::string& path,
                                         const std::function<bool(const std::string&)>& keep_line = {});

// True when `line`, as the writer spells it, is a routing snapshot: a cheap test without parsing.
bool is_routing_line(const std::string& line);

// Sends one metrics.jsonl event to `o` as the engine first emitted it. Returns false for a type
// this version does not know (skipped, as the run readers skip it); a known type with damaged
// fields throws nlohmann::json's exception.
bool replay_event(const nlohmann::json& event, RunObserver& o);

// Follows a metrics.jsonl that another process is writing (a run started as a child process):
// each poll() sends the events completed since the last one. A line still being written waits
// for the next poll; the file may not exist yet.
class MetricsTail {
 public:
  explicit MetricsTail(std::string path) : path_(std::move(path)) {}
  // The number of events sent. An unreadable line is skipped (counted in skipped()), never thrown:
  // the run it belongs to goes on.
  int poll(RunObserver& o);
  int skipped() const { return skipped_; }

 private:
  std::string path_;
  std::streamoff offset_ = 0;
  int skipped_ = 0;
};

}  // namespace moekd
