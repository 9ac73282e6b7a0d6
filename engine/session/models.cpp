#include "session/models.h"

#include <filesystem>

#include "io/hf_config.h"
#include "io/hf_model.h"
#include "util/error.h"

namespace moekd {

namespace fs = std::filesystem;

CausalLM load_or_init_model(const ModelSource& source, const std::string& role, const torch::Device& device) {
  CausalLM model{nullptr};
  if (!source.path.empty()) {
    const fs::path dir(source.path);
    const bool has_weights = fs::exists(dir / "model.safetensors") || fs::exists(dir / "model.safetensors.index.json");
    if (has_weights) {
      model = load_pretrained(source.path);
    } else if (fs::exists(dir / "config.json")) {
      model = CausalLM(load_hf_config((dir / "config.json").string()));  // a fresh model of that shape
      model->init_weights(source.init_std);
    } else {
      fail(role, ".path = ", source.path, ": neither weights nor a config.json there");
    }
  } else {
    model = CausalLM(config_from_hf(source.init, role + ".init"));
    model->init_weights(source.init_std);
  }
  model->to(device);
  return model;
}

}  // namespace moekd
