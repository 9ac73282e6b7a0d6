#pragma once
// Where a training step's time goes: LibTorch's profiler (Kineto) around a few steps, summed per
// CUDA kernel on a GPU and per operator on the CPU. Needs LibTorch >= 2.1 (Debian's 1.13 has no
// C++ Kineto API): there `profile_available()` is false and the bench says so.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace moekd {

struct ProfileRow {
  std::string name;
  double ms = 0;       // summed over the profiled steps
  int64_t calls = 0;
};

struct StepProfile {
  std::vector<ProfileRow> rows;  // the most expensive first, at most `top`
  double total_ms = 0;           // every kernel (CUDA) or top-level operator (CPU)
  int64_t steps = 0;
  std::string unit;              // "CUDA kernels" or "CPU operators (inclusive)"
};

bool profile_available();

// Runs `step` `steps` times under the profiler; throws when !profile_available().
StepProfile profile_steps(const std::function<void()>& step, int64_t steps, const torch::Device& device, size_t top);

nlohmann::json to_json(const StepProfile& p);

}  // namespace moekd
