#pragma once
// The shape of one decoder-only model: dense students and every supported MoE teacher family.
#include <cstdint>
#include <string>
#include <vector>

namespace moekd {

enum class Family { Llama, Qwen2, Mixtral, Qwen2Moe, Olmoe, LlamaMoe };

// How the router turns its logits into weights for the chosen experts (docs/DESIGN.md, Models).
enum class WeightRule {
  SoftmaxAllRenormalised,  // Mixtral; Qwen2-MoE/OLMoE with norm_topk_prob
  SoftmaxAll,              // Qwen2-MoE/OLMoE without norm_topk_prob
  SoftmaxChosen,           // LLaMA-MoE: softmax over the chosen experts' logits only
};

enum class RouterKind { Linear, Mlp };  // Mlp: LLaMA-MoE's linear -> tanh -> linear gate

struct MoeSpec {
  int64_t num_experts = 0;
  int64_t top_k = 0;
  RouterKind router = RouterKind::Linear;
  WeightRule weight_rule = WeightRule::SoftmaxAllRenormalised;
  int64_t shared_expert_size = 0;     // Qwen2-MoE: intermediate size of the gated shared expert
  bool noise_projection = false;      // LLaMA-MoE keeps weight_noise (used only in training)
  double noise_epsilon = 1e-2;
};

struct LayerSpec {
  bool moe = false;
  std::vector<int64_t> expert_sizes;  // per-expert intermediate size; unequal only for LLaMA-MoE
  double score_scale = 1.0;           // LLaMA-MoE's score_scale_factor (may differ per layer)
};

// Parameters of a model of this shape, counted from the config alone (no weights needed).
struct ParameterCount {
  int64_t total = 0;    // every parameter, tied embeddings once
  int64_t active = 0;   // per token: k experts of mean size in each MoE layer
  int64_t routers = 0;  // router (and noise projection) parameters: what SAR trains
  int64_t largest = 0;  // the largest single parameter tensor (stacked experts padded as stored)
};

struct ModelConfig {
  Family family = Family::Llama;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t intermediate_size = 0;  // dense FFN size (dense layers of any family)
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  double rope_linear_factor = 1.0;  // rope_scaling {"type": "linear"}; 1 = none
  bool tie_word_embeddings = false;
  bool qkv_bias = false;
  bool o_bias = false;
  bool qk_norm = false;      // OLMoE: RMSNorm over the whole q and k projections
  double clip_qkv = 0.0;     // OLMoE: clamp q, k, v to [-clip, clip]; 0 = off
  int64_t sliding_window = 0;  // 0 = full causal attention
  int64_t bos_token_id = -1;
  int64_t eos_token_id = -1;
  MoeSpec moe;
  std::vector<LayerSpec> layers;

  int64_t num_layers() const { return static_cast<int64_t>(layers.size()); }
  bool is_moe() const;
  int64_t num_moe_layers() const;
  // Throws moekd::Error naming the field when the shape is inconsistent.
  void validate() const;
  ParameterCount parameter_count() const;
};

const char* family_architecture(Family f);  // the Hugging Face `architectures[0]` string
const char* family_model_type(Family f);    // the Hugging Face `model_type` string
const char* weight_rule_name(WeightRule r);

}  // namespace moekd
