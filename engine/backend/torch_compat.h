#pragma once
// The one place that knows which LibTorch we build against. CI uses Debian's 1.13; the GPU path
// uses LibTorch 2.x. Everything version-dependent goes through these helpers.
#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>
#include <string>

#define MOEKD_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace moekd::compat {

inline std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

// Attention over [B, H, Tq, D] x [B, H, Tk, D]. `additive_mask` is either undefined (plain causal
// when `causal`) or a float mask broadcastable to [B, H, Tq, Tk] holding 0 or a very negative value.
// LibTorch 2.x: the fused kernel. 1.13: the same math written out (softmax in float32).
inline torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               const torch::Tensor& additive_mask, bool causal) {
#if MOEKD_TORCH_AT_LEAST(2, 0)
  // An undefined tensor would convert to an engaged optional ("a mask is set"): pass nullopt.
  if (additive_mask.defined())
    return at::scaled_dot_product_attention(q, k, v, additive_mask.to(q.scalar_type()), 0.0, false);
  return at::scaled_dot_product_attention(q, k, v, c10::nullopt, 0.0, causal);
#else
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  const auto tq = q.size(-2), tk = k.size(-2), d = q.size(-1);
  torch::Tensor scores;
  if (!additive_mask.defined() && causal) {
    // One batched GEMM computes scale * q k^T + the causal bias: no separate passes over the
    // [B, H, Tq, Tk] scores to scale and to mask them.
    auto bias = torch::zeros({tq, tk}, q.options())
                    .masked_fill_(torch::ones({tq, tk}, torch::dtype(torch::kBool).device(q.device())).triu(tk - tq + 1),
                                  -std::numeric_limits<double>::infinity());
    auto shape = q.sizes().vec();  // [..., Tq, D] -> [..., Tq, Tk]
    shape.back() = tk;
    scores = torch::baddbmm(bias, q.reshape({-1, tq, d}), k.reshape({-1, tk, d}).transpose(1, 2), 1.0, scale)
                 .view(shape);
  } else {
    // In place on the product: matmul's backward does not need its output.
    scores = torch::matmul(q, k.transpose(-2, -1)).mul_(scale);
    if (additive_mask.defined()) scores.add_(additive_mask);
  }
  return torch::matmul(torch::softmax(scores, -1), v);
#endif
}

// Autocast (automatic mixed precision) of one device kind: CUDA or CPU. LibTorch 2.4 took the
// device type as an argument; 1.13 to 2.3 had one function per device kind.
inline bool autocast_enabled(bool cuda) {
#if MOEKD_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU);
#else
  return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

inline torch::ScalarType autocast_dtype(bool cuda) {
#if MOEKD_TORCH_AT_LEAST(2, 4)
  return at::autocast::get_autocast_dtype(cuda ? at::kCUDA : at::kCPU);
#else
  return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}

inline void set_autocast(bool cuda, bool enabled, torch::ScalarType dtype) {
#if MOEKD_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(cuda ? at::kCUDA : at::kCPU, enabled);
  at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, dtype);
#else
  if (cuda) {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
}

// A stable sort (ties keep their order) along the last dimension.
inline std::tuple<torch::Tensor, torch::Tensor> stable_sort(const torch::Tensor& t, bool descending) {
  return torch::sort(t, /*stable=*/true, /*dim=*/-1, descending);
}

// Grouped GEMM (LibTorch 2.8 and later): consecutive row groups of `a` [S, K], group g ending at
// row offsets[g] (int32, on the device), each times its own matrix b[g] [K, N]. One kernel for
// every expert, no host round trip for the group sizes. Rows past the last offset are left
// unwritten. Where the build lacks it, has_grouped_mm() is false and nothing calls grouped_mm().
inline constexpr bool has_grouped_mm() { return MOEKD_TORCH_AT_LEAST(2, 8); }
inline torch::Tensor grouped_mm(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& offsets) {
#if MOEKD_TORCH_AT_LEAST(2, 8)
  return at::_grouped_mm(a, b, offsets);
#else
  TORCH_CHECK(false, "grouped_mm needs LibTorch 2.8 or later (this build uses ", torch_version(), ")");
#endif
}

}  // namespace moekd::compat
