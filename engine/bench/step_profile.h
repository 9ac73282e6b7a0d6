#pragma once
// Where a training step's time goes: LibTorch's profiler around a few steps, summed per CUDA kernel
// on a GPU (Kineto, LibTorch >= 2.1) and per operator, by self time, on the CPU (Kineto, or the
// legacy profiler's trace on Debian's 1.13).
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
  double total_ms = 0;           // every kernel (CUDA) or operator's self time (CPU)
  int64_t steps = 0;
  std::string unit;              // "CUDA kernels" or "CPU operators (self time)"
};

// Runs `step` `steps` times under the profiler; throws for CUDA on LibTorch < 2.1.
StepProfile profile_steps(const std::function<void()>& step, int64_t steps, const torch::Device& device, size_t top);

nlohmann::json to_json(const StepProfile& p);

}  // namespace moekd
