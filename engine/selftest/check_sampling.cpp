// KA's expert sampling on the device against its distribution: with lambda = 1 every token draws
// k experts without replacement from softmax(logits), so the ordered pair (a, b) has probability
// p_a p_b / (1 - p_a); with lambda = 0.3 about 30% of the tokens sample.
#include <cmath>

#include "model/routing.h"
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
}

}  // namespace moekd::selftest
