#pragma once
// Loading and saving whole models as Hugging Face folders (config.json + safetensors), with the
// tensor names of each family's public modeling code.
#include <string>

#include "model/causal_lm.h"

namespace moekd {

struct LoadReport {
  std::string dtype;            // storage dtype of the checkpoint's floating tensors ("F32", "BF16", ...)
  uint64_t file_bytes = 0;
  std::vector<std::string> files;
  bool fused_experts = false;   // experts were stored fused (recent transformers)
};

// Builds the model from `dir/config.json` and fills it from the checkpoint; float32 on CPU.
// Missing, unexpected or mis-shaped tensors are refused with the tensor's name.
CausalLM load_pretrained(const std::string& dir, LoadReport* report = nullptr);

// The model's tensors under their Hub names (experts one by one), in float32.
std::vector<std::pair<std::string, torch::Tensor>> hub_state_dict(CausalLM& model);

// Writes config.json and model.safetensors (atomically each) into `dir`, creating it.
void save_pretrained(CausalLM& model, const std::string& dir);

}  // namespace moekd
