#include "distill/teacher_targets.h"

#include <algorithm>

#include "distill/divergence.h"

namespace moekd {

namespace {
// The frozen teacher's forward keeps no autograd state at all (inference mode); what comes out
// is used below in ordinary no-grad code.
ForwardOutput frozen_forward(CausalLM& teacher, const torch::Tensor& ids, const ForwardOptions& opt) {
  torch::InferenceMode inference;
  return teacher->forward(ids, opt);
}
}  // namespace

TeacherTargets teacher_targets(CausalLM& teacher, const Batch& b, const RunConfig& cfg, RoutingAccumulator* routing) {
  torch::NoGradGuard no_grad;
  TeacherTargets t;
  const double T = cfg.divergence.temperature;
  ForwardOptions opt;
  opt.policy = cfg.teacher_policy;
  opt.record_routing = routing != nullptr;
  const bool ka_passes = cfg.method == Method::KA && cfg.ka.lambda > 0 && cfg.ka.m > 1;
  if (!ka_passes) {
    auto out = frozen_forward(teacher, b.ids, opt);
    if (routing) routing->add(out.routing, b);
    t.log_probs = teacher_log_probs(target_rows(out.logits, b), T);
    return t;
  }
  const int64_t M = cfg.ka.m, B = b.ids.size(0);
  int64_t per_call = ka_batched(cfg.ka, b.ids.is_cuda() ? "cuda" : "cpu") ? M * B : B;
  if (cfg.ka.max_teacher_batch > 0) per_call = std::min(per_call, std::max(B, cfg.ka.max_teacher_batch / B * B));
  const auto all_ids = b.ids.repeat({M, 1});
  std::vector<torch::Tensor> rows;  // [N, V] logits per pass
  for (int64_t start = 0; start < M * B; start += per_call) {
    const auto n = std::min(per_call, M * B - start);
    auto out = frozen_forward(teacher, all_ids.narrow(0, start, n), opt);
    if (routing) routing->add(out.routing, b, n / B);
    for (int64_t m = 0; m < n / B; ++m) rows.push_back(target_rows(out.logits.narrow(0, m * B, B), b));
  }
  if (cfg.divergence.kind == DivergenceKind::ForwardKL) {
    t.pass_logits = torch::stack(rows);
  } else {
    for (const auto& r : rows) t.pass_log_probs.push_back(teacher_log_probs(r, T));
  }
  return t;
}

torch::Tensor distillation_loss(const TeacherTargets& targets, const torch::Tensor& student_rows,
                                const DivergenceSpec& spec) {
  const double scale = spec.temperature * spec.temperature;
  if (targets.pass_logits.defined())
    return ka_forward_kl_per_token(targets.pass_logits, student_rows, spec).mean() * scale;
  if (targets.pass_log_probs.empty())
    return divergence_per_token(targets.log_probs, student_rows, spec).mean() * scale;
  std::vector<torch::Tensor> per_pass;
  for (const auto& lp : targets.pass_log_probs) per_pass.push_back(divergence_per_token(lp, student_rows, spec).mean());
  return torch::stack(per_pass).mean() * scale;
}

}  // namespace moekd
