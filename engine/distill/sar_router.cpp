#include "distill/sar_router.h"

#include <cmath>

#include "distill/balance.h"
#include "distill/divergence.h"
#include "util/error.h"

namespace moekd {

SarRouterUpdate::SarRouterUpdate(CausalLM teacher, const RunConfig& cfg) : teacher_(std::move(teacher)), cfg_(cfg) {
  if (!teacher_->config.is_moe()) fail("method `sar` needs an MoE teacher; this teacher has no MoE layers");
  for (const auto& router : teacher_->routers())
    for (const auto& [name, p] : router.parameters) {
      params_.push_back(p);
      names_.push_back(name);
      layer_of_.push_back(router.layer);
      p.set_requires_grad(true);
      start_.push_back(p.detach().clone());
    }
  AdamWOptions o;
  o.lr = cfg_.sar.router_lr;
  optimizer_ = std::make_unique<AdamW>(params_, names_, o);
}

SarRouterUpdate::Terms SarRouterUpdate::accumulate(const Batch& b, const torch::Tensor& student_rows, double weight,
                                                   RoutingAccumulator* routing, const LossScaler* scaler) {
  ForwardOptions opt;
  opt.policy = cfg_.teacher_policy;
  opt.record_routing = true;
  opt.router_noise = true;  // trains LLaMA-MoE's noise projection too (no-op for other families)
  opt.checkpoint_layers = cfg_.train.checkpoint_activations;
  auto out = teacher_->forward(b.ids, opt);
  if (routing) routing->add(out.routing, b);
  const double T = cfg_.divergence.temperature;
  auto teacher_logp = teacher_log_probs(target_rows(out.logits, b), T);
  const auto q_logits = student_rows.detach();
  torch::Tensor loss;
  if (cfg_.sar.direction == RouterLoss::Forward) {  // -sum q log p: towards what the student can express
    loss = -(torch::softmax(q_logits.to(teacher_logp.scalar_type()) / T, -1) * teacher_logp).sum(-1).mean();
  } else {  // KL(p || q)
    DivergenceSpec forward_kl = cfg_.divergence;
    forward_kl.kind = DivergenceKind::ForwardKL;
    loss = divergence_per_token(teacher_logp, q_logits, forward_kl).mean();
  }
  auto balance = balance_loss(out.routing, cfg_.sar.balance, b.real);
  const auto total = (loss + cfg_.sar.balance_weight * balance) * weight;
  (scaler ? scaler->scale(total) : total).backward();
  return {loss.detach(), balance.detach()};
}

std::vector<double> SarRouterUpdate::drift() const {
  torch::NoGradGuard no_grad;
  const auto layers = static_cast<size_t>(teacher_->config.num_layers());
  std::vector<double> num(layers, 0.0), den(layers, 0.0), drift(layers, 0.0);
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto L = static_cast<size_t>(layer_of_[i]);
    num[L] += (params_[i].detach() - start_[i]).pow(2).sum().item<double>();
    den[L] += start_[i].pow(2).sum().item<double>();
  }
  for (size_t L = 0; L < layers; ++L) drift[L] = den[L] > 0 ? std::sqrt(num[L] / den[L]) : 0.0;
  return drift;
}

std::vector<std::pair<std::string, torch::Tensor>> SarRouterUpdate::state() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back("router." + names_[i], params_[i].detach());
    out.emplace_back("router_start." + names_[i], start_[i]);
  }
  auto moments = optimizer_->state("router_optim.");
  out.insert(out.end(), moments.begin(), moments.end());
  return out;
}

}  // namespace moekd
