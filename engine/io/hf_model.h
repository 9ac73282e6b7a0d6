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

struct LoadOptions {
  torch::ScalarType dtype = torch::kFloat;  // the parameters' dtype (whatever the file stores)
  torch::Device device = torch::kCPU;
  bool float32_routers = false;  // SAR trains the teacher's routers: they stay float32
};

class SafetensorsCheckpoint;

// Refuses a config.json that does not describe the weights beside it, before a model of its shape
// is allocated: the embedding's rows (`vocab_size`) and width (`hidden_size`), the number of
// layers, and more parameters than the files hold. Messages name the field and the tensor.
void check_config_matches_weights(const ModelConfig& cfg, const SafetensorsCheckpoint& ckpt, const std::string& dir);

// Builds the model from `dir/config.json` directly in `dtype` and fills it tensor by tensor from
// the memory-mapped checkpoint (no float32 copy of the whole model, file pages released as they
// are read). Missing, unexpected or mis-shaped tensors, and tensors holding NaN or infinity, are
// refused with the tensor's name.
CausalLM load_pretrained(const std::string& dir, const LoadOptions& options = {}, LoadReport* report = nullptr);

// The model's tensors under their Hub names (experts one by one), in their own dtype or `dtype`.
std::vector<std::pair<std::string, torch::Tensor>> hub_state_dict(CausalLM& model,
                                                                 c10::optional<torch::ScalarType> dtype = {});

// Writes config.json and model.safetensors (atomically each) into `dir`, creating it; the tensors
// in `dtype` when given, else as the model holds them.
void save_pretrained(CausalLM& model, const std::string& dir, c10::optional<torch::ScalarType> dtype = {});

}  // namespace moekd
