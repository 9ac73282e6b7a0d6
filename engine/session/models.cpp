#include "session/models.h"

#include <filesystem>
#include <sstream>

#include "backend/precision.h"
#include "backend/system_info.h"
#include "io/hf_config.h"
#include "io/hf_model.h"
#include "util/error.h"

namespace moekd {

namespace fs = std::filesystem;

namespace {

std::string gigabytes(double bytes) {
  std::ostringstream out;
  out.precision(bytes < 1e9 ? 2 : 3);
  out << bytes / 1e9 << " GB";
  return out.str();
}

// A fresh model is allocated whole on the CPU (then moved to its device): refused by name when its
// parameters alone exceed the memory free there, instead of failing inside the allocator (or
// being killed by the kernel) with a message about the batch.
void refuse_unless_it_fits(const ModelConfig& c, torch::ScalarType dtype, const torch::Device& device,
                           const std::string& source) {
  const double bytes = static_cast<double>(c.parameter_count().total) * static_cast<double>(c10::elementSize(dtype));
  for (const torch::Device& where : {torch::Device(torch::kCPU), device}) {
    const auto free = available_memory_bytes(where);
    if (free <= 0 || bytes <= static_cast<double>(free)) continue;
    const double embeddings = 2.0 * static_cast<double>(c.vocab_size) * static_cast<double>(c.hidden_size);
    fail(source, ": a model of this shape holds ", c.parameter_count().total, " parameters, ", gigabytes(bytes), " in ",
         c10::toString(dtype), ", more than the ", gigabytes(static_cast<double>(free)), " free on ", where.str(),
         embeddings > static_cast<double>(c.parameter_count().total) / 2
             ? "; most of it is the embeddings: look at `vocab_size` and `hidden_size`"
             : "; most of it is the layers: look at `intermediate_size`, the experts and `num_hidden_layers`");
  }
}

}  // namespace

namespace {
CausalLM load_or_init(const ModelSource& source, const std::string& role, const torch::Device& device,
                      torch::ScalarType dtype, bool float32_routers);
}  // namespace

CausalLM load_or_init_model(const ModelSource& source, const std::string& role, const torch::Device& device,
                            torch::ScalarType dtype, bool float32_routers) {
  auto model = load_or_init(source, role, device, dtype, float32_routers);
  if (source.top_k > 0) {
    try {
      model->set_top_k(source.top_k);
    } catch (const Error& e) {
      fail(role, ".", e.what());
    }
  }
  return model;
}

namespace {
CausalLM load_or_init(const ModelSource& source, const std::string& role, const torch::Device& device,
                      torch::ScalarType dtype, bool float32_routers) {
  if (!source.path.empty()) {
    const fs::path dir(source.path);
    const bool has_weights = fs::exists(dir / "model.safetensors") || fs::exists(dir / "model.safetensors.index.json");
    if (has_weights) return load_pretrained(source.path, {dtype, device, float32_routers});
    if (!fs::exists(dir / "config.json")) fail(role, ".path = ", source.path, ": neither weights nor a config.json there");
  }
  // A fresh model: of the folder's config.json, or of `init`.
  const auto config = source.path.empty() ? config_from_hf(source.init, role + ".init")
                                          : load_hf_config((fs::path(source.path) / "config.json").string());
  refuse_unless_it_fits(config, dtype, device, source.path.empty() ? role + ".init" : source.path + "/config.json");
  CausalLM model{nullptr};
  {
    BuildIn build(dtype);
    model = CausalLM(config);
  }
  // Drawn where the model will run: a billion-parameter teacher initialises in a second on a GPU
  // rather than in tens of seconds on one CPU thread. (So a fresh model's values depend on the
  // device; loaded weights do not.)
  model->to(device);
  model->init_weights(source.init_std);
  if (float32_routers) {
    torch::NoGradGuard no_grad;
    for (auto& router : model->routers())
      for (auto& [name, p] : router.parameters) p.set_data(p.to(torch::kFloat));
  }
  return model;
}
}  // namespace

}  // namespace moekd
