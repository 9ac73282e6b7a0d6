#include "distill/loss_scaler.h"

namespace moekd {

LossScaler::LossScaler(const torch::Device& device, double initial_scale, int64_t growth_interval)
    : scale_(torch::full({}, initial_scale, torch::dtype(torch::kFloat).device(device))),
      good_steps_(torch::zeros({}, torch::dtype(torch::kLong).device(device))),
      growth_interval_(growth_interval) {}

torch::Tensor LossScaler::unscale_and_update(const std::vector<torch::Tensor>& params) {
  torch::NoGradGuard no_grad;
  const auto inverse = scale_.reciprocal();
  auto finite = torch::ones({}, torch::dtype(torch::kBool).device(scale_.device()));
  for (const auto& p : params) {
    if (!p.grad().defined()) continue;
    p.grad().mul_(inverse.to(p.grad().scalar_type()));
    finite = finite.logical_and(torch::isfinite(p.grad()).all());
  }
  good_steps_ = torch::where(finite, good_steps_ + 1, torch::zeros_like(good_steps_));
  const auto grow = good_steps_.ge(growth_interval_);
  scale_ = torch::where(finite, torch::where(grow, scale_ * 2, scale_), scale_ * 0.5);
  good_steps_ = torch::where(grow, torch::zeros_like(good_steps_), good_steps_);
  return finite;
}

}  // namespace moekd
