#pragma once
// AdamW with decoupled weight decay and learning-rate schedules. Our own (a dozen lines of
// arithmetic) so that its whole state is plain named tensors: checkpoints store it in safetensors
// and resume continues the exact trajectory.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "run/settings.h"

namespace moekd {

struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

// Copies a checkpoint's state tensor `saved` into `dst`, refusing (by `name`) one of another shape
// (broadcasting would silently fill a moment from the wrong tensor) or holding NaN or infinity.
void restore_state(torch::Tensor& dst, const torch::Tensor& saved, const std::string& name);

class AdamW {
 public:
  // `names` label the parameters in checkpoints; 1-D parameters (norms, biases) get no decay.
  AdamW(std::vector<torch::Tensor> params, std::vector<std::string> names, AdamWOptions opt);
  // One update, or none when `apply` (a 0-dim bool on the parameters' device, the training step's
  // finite flag: distill/finite_guard.h) is false. On the CPU the flag is read and the update made
  // in place; on an accelerator step_masked() keeps the host from waiting for the device.
  void step(double lr, const torch::Tensor& apply);
  // Computes the update and keeps it only where `apply` holds, without reading it on the host:
  // bit for bit the in-place update when true, no change to weights or moments when false.
  void step_masked(double lr, const torch::Tensor& apply);
  void zero_grad();
  const std::vector<torch::Tensor>& params() const { return params_; }
  int64_t steps_taken() const { return t_; }
  // State as named tensors ("<name>.exp_avg", "<name>.exp_avg_sq") plus the step count.
  std::vector<std::pair<std::string, torch::Tensor>> state(const std::string& prefix) const;
  // Restores from a name -> tensor lookup; throws naming the missing tensor.
  template <typename Lookup>
  void load_state(const std::string& prefix, int64_t steps, Lookup&& lookup) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params_.size(); ++i) {
      restore_state(m_[i], lookup(prefix + names_[i] + ".exp_avg"), prefix + names_[i] + ".exp_avg");
      restore_state(v_[i], lookup(prefix + names_[i] + ".exp_avg_sq"), prefix + names_[i] + ".exp_avg_sq");
    }
    t_ = steps;
  }

 private:
  std::pair<double, double> begin_step();  // counts the step; Adam's two bias corrections for it
  std::vector<torch::Tensor> params_, m_, v_;
  std::vector<std::string> names_;
  AdamWOptions opt_;
  int64_t t_ = 0;
};


// Linear warm-up from 0, then constant, linear decay or cosine decay to min_ratio * peak.
double learning_rate(Schedule s, double peak, int64_t step, int64_t total_steps, int64_t warmup, double min_ratio);

// Global L2 norm of the gradients, clipped to `max_norm` when > 0; returns the norm before
// clipping as a 0-dim float32 tensor on the gradients' device (nothing is read on the host).
torch::Tensor clip_gradients(const std::vector<torch::Tensor>& params, double max_norm);

}  // namespace moekd
