#include "model/causal_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "backend/blas.h"
#include "backend/torch_compat.h"
#include "util/environment.h"

namespace moekd {

namespace {

// Query rows per block. Smaller blocks skip more of the masked half of the scores (a block of
// rows ending at r computes keys 0..r: the share of masked scores computed is about block / 2T)
// but make smaller products.
int64_t row_block(int64_t T) { return T <= 256 ? 32 : 64; }

// Element (b, h, 0, 0) of a [B, H, T, D] tensor, or of a [B, T, H, D] one, whose last dimension is
// contiguous, and the stride between its rows (the BLAS's leading dimension).
struct Heads {
  float* data;
  int64_t stride_b, stride_h, stride_t;
  static Heads of_bhtd(const torch::Tensor& x) { return {x.data_ptr<float>(), x.stride(0), x.stride(1), x.stride(2)}; }
  static Heads of_bthd(const torch::Tensor& x) { return {x.data_ptr<float>(), x.stride(0), x.stride(2), x.stride(1)}; }
  float* at(int64_t b, int64_t h) const { return data + b * stride_b + h * stride_h; }
};

// The output and the gradients of q, k and v are written [B, T, H, D], so that the output
// projection reads [B, T, H * D] without a copy.
torch::Tensor bthd(int64_t B, int64_t H, int64_t T, int64_t D, const torch::TensorOptions& o, bool zeroed) {
  return zeroed ? torch::zeros({B, T, H, D}, o) : torch::empty({B, T, H, D}, o);
}

// The row loops below (a softmax over each row's visible keys, and its backward) are written on
// 16-float vectors (GCC/Clang vector extensions): one AVX-512 register, two AVX2 ones or four
// SSE ones. They are compiled once per level and the CPU's best is picked at run time. Every
// level does the same operations in the same order (16 lanes, no fused multiply-adds: the part is
// built with -ffp-contract=off), so the results do not depend on the level. Vectors pass by
// reference only: by value, their calling convention would differ between the levels.
typedef float Floats __attribute__((vector_size(64)));
typedef int32_t Ints __attribute__((vector_size(64)));
constexpr int64_t kLanes = 16;

#define MOEKD_ROW_INLINE inline __attribute__((always_inline))

// exp(x) in place for the softmax's x - max <= 0, within 2 ulp: 2^n p(r) with n = round(x / ln 2),
// r = x - n ln 2 and Cephes' polynomial for expf. Branch-free; the rounding adds and subtracts
// 1.5 * 2^23 rather than calling libm.
MOEKD_ROW_INLINE void exp_nonpositive(Floats& x) {
  const Floats floor = Floats{} - 87.0f;  // exp(-87) ~ 1.6e-38: still a normal float
  x = x < floor ? floor : x;
  const Floats n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const Floats r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  Floats p = Floats{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const Ints bits = (__builtin_convertvector(n, Ints) + 127) << 23;
  Floats two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  x = p * two_n;
}

MOEKD_ROW_INLINE float lane_sum(const Floats& v) {
  float sum = 0.0f;
  for (int64_t l = 0; l < kLanes; ++l) sum += v[l];
  return sum;
}

// In place: row[0, visible) <- its softmax, row[visible, width) <- 0 (the masked keys of a block).
MOEKD_ROW_INLINE void softmax_row_body(float* row, int64_t visible, int64_t width) {
  const int64_t full = visible / kLanes * kLanes, rest = visible - full;
  Floats x, top_lanes = Floats{} - std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < full; j += kLanes) {
    std::memcpy(&x, row + j, sizeof x);
    top_lanes = x > top_lanes ? x : top_lanes;
  }
  float top = -std::numeric_limits<float>::infinity();
  for (int64_t l = 0; l < kLanes; ++l) top = std::max(top, top_lanes[l]);
  for (int64_t j = full; j < visible; ++j) top = std::max(top, row[j]);
  Floats sum_lanes = {};
  for (int64_t j = 0; j < full; j += kLanes) {
    std::memcpy(&x, row + j, sizeof x);
    x -= top;
    exp_nonpositive(x);
    std::memcpy(row + j, &x, sizeof x);
    sum_lanes += x;
  }
  float sum = lane_sum(sum_lanes);
  if (rest > 0) {  // the last partial vector: lanes past the row hold exp(0) and are not used
    x = Floats{};
    for (int64_t l = 0; l < rest; ++l) x[l] = row[full + l] - top;
    exp_nonpositive(x);
    for (int64_t l = 0; l < rest; ++l) {
      row[full + l] = x[l];
      sum += x[l];
    }
  }
  const float inverse = 1.0f / sum;
  for (int64_t j = 0; j < full; j += kLanes) {
    std::memcpy(&x, row + j, sizeof x);
    x *= inverse;
    std::memcpy(row + j, &x, sizeof x);
  }
  for (int64_t j = full; j < visible; ++j) row[j] *= inverse;
  std::fill(row + visible, row + width, 0.0f);
}

// In place: dp <- p * (dp - sum(p * dp)) over the visible keys, 0 past them: the gradient of the
// scores from the gradient of the probabilities.
MOEKD_ROW_INLINE void softmax_backward_row_body(const float* p, float* dp, int64_t visible, int64_t width) {
  const int64_t full = visible / kLanes * kLanes;
  Floats a, b, dot_lanes = {};
  for (int64_t j = 0; j < full; j += kLanes) {
    std::memcpy(&a, p + j, sizeof a);
    std::memcpy(&b, dp + j, sizeof b);
    dot_lanes += a * b;
  }
  float dot = lane_sum(dot_lanes);
  for (int64_t j = full; j < visible; ++j) dot += p[j] * dp[j];
  for (int64_t j = 0; j < full; j += kLanes) {
    std::memcpy(&a, p + j, sizeof a);
    std::memcpy(&b, dp + j, sizeof b);
    b = a * (b - dot);
    std::memcpy(dp + j, &b, sizeof b);
  }
  for (int64_t j = full; j < visible; ++j) dp[j] = p[j] * (dp[j] - dot);
  std::fill(dp + visible, dp + width, 0.0f);
}

struct RowKernels {
  void (*softmax)(float* row, int64_t visible, int64_t width);
  void (*softmax_backward)(const float* p, float* dp, int64_t visible, int64_t width);
};

void softmax_row_base(float* row, int64_t visible, int64_t width) { softmax_row_body(row, visible, width); }
void softmax_backward_row_base(const float* p, float* dp, int64_t visible, int64_t width) {
  softmax_backward_row_body(p, dp, visible, width);
}
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) void softmax_row_avx2(float* row, int64_t visible, int64_t width) {
  softmax_row_body(row, visible, width);
}
__attribute__((target("avx2"))) void softmax_backward_row_avx2(const float* p, float* dp, int64_t visible,
                                                                int64_t width) {
  softmax_backward_row_body(p, dp, visible, width);
}
__attribute__((target("avx512f"))) void softmax_row_avx512(float* row, int64_t visible, int64_t width) {
  softmax_row_body(row, visible, width);
}
__attribute__((target("avx512f"))) void softmax_backward_row_avx512(const float* p, float* dp, int64_t visible,
                                                                    int64_t width) {
  softmax_backward_row_body(p, dp, visible, width);
}
#endif

const RowKernels& row_kernels() {
  static const RowKernels chosen = [] {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return RowKernels{softmax_row_avx512, softmax_backward_row_avx512};
    if (__builtin_cpu_supports("avx2")) return RowKernels{softmax_row_avx2, softmax_backward_row_avx2};
#endif
    return RowKernels{softmax_row_base, softmax_backward_row_base};
  }();
  return chosen;
}

struct Shape {
  int64_t B, H, Hkv, T, D;
  float scale;
  explicit Shape(const torch::Tensor& q, const torch::Tensor& k)
      : B(q.size(0)), H(q.size(1)), Hkv(k.size(1)), T(q.size(2)), D(q.size(3)),
        scale(static_cast<float>(1.0 / std::sqrt(static_cast<double>(q.size(3))))) {}
};

// One head's forward. `probs` holds T x T (row stride T) when kept for backward, else one block
// of rows that every block reuses.
void forward_head(const Shape& s, const float* q, int64_t ldq, const float* k, int64_t ldk, const float* v,
                  int64_t ldv, float* out, int64_t ldo, float* probs, bool keep) {
  const int64_t R = row_block(s.T);
  const auto& kernels = row_kernels();
  for (int64_t r0 = 0; r0 < s.T; r0 += R) {
    const int64_t rows = std::min(R, s.T - r0), keys = r0 + rows;
    float* p = keep ? probs + r0 * s.T : probs;
    blas_sgemm(false, true, rows, keys, s.D, s.scale, q + r0 * ldq, ldq, k, ldk, 0.0f, p, s.T);
    for (int64_t i = 0; i < rows; ++i) kernels.softmax(p + i * s.T, r0 + i + 1, keys);
    blas_sgemm(false, false, rows, s.D, keys, 1.0f, p, s.T, v, ldv, 0.0f, out + r0 * ldo, ldo);
  }
}

// Runs every head -> [B, T, H, D]; `probs` is [B, H, T, T] when kept, else undefined.
torch::Tensor forward_all_heads(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                const torch::Tensor& probs) {
  const Shape s(q, k);
  const bool keep = probs.defined();
  auto out = bthd(s.B, s.H, s.T, s.D, q.options(), /*zeroed=*/false);
  auto scratch = keep ? probs : torch::empty({row_block(s.T), s.T}, q.options());
  const auto Q = Heads::of_bhtd(q), K = Heads::of_bhtd(k), V = Heads::of_bhtd(v), O = Heads::of_bthd(out);
  float* p = scratch.data_ptr<float>();
  const int64_t group = s.H / s.Hkv;
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.H; ++h)
      forward_head(s, Q.at(b, h), Q.stride_t, K.at(b, h / group), K.stride_t, V.at(b, h / group), V.stride_t,
                   O.at(b, h), O.stride_t, keep ? p + (b * s.H + h) * s.T * s.T : p, keep);
  return out;
}

struct CausalAttentionFunction : torch::autograd::Function<CausalAttentionFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v) {
    auto probs = torch::empty({q.size(0), q.size(1), q.size(2), q.size(2)}, q.options());
    auto out = forward_all_heads(q, k, v, probs);
    ctx->save_for_backward({q, k, v, probs});
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &q = saved[0], &k = saved[1], &v = saved[2], &probs = saved[3];
    auto grad_out = grads[0];
    if (!grad_out.defined()) return {torch::Tensor(), torch::Tensor(), torch::Tensor()};
    if (grad_out.stride(-1) != 1) grad_out = grad_out.contiguous();
    const Shape s(q, k);
    auto dq = bthd(s.B, s.H, s.T, s.D, q.options(), /*zeroed=*/false);
    // Keys and values are summed into: over the blocks of rows, and over the heads of a group.
    auto dk = bthd(s.B, s.Hkv, s.T, s.D, k.options(), /*zeroed=*/true);
    auto dv = bthd(s.B, s.Hkv, s.T, s.D, v.options(), /*zeroed=*/true);
    const int64_t R = row_block(s.T), group = s.H / s.Hkv;
    const auto& kernels = row_kernels();
    auto scratch = torch::empty({R, s.T}, q.options());
    const auto Q = Heads::of_bhtd(q), K = Heads::of_bhtd(k), V = Heads::of_bhtd(v), dO = Heads::of_bthd(grad_out),
               dQ = Heads::of_bthd(dq), dK = Heads::of_bthd(dk), dV = Heads::of_bthd(dv);
    float* ds = scratch.data_ptr<float>();
    const float* all_probs = probs.data_ptr<float>();
    for (int64_t b = 0; b < s.B; ++b)
      for (int64_t h = 0; h < s.H; ++h) {
        const float *qh = Q.at(b, h), *kh = K.at(b, h / group), *vh = V.at(b, h / group), *go = dO.at(b, h);
        float *dqh = dQ.at(b, h), *dkh = dK.at(b, h / group), *dvh = dV.at(b, h / group);
        const float* ph = all_probs + (b * s.H + h) * s.T * s.T;
        for (int64_t r0 = 0; r0 < s.T; r0 += R) {
          const int64_t rows = std::min(R, s.T - r0), keys = r0 + rows;
          const float* p = ph + r0 * s.T;
          const float* go_rows = go + r0 * dO.stride_t;
          // dV[0, keys) += P^T dO; dP = dO V^T; dS = softmax'(dP); dQ = scale dS K; dK += scale dS^T Q.
          blas_sgemm(true, false, keys, s.D, rows, 1.0f, p, s.T, go_rows, dO.stride_t, 1.0f, dvh, dV.stride_t);
          blas_sgemm(false, true, rows, keys, s.D, 1.0f, go_rows, dO.stride_t, vh, V.stride_t, 0.0f, ds, s.T);
          for (int64_t i = 0; i < rows; ++i) kernels.softmax_backward(p + i * s.T, ds + i * s.T, r0 + i + 1, keys);
          blas_sgemm(false, false, rows, s.D, keys, s.scale, ds, s.T, kh, K.stride_t, 0.0f, dqh + r0 * dQ.stride_t,
                     dQ.stride_t);
          blas_sgemm(true, false, keys, s.D, rows, s.scale, ds, s.T, qh + r0 * Q.stride_t, Q.stride_t, 1.0f, dkh,
                     dK.stride_t);
        }
      }
    return {dq.transpose(1, 2), dk.transpose(1, 2), dv.transpose(1, 2)};
  }
};

}  // namespace

bool causal_attention_cpu_available() {
#if MOEKD_TORCH_AT_LEAST(2, 0)
  return false;  // scaled_dot_product_attention has fused CPU kernels there
#else
  static const bool available = environment_variable("MOEKD_CPU_ATTENTION") != "0" && has_blas_sgemm();
  return available;
#endif
}

bool causal_attention_cpu_applies(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  auto fits = [](const torch::Tensor& t) {
    return t.device().is_cpu() && t.scalar_type() == torch::kFloat && t.dim() == 4 && t.stride(3) == 1 &&
           t.stride(2) >= t.size(3);
  };
  return causal_attention_cpu_available() && fits(q) && fits(k) && fits(v) && k.sizes() == v.sizes() &&
         q.size(0) == k.size(0) && q.size(2) == k.size(2) && q.size(3) == k.size(3) && q.size(2) > 0 &&
         k.size(1) > 0 && q.size(1) % k.size(1) == 0;
}

torch::Tensor self_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             const torch::Tensor& additive_mask) {
  if (!additive_mask.defined() && causal_attention_cpu_applies(q, k, v)) return causal_attention_cpu(q, k, v);
  if (k.size(1) == q.size(1)) return compat::attention(q, k, v, additive_mask, /*causal=*/true);
  const auto groups = q.size(1) / k.size(1);
  return compat::attention(q, k.repeat_interleave(groups, 1), v.repeat_interleave(groups, 1), additive_mask,
                           /*causal=*/true);
}

torch::Tensor causal_attention_cpu(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  const bool grad = torch::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad());
  auto out = grad ? CausalAttentionFunction::apply(q, k, v) : forward_all_heads(q, k, v, torch::Tensor());
  return out.transpose(1, 2);
}

}  // namespace moekd
