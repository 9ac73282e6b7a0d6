#pragma once
// The fuzz targets' shared pieces. The readers under test take paths, so an input becomes a file:
// written into a folder of this process under /dev/shm (memory, not disk), rewritten per input.
// A target catches moekd::Error (a refusal, the expected outcome for most inputs) and nothing
// else: any other exception escaping a reader (a JSON type error, std::out_of_range, a LibTorch
// error) is a check that is missing, and aborts like a crash does.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "util/error.h"

namespace moekd::fuzz {

inline const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    const char* base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    std::string pattern = std::string(base) + "/moekd-fuzz-XXXXXX";
    if (!::mkdtemp(pattern.data())) std::abort();
    return std::filesystem::path(pattern);
  }();
  return dir;
}

// Writes the input to `name` in the scratch folder and returns its path.
inline std::string as_file(const uint8_t* data, size_t size, const std::string& name) {
  const auto path = scratch() / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path.string();
}

template <typename Body>
int refusals_allowed(Body&& body) {
  try {
    body();
  } catch (const moekd::Error&) {
  }
  return 0;
}

}  // namespace moekd::fuzz

// Every target, by name (tests/fuzz/<name>.cpp); the libFuzzer binaries and test_malformed call them.
#define MOEKD_FUZZ_TARGETS(X) \
  X(safetensors)              \
  X(hf_config)                \
  X(run_config)               \
  X(jsonl)                    \
  X(text)                     \
  X(metrics)                  \
  X(state)                    \
  X(sentencepiece)            \
  X(tokenizer_json)           \
  X(prompt_template)
#define MOEKD_DECLARE_FUZZ_TARGET(name) int moekd_fuzz_##name(const uint8_t* data, size_t size);
MOEKD_FUZZ_TARGETS(MOEKD_DECLARE_FUZZ_TARGET)
