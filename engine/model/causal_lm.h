#pragma once
// The decoder-only causal language model: embeddings, N decoder layers (dense or MoE FFN),
// final norm and LM head (tied or untied). One class serves students and teachers.
#include <torch/torch.h>

#include <optional>

#include "model/config.h"
#include "model/layers.h"
#include "model/moe.h"

namespace moekd {

struct ForwardOptions {
  RoutingPolicy policy;
  KVCache* cache = nullptr;        // incremental decoding: read and extend
  torch::Tensor attention_mask;    // [B, S_past + T], 1 = real token, 0 = padding; optional
  torch::Tensor position_ids;      // [B, T]; default: past length + arange(T)
  bool record_routing = false;     // fill ForwardOutput::routing
  bool router_noise = false;       // LLaMA-MoE's training-time noisy gating
  bool last_logits_only = false;   // generation: compute the LM head for the last position only
  bool checkpoint_layers = false;  // keep no layer activations for backward (model/layer_checkpoint.h)
};

struct ForwardOutput {
  torch::Tensor logits;                              // [B, T, V] (or [B, 1, V])
  std::vector<std::optional<RoutingRecord>> routing;  // per decoder layer; empty for dense layers
};

struct DecoderLayerImpl : torch::nn::Module {
  DecoderLayerImpl(const ModelConfig& cfg, int64_t index);
  torch::Tensor forward(const torch::Tensor& x, const AttentionInputs& attn, const ForwardOptions& opt,
                        RoutingRecord* record);
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  Attention self_attn{nullptr};
  DenseMLP dense{nullptr};  // registered as "mlp" on dense layers
  MoEBlock moe{nullptr};    // registered as "mlp" on MoE layers
};
TORCH_MODULE(DecoderLayer);

struct TransformerImpl : torch::nn::Module {
  explicit TransformerImpl(const ModelConfig& cfg);
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
};
TORCH_MODULE(Transformer);

// One MoE layer's router parameters (with LLaMA-MoE's noise projection) under their checkpoint
// names, e.g. "model.layers.3.mlp.gate.weight".
struct LayerRouter {
  int64_t layer = 0;
  std::vector<std::pair<std::string, torch::Tensor>> parameters;
};

struct CausalLMImpl : torch::nn::Module {
  explicit CausalLMImpl(ModelConfig cfg);
  ForwardOutput forward(const torch::Tensor& input_ids, const ForwardOptions& opt = {});
  // Normal(0, std) for matrices, ones for norms, zeros for biases; stacked expert padding stays 0.
  void init_weights(double std);
  // The LM head matrix [V, d] (the embedding when tied).
  torch::Tensor head_weight() const;
  // The routers of the MoE layers, layer by layer: what SAR trains.
  std::vector<LayerRouter> routers();
  // Routes every MoE layer through k experts per token from now on (a teacher distilled with
  // fewer experts than it was trained with); fails for a dense model or k outside [1, E].
  void set_top_k(int64_t k);
  int64_t num_parameters() const;         // tied weights counted once
  int64_t num_active_parameters() const;  // per token: only k experts of each MoE layer

  ModelConfig config;
  Transformer model{nullptr};
  torch::nn::Linear lm_head{nullptr};  // absent when tied
  Rotary rotary;
};
TORCH_MODULE(CausalLM);

// Greedy decoding with the KV cache: appends up to `max_new_tokens` to one prompt, stops after
// `stop_id` (the token that ends a response under the run's template; -1: the model's eos).
std::vector<int64_t> generate_greedy(CausalLM& model, const std::vector<int64_t>& prompt, int64_t max_new_tokens,
                                     const RoutingPolicy& policy = {}, int64_t stop_id = -1);

}  // namespace moekd
