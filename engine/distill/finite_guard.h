#pragma once
// An on-device "every loss term and gradient norm has been finite" flag, kept as AMP's GradScaler
// keeps its found-inf flag: the training step never waits for the device to check. Updates made
// while the flag is down are no-ops (the optimizers take it as their `apply` mask), so the weights
// stay the last good ones; the flag is read with the step's metrics, before an evaluation and
// before a checkpoint, and the error names the first step and term that went wrong.
#include <torch/torch.h>

#include <string>
#include <vector>

namespace moekd {

class FiniteGuard {
 public:
  explicit FiniteGuard(const torch::Device& device);
  // The values of `names` (0-dim tensors, any floating dtype) seen at optimizer step `step` (1-based).
  void observe(int64_t step, const std::vector<const char*>& names, const std::vector<torch::Tensor>& values);
  // 0-dim bool on the device: nothing non-finite has been seen yet.
  const torch::Tensor& all_finite() const { return ok_; }
  // [ok, first bad step, index of the first bad name, its value] as float64, for one host read
  // together with the metrics (StepWindow); `raise_if_bad` turns them into the error.
  torch::Tensor packed() const;
  void raise_if_bad(const double* packed) const;
  // Reads the device (one transfer) and throws when something was not finite.
  void check() const;

 private:
  torch::Tensor ok_, first_step_, first_name_, first_value_;
  std::vector<std::string> names_;  // every name observed, in order of first appearance
};

}  // namespace moekd
