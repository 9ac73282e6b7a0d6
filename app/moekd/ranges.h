// SPDX-License-Identifier: MIT
#pragma once
// Ranges for the CLI's numeric flags. CLI11's Range lets NaN through (every comparison with it is
// false): these refuse NaN and infinities by name, then check the bounds.
#include <CLI/CLI.hpp>

#include <cmath>
#include <string>
#include <thread>

namespace moekd::cli {

// A finite number in [lo, hi] (or (lo, hi] with `open_lo`).
inline CLI::Validator finite_in(double lo, double hi, bool open_lo = false) {
  const std::string shown = (open_lo ? "(" : "[") + CLI::detail::to_string(lo) + ", " + CLI::detail::to_string(hi) + "]";
  return CLI::Validator(
      [lo, hi, open_lo, shown](std::string& text) -> std::string {
        double v = 0;
        size_t used = 0;
        try {
          v = std::stod(text, &used);
        } catch (const std::exception&) {
          return "`" + text + "` is not a number";
        }
        if (used != text.size()) return "`" + text + "` is not a number";
        if (!std::isfinite(v)) return "`" + text + "` is not a finite number";
        if (!(open_lo ? v > lo : v >= lo) || !(v <= hi)) return "`" + text + "` is not in " + shown;
        return {};
      },
      "NUMBER in " + shown);
}

// Threads: at least 1, at most four per core (more only oversubscribes).
// The help text names no figure of this machine (the manual page is made from it at build time);
// the error does.
inline CLI::Validator thread_count() {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return CLI::Validator(
      [cores](std::string& text) -> std::string {
        long v = 0;
        size_t used = 0;
        try {
          v = std::stol(text, &used);
        } catch (const std::exception&) {
          return "`" + text + "` is not a whole number";
        }
        if (used != text.size()) return "`" + text + "` is not a whole number";
        if (v < 1 || v > static_cast<long>(4 * cores))
          return "`" + text + "` is not in [1, " + std::to_string(4 * cores) + "] (" + std::to_string(cores) +
                 " cores here)";
        return {};
      },
      "THREADS in [1, 4 x cores]");
}

}  // namespace moekd::cli
