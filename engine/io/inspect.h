#pragma once
// A model folder at a glance, from config.json and the safetensors headers only (no weights are
// read): what `moekd inspect` prints and what the studio shows after choosing a teacher.
#include <nlohmann/json.hpp>
#include <string>

namespace moekd {

// Keys: architecture, model_type, params_total, params_active, num_layers, num_moe_layers,
// num_experts, top_k, weight_rule, hidden_size, num_heads, num_kv_heads, head_dim, vocab_size,
// tie_word_embeddings, dtype, files: [{name, bytes}], total_bytes.
nlohmann::json inspect_model_dir(const std::string& dir);

}  // namespace moekd
