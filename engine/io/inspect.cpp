#include "io/inspect.h"

#include <filesystem>
#include <map>

#include "io/hf_config.h"
#include "io/hf_model.h"
#include "io/safetensors.h"
#include "util/error.h"
#include "util/input_file.h"

namespace moekd {

namespace fs = std::filesystem;

nlohmann::json inspect_model_dir(const std::string& dir) {
  expect_folder(dir, "model folder");
  const auto cfg = load_hf_config((fs::path(dir) / "config.json").string());
  SafetensorsCheckpoint ckpt(dir);
  check_config_matches_weights(cfg, ckpt, dir);
  int64_t total = 0;
  std::map<std::string, int64_t> dtype_params;
  for (const auto& name : ckpt.names()) {
    if (name.find("rotary_emb.inv_freq") != std::string::npos) continue;
    const auto& e = ckpt.entry(name);
    int64_t n = 1;
    for (auto d : e.shape) n *= d;
    total += n;
    dtype_params[e.dtype] += n;
  }
  // Per token only k of E experts run: remove the (1 - k/E) share of every MoE layer's experts.
  int64_t inactive = 0;
  for (const auto& l : cfg.layers) {
    if (!l.moe) continue;
    int64_t experts = 0;
    for (auto s : l.expert_sizes) experts += 3 * s * cfg.hidden_size;
    inactive += experts - experts * cfg.moe.top_k / cfg.moe.num_experts;
  }
  std::string dtype;
  int64_t most = -1;
  for (const auto& [d, n] : dtype_params)
    if (n > most) most = n, dtype = d;

  nlohmann::json j;
  j["path"] = fs::absolute(dir).string();
  j["architecture"] = family_architecture(cfg.family);
  j["model_type"] = family_model_type(cfg.family);
  j["params_total"] = total;
  j["params_active"] = total - inactive;
  j["num_layers"] = cfg.num_layers();
  j["num_moe_layers"] = cfg.num_moe_layers();
  j["num_experts"] = cfg.is_moe() ? cfg.moe.num_experts : 0;
  j["top_k"] = cfg.is_moe() ? cfg.moe.top_k : 0;
  j["weight_rule"] = cfg.is_moe() ? weight_rule_name(cfg.moe.weight_rule) : "";
  j["shared_expert_size"] = cfg.moe.shared_expert_size;
  j["hidden_size"] = cfg.hidden_size;
  j["num_heads"] = cfg.num_heads;
  j["num_kv_heads"] = cfg.num_kv_heads;
  j["head_dim"] = cfg.head_dim;
  j["vocab_size"] = cfg.vocab_size;
  j["tie_word_embeddings"] = cfg.tie_word_embeddings;
  j["rope_theta"] = cfg.rope_theta;
  j["dtype"] = dtype;
  j["files"] = nlohmann::json::array();
  for (const auto& f : ckpt.files()) j["files"].push_back({{"name", fs::path(f).filename().string()}, {"bytes", fs::file_size(f)}});
  j["total_bytes"] = ckpt.total_bytes();
  return j;
}

}  // namespace moekd
