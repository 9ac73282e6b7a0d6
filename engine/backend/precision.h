#pragma once
// Numeric precision: which dtype a run computes in, the autocast scope the student computes under,
// and the default dtype models are built in. Statistics, softmaxes and losses stay in float32
// whatever the storage dtype (at_least_float32).
#include <torch/torch.h>

#include "run/settings.h"

namespace moekd {

// Statistics (norms, softmaxes of router logits) run in at least float32: half types are
// upcast, float64 stays float64 so that finite-difference checks keep their precision.
inline torch::Tensor at_least_float32(const torch::Tensor& t) {
  return t.scalar_type() == torch::kDouble ? t : t.to(torch::kFloat);
}

// auto -> bfloat16 on a CUDA device of compute capability 8 or more, float16 (with loss scaling) on
// older GPUs, float32 on the CPU. float16 needs CUDA (the CPU has no float16 autocast); throws
// naming `train.precision`.
Precision resolve_precision(Precision requested, const torch::Device& device);
torch::ScalarType scalar_type_of(Precision resolved);
Precision precision_of(torch::ScalarType t);  // kFloat, kBFloat16, kHalf; else float32

// For its scope, matmuls of float32 weights run in `dtype` (LibTorch's autocast, CPU or CUDA):
// the student's float32 master weights compute in the run's precision. float32: nothing changes.
class ComputeIn {
 public:
  ComputeIn(const torch::Device& device, torch::ScalarType dtype);
  ~ComputeIn();
  ComputeIn(const ComputeIn&) = delete;
  ComputeIn& operator=(const ComputeIn&) = delete;

 private:
  bool active_ = false, cuda_ = false, was_enabled_ = false;
  torch::ScalarType was_dtype_ = torch::kBFloat16;
};

// Modules built in its scope create their parameters in `dtype`: a bfloat16 model never exists in
// float32 first.
class BuildIn {
 public:
  explicit BuildIn(torch::ScalarType dtype);
  ~BuildIn();
  BuildIn(const BuildIn&) = delete;
  BuildIn& operator=(const BuildIn&) = delete;

 private:
  caffe2::TypeMeta previous_;
};

}  // namespace moekd
