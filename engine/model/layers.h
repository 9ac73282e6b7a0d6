#pragma once
// The dense building blocks of the decoder: RMSNorm, rotary embeddings, grouped-query causal
// attention with a KV cache, and the SwiGLU MLP. Parameter names follow the Hugging Face modules
// so that named_parameters() reads like a checkpoint.
#include <torch/torch.h>

#include "model/config.h"

namespace moekd {

struct RMSNormImpl : torch::nn::Module {
  RMSNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
  double eps;
};
TORCH_MODULE(RMSNorm);

// cos/sin tables for the rotate-half convention, computed in float32 for the given positions.
struct Rotary {
  Rotary(int64_t head_dim, double theta, double linear_factor);
  // positions: [B, T] int64 -> (cos, sin) each [B, 1, T, head_dim]
  std::pair<torch::Tensor, torch::Tensor> tables(const torch::Tensor& positions) const;
  static torch::Tensor apply(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);
  torch::Tensor inv_freq;  // [head_dim / 2]
};

// Past keys and values of every layer, appended to by each incremental forward.
struct KVCache {
  std::vector<torch::Tensor> keys, values;  // per layer [B, KV, S, D]
  int64_t length() const { return keys.empty() || !keys[0].defined() ? 0 : keys[0].size(2); }
  void clear() { keys.clear(); values.clear(); }
};

struct AttentionInputs {
  torch::Tensor cos, sin;  // rotary tables for the new positions
  torch::Tensor mask;      // additive float mask [B, 1, T, S] or undefined for plain causal
  KVCache* cache = nullptr;
  int64_t layer = 0;
};

struct AttentionImpl : torch::nn::Module {
  explicit AttentionImpl(const ModelConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x, const AttentionInputs& in);
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  RMSNorm q_norm{nullptr}, k_norm{nullptr};
  int64_t num_heads, num_kv_heads, head_dim;
  double clip_qkv;
};
TORCH_MODULE(Attention);

// down(silu(gate(x)) * up(x))
struct DenseMLPImpl : torch::nn::Module {
  DenseMLPImpl(int64_t hidden, int64_t intermediate);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(DenseMLP);

}  // namespace moekd
