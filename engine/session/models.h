#pragma once
// A run's models from their sources (run/run_config.h: ModelSource).
#include <string>

#include "model/causal_lm.h"
#include "run/run_config.h"

namespace moekd {

// Loads a Hugging Face folder, or builds a fresh model from `init` (or from a folder that holds
// only a config.json), on `device` and in `dtype` (SAR's teacher keeps float32 routers).
// `role` ("teacher", "student") labels error messages.
CausalLM load_or_init_model(const ModelSource& source, const std::string& role, const torch::Device& device,
                            torch::ScalarType dtype = torch::kFloat, bool float32_routers = false);

}  // namespace moekd
