// A Hugging Face config.json mapped to a model shape, checked and counted (nothing allocated).
#include "fuzz_input.h"
#include "io/hf_config.h"
#include "util/json_file.h"

int moekd_fuzz_hf_config(const uint8_t* data, size_t size) {
  return moekd::fuzz::refusals_allowed([&] {
    const auto j = moekd::parse_json(std::string_view(reinterpret_cast<const char*>(data), size), "config.json");
    const auto config = moekd::config_from_hf(j, "config.json");
    config.validate();
    (void)config.parameter_count();
    (void)moekd::config_to_hf(config).dump();
  });
}
