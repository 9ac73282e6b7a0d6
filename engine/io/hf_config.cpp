#include "io/hf_config.h"

#include <fstream>

#include "util/error.h"
#include "util/json_file.h"

namespace moekd {

using json = nlohmann::json;

namespace {

// Typed access to config fields, with messages that name the file and the field.
class Fields {
 public:
  Fields(const json& j, std::string source) : j_(j), src_(std::move(source)) {}

  bool has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }

  int64_t integer(const char* key) const {
    if (!has(key)) fail(src_, ": missing required field `", key, "` (an integer)");
    return integer_at(j_[key], key);
  }
  int64_t integer(const char* key, int64_t fallback) const { return has(key) ? integer(key) : fallback; }

  double number(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_number()) fail(src_, ": field `", key, "` must be a number, got ", quote_json(j_[key]));
    return j_[key].get<double>();
  }
  bool boolean(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_boolean()) fail(src_, ": field `", key, "` must be true or false, got ", quote_json(j_[key]));
    return j_[key].get<bool>();
  }
  std::string string(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_string()) fail(src_, ": field `", key, "` must be a string, got ", quote_json(j_[key]));
    return j_[key].get<std::string>();
  }
  // eos_token_id may be a list: the first entry is the one generation stops on.
  int64_t token_id(const char* key) const {
    if (!has(key)) return -1;
    const auto& v = j_[key];
    if (v.is_array()) return v.empty() ? -1 : integer_at(v[0], key);
    return integer_at(v, key);
  }
  std::vector<int64_t> integer_list(const char* key) const {
    std::vector<int64_t> out;
    if (!has(key)) return out;
    if (!j_[key].is_array()) fail(src_, ": field `", key, "` must be a list of integers");
    for (const auto& v : j_[key]) out.push_back(integer_at(v, key));
    return out;
  }
  const json& raw(const char* key) const { return j_[key]; }
  const std::string& source() const { return src_; }

 private:
  int64_t integer_at(const json& v, const char* key) const {
    if (!v.is_number_integer()) fail(src_, ": field `", key, "` must be an integer, got ", quote_json(v));
    return v.get<int64_t>();
  }
  const json& j_;
  std::string src_;
};

Family detect_family(const json& j, const std::string& src) {
  static const std::vector<std::pair<std::string, Family>> known = {
      {"LlamaForCausalLM", Family::Llama},          {"Qwen2ForCausalLM", Family::Qwen2},
      {"MixtralForCausalLM", Family::Mixtral},      {"Qwen2MoeForCausalLM", Family::Qwen2Moe},
      {"OlmoeForCausalLM", Family::Olmoe},          {"LlamaMoEForCausalLM", Family::LlamaMoe}};
  std::string arch;
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
      j["architectures"][0].is_string()) {
    arch = j["architectures"][0].get<std::string>();
  } else if (j.contains("model_type") && j["model_type"].is_string()) {
    const auto mt = j["model_type"].get<std::string>();
    for (const auto& [name, f] : known)
      if (mt == family_model_type(f)) return f;
    fail(src, ": model_type `", mt, "` is not supported (expected llama, qwen2, mixtral, qwen2_moe, olmoe or llama_moe)");
  } else {
    fail(src, ": missing field `architectures` (e.g. [\"MixtralForCausalLM\"])");
  }
  for (const auto& [name, f] : known)
    if (arch == name) return f;
  fail(src, ": architecture `", arch,
       "` is not supported; expected one of LlamaForCausalLM, Qwen2ForCausalLM, MixtralForCausalLM, "
       "Qwen2MoeForCausalLM, OlmoeForCausalLM, LlamaMoEForCausalLM");
}

// rope_theta and rope scaling, in the classic keys (`rope_theta`, `rope_scaling`) and in
// transformers 5's `rope_parameters`; a file may carry both, and every scaling entry is checked.
void read_rope(const Fields& f, ModelConfig& c) {
  c.rope_theta = f.number("rope_theta", c.rope_theta);
  for (const char* key : {"rope_parameters", "rope_scaling"}) {
    if (!f.has(key)) continue;
    const auto& scaling = f.raw(key);
    if (!scaling.is_object()) fail(f.source(), ": field `", key, "` must be an object or null");
    if (scaling.contains("rope_theta")) {
      if (!scaling["rope_theta"].is_number()) fail(f.source(), ": field `", key, ".rope_theta` must be a number");
      c.rope_theta = scaling["rope_theta"].get<double>();
    }
    std::string kind = "default";
    for (const char* k : {"rope_type", "type"})
      if (scaling.contains(k) && scaling[k].is_string()) kind = scaling[k].get<std::string>();
    if (kind == "default") continue;
    if (kind != "linear") fail(f.source(), ": rope scaling `", kind, "` is not supported (supported: default, linear)");
    if (!scaling.contains("factor") || !scaling["factor"].is_number())
      fail(f.source(), ": linear rope scaling needs a numeric `", key, ".factor`");
    c.rope_linear_factor = scaling["factor"].get<double>();
  }
}

}  // namespace

ModelConfig config_from_hf(const json& j, const std::string& src) {
  if (!j.is_object()) fail(src, ": expected a JSON object");
  Fields f(j, src);
  ModelConfig c;
  c.family = detect_family(j, src);
  const bool hf_moe = c.family == Family::Mixtral || c.family == Family::Qwen2Moe || c.family == Family::Olmoe;

  c.vocab_size = f.integer("vocab_size");
  c.hidden_size = f.integer("hidden_size");
  const auto num_layers = f.integer("num_hidden_layers");
  c.num_heads = f.integer("num_attention_heads");
  c.num_kv_heads = f.integer("num_key_value_heads", c.num_heads);
  if (c.num_heads <= 0) fail(src, ": field `num_attention_heads` must be positive");
  c.head_dim = f.integer("head_dim", c.hidden_size / c.num_heads);
  c.intermediate_size = f.integer("intermediate_size", 0);
  c.max_position_embeddings = f.integer("max_position_embeddings", c.max_position_embeddings);
  c.rms_norm_eps = f.number("rms_norm_eps", 1e-6);
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", false);
  c.bos_token_id = f.token_id("bos_token_id");
  c.eos_token_id = f.token_id("eos_token_id");
  read_rope(f, c);
  if (num_layers <= 0 || num_layers > 4096) fail(src, ": field `num_hidden_layers` must be in [1, 4096], got ", num_layers);

  const auto act = f.string("hidden_act", "silu");
  if (act != "silu") fail(src, ": field `hidden_act` = `", act, "` is not supported (expected silu)");
  if (f.boolean("mlp_bias", false)) fail(src, ": field `mlp_bias` = true is not supported");

  switch (c.family) {
    case Family::Llama:
    case Family::Olmoe:
    case Family::LlamaMoe:
      c.qkv_bias = c.o_bias = f.boolean("attention_bias", false);
      break;
    case Family::Qwen2:
    case Family::Qwen2Moe:
      c.qkv_bias = f.boolean("qkv_bias", true);
      c.o_bias = false;
      if (f.boolean("use_sliding_window", false))
        fail(src, ": field `use_sliding_window` = true is not supported for ", family_architecture(c.family));
      break;
    case Family::Mixtral:
      c.qkv_bias = c.o_bias = false;
      break;
  }
  if (c.family == Family::Mixtral) c.sliding_window = f.integer("sliding_window", 0);
  if (c.family == Family::Olmoe) {
    c.qk_norm = true;
    c.clip_qkv = f.number("clip_qkv", 0.0);
  }

  c.layers.assign(num_layers, LayerSpec{});
  auto& m = c.moe;
  if (hf_moe) {
    m.num_experts = f.integer(c.family == Family::Mixtral ? "num_local_experts" : "num_experts");
    m.top_k = f.integer("num_experts_per_tok");
    if (m.num_experts <= 0 || m.num_experts > 4096) fail(src, ": number of experts must be in [1, 4096]");
    const bool renorm = c.family == Family::Mixtral || f.boolean("norm_topk_prob", false);
    m.weight_rule = renorm ? WeightRule::SoftmaxAllRenormalised : WeightRule::SoftmaxAll;
    int64_t expert_size = c.intermediate_size;
    std::vector<int64_t> dense_layers;
    int64_t sparse_step = 1;
    if (c.family == Family::Qwen2Moe) {
      expert_size = f.integer("moe_intermediate_size");
      m.shared_expert_size = f.integer("shared_expert_intermediate_size", 0);
      dense_layers = f.integer_list("mlp_only_layers");
      sparse_step = f.integer("decoder_sparse_step", 1);
      if (sparse_step <= 0) fail(src, ": field `decoder_sparse_step` must be positive");
    }
    for (int64_t i = 0; i < num_layers; ++i) {
      const bool dense = std::find(dense_layers.begin(), dense_layers.end(), i) != dense_layers.end() ||
                         (i + 1) % sparse_step != 0;
      c.layers[i].moe = !dense;
      if (!dense) c.layers[i].expert_sizes.assign(m.num_experts, expert_size);
    }
  } else if (c.family == Family::LlamaMoe) {
    m.num_experts = f.integer("num_experts");
    m.top_k = f.integer("num_selects");
    if (m.num_experts <= 0 || m.num_experts > 4096) fail(src, ": field `num_experts` must be in [1, 4096]");
    m.weight_rule = WeightRule::SoftmaxChosen;
    const auto gate = f.string("gate_network", "mlp");
    if (gate != "mlp" && gate != "linear")
      fail(src, ": field `gate_network` = `", gate, "` is not supported (expected mlp or linear)");
    m.router = gate == "mlp" ? RouterKind::Mlp : RouterKind::Linear;
    if (!f.boolean("gate_use_softmax", true)) fail(src, ": field `gate_use_softmax` = false is not supported");
    if (!f.boolean("multiply_gate_scores", true)) fail(src, ": field `multiply_gate_scores` = false is not supported");
    if (f.boolean("add_weight_norm", false)) fail(src, ": field `add_weight_norm` = true is not supported");
    m.noise_projection = f.boolean("gate_add_noise", true);
    m.noise_epsilon = f.number("gate_noise_epsilon", 1e-2);
    std::vector<double> scales(num_layers, 1.0);
    if (f.has("score_scale_factor")) {
      const auto& s = f.raw("score_scale_factor");
      if (s.is_number()) {
        scales.assign(num_layers, s.get<double>());
      } else if (s.is_array() && static_cast<int64_t>(s.size()) == num_layers) {
        for (int64_t i = 0; i < num_layers; ++i) {
          if (!s[i].is_number()) fail(src, ": field `score_scale_factor` must hold numbers");
          scales[i] = s[i].get<double>();
        }
      } else {
        fail(src, ": field `score_scale_factor` must be a number or a list of ", num_layers, " numbers");
      }
    }
    for (int64_t i = 0; i < num_layers; ++i) {
      auto& l = c.layers[i];
      l.moe = true;
      l.score_scale = scales[i];
      if (f.has("size_experts")) {
        const auto& se = f.raw("size_experts");
        if (!se.is_array() || static_cast<int64_t>(se.size()) != num_layers || !se[i].is_array())
          fail(src, ": field `size_experts` must be a list of ", num_layers, " lists (one per layer)");
        for (const auto& v : se[i]) {
          if (!v.is_number_integer()) fail(src, ": field `size_experts` must hold integers");
          l.expert_sizes.push_back(v.get<int64_t>());
        }
      } else {
        if (c.intermediate_size <= 0 || c.intermediate_size % m.num_experts != 0)
          fail(src, ": without `size_experts`, `intermediate_size` (", c.intermediate_size,
               ") must be divisible by `num_experts` (", m.num_experts, ")");
        l.expert_sizes.assign(m.num_experts, c.intermediate_size / m.num_experts);
      }
    }
  }
  try {
    c.validate();
  } catch (const Error& e) {
    fail(src, ": ", e.what());
  }
  return c;
}

ModelConfig load_hf_config(const std::string& path) { return config_from_hf(read_json_file(path), path); }

json config_to_hf(const ModelConfig& c) {
  json j;
  j["architectures"] = {family_architecture(c.family)};
  j["model_type"] = family_model_type(c.family);
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["num_hidden_layers"] = c.num_layers();
  j["num_attention_heads"] = c.num_heads;
  j["num_key_value_heads"] = c.num_kv_heads;
  j["head_dim"] = c.head_dim;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  j["rope_scaling"] = c.rope_linear_factor == 1.0 ? json(nullptr) : json{{"type", "linear"}, {"factor", c.rope_linear_factor}};
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["hidden_act"] = "silu";
  j["torch_dtype"] = "float32";
  j["use_cache"] = true;
  if (c.bos_token_id >= 0) j["bos_token_id"] = c.bos_token_id;
  if (c.eos_token_id >= 0) j["eos_token_id"] = c.eos_token_id;
  if (c.intermediate_size > 0) j["intermediate_size"] = c.intermediate_size;
  const auto& m = c.moe;
  auto first_moe = std::find_if(c.layers.begin(), c.layers.end(), [](const LayerSpec& l) { return l.moe; });
  const int64_t expert_size = first_moe != c.layers.end() ? first_moe->expert_sizes.at(0) : 0;
  switch (c.family) {
    case Family::Llama:
      j["attention_bias"] = c.qkv_bias;
      j["mlp_bias"] = false;
      break;
    case Family::Qwen2:
      j["use_sliding_window"] = false;
      break;
    case Family::Mixtral:
      j["num_local_experts"] = m.num_experts;
      j["num_experts_per_tok"] = m.top_k;
      j["intermediate_size"] = expert_size;
      j["sliding_window"] = c.sliding_window > 0 ? json(c.sliding_window) : json(nullptr);
      break;
    case Family::Qwen2Moe: {
      j["num_experts"] = m.num_experts;
      j["num_experts_per_tok"] = m.top_k;
      j["moe_intermediate_size"] = expert_size;
      j["shared_expert_intermediate_size"] = m.shared_expert_size;
      j["norm_topk_prob"] = m.weight_rule == WeightRule::SoftmaxAllRenormalised;
      j["decoder_sparse_step"] = 1;
      json dense = json::array();
      for (int64_t i = 0; i < c.num_layers(); ++i)
        if (!c.layers[i].moe) dense.push_back(i);
      j["mlp_only_layers"] = dense;
      j["use_sliding_window"] = false;
      break;
    }
    case Family::Olmoe:
      j["num_experts"] = m.num_experts;
      j["num_experts_per_tok"] = m.top_k;
      j["intermediate_size"] = expert_size;
      j["norm_topk_prob"] = m.weight_rule == WeightRule::SoftmaxAllRenormalised;
      j["clip_qkv"] = c.clip_qkv > 0 ? json(c.clip_qkv) : json(nullptr);
      j["attention_bias"] = c.qkv_bias;
      break;
    case Family::LlamaMoe: {
      j["num_experts"] = m.num_experts;
      j["num_selects"] = m.top_k;
      j["gate_network"] = m.router == RouterKind::Mlp ? "mlp" : "linear";
      j["gate_type"] = "TopKBalancedNoisyGate";
      j["calculator_type"] = "UniversalCalculator";
      j["gate_use_softmax"] = true;
      j["multiply_gate_scores"] = true;
      j["gate_add_noise"] = m.noise_projection;
      j["gate_noise_epsilon"] = m.noise_epsilon;
      j["attention_bias"] = c.qkv_bias;
      json sizes = json::array(), scales = json::array();
      bool same_scale = true;
      int64_t total = 0;
      for (const auto& l : c.layers) {
        sizes.push_back(l.expert_sizes);
        scales.push_back(l.score_scale);
        same_scale = same_scale && l.score_scale == c.layers[0].score_scale;
      }
      for (auto s : c.layers[0].expert_sizes) total += s;
      j["size_experts"] = sizes;
      j["score_scale_factor"] = same_scale ? json(c.layers[0].score_scale) : scales;
      j["intermediate_size"] = total;
      break;
    }
  }
  return j;
}

}  // namespace moekd
