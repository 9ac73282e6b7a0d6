// A safetensors file: its header (length, JSON, dtypes, shapes, offsets) and every tensor it names.
#include "fuzz_input.h"
#include "io/safetensors.h"

int moekd_fuzz_safetensors(const uint8_t* data, size_t size) {
  return moekd::fuzz::refusals_allowed([&] {
    const moekd::SafetensorsFile file(moekd::fuzz::as_file(data, size, "model.safetensors"));
    for (const auto& [name, entry] : file.entries()) (void)file.load(name).sum();
  });
}
