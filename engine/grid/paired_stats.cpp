#include "grid/paired_stats.h"

#include <algorithm>
#include <cmath>

#include "util/error.h"

namespace moekd {

SeedSpread spread(const std::vector<double>& x) {
  SeedSpread s;
  s.n = static_cast<int64_t>(x.size());
  if (x.empty()) return s;
  double sum = 0;
  for (double v : x) sum += v;
  s.mean = sum / static_cast<double>(x.size());
  if (x.size() > 1) {
    double ss = 0;
    for (double v : x) ss += (v - s.mean) * (v - s.mean);
    s.sd = std::sqrt(ss / static_cast<double>(x.size() - 1));
  }
  return s;
}

namespace {

// splitmix64 (Steele, Lea, Flood 2014): tiny, and the same numbers in every language.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
};

// Linear interpolation between the order statistics of sorted `v` at probability q.
double quantile_sorted(const std::vector<double>& v, double q) {
  const double h = (static_cast<double>(v.size()) - 1) * q;
  const auto lo = static_cast<size_t>(std::floor(h));
  const auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (h - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

}  // namespace

Interval bootstrap_mean_interval(const std::vector<double>& x, double level, int64_t resamples, uint64_t seed) {
  if (x.empty()) fail("bootstrap: no values");
  if (!(level > 0 && level < 1)) fail("bootstrap: the level must be in (0, 1), got ", level);
  if (resamples < 1) fail("bootstrap: at least one resample is needed, got ", resamples);
  SplitMix64 rng{seed};
  const size_t n = x.size();
  std::vector<double> means(static_cast<size_t>(resamples));
  for (auto& m : means) {
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += x[std::min(n - 1, static_cast<size_t>(rng.uniform() * static_cast<double>(n)))];
    m = sum / static_cast<double>(n);
  }
  std::sort(means.begin(), means.end());
  return {quantile_sorted(means, (1 - level) / 2), quantile_sorted(means, (1 + level) / 2)};
}

SignTest sign_test(const std::vector<double>& d) {
  SignTest t;
  for (double v : d) {
    if (v > 0) ++t.above;
    else if (v < 0) ++t.below;
    else ++t.ties;
  }
  const int64_t n = t.above + t.below, k = std::min(t.above, t.below);
  if (n == 0) return t;
  // P(X <= k) for X ~ Bin(n, 1/2), term by term: C(n, i) / 2^n, in logs for large n.
  double tail = 0;
  for (int64_t i = 0; i <= k; ++i)
    tail += std::exp(std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0) - n * std::log(2.0));
  t.p = std::min(1.0, 2 * tail);
  return t;
}

PairedDifference paired_difference(const std::vector<double>& cell, const std::vector<double>& baseline,
                                   uint64_t bootstrap_seed) {
  if (cell.size() != baseline.size() || cell.empty()) fail("paired difference: needs the same seeds on both sides");
  std::vector<double> d(cell.size());
  for (size_t i = 0; i < d.size(); ++i) d[i] = cell[i] - baseline[i];
  PairedDifference p;
  p.difference = spread(d);
  // One seed has no spread to resample: its "interval" would be a point that excludes 0.
  p.interval = d.size() < 2 ? Interval{NAN, NAN} : bootstrap_mean_interval(d, 0.95, 10000, bootstrap_seed);
  p.sign = sign_test(d);
  return p;
}

}  // namespace moekd
