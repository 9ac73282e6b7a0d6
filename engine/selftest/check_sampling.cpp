// KA's expert sampling on the device against its distribution: with lambda = 1 every token draws
// k experts without replacement from softmax(logits), so the ordered pair (a, b) has probability
// p_a p_b / (1 - p_a); with lambda = 0.3 about 30% of the tokens sample.
#include <cmath>

#include "model/routing.h"
#include "model/sampling.h"
#include "selftest/checks.h"
#include "selftest/sampling_stats.h"

namespace moekd::selftest {

void check_sampling(Context& ctx) {
  torch::NoGradGuard no_grad;
  const int64_t E = 5, N = 20000;
  const auto row = torch::tensor({1.2, 0.3, -0.4, 0.9, -1.5}, torch::kDouble);
  const auto logits = row.unsqueeze(0).expand({N, E}).to(ctx.device, torch::kFloat).contiguous();
  const auto p = torch::softmax(row, -1);
  MoeSpec spec;
  spec.num_experts = E;
  spec.top_k = 2;
  torch::manual_seed(ctx.seed + 2024);

  const auto sampled = select_experts(logits, spec, RoutingPolicy::ka(1.0));
  const double chi2 = ordered_pair_chi2(sampled.ids.to(torch::kCPU), p);
  ctx.report({"ka sampling: pairs follow sampling without replacement", chi2, 43.82,
              "chi2 over 20 ordered pairs (df 19, bound at p = 0.001)"});

  const auto mixed = select_experts(logits, spec, RoutingPolicy::ka(0.3));
  const double share = mixed.sampled.to(torch::kCPU, torch::kDouble).mean().item<double>();
  const double sigma = std::sqrt(0.3 * 0.7 / static_cast<double>(N));
  ctx.report({"ka sampling: share of sampled tokens at lambda 0.3", std::abs(share - 0.3) / sigma, 6.0,
              "|share - 0.3| in standard deviations"});

  // On-policy: the student's tokens on the device against the distribution computed on the CPU,
  // temperature, top-k and top-p together.
  SamplingConfig cut;
  cut.temperature = 0.8;
  cut.top_k = 4;
  cut.top_p = 0.9;
  const auto token_row = torch::tensor({0.5, 2.0, -0.3, 1.4, 0.9, -1.0}, torch::kDouble);
  const auto expected = sampling_distribution(token_row.to(torch::kFloat).unsqueeze(0), cut).squeeze(0).to(torch::kDouble);
  const int64_t V = token_row.size(0);
  const auto token_logits = token_row.unsqueeze(0).expand({N, V}).to(ctx.device, torch::kFloat).contiguous();
  auto gen = seeded_generator(ctx.device, ctx.seed + 77);
  const auto drawn = sample_tokens(token_logits, cut, gen).to(torch::kCPU);
  const auto counts = torch::bincount(drawn, {}, V).to(torch::kDouble);
  double token_chi2 = 0, outside = 0;
  int df = -1;
  for (int64_t v = 0; v < V; ++v) {
    const double e = N * expected[v].item<double>(), o = counts[v].item<double>();
    if (e == 0) {
      outside += o;
      continue;
    }
    token_chi2 += (o - e) * (o - e) / e;
    ++df;
  }
  ctx.report({"token sampling: draws follow softmax(l / T) cut to top-k and top-p", token_chi2 + 1e9 * outside,
              df + 6 * std::sqrt(2.0 * std::max(df, 1)), "chi2 over the kept tokens (a token outside the cut fails)"});
}

}  // namespace moekd::selftest
