#pragma once
// Student-Aware Router, update 1 of every step (docs/DESIGN.md, "Student-Aware Router"): the
// teacher's routers (and LLaMA-MoE's noise projections) learn to mix the experts into the
// distribution most useful to this student, whose distribution is a fixed target here. Everything
// else of the teacher stays frozen. The routers step once per optimizer step: the gradients of
// the step's micro-batches accumulate first.
#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "distill/batch.h"
#include "distill/loss_scaler.h"
#include "distill/optim.h"
#include "distill/routing_stats.h"
#include "model/causal_lm.h"
#include "run/run_config.h"

namespace moekd {

class SarRouterUpdate {
 public:
  // Makes the teacher's router parameters trainable and remembers where they started.
  SarRouterUpdate(CausalLM teacher, const RunConfig& cfg);

  struct Terms {
    torch::Tensor router_loss, balance;  // 0-dim, detached
  };
  void zero_grad() { optimizer_->zero_grad(); }
  // Router loss of one micro-batch against the student's rows [N, V] (logits; detached here), plus
  // the balance loss; its gradient, times `weight` (the micro-batch's share of the step: 1 / accum
  // in one process), adds to the routers'.
  // `scaler`, in float16 runs, scales the loss for backward (the caller unscales before step()).
  Terms accumulate(const Batch& b, const torch::Tensor& student_rows, double weight, RoutingAccumulator* routing,
                   const LossScaler* scaler = nullptr);
  const std::vector<torch::Tensor>& parameters() const { return params_; }
  // One optimizer step over what accumulated; a no-op on the device where `apply` is false.
  void step(double lr, const torch::Tensor& apply) { optimizer_->step(lr, apply); }

  // ||W - W_0|| / ||W_0|| of each decoder layer's router (0 for dense layers). Reads the device.
  std::vector<double> drift() const;

  // Checkpoint state: the routers, their starting values and their optimizer's moments.
  std::vector<std::pair<std::string, torch::Tensor>> state() const;
  int64_t optimizer_steps() const { return optimizer_->steps_taken(); }
  template <typename Lookup>
  void load_state(int64_t optimizer_steps, Lookup&& lookup) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params_.size(); ++i) {
      restore_state(params_[i], lookup("router." + names_[i]), "router." + names_[i]);
      restore_state(start_[i], lookup("router_start." + names_[i]), "router_start." + names_[i]);
    }
    optimizer_->load_state("router_optim.", optimizer_steps, lookup);
  }

 private:
  CausalLM teacher_;
  RunConfig cfg_;
  std::vector<torch::Tensor> params_, start_;
  std::vector<std::string> names_;
  std::vector<int64_t> layer_of_;  // decoder layer of each parameter
  std::unique_ptr<AdamW> optimizer_;
};

}  // namespace moekd
