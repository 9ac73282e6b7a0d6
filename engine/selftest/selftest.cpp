#include "selftest/selftest.h"

#include "backend/system_info.h"
#include "selftest/checks.h"

namespace moekd {

namespace selftest {

double relative_error(const torch::Tensor& value, const torch::Tensor& reference) {
  const auto v = value.detach().to(torch::kCPU, torch::kDouble), r = reference.detach().to(torch::kCPU, torch::kDouble);
  const double scale = std::max(r.abs().max().item<double>(), 1e-30);
  return (v - r).abs().max().item<double>() / scale;
}

double norm_relative_error(const torch::Tensor& value, const torch::Tensor& reference) {
  const auto v = value.detach().to(torch::kCPU, torch::kDouble), r = reference.detach().to(torch::kCPU, torch::kDouble);
  return (v - r).norm().item<double>() / std::max(r.norm().item<double>(), 1e-30);
}

void copy_state(torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto source = from.named_parameters();
  for (auto& p : to.named_parameters()) p.value().copy_(source[p.key()]);
  auto buffers = from.named_buffers();
  for (auto& b : to.named_buffers()) b.value().copy_(buffers[b.key()]);
}

}  // namespace selftest

std::vector<SelfCheck> run_selftest(const SelftestOptions& options,
                                    const std::function<void(const SelfCheck&)>& report) {
  std::vector<SelfCheck> all;
  selftest::Context ctx;
  ctx.device = parse_device(options.device);
  ctx.seed = options.seed;
  ctx.report = [&](SelfCheck c) {
    if (report) report(c);
    all.push_back(std::move(c));
  };
  selftest::check_moe(ctx);
  selftest::check_attention(ctx);
  selftest::check_divergences(ctx);
  selftest::check_sampling(ctx);
  selftest::check_precision(ctx);
  selftest::check_steps(ctx);
  return all;
}

}  // namespace moekd
