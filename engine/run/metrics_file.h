#pragma once
// metrics.jsonl: every event of a run, one JSON object per line, written as it happens and read
// back by the run readers (run/run_record.h) and the studio.
#include <cstdio>
#include <functional>
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

}  // namespace moekd
