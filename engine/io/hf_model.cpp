#include "io/hf_model.h"

#include <filesystem>
#include <fstream>
#include <set>

#include "io/hf_config.h"
#include "backend/precision.h"
#include "io/safetensors.h"
#include "util/error.h"
#include "util/input_file.h"

namespace moekd {

namespace fs = std::filesystem;

namespace {

std::string layer_prefix(int64_t i) { return "model.layers." + std::to_string(i) + "."; }

// Where a family keeps its MoE block and how it names one expert's three matrices.
struct ExpertNaming {
  std::string block;                 // "mlp" or "block_sparse_moe"
  std::string gate, up, down;        // per-expert names, `{e}` replaced by the index
};

ExpertNaming expert_naming(Family f) {
  switch (f) {
    case Family::Mixtral:
      return {"block_sparse_moe", "experts.{e}.w1.weight", "experts.{e}.w3.weight", "experts.{e}.w2.weight"};
    case Family::LlamaMoe:
      return {"mlp", "calculator.experts.weight_gate.{e}", "calculator.experts.weight_up.{e}",
              "calculator.experts.weight_down.{e}"};
    default:
      return {"mlp", "experts.{e}.gate_proj.weight", "experts.{e}.up_proj.weight", "experts.{e}.down_proj.weight"};
  }
}

std::string with_index(std::string pattern, int64_t e) {
  return pattern.replace(pattern.find("{e}"), 3, std::to_string(e));
}

// Internal parameter name -> Hub name for everything except stacked experts: identical but for
// Mixtral's block name.
std::string hub_name(const ModelConfig& c, const std::string& name) {
  if (c.family == Family::Mixtral) {
    const auto pos = name.find(".mlp.gate.");
    if (pos != std::string::npos) return name.substr(0, pos) + ".block_sparse_moe.gate." + name.substr(pos + 10);
  }
  return name;
}

std::string shape_str(at::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

class Loader {
 public:
  Loader(const SafetensorsCheckpoint& ckpt, std::string dir) : ckpt_(ckpt), dir_(std::move(dir)) {}

  bool has(const std::string& name) const { return ckpt_.contains(name); }

  // Checks the tensor's shape and dtype, then copies it into `dst` (converting dtype and device).
  void fill(const std::string& name, torch::Tensor dst) {
    const auto expected = dst.sizes();
    if (!ckpt_.contains(name)) fail(dir_, ": missing tensor `", name, "` (expected shape ", shape_str(expected), ")");
    const auto& e = ckpt_.entry(name);
    if (e.shape != expected.vec())
      fail(dir_, ": tensor `", name, "` has shape ", shape_str(e.shape), ", expected ", shape_str(expected));
    if (e.dtype != "F32" && e.dtype != "F16" && e.dtype != "BF16" && e.dtype != "F64")
      fail(dir_, ": tensor `", name, "` has dtype ", e.dtype, ", expected a floating type (F32, F16, BF16)");
    dtypes_.insert(e.dtype);
    used_.insert(name);
    ckpt_.copy_into(name, dst);
    refuse_non_finite(name, dst);
  }

  // A NaN or an infinity in a weight poisons every output: refused here, by tensor and place,
  // rather than found as a non-finite loss later.
  void refuse_non_finite(const std::string& name, const torch::Tensor& t) const {
    const auto bad = torch::logical_not(torch::isfinite(t));
    const int64_t count = bad.sum().item<int64_t>();
    if (count == 0) return;
    const auto first = torch::nonzero(bad)[0].cpu();
    std::string at = "[";
    for (int64_t i = 0; i < first.numel(); ++i) at += (i ? ", " : "") + std::to_string(first[i].item<int64_t>());
    fail(dir_, ": tensor `", name, "` holds ", count, " non-finite value", count == 1 ? "" : "s", " (NaN or infinity; the first at ",
         at, "]): the checkpoint is damaged");
  }

  // A fused tensor whose parts go to different parameters: read whole, then split by the caller.
  torch::Tensor take(const std::string& name, at::IntArrayRef expected) {
    auto t = torch::empty(expected, torch::kFloat);
    fill(name, t);
    return t;
  }

  void check_all_used(const ModelConfig& c) const {
    for (const auto& name : ckpt_.names()) {
      if (used_.count(name)) continue;
      // Buffers some exporters keep; they are recomputed, never learned.
      if (name.find("rotary_emb.inv_freq") != std::string::npos) continue;
      if (name == "lm_head.weight" && c.tie_word_embeddings) continue;
      fail(dir_, ": unexpected tensor `", name, "`: not part of a ", family_architecture(c.family),
           " with this config.json");
    }
  }

  std::string dtype() const { return dtypes_.empty() ? "F32" : *dtypes_.begin(); }

 private:
  const SafetensorsCheckpoint& ckpt_;
  std::string dir_;
  std::set<std::string> used_;
  std::set<std::string> dtypes_;
};

// Fills stacked expert parameters from either the Hub layout (one tensor per expert and matrix)
// or the fused layout of recent transformers (gate_up_proj [E, 2F, d], down_proj [E, d, F]).
bool load_experts(Loader& L, const ModelConfig& c, int64_t layer, ExpertsImpl& ex) {
  const auto naming = expert_naming(c.family);
  const int64_t E = static_cast<int64_t>(ex.sizes.size()), d = c.hidden_size;
  std::vector<std::string> blocks = {naming.block};
  if (c.family == Family::Mixtral) blocks.push_back("mlp");  // transformers 5 renames the block
  for (const auto& block : blocks) {
    const auto fused = layer_prefix(layer) + block + ".experts.gate_up_proj";
    if (!L.has(fused)) continue;
    if (!ex.equal_sizes) fail("fused expert tensors need experts of equal size (layer ", layer, ")");
    const auto F = ex.sizes[0];
    auto gate_up = L.take(fused, {E, 2 * F, d});
    ex.gate_proj.copy_(gate_up.narrow(1, 0, F));
    ex.up_proj.copy_(gate_up.narrow(1, F, F));
    L.fill(layer_prefix(layer) + block + ".experts.down_proj", ex.down_proj);
    return true;
  }
  const auto base = layer_prefix(layer) + naming.block + ".";
  for (int64_t e = 0; e < E; ++e) {
    const auto s = ex.sizes[e];
    L.fill(base + with_index(naming.gate, e), ex.gate_proj[e].narrow(0, 0, s));
    L.fill(base + with_index(naming.up, e), ex.up_proj[e].narrow(0, 0, s));
    L.fill(base + with_index(naming.down, e), ex.down_proj[e].narrow(1, 0, s));
  }
  return false;
}

bool is_stacked_expert(const std::string& name) {
  return name.find(".mlp.experts.") != std::string::npos;
}

}  // namespace

void check_config_matches_weights(const ModelConfig& cfg, const SafetensorsCheckpoint& ckpt, const std::string& dir) {
  const std::string config = (fs::path(dir) / "config.json").string();
  const std::string embed = "model.embed_tokens.weight";
  if (ckpt.contains(embed)) {
    const auto& shape = ckpt.entry(embed).shape;
    if (shape.size() != 2) fail(dir, ": tensor `", embed, "` has shape ", shape_str(shape), ", expected 2 dimensions");
    if (shape[0] != cfg.vocab_size)
      fail(config, ": `vocab_size` = ", cfg.vocab_size, " but tensor `", embed, "` has ", shape[0], " rows");
    if (shape[1] != cfg.hidden_size)
      fail(config, ": `hidden_size` = ", cfg.hidden_size, " but tensor `", embed, "` is ", shape[1], " wide");
  }
  int64_t layers = 0;
  while (ckpt.contains(layer_prefix(layers) + "input_layernorm.weight")) ++layers;
  if (layers > 0 && layers != cfg.num_layers())
    fail(config, ": `num_hidden_layers` = ", cfg.num_layers(), " but the weights hold ", layers, " layers");
  // Whatever else the config says, it cannot describe more parameters than the files hold.
  uint64_t stored = 0;
  for (const auto& name : ckpt.names()) {
    uint64_t n = 1;
    for (auto d : ckpt.entry(name).shape) n *= static_cast<uint64_t>(d);
    stored += n;
  }
  const auto described = static_cast<uint64_t>(cfg.parameter_count().total);
  if (described > stored + stored / 100 + 1024)
    fail(config, ": describes ", described, " parameters but the weights hold ", stored,
         ": `intermediate_size` or the experts' sizes do not match the checkpoint");
}

CausalLM load_pretrained(const std::string& dir, const LoadOptions& options, LoadReport* report) {
  const auto config_path = (fs::path(dir) / "config.json").string();
  expect_folder(dir, "model folder");
  expect_file(config_path, "model config");
  auto cfg = load_hf_config(config_path);
  SafetensorsCheckpoint ckpt(dir);
  check_config_matches_weights(cfg, ckpt, dir);  // before a model of its shape is allocated
  CausalLM model{nullptr};
  {
    BuildIn build(options.dtype);
    model = CausalLM(cfg);
  }
  torch::NoGradGuard no_grad;
  if (options.float32_routers)
    for (auto& router : model->routers())
      for (auto& [name, p] : router.parameters) p.set_data(p.to(torch::kFloat));
  model->to(options.device);
  Loader L(ckpt, dir);
  bool fused = false;
  for (auto& p : model->named_parameters()) {
    if (is_stacked_expert(p.key())) continue;
    L.fill(hub_name(cfg, p.key()), p.value());
  }
  for (int64_t i = 0; i < cfg.num_layers(); ++i) {
    auto* layer = model->model->layers[i]->as<DecoderLayerImpl>();
    if (layer->moe) fused = load_experts(L, cfg, i, *layer->moe->experts) || fused;
  }
  L.check_all_used(cfg);
  if (report) {
    report->dtype = L.dtype();
    report->file_bytes = ckpt.total_bytes();
    report->files = ckpt.files();
    report->fused_experts = fused;
  }
  return model;
}

std::vector<std::pair<std::string, torch::Tensor>> hub_state_dict(CausalLM& model,
                                                                 c10::optional<torch::ScalarType> dtype) {
  const auto& cfg = model->config;
  std::vector<std::pair<std::string, torch::Tensor>> out;
  auto as_saved = [&](const torch::Tensor& t) { return dtype ? t.detach().to(*dtype) : t.detach(); };
  for (auto& p : model->named_parameters()) {
    if (!is_stacked_expert(p.key())) out.emplace_back(hub_name(cfg, p.key()), as_saved(p.value()));
  }
  const auto naming = expert_naming(cfg.family);
  for (int64_t i = 0; i < cfg.num_layers(); ++i) {
    auto* layer = model->model->layers[i]->as<DecoderLayerImpl>();
    if (!layer->moe) continue;
    const auto& ex = *layer->moe->experts;
    const auto base = layer_prefix(i) + naming.block + ".";
    for (size_t e = 0; e < ex.sizes.size(); ++e) {
      const auto s = ex.sizes[e];
      out.emplace_back(base + with_index(naming.gate, e), as_saved(ex.gate_proj[e].narrow(0, 0, s)));
      out.emplace_back(base + with_index(naming.up, e), as_saved(ex.up_proj[e].narrow(0, 0, s)));
      out.emplace_back(base + with_index(naming.down, e), as_saved(ex.down_proj[e].narrow(1, 0, s)));
    }
  }
  return out;
}

void save_pretrained(CausalLM& model, const std::string& dir, c10::optional<torch::ScalarType> dtype) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(dir, ": cannot create folder (", ec.message(), ")");
  save_safetensors((fs::path(dir) / "model.safetensors").string(), hub_state_dict(model, dtype), {{"format", "pt"}});
  const auto path = (fs::path(dir) / "config.json").string();
  const auto tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << config_to_hf(model->config).dump(2) << "\n";
    if (!out) fail(tmp, ": write failed");
  }
  fs::rename(tmp, path, ec);
  if (ec) fail(path, ": cannot rename the temporary file into place (", ec.message(), ")");
}

}  // namespace moekd
