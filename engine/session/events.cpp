#include "session/events.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
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
  for (const auto& l : e.layers) {
    json layer = {{"layer", l.layer},
                  {"usage", l.usage},
                  {"mean_prob", l.mean_prob},
                  {"tokens", l.tokens},
                  {"sampled_share", l.sampled_share},
                  {"router_drift", l.router_drift}};
    if (!l.usage_topk.empty()) layer["usage_topk"] = l.usage_topk;
    if (!l.usage_sampled.empty()) layer["usage_sampled"] = l.usage_sampled;
    layers.push_back(std::move(layer));
  }
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

namespace {
template <typename T>
void read(const json& j, const char* key, T& out) {
  if (const auto it = j.find(key); it != j.end() && !it->is_null()) out = it->get<T>();
}
}  // namespace

StepMetrics step_metrics_from_json(const json& j) {
  StepMetrics e;
  read(j, "step", e.step);
  read(j, "loss", e.loss);
  read(j, "ce", e.ce);
  read(j, "divergence", e.divergence);
  read(j, "router_loss", e.router_loss);
  read(j, "balance_loss", e.balance_loss);
  read(j, "lr", e.lr);
  read(j, "router_lr", e.router_lr);
  read(j, "grad_norm", e.grad_norm);
  read(j, "tokens_per_s", e.tokens_per_s);
  read(j, "step_seconds", e.step_seconds);
  read(j, "tokens", e.tokens);
  return e;
}

RoutingSnapshot routing_snapshot_from_json(const json& j) {
  RoutingSnapshot e;
  read(j, "step", e.step);
  read(j, "model", e.model);
  if (const auto it = j.find("layers"); it != j.end())
    for (const auto& l : *it) {
      LayerRouting r;
      read(l, "layer", r.layer);
      read(l, "usage", r.usage);
      read(l, "mean_prob", r.mean_prob);
      read(l, "tokens", r.tokens);
      read(l, "usage_topk", r.usage_topk);
      read(l, "usage_sampled", r.usage_sampled);
      read(l, "sampled_share", r.sampled_share);
      read(l, "router_drift", r.router_drift);
      e.layers.push_back(std::move(r));
    }
  read(j, "usage_by_category", e.usage_by_category);
  return e;
}

EvalResult eval_result_from_json(const json& j) {
  EvalResult e;
  read(j, "step", e.step);
  read(j, "val_loss", e.val_loss);
  read(j, "perplexity", e.perplexity);
  read(j, "rouge_l", e.rouge_l);
  read(j, "exact_match", e.exact_match);
  if (const auto it = j.find("per_category"); it != j.end())
    for (const auto& [name, c] : it->items()) {
      CategoryScores s;
      read(c, "rouge_l", s.rouge_l);
      read(c, "exact_match", s.exact_match);
      read(c, "val_loss", s.val_loss);
      read(c, "examples", s.examples);
      e.per_category[name] = s;
    }
  if (const auto it = j.find("samples"); it != j.end())
    for (const auto& s : *it) {
      Sample out;
      read(s, "category", out.category);
      read(s, "prompt", out.prompt);
      read(s, "reference", out.reference);
      read(s, "student", out.student);
      read(s, "teacher", out.teacher);
      e.samples.push_back(std::move(out));
    }
  return e;
}

CheckpointSaved checkpoint_saved_from_json(const json& j) {
  CheckpointSaved e;
  read(j, "step", e.step);
  read(j, "path", e.path);
  read(j, "best", e.best);
  return e;
}

RunFinished run_finished_from_json(const json& j) {
  RunFinished e;
  read(j, "step", e.step);
  read(j, "seconds", e.seconds);
  read(j, "stopped_early", e.stopped_early);
  return e;
}

RunFailed run_failed_from_json(const json& j) {
  RunFailed e;
  read(j, "step", e.step);
  read(j, "message", e.message);
  return e;
}

MetricsFileObserver::MetricsFileObserver(const std::string& path, bool append) {
  bool torn = false;  // a killed run may have left half a line: the next event starts a new one
  if (append) {
    if (std::FILE* in = std::fopen(path.c_str(), "rb")) {
      torn = std::fseek(in, -1, SEEK_END) == 0 && std::fgetc(in) != '\n';
      std::fclose(in);
    }
  }
  file_ = std::fopen(path.c_str(), append ? "a" : "w");
  if (!file_) fail(path, ": cannot open for writing (", std::strerror(errno), ")");
  if (torn) std::fputc('\n', file_);
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

bool run_dir_holds_training(const std::string& run_dir) {
  namespace fs = std::filesystem;
  const fs::path dir(run_dir);
  if (!fs::exists(dir / "metrics.jsonl")) return false;
  if (fs::exists(dir / "checkpoints")) return true;
  // Only a run that ended in setup may be replaced: one without a `failed` event may still be
  // setting up (loading a large teacher) in another process.
  bool failed = false;
  try {
    for (const auto& e : read_metrics((dir / "metrics.jsonl").string())) {
      if (!e.is_object()) continue;
      const auto type = e.value("type", "");
      if (type == "step") return true;
      failed = failed || type == "failed";
    }
  } catch (const std::exception&) {
    return true;  // unreadable: keep it
  }
  return !failed;
}

std::vector<json> read_metrics(const std::string& path, const std::function<bool(const std::string&)>& keep_line) {
  std::ifstream in(path);
  if (!in) fail(path, ": cannot open");
  std::vector<json> out;
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || (keep_line && !keep_line(line))) continue;
    try {
      out.push_back(json::parse(line));
    } catch (const json::parse_error& e) {
      // A run killed mid-write leaves a torn line (its input ends early): the last line, or one in
      // the middle once the run was resumed. Anything else is damage.
      const bool torn = e.byte >= line.size();  // the parser ran out of input
      if (torn || in.peek() == EOF) continue;
      fail(path, ": line ", number, " is not valid JSON");
    }
  }
  return out;
}

}  // namespace moekd
