#include "distill/divergence.h"

#include "util/error.h"

namespace moekd {

namespace {

// KL(a || b) per row from log-probabilities.
torch::Tensor kl_rows(const torch::Tensor& log_a, const torch::Tensor& log_b) {
  return (log_a.exp() * (log_a - log_b)).sum(-1);
}

// log(w * exp(log_a) + (1 - w) * exp(log_b)), stable.
torch::Tensor log_mix(const torch::Tensor& log_a, const torch::Tensor& log_b, double w) {
  if (w <= 0) return log_b;
  if (w >= 1) return log_a;
  return torch::logaddexp(log_a + std::log(w), log_b + std::log1p(-w));
}

// The formulas, on one chunk of rows: float32 (or float64) whatever the logits' storage type.
torch::Tensor rows_formula(const torch::Tensor& logp_in, const torch::Tensor& student_logits, const DivergenceSpec& s) {
  const auto type = student_logits.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  auto logp = logp_in.to(type);
  auto logq = torch::log_softmax(student_logits.to(type) / s.temperature, -1);
  switch (s.kind) {
    case DivergenceKind::ForwardKL: return kl_rows(logp, logq);
    case DivergenceKind::ReverseKL: return kl_rows(logq, logp);
    case DivergenceKind::JSD: {
      auto logm = log_mix(logp, logq, s.jsd_beta);
      return s.jsd_beta * kl_rows(logp, logm) + (1 - s.jsd_beta) * kl_rows(logq, logm);
    }
    case DivergenceKind::TotalVariation: return 0.5 * (logp.exp() - logq.exp()).abs().sum(-1);
    case DivergenceKind::SkewKL: return kl_rows(logp, log_mix(logp, logq, s.skew_alpha));
    case DivergenceKind::SkewReverseKL: return kl_rows(logq, log_mix(logq, logp, s.skew_alpha));
  }
  return {};
}

// Saves only its inputs; backward recomputes each chunk with autograd and accumulates.
struct ChunkedDivergence : torch::autograd::Function<ChunkedDivergence> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor logp, torch::Tensor student,
                               int64_t kind, double temperature, double beta, double skew, int64_t chunk) {
    ctx->save_for_backward({logp, student});
    ctx->saved_data["kind"] = kind;
    ctx->saved_data["temperature"] = temperature;
    ctx->saved_data["beta"] = beta;
    ctx->saved_data["skew"] = skew;
    ctx->saved_data["chunk"] = chunk;
    const DivergenceSpec s{static_cast<DivergenceKind>(kind), temperature, beta, skew, chunk};
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> parts;
    for (int64_t start = 0; start < student.size(0); start += chunk) {
      const auto n = std::min(chunk, student.size(0) - start);
      parts.push_back(rows_formula(logp.narrow(0, start, n), student.narrow(0, start, n), s));
    }
    if (parts.empty()) return torch::zeros({0}, student.options().dtype(torch::kFloat));
    return torch::cat(parts);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    auto saved = ctx->get_saved_variables();
    auto logp = saved[0], student = saved[1];
    const DivergenceSpec s{static_cast<DivergenceKind>(ctx->saved_data["kind"].toInt()),
                           ctx->saved_data["temperature"].toDouble(), ctx->saved_data["beta"].toDouble(),
                           ctx->saved_data["skew"].toDouble(), ctx->saved_data["chunk"].toInt()};
    const bool need_logp = ctx->needs_input_grad(0), need_student = ctx->needs_input_grad(1);
    torch::Tensor g_logp = need_logp ? torch::zeros_like(logp) : torch::Tensor();
    torch::Tensor g_student = need_student ? torch::zeros_like(student) : torch::Tensor();
    const auto& g = grad_out[0];
    for (int64_t start = 0; start < student.size(0); start += s.chunk_rows) {
      const auto n = std::min(s.chunk_rows, student.size(0) - start);
      torch::AutoGradMode enable(true);
      auto lp = logp.narrow(0, start, n).detach().requires_grad_(need_logp);
      auto st = student.narrow(0, start, n).detach().requires_grad_(need_student);
      auto value = (rows_formula(lp, st, s) * g.narrow(0, start, n)).sum();
      std::vector<torch::Tensor> inputs;
      if (need_logp) inputs.push_back(lp);
      if (need_student) inputs.push_back(st);
      auto grads = torch::autograd::grad({value}, inputs);
      size_t i = 0;
      if (need_logp) g_logp.narrow(0, start, n).copy_(grads[i++]);
      if (need_student) g_student.narrow(0, start, n).copy_(grads[i++]);
    }
    return {g_logp, g_student, {}, {}, {}, {}, {}};
  }
};

}  // namespace

torch::Tensor teacher_log_probs(const torch::Tensor& teacher_logits, double temperature) {
  const auto type = teacher_logits.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  return torch::log_softmax(teacher_logits.to(type) / temperature, -1);
}

torch::Tensor ka_forward_kl_per_token(const torch::Tensor& teacher_logits_m, const torch::Tensor& student_logits,
                                      const DivergenceSpec& spec) {
  DivergenceSpec fkl = spec;
  fkl.kind = DivergenceKind::ForwardKL;
  auto logp_m = teacher_log_probs(teacher_logits_m.detach(), spec.temperature);  // [M, N, V]
  auto logp_mean = torch::logsumexp(logp_m, 0) - std::log(static_cast<double>(logp_m.size(0)));
  torch::Tensor entropy_gap;
  {
    torch::NoGradGuard no_grad;
    // mean_m sum p_m log p_m - sum pbar log pbar  (>= 0 by Jensen), per row
    entropy_gap = (logp_m.exp() * logp_m).sum(-1).mean(0) - (logp_mean.exp() * logp_mean).sum(-1);
  }
  return divergence_per_token(logp_mean, student_logits, fkl) + entropy_gap;
}

torch::Tensor divergence_per_token(const torch::Tensor& teacher_logp, const torch::Tensor& student_logits,
                                   const DivergenceSpec& spec) {
  if (teacher_logp.sizes() != student_logits.sizes())
    fail("divergence: teacher and student distributions differ in shape (vocabularies ", teacher_logp.size(-1),
         " and ", student_logits.size(-1), ")");
  if (!(spec.temperature > 0)) fail("divergence: temperature must be > 0, got ", spec.temperature);
  return ChunkedDivergence::apply(teacher_logp, student_logits, static_cast<int64_t>(spec.kind), spec.temperature,
                                  spec.jsd_beta, spec.skew_alpha, std::max<int64_t>(1, spec.chunk_rows));
}

}  // namespace moekd
