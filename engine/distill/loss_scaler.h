#pragma once
// Dynamic loss scaling for float16 (as AMP's GradScaler): the loss is multiplied by a scale before
// backward so that small gradients survive float16, the gradients are divided by it before the
// update, and a step whose gradients overflowed is skipped while the scale halves; after 2,000
// good steps in a row it doubles. Everything stays on the device: nothing waits for it.
#include <torch/torch.h>

#include <vector>

namespace moekd {

class LossScaler {
 public:
  explicit LossScaler(const torch::Device& device, double initial_scale = 65536.0, int64_t growth_interval = 2000);

  torch::Tensor scale(const torch::Tensor& loss) const { return loss * scale_; }
  // Divides the gradients of `params` by the scale; returns whether all of them are finite (0-dim
  // bool on the device) and counts the step: halves the scale if not, doubles it after
  // growth_interval finite steps in a row.
  torch::Tensor unscale_and_update(const std::vector<torch::Tensor>& params);
  const torch::Tensor& current() const { return scale_; }

 private:
  torch::Tensor scale_, good_steps_;
  int64_t growth_interval_;
};

}  // namespace moekd
