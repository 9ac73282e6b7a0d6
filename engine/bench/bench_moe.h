#pragma once
// `moekd bench moe`: throughput of the MoE layer (sparse grouped dispatch vs the all-experts
// path) and of a whole small MoE model's forward. Figures, not assertions.
#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace moekd {

struct BenchOptions {
  torch::Device device = torch::kCPU;
  int64_t tokens = 2048;         // tokens per layer call
  double seconds_per_case = 1.0;  // minimum timed duration of each case
  uint64_t seed = 0;
};

// Keys: device, threads, layers: [{experts, top_k, hidden, expert_size, tokens, sparse_tokens_per_s,
// all_tokens_per_s, sparse_over_all}], model: {description, tokens_per_s}.
nlohmann::json bench_moe(const BenchOptions& opt);

}  // namespace moekd
