#include "session/events.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "util/error.h"

namespace moekd {

using json = nlohmann::json;

json to_json(const StepMetrics& e) {
  return {{"type", "step"},         {"step", e.step},
          {"loss", e.loss},         {"ce", e.ce},
          {"divergence", e.divergence}, {"router_loss", e.router_loss},
          {"balance_loss", e.balance_loss}, {"lr", e.lr},
          {"router_lr", e.router_lr}, {"grad_norm", e.grad_norm},
          {"tokens_per_s", e.tokens_per_s}, {"step_seconds", e.step_seconds},
          {"tokens", e.tokens}};
}

json to_json(const RoutingSnapshot& e) {
  json layers = json::array();
  for (const auto& l : e.layers)
    layers.push_back({{"layer", l.layer},
                      {"usage", l.usage},
                      {"mean_prob", l.mean_prob},
                      {"tokens", l.tokens},
                      {"sampled_share", l.sampled_share},
                      {"router_drift", l.router_drift}});
  return {{"type", "routing"}, {"step", e.step}, {"model", e.model}, {"layers", layers},
          {"usage_by_category", e.usage_by_category}};
}

json to_json(const EvalResult& e) {
  json cats = json::object();
  for (const auto& [name, c] : e.per_category)
    cats[name] = {{"rouge_l", c.rouge_l}, {"exact_match", c.exact_match}, {"val_loss", c.val_loss},
                  {"examples", c.examples}};
  json samples = json::array();
  for (const auto& s : e.samples)
    samples.push_back({{"category", s.category}, {"prompt", s.prompt}, {"reference", s.reference},
                       {"student", s.student}, {"teacher", s.teacher}});
  return {{"type", "eval"},           {"step", e.step},         {"val_loss", e.val_loss},
          {"perplexity", e.perplexity}, {"rouge_l", e.rouge_l}, {"exact_match", e.exact_match},
          {"per_category", cats},     {"samples", samples}};
}

json to_json(const CheckpointSaved& e) {
  return {{"type", "checkpoint"}, {"step", e.step}, {"path", e.path}, {"best", e.best}};
}

json to_json(const RunFinished& e) {
  return {{"type", "finished"}, {"step", e.step}, {"seconds", e.seconds}, {"stopped_early", e.stopped_early}};
}

json to_json(const RunFailed& e) { return {{"type", "failed"}, {"step", e.step}, {"message", e.message}}; }

MetricsFileObserver::MetricsFileObserver(const std::string& path, bool append) {
  file_ = std::fopen(path.c_str(), append ? "a" : "w");
  if (!file_) fail(path, ": cannot open for writing (", std::strerror(errno), ")");
}

MetricsFileObserver::~MetricsFileObserver() {
  if (file_) std::fclose(file_);
}

void MetricsFileObserver::write(const json& j) {
  // Generated text may hold invalid UTF-8 (byte-fallback pieces): replace it rather than throw.
  const auto line = j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

std::vector<json> read_metrics(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(path, ": cannot open");
  std::vector<json> out;
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    try {
      out.push_back(json::parse(line));
    } catch (const json::exception&) {
      // A run killed mid-write leaves at most a torn last line; anything else is damage.
      if (in.peek() == EOF) break;
      fail(path, ": line ", number, " is not valid JSON");
    }
  }
  return out;
}

}  // namespace moekd
