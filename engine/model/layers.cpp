#include "model/layers.h"

#include "backend/precision.h"
#include "model/causal_attention.h"

namespace moekd {

namespace nn = torch::nn;

RMSNormImpl::RMSNormImpl(int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  // Statistics in float32 whatever the storage dtype, as the reference implementations do.
  auto h = at_least_float32(x);
  h = h * torch::rsqrt(h.pow(2).mean(-1, true) + eps);
  return weight * h.to(x.scalar_type());
}

Rotary::Rotary(int64_t head_dim, double theta, double linear_factor) {
  auto exponent = torch::arange(0, head_dim, 2, torch::kLong).to(torch::kFloat) / static_cast<double>(head_dim);
  inv_freq = 1.0 / torch::pow(torch::tensor(theta, torch::kFloat), exponent);
  if (linear_factor != 1.0) inv_freq = inv_freq / linear_factor;
}

std::pair<torch::Tensor, torch::Tensor> Rotary::tables(const torch::Tensor& positions) const {
  auto freqs = positions.to(torch::kFloat).unsqueeze(-1) * inv_freq.to(positions.device());  // [B, T, D/2]
  auto emb = torch::cat({freqs, freqs}, -1).unsqueeze(1);                                    // [B, 1, T, D]
  return {emb.cos(), emb.sin()};
}

torch::Tensor Rotary::apply(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const auto half = x.size(-1) / 2;
  auto rotated = torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * cos.to(x.scalar_type()) + rotated * sin.to(x.scalar_type());
}

AttentionImpl::AttentionImpl(const ModelConfig& c)
    : num_heads(c.num_heads), num_kv_heads(c.num_kv_heads), head_dim(c.head_dim), clip_qkv(c.clip_qkv) {
  const auto d = c.hidden_size;
  q_proj = register_module("q_proj", nn::Linear(nn::LinearOptions(d, num_heads * head_dim).bias(c.qkv_bias)));
  k_proj = register_module("k_proj", nn::Linear(nn::LinearOptions(d, num_kv_heads * head_dim).bias(c.qkv_bias)));
  v_proj = register_module("v_proj", nn::Linear(nn::LinearOptions(d, num_kv_heads * head_dim).bias(c.qkv_bias)));
  o_proj = register_module("o_proj", nn::Linear(nn::LinearOptions(num_heads * head_dim, d).bias(c.o_bias)));
  if (c.qk_norm) {
    q_norm = register_module("q_norm", RMSNorm(num_heads * head_dim, c.rms_norm_eps));
    k_norm = register_module("k_norm", RMSNorm(num_kv_heads * head_dim, c.rms_norm_eps));
  }
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const AttentionInputs& in) {
  const auto B = x.size(0), T = x.size(1);
  auto q = q_proj(x), k = k_proj(x), v = v_proj(x);
  if (q_norm) {
    q = q_norm(q);
    k = k_norm(k);
  }
  if (clip_qkv > 0) {
    q = q.clamp(-clip_qkv, clip_qkv);
    k = k.clamp(-clip_qkv, clip_qkv);
    v = v.clamp(-clip_qkv, clip_qkv);
  }
  // RoPE on the projections' own [B, T, H, D] layout, whose contiguous rows make its elementwise
  // loops and its half-swap cheap, then the [B, H, T, D] view attention takes.
  const auto cos_t = in.cos.transpose(1, 2), sin_t = in.sin.transpose(1, 2);  // [B, T, 1, D]
  q = Rotary::apply(q.view({B, T, num_heads, head_dim}), cos_t, sin_t).transpose(1, 2);
  k = Rotary::apply(k.view({B, T, num_kv_heads, head_dim}), cos_t, sin_t).transpose(1, 2);
  v = v.view({B, T, num_kv_heads, head_dim}).transpose(1, 2);
  if (in.cache) {
    auto& keys = in.cache->keys;
    auto& values = in.cache->values;
    if (keys.size() <= static_cast<size_t>(in.layer)) {
      keys.resize(in.layer + 1);
      values.resize(in.layer + 1);
    }
    if (keys[in.layer].defined()) {
      k = torch::cat({keys[in.layer], k}, 2);
      v = torch::cat({values[in.layer], v}, 2);
    }
    keys[in.layer] = k.detach();
    values[in.layer] = v.detach();
  }
  auto out = self_attention(q, k, v, in.mask);
  return o_proj(out.transpose(1, 2).reshape({B, T, num_heads * head_dim}));
}

DenseMLPImpl::DenseMLPImpl(int64_t hidden, int64_t intermediate) {
  gate_proj = register_module("gate_proj", nn::Linear(nn::LinearOptions(hidden, intermediate).bias(false)));
  up_proj = register_module("up_proj", nn::Linear(nn::LinearOptions(hidden, intermediate).bias(false)));
  down_proj = register_module("down_proj", nn::Linear(nn::LinearOptions(intermediate, hidden).bias(false)));
}

torch::Tensor DenseMLPImpl::forward(const torch::Tensor& x) {
  return down_proj(torch::silu(gate_proj(x)) * up_proj(x));
}

}  // namespace moekd
