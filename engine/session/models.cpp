#include "session/models.h"

#include <filesystem>

#include "backend/precision.h"
#include "io/hf_config.h"
#include "io/hf_model.h"
#include "util/error.h"

namespace moekd {

namespace fs = std::filesystem;

CausalLM load_or_init_model(const ModelSource& source, const std::string& role, const torch::Device& device,
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

}  // namespace moekd
