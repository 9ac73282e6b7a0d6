#pragma once
// The groups of `moekd selftest` (selftest/selftest.h) and what they share: how errors are
// measured and how a model is copied to another device and dtype.
#include <torch/torch.h>

#include <functional>

#include "selftest/selftest.h"

namespace moekd::selftest {

struct Context {
  torch::Device device = torch::kCPU;
  uint64_t seed = 0;
  std::function<void(SelfCheck)> report;
};

// max |a - b| / max |reference|, in float64 on the CPU: an error relative to the values' scale.
double relative_error(const torch::Tensor& value, const torch::Tensor& reference);
// ||a - b|| / ||reference||: for updates, where a few elements may legitimately differ more.
double norm_relative_error(const torch::Tensor& value, const torch::Tensor& reference);
// Copies every parameter and buffer of `from` into the same-named ones of `to` (any device, dtype).
void copy_state(torch::nn::Module& from, torch::nn::Module& to);

void check_moe(Context& ctx);         // selftest/check_moe.cpp
void check_attention(Context& ctx);   // selftest/check_attention.cpp
void check_divergences(Context& ctx); // selftest/check_divergence.cpp
void check_sampling(Context& ctx);    // selftest/check_sampling.cpp
void check_steps(Context& ctx);       // selftest/check_steps.cpp
void check_precision(Context& ctx);   // selftest/check_precision.cpp

}  // namespace moekd::selftest
