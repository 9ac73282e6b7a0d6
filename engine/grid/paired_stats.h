#pragma once
// The statistics of a grid: a metric's mean and spread over seeds, and a cell against its
// baseline on the same seeds (paired): the mean difference, a percentile-bootstrap confidence
// interval of it, and the exact two-sided sign test. Few seeds are the normal case (3-10), so
// nothing here assumes a normal distribution.
#include <cstdint>
#include <vector>

namespace moekd {

struct SeedSpread {
  int64_t n = 0;
  double mean = 0;
  double sd = 0;  // sample standard deviation (n - 1); 0 for one seed
};
SeedSpread spread(const std::vector<double>& x);

struct Interval {
  double lo = 0, hi = 0;
};

// The percentile bootstrap of the mean of `x`: `resamples` times, n values drawn with
// replacement (index = floor(u * n), u from splitmix64 seeded with `seed`, the top 53 bits);
// the interval between the (1 - level)/2 and (1 + level)/2 quantiles of those means, each
// interpolated linearly between order statistics (numpy's default, "type 7"). Deterministic
// for a seed on every machine; tools/bootstrap_reference.py computes the same in Python.
Interval bootstrap_mean_interval(const std::vector<double>& x, double level = 0.95, int64_t resamples = 10000,
                                 uint64_t seed = 0);

// The sign test of paired differences: how many are above and below 0 (ties, exactly 0, are
// dropped) and the exact two-sided p-value, 2 P(X <= min(above, below)) for X ~ Bin(n, 1/2),
// at most 1. With 5 seeds the smallest possible p is 0.0625.
struct SignTest {
  int64_t above = 0, below = 0, ties = 0;
  double p = 1;
};
SignTest sign_test(const std::vector<double>& differences);

struct PairedDifference {
  SeedSpread difference;   // of cell - baseline over the shared seeds
  Interval interval;       // 95% bootstrap interval of the mean difference; NaN for one seed
  SignTest sign;
};
// `cell` and `baseline` hold one value per shared seed, in the same order.
PairedDifference paired_difference(const std::vector<double>& cell, const std::vector<double>& baseline,
                                   uint64_t bootstrap_seed = 0);

}  // namespace moekd
