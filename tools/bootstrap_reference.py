#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The percentile bootstrap of engine/grid/paired_stats.cpp, written again in plain Python, so that
tests/engine/test_grid.cpp checks the C++ against an independent computation of the same
procedure: splitmix64 seeded with `seed`, u = (next >> 11) * 2^-53, index = floor(u * n), the mean
of n draws per resample, and quantiles interpolated linearly between order statistics (numpy's
default). Usage: bootstrap_reference.py SEED RESAMPLES LEVEL X1 X2 ..."""
import math
import sys

MASK = (1 << 64) - 1


def splitmix64(state):
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        yield z ^ (z >> 31)


def quantile(sorted_values, q):
    h = (len(sorted_values) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (h - lo) * (sorted_values[hi] - sorted_values[lo])


def main():
    seed, resamples, level = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    x = [float(v) for v in sys.argv[4:]]
    rng = splitmix64(seed)
    n = len(x)
    means = []
    for _ in range(resamples):
        total = 0.0
        for _ in range(n):
            u = (next(rng) >> 11) * 2.0 ** -53
            total += x[min(n - 1, math.floor(u * n))]
        means.append(total / n)
    means.sort()
    print(repr(quantile(means, (1 - level) / 2)), repr(quantile(means, (1 + level) / 2)))


if __name__ == "__main__":
    main()
