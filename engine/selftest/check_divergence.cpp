// The divergences (chunked, with their own backward) against float64 formulas written in
// probability space, values and gradients of both sides; KA's mean-distribution shortcut against
// the mean of its M divergences.
#include "distill/divergence.h"
#include "selftest/checks.h"

namespace moekd::selftest {

namespace {

constexpr double kTolerance = 1e-4;  // float32 log-softmax over ~100 classes, relative to the largest value

torch::Tensor kl(const torch::Tensor& a, const torch::Tensor& b) { return (a * (a.log() - b.log())).sum(-1); }

// p: the teacher's distribution, q: the student's, both [N, V] probabilities in float64.
torch::Tensor formula(const torch::Tensor& p, const torch::Tensor& q, const DivergenceSpec& s) {
  switch (s.kind) {
    case DivergenceKind::ForwardKL: return kl(p, q);
    case DivergenceKind::ReverseKL: return kl(q, p);
    case DivergenceKind::JSD: {
      const auto m = s.jsd_beta * p + (1 - s.jsd_beta) * q;
      return s.jsd_beta * kl(p, m) + (1 - s.jsd_beta) * kl(q, m);
    }
    case DivergenceKind::TotalVariation: return 0.5 * (p - q).abs().sum(-1);
    case DivergenceKind::SkewKL: return kl(p, s.skew_alpha * p + (1 - s.skew_alpha) * q);
    case DivergenceKind::SkewReverseKL: return kl(q, s.skew_alpha * q + (1 - s.skew_alpha) * p);
  }
  return {};
}

}  // namespace

void check_divergences(Context& ctx) {
  torch::manual_seed(ctx.seed + 5);
  const int64_t N = 70, V = 97;  // N not a multiple of the chunk: the last chunk is short
  const auto teacher = 2 * torch::randn({N, V}, torch::kDouble), student = 2 * torch::randn({N, V}, torch::kDouble);
  const auto g = torch::rand({N}, torch::kDouble);
  const auto f32 = torch::TensorOptions().device(ctx.device).dtype(torch::kFloat);
  for (const auto& [kind, name] : Names<DivergenceKind>::table) {
    DivergenceSpec spec;
    spec.kind = kind;
    spec.temperature = 2.0;
    spec.jsd_beta = 0.3;  // asymmetric, so that swapped roles would show
    spec.chunk_rows = 16;
    auto logp = teacher_log_probs(teacher.to(f32), spec.temperature).detach().requires_grad_(true);
    auto s = student.to(f32).requires_grad_(true);
    const auto value = divergence_per_token(logp, s, spec);
    (value * g.to(f32)).sum().backward();

    auto logp_ref = torch::log_softmax(teacher / spec.temperature, -1).detach().requires_grad_(true);
    auto s_ref = student.clone().requires_grad_(true);
    const auto ref = formula(logp_ref.exp(), torch::softmax(s_ref / spec.temperature, -1), spec);
    (ref * g).sum().backward();
    const double error = std::max({relative_error(value, ref), relative_error(s.grad(), s_ref.grad()),
                                   relative_error(logp.grad(), logp_ref.grad())});
    ctx.report({std::string("divergence ") + name, error, kTolerance,
                "max rel diff vs float64 formula: value, both gradients"});
  }

  // KA: one divergence against the mean distribution, entropy gap added back.
  const int64_t M = 4;
  const auto passes = 2 * torch::randn({M, N, V}, torch::kDouble);
  DivergenceSpec spec;
  spec.temperature = 1.5;
  spec.chunk_rows = 16;
  auto s = student.to(f32).requires_grad_(true);
  const auto value = ka_forward_kl_per_token(passes.to(f32), s, spec);
  (value * g.to(f32)).sum().backward();
  auto s_ref = student.clone().requires_grad_(true);
  const auto q = torch::softmax(s_ref / spec.temperature, -1);
  auto ref = torch::zeros({N}, torch::kDouble);
  for (int64_t m = 0; m < M; ++m) ref = ref + kl(torch::softmax(passes[m] / spec.temperature, -1), q) / M;
  (ref * g).sum().backward();
  ctx.report({"divergence ka forward_kl (M = 4)",
              std::max(relative_error(value, ref), relative_error(s.grad(), s_ref.grad())), kTolerance,
              "max rel diff vs mean of M float64 divergences"});
}

}  // namespace moekd::selftest
