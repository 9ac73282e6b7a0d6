#pragma once
// The training loop of every method (sft, kd, ka, sar, train-teacher), one optimizer step at a
// time. The session drives it; it knows nothing of threads, observers or run folders beyond the
// checkpoint folder it is handed. The step itself (trainer.cpp) reads top to bottom; evaluation
// (distill/evaluation.h) and checkpoints (distill/checkpoint.cpp) live in files of their own.
#include <torch/torch.h>

#include <limits>
#include <memory>
#include <optional>

#include "data/run_data.h"
#include "data/tokenizer.h"
#include "dist/process_group.h"
#include "distill/batch.h"
#include "distill/finite_guard.h"
#include "distill/loss_scaler.h"
#include "distill/optim.h"
#include "distill/routing_stats.h"
#include "distill/sar_router.h"
#include "model/causal_lm.h"
#include "run/events.h"
#include "run/run_config.h"

namespace moekd {

// A checkpoint's state.json, every field checked (type and range; `step` at most `max_step`)
// before anything is restored from it (distill/checkpoint.cpp).
struct CheckpointState {
  int64_t step = 0, epoch = 0, position = 0, optimizer_steps = 0, router_optimizer_steps = 0, best_step = -1;
  double best_score = -std::numeric_limits<double>::infinity();
  std::string method;
};
CheckpointState read_checkpoint_state(const std::string& path, int64_t max_step);

class Trainer {
 public:
  // `student` is the model being trained (the MoE itself for train-teacher); `teacher` may be
  // null for sft and train-teacher. Both must already be on `device`. The student computes in
  // `compute` (autocast over its float32 weights; backend/precision.h).
  //

  // With `group` (several processes, data parallel; docs/DESIGN.md, "Several processes"): this
  // rank's share of every global batch, gradients summed over the ranks with each micro-batch
  // weighted by its share of the global batch's target tokens, so that N processes x batch b train
  // as one process with batch N * b does. The replicas start from rank 0's weights.
  Trainer(const RunConfig& config, CausalLM student, CausalLM teacher, std::shared_ptr<const Tokenizer> tokenizer,
          std::shared_ptr<const RunData> data, torch::Device device, torch::ScalarType compute = torch::kFloat,
          ProcessGroup* group = nullptr);

  // One optimizer step (train.grad_accum micro-batches). Nothing is read from the device unless
  // `read_metrics` (every log_every steps): then the averaged metrics and the finite flag come
  // back in one transfer, and a non-finite loss or gradient throws naming its step and term.
  std::optional<StepMetrics> step(bool read_metrics);
  // distill/evaluation.h on the validation (or test) split, at the current step.
  EvalResult evaluate(int64_t max_samples, bool test_split);
  // Routing since the last call, for the teacher (distillation) and any MoE student.
  std::vector<RoutingSnapshot> take_routing();
  // On-policy runs: the first response of the latest on-policy micro-batch since the last call,
  // scored by both models (distill/on_policy.h); empty when none was written since.
  std::optional<GenerationSample> take_generation();
  // Throws when a loss or gradient norm was not finite since the last check (reads the device).
  void check_finite() const { guard_.check(); }

  int64_t steps_done() const { return step_; }
  CausalLM& student() { return student_; }
  CausalLM& teacher() { return teacher_; }
  double best_score() const { return best_score_; }
  // Remembers `r` when it beats every earlier evaluation (run/run_folder.h: best_checkpoint_score).
  bool record_if_best(const EvalResult& r);

  // A checkpoint folder (run/run_folder.h: CheckpointFolder), written whole or not at all.
  void save_checkpoint(const std::string& dir) const;
  void load_checkpoint(const std::string& dir);

 private:
  struct Terms {  // one micro-batch's loss and its parts, 0-dim tensors on the device
    torch::Tensor loss, ce, divergence, router_loss, balance;
  };
  struct StudentForward {
    ForwardOutput out;
    torch::Tensor rows;  // logits at the target positions [N, V]
  };
  std::vector<Batch> next_batches();
  int64_t ka_sequences_in_memory() const;
  StudentForward student_forward(const Batch& b, bool track_routing);
  StudentForward sar_router_update(const std::vector<Batch>& batches, const std::vector<double>& shares,
                                   std::vector<SarRouterUpdate::Terms>& terms);
  Terms student_loss(const Batch& b, const StudentForward& s);
  double scheduled(double peak) const;
  StepMetrics read_window(double lr);
  // Several processes: each micro-batch's share of the step's loss (its target tokens over the
  // global micro-batch's, over train.grad_accum); one process: 1 / grad_accum each.
  std::vector<double> micro_batch_shares(const std::vector<Batch>& batches);
  void sum_gradients_over_ranks(const std::vector<torch::Tensor>& params);
  // Refuses replicas that no longer agree (a checksum of `tensors` gathered from every rank).
  void check_replicas_agree(const char* what, const std::vector<torch::Tensor>& tensors);

  RunConfig cfg_;
  ProcessGroup* group_ = nullptr;  // null: one process
  CausalLM student_, teacher_;
  std::shared_ptr<const Tokenizer> tok_;
  std::shared_ptr<const RunData> data_;
  torch::Device device_;
  torch::ScalarType compute_;
  std::unique_ptr<AdamW> opt_;
  std::unique_ptr<SarRouterUpdate> sar_;
  std::unique_ptr<LossScaler> scaler_, router_scaler_;  // float16 runs only: the student's, SAR's routers'
  ExampleSampler sampler_;
  FiniteGuard guard_;
  std::unique_ptr<RoutingAccumulator> teacher_routing_, student_routing_;
  int64_t step_ = 0;
  double best_score_ = -std::numeric_limits<double>::infinity();
  int64_t best_step_ = -1;
  // Sums since the metrics were last read, on the device: loss, ce, divergence, router loss,
  // balance loss, gradient norm.
  torch::Tensor window_sums_;
  // The first row of the latest on-policy micro-batch (padded, with its attention mask) and where
  // its prompt ends: kept as device tensors, trimmed only when take_generation() reads them.
  torch::Tensor written_ids_, written_mask_;
  int64_t written_prompt_ = 0, written_category_ = 0;
  int64_t window_steps_ = 0, window_tokens_ = 0, window_generated_ = 0;
  double window_seconds_ = 0, window_sampling_seconds_ = 0;
};

}  // namespace moekd
