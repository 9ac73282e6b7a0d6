#include "model/config.h"

#include <algorithm>

#include "util/error.h"

namespace moekd {

bool ModelConfig::is_moe() const { return num_moe_layers() > 0; }

int64_t ModelConfig::num_moe_layers() const {
  int64_t n = 0;
  for (const auto& l : layers) n += l.moe ? 1 : 0;
  return n;
}

void ModelConfig::validate() const {
  // Each size within what any real checkpoint has (with room to spare), so that a typo such as
  // 1e12 is refused by name here instead of becoming a terabyte allocation.
  auto positive = [](int64_t v, const char* field) {
    if (v <= 0) fail("model config: `", field, "` must be a positive integer, got ", v);
  };
  auto bounded = [](int64_t v, const char* field, int64_t hi) {
    if (v <= 0 || v > hi) fail("model config: `", field, "` must be an integer in [1, ", hi, "], got ", v);
  };
  bounded(vocab_size, "vocab_size", int64_t{1} << 22);
  bounded(hidden_size, "hidden_size", int64_t{1} << 17);
  bounded(num_heads, "num_attention_heads", 4096);
  bounded(num_kv_heads, "num_key_value_heads", 4096);
  bounded(head_dim, "head_dim", 8192);
  bounded(num_layers(), "num_hidden_layers", 4096);
  bounded(max_position_embeddings, "max_position_embeddings", int64_t{1} << 24);
  if (intermediate_size < 0 || intermediate_size > (int64_t{1} << 20))
    fail("model config: `intermediate_size` must be an integer in [0, 1048576], got ", intermediate_size);
  if (moe.shared_expert_size > (int64_t{1} << 20))
    fail("model config: `shared_expert_intermediate_size` must be at most 1048576, got ", moe.shared_expert_size);
  for (size_t i = 0; i < layers.size(); ++i)
    for (auto s : layers[i].expert_sizes)
      if (s > (int64_t{1} << 20)) fail("model config: layer ", i, " has an expert of size ", s, "; at most 1048576");
  // All sizes in range can still multiply past any machine: an upper bound on the parameters,
  // in floating point (the exact count's integers would overflow first).
  {
    const double d = static_cast<double>(hidden_size);
    const double attention = 4.0 * d * static_cast<double>(std::max(num_heads, num_kv_heads) * head_dim);
    double ffn = 0;
    for (const auto& l : layers) {
      double sizes = static_cast<double>(intermediate_size + moe.shared_expert_size);
      for (auto s : l.expert_sizes) sizes += static_cast<double>(s);
      ffn += 3.0 * d * sizes;
    }
    const double embeddings = 2.0 * static_cast<double>(vocab_size) * d;
    const double total = embeddings + static_cast<double>(num_layers()) * attention + ffn;
    if (total > 1e13) {
      const char* largest = embeddings >= ffn && embeddings >= num_layers() * attention ? "`vocab_size` and `hidden_size`"
                            : ffn >= num_layers() * attention ? "`intermediate_size` and the experts' sizes"
                                                              : "`num_attention_heads` and `head_dim`";
      fail("model config: describes about ", total, " parameters, more than any machine holds; look at ", largest);
    }
  }
  if (num_heads % num_kv_heads != 0)
    fail("model config: `num_attention_heads` (", num_heads, ") must be a multiple of `num_key_value_heads` (",
         num_kv_heads, ")");
  if (head_dim % 2 != 0) fail("model config: `head_dim` must be even for rotary embeddings, got ", head_dim);
  if (!(rms_norm_eps > 0)) fail("model config: `rms_norm_eps` must be > 0");
  if (!(rope_theta > 0)) fail("model config: `rope_theta` must be > 0");
  if (!(rope_linear_factor > 0)) fail("model config: `rope_scaling.factor` must be > 0");
  if (clip_qkv < 0) fail("model config: `clip_qkv` must be >= 0 or null");
  if (sliding_window < 0) fail("model config: `sliding_window` must be >= 0 or null");
  bool any_dense = false;
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& l = layers[i];
    if (!l.moe) {
      any_dense = true;
      continue;
    }
    if (static_cast<int64_t>(l.expert_sizes.size()) != moe.num_experts)
      fail("model config: layer ", i, " lists ", l.expert_sizes.size(), " expert sizes, expected num_experts = ",
           moe.num_experts);
    for (auto s : l.expert_sizes)
      if (s <= 0) fail("model config: layer ", i, " has an expert of size ", s, "; sizes must be positive");
  }
  if (any_dense) positive(intermediate_size, "intermediate_size");
  if (is_moe()) {
    positive(moe.num_experts, "num_experts");
    if (moe.top_k <= 0 || moe.top_k > moe.num_experts)
      fail("model config: experts per token (top-k) must be in [1, num_experts = ", moe.num_experts, "], got ",
           moe.top_k);
    if (moe.shared_expert_size < 0) fail("model config: `shared_expert_intermediate_size` must be >= 0");
  }
}

ParameterCount ModelConfig::parameter_count() const {
  ParameterCount c;
  const int64_t d = hidden_size, q = num_heads * head_dim, kv = num_kv_heads * head_dim;
  auto add = [&c](int64_t n) {
    c.total += n;
    c.largest = std::max(c.largest, n);
  };
  add(vocab_size * d);
  if (!tie_word_embeddings) add(vocab_size * d);
  add(d);  // the final norm
  for (const auto& l : layers) {
    add(d);  // the two norms
    add(d);
    add(d * q + (qkv_bias ? q : 0));
    add(d * kv + (qkv_bias ? kv : 0));
    add(d * kv + (qkv_bias ? kv : 0));
    add(q * d + (o_bias ? d : 0));
    if (qk_norm) {
      add(q);
      add(kv);
    }
    if (!l.moe) {
      for (int i = 0; i < 3; ++i) add(d * intermediate_size);
      continue;
    }
    const int64_t E = moe.num_experts;
    int64_t router = 0;
    if (family != Family::LlamaMoe) router = E * d;
    else router = moe.router == RouterKind::Mlp ? d * E + E * E : d * E;
    if (moe.noise_projection) router += d * E;
    c.routers += router;
    c.total += router;
    int64_t experts = 0, widest = 0;
    for (auto s : l.expert_sizes) {
      experts += 3 * d * s;
      widest = std::max(widest, s);
    }
    c.total += experts;
    c.largest = std::max(c.largest, E * widest * d);  // one stacked matrix
    c.active -= experts - experts * moe.top_k / E;
    if (moe.shared_expert_size > 0) {
      for (int i = 0; i < 3; ++i) add(d * moe.shared_expert_size);
      add(d);  // its gate
    }
  }
  c.active += c.total;
  return c;
}

const char* family_architecture(Family f) {
  switch (f) {
    case Family::Llama: return "LlamaForCausalLM";
    case Family::Qwen2: return "Qwen2ForCausalLM";
    case Family::Mixtral: return "MixtralForCausalLM";
    case Family::Qwen2Moe: return "Qwen2MoeForCausalLM";
    case Family::Olmoe: return "OlmoeForCausalLM";
    case Family::LlamaMoe: return "LlamaMoEForCausalLM";
  }
  return "?";
}

const char* family_model_type(Family f) {
  switch (f) {
    case Family::Llama: return "llama";
    case Family::Qwen2: return "qwen2";
    case Family::Mixtral: return "mixtral";
    case Family::Qwen2Moe: return "qwen2_moe";
    case Family::Olmoe: return "olmoe";
    case Family::LlamaMoe: return "llama_moe";
  }
  return "?";
}

const char* weight_rule_name(WeightRule r) {
  switch (r) {
    case WeightRule::SoftmaxAllRenormalised: return "softmax over all experts, renormalised over the chosen";
    case WeightRule::SoftmaxAll: return "softmax over all experts, not renormalised";
    case WeightRule::SoftmaxChosen: return "softmax over the chosen experts' logits";
  }
  return "?";
}

}  // namespace moekd
