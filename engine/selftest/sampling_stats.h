#pragma once
// The statistic that tells sampling without replacement apart from anything else: drawing two
// experts from probabilities p without replacement gives the ordered pair (a, b) probability
// p_a p_b / (1 - p_a). Shared by `moekd selftest` and the routing tests.
#include <torch/torch.h>

#include <map>
#include <utility>

namespace moekd {

// Pearson's chi-squared of the observed ordered pairs (`ids`: [N, 2] int64 on the CPU) against
// that distribution; E (E - 1) cells, E (E - 1) - 1 degrees of freedom.
inline double ordered_pair_chi2(const torch::Tensor& ids, const torch::Tensor& p) {
  const int64_t N = ids.size(0), E = p.size(0);
  std::map<std::pair<int64_t, int64_t>, int64_t> counts;
  const auto acc = ids.accessor<int64_t, 2>();
  for (int64_t i = 0; i < N; ++i) counts[{acc[i][0], acc[i][1]}]++;
  const auto q = p.to(torch::kDouble);
  double chi2 = 0;
  for (int64_t a = 0; a < E; ++a)
    for (int64_t b = 0; b < E; ++b) {
      if (a == b) continue;
      const double pa = q[a].item<double>(), pb = q[b].item<double>();
      const double expected = static_cast<double>(N) * pa * pb / (1 - pa);
      const double observed = static_cast<double>(counts[{a, b}]);
      chi2 += (observed - expected) * (observed - expected) / expected;
    }
  return chi2;
}

}  // namespace moekd
