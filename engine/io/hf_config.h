#pragma once
// Hugging Face `config.json` <-> ModelConfig for the supported architectures. Unknown
// architectures and options we do not implement are refused by name, never silently ignored.
#include <nlohmann/json.hpp>
#include <string>

#include "model/config.h"

namespace moekd {

// `source` names the file in error messages.
ModelConfig config_from_hf(const nlohmann::json& j, const std::string& source);
ModelConfig load_hf_config(const std::string& path);
nlohmann::json config_to_hf(const ModelConfig& c);

}  // namespace moekd
