#pragma once
// What a run tells the world (docs/DESIGN.md, Events). Observers get typed events; every event also has a
// JSON form, which is what metrics.jsonl stores one per line and what the studio replays.
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "run/arithmetic.h"

namespace moekd {

struct StepMetrics {
  int64_t step = 0;  // 1-based: the number of optimizer steps taken
  double loss = 0, ce = 0, divergence = 0, router_loss = 0, balance_loss = 0;
  double lr = 0, router_lr = 0, grad_norm = 0;
  double tokens_per_s = 0, step_seconds = 0;
  int64_t tokens = 0;       // target tokens in the step
  int64_t peak_memory = 0;  // bytes: the run's peak so far (CUDA: allocated; CPU: resident set)
  // On-policy batches (distill.on_policy): response tokens the student wrote per step, and the
  // seconds per step spent writing them (part of step_seconds).
  double generated_tokens = 0, sampling_seconds = 0;
};

// Per layer x expert statistics of one model over the last `routing_every` steps.
struct LayerRouting {
  int64_t layer = 0;
  std::vector<double> usage;       // share of routed token slots per expert (sums to 1)
  std::vector<double> mean_prob;   // mean router probability per expert
  std::vector<double> tokens;      // routed token slots per expert
  double sampled_share = 0;        // KA: share of tokens whose experts were sampled
  double router_drift = 0;         // SAR: ||W - W_0|| / ||W_0|| of this layer's router
  // KA only (empty otherwise): usage among the token slots routed by top-k, and among those whose
  // experts were sampled, each summing to 1.
  std::vector<double> usage_topk, usage_sampled;
};

struct RoutingSnapshot {
  int64_t step = 0;
  std::string model;  // "teacher" or "student"
  std::vector<LayerRouting> layers;
  std::map<std::string, std::vector<std::vector<double>>> usage_by_category;  // category -> [layer][expert]
};

struct CategoryScores {
  double rouge_l = 0, exact_match = 0, val_loss = 0;
  int64_t examples = 0;
};

struct Sample {
  std::string category, prompt, reference, student, teacher;
};

// The latest response the student wrote in an on-policy batch (the first row of the last such
// micro-batch before a logged step), token by token, with each token's log-probability under the
// teacher and under the student: where the teacher disagrees with what the student wrote.
struct GenerationSample {
  int64_t step = 0;
  std::string category, prompt;
  std::vector<std::string> pieces;                      // the response, one decoded token each
  std::vector<double> teacher_logprob, student_logprob;  // per piece, natural log
};

struct EvalResult {
  int64_t step = 0;
  double val_loss = 0, perplexity = 0, rouge_l = 0, exact_match = 0;
  std::map<std::string, CategoryScores> per_category;
  std::vector<Sample> samples;
};

struct CheckpointSaved {
  int64_t step = 0;
  std::string path;
  bool best = false;
};

struct RunFinished {
  int64_t step = 0;
  double seconds = 0;
  bool stopped_early = false;  // a stop request (Ctrl-C, Stop button) ended it
};

struct RunFailed {
  int64_t step = 0;
  std::string message;
};

// What the run computes with from `step` on (run/arithmetic.h): reported when it starts and at
// every resume, which may be on another machine, where the same seed rounds differently.
struct ArithmeticUsed {
  int64_t step = 0;
  Arithmetic arithmetic;
};

nlohmann::json to_json(const StepMetrics& e);
nlohmann::json to_json(const RoutingSnapshot& e);
nlohmann::json to_json(const EvalResult& e);
nlohmann::json to_json(const GenerationSample& e);
nlohmann::json to_json(const CheckpointSaved& e);
nlohmann::json to_json(const RunFinished& e);
nlohmann::json to_json(const RunFailed& e);
nlohmann::json to_json(const ArithmeticUsed& e);

// The inverses, for replaying a metrics.jsonl (the studio's run browser). Missing fields keep
// their defaults, so runs written by older versions still open; a field of the wrong JSON type
// throws nlohmann::json::exception.
StepMetrics step_metrics_from_json(const nlohmann::json& j);
RoutingSnapshot routing_snapshot_from_json(const nlohmann::json& j);
EvalResult eval_result_from_json(const nlohmann::json& j);
GenerationSample generation_sample_from_json(const nlohmann::json& j);
CheckpointSaved checkpoint_saved_from_json(const nlohmann::json& j);
RunFinished run_finished_from_json(const nlohmann::json& j);
RunFailed run_failed_from_json(const nlohmann::json& j);
ArithmeticUsed arithmetic_used_from_json(const nlohmann::json& j);

// Called on the engine's thread; implementations that touch a UI must hand over (queued signals).
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void on_step(const StepMetrics&) {}
  virtual void on_routing(const RoutingSnapshot&) {}
  virtual void on_eval(const EvalResult&) {}
  virtual void on_generation(const GenerationSample&) {}
  virtual void on_checkpoint(const CheckpointSaved&) {}
  virtual void on_finished(const RunFinished&) {}
  virtual void on_failed(const RunFailed&) {}
  virtual void on_arithmetic(const ArithmeticUsed&) {}
  virtual void on_message(const std::string&) {}  // one human-readable line (data warnings, phases)
};

}  // namespace moekd
