#include "model/samples.h"

namespace moekd {

ModelConfig sample_config(Family family, int64_t layers) {
  ModelConfig c;
  c.family = family;
  c.vocab_size = 64;
  c.hidden_size = 32;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 8;
  c.intermediate_size = 48;
  c.rms_norm_eps = 1e-6;
  c.rope_theta = 10000.0;
  c.eos_token_id = 2;
  c.layers.assign(layers, LayerSpec{});
  const bool moe = family != Family::Llama && family != Family::Qwen2;
  c.qkv_bias = family == Family::Qwen2 || family == Family::Qwen2Moe;
  c.tie_word_embeddings = family == Family::Qwen2;
  if (!moe) return c;
  c.moe.num_experts = 4;
  c.moe.top_k = 2;
  for (auto& l : c.layers) l = LayerSpec{true, {24, 24, 24, 24}, 1.0};
  switch (family) {
    case Family::Mixtral:
      c.moe.weight_rule = WeightRule::SoftmaxAllRenormalised;
      break;
    case Family::Qwen2Moe:
      c.moe.weight_rule = WeightRule::SoftmaxAll;
      c.moe.shared_expert_size = 40;
      if (layers > 1) c.layers[1] = LayerSpec{};
      break;
    case Family::Olmoe:
      c.moe.weight_rule = WeightRule::SoftmaxAllRenormalised;
      c.qk_norm = true;
      c.clip_qkv = 1.0;
      break;
    case Family::LlamaMoe:
      c.moe.weight_rule = WeightRule::SoftmaxChosen;
      c.moe.router = RouterKind::Mlp;
      c.moe.noise_projection = true;
      for (auto& l : c.layers) l = LayerSpec{true, {8, 12, 20, 16}, 2.0};
      break;
    default:
      break;
  }
  return c;
}

CausalLM sample_model(Family family, uint64_t seed, int64_t layers) {
  torch::manual_seed(seed);
  CausalLM m(sample_config(family, layers));
  m->init_weights(0.2);
  torch::NoGradGuard no_grad;
  for (auto& p : m->named_parameters())
    if (p.value().dim() == 1) p.value().add_(torch::randn_like(p.value()) * 0.2);
  return m;
}

const std::vector<std::pair<const char*, Family>>& all_families() {
  static const std::vector<std::pair<const char*, Family>> f = {
      {"llama", Family::Llama},        {"qwen2", Family::Qwen2}, {"mixtral", Family::Mixtral},
      {"qwen2_moe", Family::Qwen2Moe}, {"olmoe", Family::Olmoe}, {"llama_moe", Family::LlamaMoe}};
  return f;
}

}  // namespace moekd
