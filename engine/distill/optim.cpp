#include "distill/optim.h"

#include <cmath>

#include "util/error.h"

namespace moekd {

AdamW::AdamW(std::vector<torch::Tensor> params, std::vector<std::string> names, AdamWOptions opt)
    : params_(std::move(params)), names_(std::move(names)), opt_(opt) {
  if (names_.size() != params_.size()) fail("AdamW: one name per parameter expected");
  for (const auto& p : params_) {
    m_.push_back(torch::zeros_like(p));
    v_.push_back(torch::zeros_like(p));
  }
}

std::pair<double, double> AdamW::begin_step() {
  ++t_;
  return {1 - std::pow(opt_.beta1, static_cast<double>(t_)), 1 - std::pow(opt_.beta2, static_cast<double>(t_))};
}

void AdamW::step(double lr, const torch::Tensor& apply) {
  // On the CPU the flag is plain memory: read it, and update in place. On an accelerator, reading
  // it would wait for the device.
  if (!apply.device().is_cpu()) return step_masked(lr, apply);
  if (!apply.item<bool>()) return;
  torch::NoGradGuard no_grad;
  const auto [bc1, bc2] = begin_step();
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i];
    if (!p.grad().defined()) continue;
    const auto& g = p.grad();
    m_[i].mul_(opt_.beta1).add_(g, 1 - opt_.beta1);
    v_[i].mul_(opt_.beta2).addcmul_(g, g, 1 - opt_.beta2);
    if (opt_.weight_decay > 0 && p.dim() >= 2) p.mul_(1 - lr * opt_.weight_decay);
    p.addcdiv_(m_[i], (v_[i] / bc2).sqrt_().add_(opt_.eps), -lr / bc1);
  }
}

void AdamW::step_masked(double lr, const torch::Tensor& apply) {
  torch::NoGradGuard no_grad;
  const auto [bc1, bc2] = begin_step();  // counts a skipped step too: the run stops at the next read
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i];
    if (!p.grad().defined()) continue;
    const auto& g = p.grad();
    auto m = m_[i].mul(opt_.beta1).add_(g, 1 - opt_.beta1);
    auto v = v_[i].mul(opt_.beta2).addcmul_(g, g, 1 - opt_.beta2);
    auto updated = opt_.weight_decay > 0 && p.dim() >= 2 ? p.mul(1 - lr * opt_.weight_decay) : p.clone();
    updated.addcdiv_(m, (v / bc2).sqrt_().add_(opt_.eps), -lr / bc1);
    m_[i] = torch::where(apply, m, m_[i]);
    v_[i] = torch::where(apply, v, v_[i]);
    p.copy_(torch::where(apply, updated, p));
  }
}

void AdamW::zero_grad() {
  for (auto& p : params_)
    if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
}

namespace {
std::string shape_text(at::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}
}  // namespace

void restore_state(torch::Tensor& dst, const torch::Tensor& saved, const std::string& name) {
  if (saved.sizes() != dst.sizes())
    fail("state.safetensors: `", name, "` has shape ", shape_text(saved.sizes()), ", but the run's parameter has ",
         shape_text(dst.sizes()), ": the checkpoint belongs to a model of another shape");
  if (!torch::isfinite(saved).all().item<bool>())
    fail("state.safetensors: `", name, "` holds NaN or infinity: the checkpoint is damaged");
  dst.copy_(saved);
}

std::vector<std::pair<std::string, torch::Tensor>> AdamW::state(const std::string& prefix) const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back(prefix + names_[i] + ".exp_avg", m_[i]);
    out.emplace_back(prefix + names_[i] + ".exp_avg_sq", v_[i]);
  }
  return out;
}

double learning_rate(Schedule s, double peak, int64_t step, int64_t total, int64_t warmup, double min_ratio) {
  if (warmup > 0 && step < warmup) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
  if (s == Schedule::Constant || total <= warmup) return peak;
  const double progress = std::min(1.0, static_cast<double>(step - warmup) / static_cast<double>(total - warmup));
  const double floor = peak * min_ratio;
  if (s == Schedule::Linear) return floor + (peak - floor) * (1.0 - progress);
  return floor + (peak - floor) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

torch::Tensor clip_gradients(const std::vector<torch::Tensor>& params, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> norms;
  for (const auto& p : params)
    if (p.grad().defined()) norms.push_back(p.grad().norm(2).to(torch::kFloat));
  if (norms.empty())
    return torch::zeros({}, torch::dtype(torch::kFloat).device(params.empty() ? torch::kCPU : params[0].device()));
  const auto total = torch::stack(norms).norm(2);
  if (max_norm > 0) {
    // The factor in float64, rounded once to the gradients' float32: as a host-side double would be.
    const auto t = total.to(torch::kDouble);
    const auto factor = torch::where(t > max_norm, max_norm / (t + 1e-6), torch::ones_like(t)).to(torch::kFloat);
    for (const auto& p : params)
      if (p.grad().defined()) p.grad().mul_(factor);
  }
  return total;
}

}  // namespace moekd
