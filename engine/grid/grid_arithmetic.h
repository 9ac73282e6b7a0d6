#pragma once
// The arithmetic a grid's runs are computed with (run/arithmetic.h), kept in the grid's folder as
// arithmetic.json. A paired difference between two cells of one seed is the method's only when
// both runs rounded alike, so a grid records the arithmetic of the process that first runs it and
// refuses to continue under another one, saying what differs and how to match it, unless told to
// mix them (then the record and results.md say so).
#include <optional>
#include <string>
#include <vector>

#include "grid/grid_config.h"
#include "run/arithmetic.h"
#include "util/error.h"

namespace moekd {

struct GridArithmetic {
  Arithmetic first;                   // the arithmetic the grid was recorded with
  std::vector<Arithmetic> mixed_with; // others its runs were continued with (--mixed-arithmetic)
};

// The refusal to continue a grid under another arithmetic: `moekd compare` exits with its own
// code for it, so that the studio can ask whether to mix them rather than only show the message.
class ArithmeticMismatch : public Error {
 public:
  using Error::Error;
};
constexpr int kArithmeticMismatchExitCode = 3;

// The folder's record; nullopt when it has none (a grid from before records were kept, or one
// that has not run yet). Throws Error naming the file when it cannot be read.
std::optional<GridArithmetic> read_grid_arithmetic(const GridFolder& folder);

// Before running the grid's runs in a process computing with `now`. Without a record: records
// `now` and returns a line saying so when `finished_runs` > 0 (their arithmetic is unknown). With
// the same one: returns "". With another: throws ArithmeticMismatch naming what differs and how to match it,
// unless `allow_mixed`, which adds `now` to the record and returns a line saying the grid mixes.
std::string settle_grid_arithmetic(const GridFolder& folder, const Arithmetic& now, bool allow_mixed,
                                   int64_t finished_runs);

// For results.md: "LibTorch 1.13.0, OpenBLAS Cooperlake, ..." and the others it was mixed with.
std::vector<std::string> describe(const GridArithmetic& g);

}  // namespace moekd
