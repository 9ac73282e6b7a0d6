#pragma once
// The training loop of every method (sft, kd, ka, sar, train-teacher): one optimizer step at a
// time, evaluation, routing statistics and checkpoints. The session drives it; it knows nothing
// of threads, files other than its checkpoints, or observers.
#include <torch/torch.h>

#include <memory>
#include <optional>

#include "data/dataset.h"
#include "data/tokenizer.h"
#include "distill/batch.h"
#include "distill/optim.h"
#include "distill/routing_stats.h"
#include "model/causal_lm.h"
#include "session/events.h"
#include "session/run_config.h"

namespace moekd {

struct TrainingData {
  Dataset dataset;
  std::vector<TokenizedExample> train, validation, test;
};

class Trainer {
 public:
  // `student` is the model being trained (the MoE itself for train-teacher); `teacher` may be
  // null for sft and train-teacher. Both must already be on `device`.
  Trainer(const RunConfig& config, CausalLM student, CausalLM teacher, std::shared_ptr<const Tokenizer> tokenizer,
          std::shared_ptr<const TrainingData> data, torch::Device device);

  // One optimizer step (grad_accum micro-batches). Metrics are averaged and read from the device
  // only when `read_metrics` (every log_every steps), so CUDA steps run without host syncs.
  std::optional<StepMetrics> step(bool read_metrics);
  // Validation (or test) loss and perplexity, and greedy generations of up to `max_samples`
  // prompts scored with ROUGE-L and exact match, overall and per category.
  EvalResult evaluate(int64_t max_samples, bool test_split);
  // Routing since the last call, for the teacher (distillation) and any MoE student.
  std::vector<RoutingSnapshot> take_routing();

  int64_t steps_done() const { return step_; }
  CausalLM& student() { return student_; }
  CausalLM& teacher() { return teacher_; }
  double best_score() const { return best_score_; }
  // Higher is better: ROUGE-L when generations are scored, else -validation loss.
  bool record_if_best(const EvalResult& r);

  // `dir/model` (a Hugging Face folder of the student) + `dir/state.safetensors` + `dir/state.json`.
  void save_checkpoint(const std::string& dir) const;
  void load_checkpoint(const std::string& dir);

 private:
  struct Terms {
    torch::Tensor loss, ce, divergence, router_loss, balance;
  };
  Terms micro_step(const Batch& b);
  Terms kd_terms(const Batch& b, const torch::Tensor& student_rows, const torch::Tensor& rows_index);
  torch::Tensor sar_router_step(const Batch& b, const torch::Tensor& student_rows, const torch::Tensor& rows_index,
                                torch::Tensor* balance);
  torch::Tensor balance_loss(const std::vector<std::optional<RoutingRecord>>& routing, const std::string& kind,
                             const torch::Tensor& real) const;
  void track_routing(RoutingAccumulator& acc, const ForwardOutput& out, const Batch& b, int64_t repeats);
  std::vector<double> router_drift() const;
  double scheduled(double peak) const;
  void reset_window();

  RunConfig cfg_;
  CausalLM student_, teacher_;
  std::shared_ptr<const Tokenizer> tok_;
  std::shared_ptr<const TrainingData> data_;
  torch::Device device_;
  std::unique_ptr<AdamW> opt_, router_opt_;
  std::vector<torch::Tensor> router_params_, router_start_;
  std::vector<std::string> router_names_;
  ExampleSampler sampler_;
  std::unique_ptr<RoutingAccumulator> teacher_routing_, student_routing_;
  int64_t step_ = 0;
  double best_score_ = -std::numeric_limits<double>::infinity();
  int64_t best_step_ = -1;
  // Window sums for the next StepMetrics (device tensors).
  torch::Tensor sum_loss_, sum_ce_, sum_div_, sum_router_, sum_balance_, sum_grad_norm_;
  int64_t window_steps_ = 0, window_tokens_ = 0;
  double window_seconds_ = 0;
};

}  // namespace moekd
