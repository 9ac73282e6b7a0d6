#pragma once
// `moekd selftest`: the engine's numerical checks on one device, each against an independent
// reference: the MoE dispatch of every family under every routing policy and its gradients
// against a dense float64 formula, the divergences and their gradients against float64 formulas in
// probability space, KA's expert sampling against its distribution, a KD, a KA and a SAR step
// against the same step on the CPU in float32, and bfloat16 forwards of every family against
// float32. Each check states its error and its tolerance.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace moekd {

struct SelfCheck {
  std::string name;        // "moe mixtral/topk forward", "divergence jsd", "step sar bfloat16", ...
  double error = 0;        // the measured error, in the unit `tolerance` is stated in
  double tolerance = 0;
  std::string measure;     // what `error` is, e.g. "max rel diff", "chi2 (df 19)"
  bool passed() const { return error <= tolerance; }
};

struct SelftestOptions {
  std::string device = "cpu";  // cpu, cuda, cuda:N
  uint64_t seed = 0;
};

// Runs every check, handing each to `report` as soon as it is done; returns them all. Throws only
// for a device that cannot be used.
std::vector<SelfCheck> run_selftest(const SelftestOptions& options,
                                    const std::function<void(const SelfCheck&)>& report = {});

}  // namespace moekd
