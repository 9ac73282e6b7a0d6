#include "run/events.h"

#include "util/json_read.h"

namespace moekd {

using json = nlohmann::json;

json to_json(const StepMetrics& e) {
  return {{"type", "step"},         {"step", e.step},
          {"loss", e.loss},         {"ce", e.ce},
          {"divergence", e.divergence}, {"router_loss", e.router_loss},
          {"balance_loss", e.balance_loss}, {"lr", e.lr},
          {"router_lr", e.router_lr}, {"grad_norm", e.grad_norm},
          {"tokens_per_s", e.tokens_per_s}, {"step_seconds", e.step_seconds},
          {"tokens", e.tokens},     {"peak_memory", e.peak_memory},
          {"generated_tokens", e.generated_tokens}, {"sampling_seconds", e.sampling_seconds}};
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

json to_json(const ArithmeticUsed& e) {
  json j = to_json(e.arithmetic);
  j["type"] = "arithmetic";
  j["step"] = e.step;
  return j;
}

namespace {
template <typename T>
void read(const json& j, const char* key, T& out) {
  read_field(j, key, out);  // a value of another type keeps the default (util/json_read.h)
}
}  // namespace

json to_json(const GenerationSample& e) {
  return {{"type", "generation"},     {"step", e.step},
          {"category", e.category},   {"prompt", e.prompt},
          {"pieces", e.pieces},       {"teacher_logprob", e.teacher_logprob},
          {"student_logprob", e.student_logprob}};
}

GenerationSample generation_sample_from_json(const json& j) {
  GenerationSample e;
  read(j, "step", e.step);
  read(j, "category", e.category);
  read(j, "prompt", e.prompt);
  read(j, "pieces", e.pieces);
  read(j, "teacher_logprob", e.teacher_logprob);
  read(j, "student_logprob", e.student_logprob);
  // A damaged line must not pair a piece with another's number: all three as long, or none.
  if (e.teacher_logprob.size() != e.pieces.size() || e.student_logprob.size() != e.pieces.size()) {
    e.pieces.clear();
    e.teacher_logprob.clear();
    e.student_logprob.clear();
  }
  return e;
}

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
  read(j, "peak_memory", e.peak_memory);
  read(j, "generated_tokens", e.generated_tokens);
  read(j, "sampling_seconds", e.sampling_seconds);
  return e;
}

RoutingSnapshot routing_snapshot_from_json(const json& j) {
  RoutingSnapshot e;
  read(j, "step", e.step);
  read(j, "model", e.model);
  if (const auto it = j.find("layers"); it != j.end() && it->is_array())
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
  if (const auto it = j.find("per_category"); it != j.end() && it->is_object())
    for (const auto& [name, c] : it->items()) {
      CategoryScores s;
      read(c, "rouge_l", s.rouge_l);
      read(c, "exact_match", s.exact_match);
      read(c, "val_loss", s.val_loss);
      read(c, "examples", s.examples);
      e.per_category[name] = s;
    }
  if (const auto it = j.find("samples"); it != j.end() && it->is_array())
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

ArithmeticUsed arithmetic_used_from_json(const json& j) {
  ArithmeticUsed e;
  int64_t threads = 0;
  read(j, "step", e.step);
  read(j, "libtorch", e.arithmetic.libtorch);
  read(j, "blas", e.arithmetic.blas);
  read(j, "cpu_kernels", e.arithmetic.cpu_kernels);
  read(j, "threads", threads);
  read(j, "device", e.arithmetic.device);
  e.arithmetic.threads = threads > 0 && threads <= 4096 ? static_cast<int>(threads) : 0;
  return e;
}

}  // namespace moekd
