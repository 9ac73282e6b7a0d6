#include "model/causal_attention.h"

#include <algorithm>
#include <cmath>

#include "backend/blas.h"
#include "backend/torch_compat.h"
#include "model/attention_rows.h"
#include "util/environment.h"

namespace moekd {

namespace {

// Query rows per block. Smaller blocks skip more of the masked half of the scores (a block of
// rows ending at r computes keys 0..r: the share of masked scores computed is about block / 2T)
// but make smaller products.
int64_t row_block(int64_t T) { return T <= 256 ? 32 : 64; }

// Element (b, h, 0, 0) of a [B, H, T, D] tensor, or of a [B, T, H, D] one, whose last dimension is
// contiguous, and the stride between its rows (the BLAS's leading dimension).
struct AttentionHeads {
  float* data;
  int64_t stride_b, stride_h, stride_t;
  static AttentionHeads of_bhtd(const torch::Tensor& x) {
    return {x.data_ptr<float>(), x.stride(0), x.stride(1), x.stride(2)};
  }
  static AttentionHeads of_bthd(const torch::Tensor& x) {
    return {x.data_ptr<float>(), x.stride(0), x.stride(2), x.stride(1)};
  }
  float* at(int64_t b, int64_t h) const { return data + b * stride_b + h * stride_h; }
};

// The output and the gradients of q, k and v are written [B, T, H, D], so that the output
// projection reads [B, T, H * D] without a copy.
torch::Tensor bthd(int64_t B, int64_t H, int64_t T, int64_t D, const torch::TensorOptions& o, bool zeroed) {
  return zeroed ? torch::zeros({B, T, H, D}, o) : torch::empty({B, T, H, D}, o);
}

struct AttentionShape {
  int64_t B, H, Hkv, T, D;
  float scale;
  explicit AttentionShape(const torch::Tensor& q, const torch::Tensor& k)
      : B(q.size(0)), H(q.size(1)), Hkv(k.size(1)), T(q.size(2)), D(q.size(3)),
        scale(static_cast<float>(1.0 / std::sqrt(static_cast<double>(q.size(3))))) {}
};

// One head's forward. `probs` holds T x T (row stride T) when kept for backward, else one block
// of rows that every block reuses.
void forward_head(const AttentionShape& s, const float* q, int64_t ldq, const float* k, int64_t ldk, const float* v,
                  int64_t ldv, float* out, int64_t ldo, float* probs, bool keep) {
  const int64_t R = row_block(s.T);
  const auto& kernels = attention_row_kernels();
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
  const AttentionShape s(q, k);
  const bool keep = probs.defined();
  auto out = bthd(s.B, s.H, s.T, s.D, q.options(), /*zeroed=*/false);
  auto scratch = keep ? probs : torch::empty({row_block(s.T), s.T}, q.options());
  const auto Q = AttentionHeads::of_bhtd(q), K = AttentionHeads::of_bhtd(k), V = AttentionHeads::of_bhtd(v),
             O = AttentionHeads::of_bthd(out);
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
    TORCH_CHECK(!torch::GradMode::is_enabled(), "causal_attention_cpu: its backward is not itself differentiable");
    // Its rows go to the BLAS: no broadcast (stride 0) or other layouts.
    grad_out = grad_out.contiguous();
    const AttentionShape s(q, k);
    auto dq = bthd(s.B, s.H, s.T, s.D, q.options(), /*zeroed=*/false);
    // Keys and values are summed into: over the blocks of rows, and over the heads of a group.
    auto dk = bthd(s.B, s.Hkv, s.T, s.D, k.options(), /*zeroed=*/true);
    auto dv = bthd(s.B, s.Hkv, s.T, s.D, v.options(), /*zeroed=*/true);
    const int64_t R = row_block(s.T), group = s.H / s.Hkv;
    const auto& kernels = attention_row_kernels();
    auto scratch = torch::empty({R, s.T}, q.options());
    const auto Q = AttentionHeads::of_bhtd(q), K = AttentionHeads::of_bhtd(k), V = AttentionHeads::of_bhtd(v);
    const auto dO = AttentionHeads::of_bthd(grad_out), dQ = AttentionHeads::of_bthd(dq),
               dK = AttentionHeads::of_bthd(dk), dV = AttentionHeads::of_bthd(dv);
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
