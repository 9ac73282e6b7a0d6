#include "backend/precision.h"

#include "backend/system_info.h"
#include "backend/torch_compat.h"
#include "util/error.h"

namespace moekd {

Precision resolve_precision(Precision requested, const torch::Device& device) {
  if (requested == Precision::Float16 && !device.is_cuda())
    fail("train.precision = float16 needs a CUDA device (the CPU has no float16 autocast); use bfloat16 on the CPU");
  if (requested != Precision::Auto) return requested;
  if (!device.is_cuda()) return Precision::Float32;
  // Before compute capability 8 bfloat16 is emulated: such GPUs get float16 with loss scaling.
  return cuda_compute_capability(device) >= 8 ? Precision::BFloat16 : Precision::Float16;
}

torch::ScalarType scalar_type_of(Precision p) {
  switch (p) {
    case Precision::BFloat16: return torch::kBFloat16;
    case Precision::Float16: return torch::kHalf;
    default: return torch::kFloat;
  }
}

Precision precision_of(torch::ScalarType t) {
  if (t == torch::kBFloat16) return Precision::BFloat16;
  if (t == torch::kHalf) return Precision::Float16;
  return Precision::Float32;
}

ComputeIn::ComputeIn(const torch::Device& device, torch::ScalarType dtype) {
  if (dtype == torch::kFloat || dtype == torch::kDouble) return;
  active_ = true;
  cuda_ = device.is_cuda();
  was_enabled_ = compat::autocast_enabled(cuda_);
  was_dtype_ = compat::autocast_dtype(cuda_);
  compat::set_autocast(cuda_, true, dtype);
  at::autocast::increment_nesting();
}

ComputeIn::~ComputeIn() {
  if (!active_) return;
  // The outermost scope drops autocast's cache of lower-precision weight copies, as PyTorch does.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  compat::set_autocast(cuda_, was_enabled_, was_dtype_);
}

BuildIn::BuildIn(torch::ScalarType dtype) : previous_(c10::get_default_dtype()) {
  c10::set_default_dtype(caffe2::TypeMeta::fromScalarType(dtype));
}

BuildIn::~BuildIn() { c10::set_default_dtype(previous_); }

}  // namespace moekd
