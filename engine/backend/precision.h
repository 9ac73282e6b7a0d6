#pragma once
#include <torch/torch.h>

namespace moekd {

// Statistics (norms, softmaxes of router logits) run in at least float32: half types are
// upcast, float64 stays float64 so that finite-difference checks keep their precision.
inline torch::Tensor at_least_float32(const torch::Tensor& t) {
  return t.scalar_type() == torch::kDouble ? t : t.to(torch::kFloat);
}

}  // namespace moekd
