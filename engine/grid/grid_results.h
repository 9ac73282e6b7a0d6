#pragma once
// What a grid's runs have produced so far, read from their folders (nothing is kept elsewhere,
// so a half-finished grid reads like a finished one, only with fewer seeds), and the tables of
// results.csv, results.json and results.md: per cell, mean and standard deviation over the
// finished seeds of validation loss, ROUGE-L and exact match, overall and per category, at the
// final evaluation and at the best checkpoint; per cell against its baseline (the grid's, or the
// cell it names), the paired difference on the seeds both finished with its bootstrap interval
// and sign test.
// No LibTorch: the studio's Compare view reads the same.
#include <optional>
#include <string>
#include <vector>

#include "grid/grid_config.h"
#include "grid/paired_stats.h"
#include "run/events.h"
#include "run/run_record.h"

namespace moekd {

struct SeedOutcome {
  uint64_t seed = 0;
  std::string run_dir;
  bool started = false;  // the run folder exists
  RunStatus status = RunStatus::Incomplete;
  std::string failure;
  int64_t step = 0, total_steps = 0;
  double seconds = 0;
  std::optional<EvalResult> final_eval, best_eval;  // finished runs; without their samples
  std::vector<EvalResult> evals;                     // every evaluation, for curves
  std::vector<std::pair<int64_t, double>> train_loss;  // (step, loss) of the logged steps
  bool finished() const { return status == RunStatus::Finished && final_eval.has_value(); }
};

struct CellOutcome {
  GridCell cell;
  std::vector<SeedOutcome> seeds;  // in the grid's seed order
};

// One row of the tables: a metric of a cell at one point (final or best) and category ("" = all).
struct CellStat {
  std::string cell, at, category, metric;  // at: "final" | "best"; metric: val_loss | rouge_l | exact_match
  SeedSpread value;
  std::vector<uint64_t> seeds;                  // the finished seeds behind `value`
  std::string baseline;                         // the cell `vs_baseline` is taken against
  std::optional<PairedDifference> vs_baseline;  // none without a baseline or without shared seeds
};

struct GridResults {
  std::string grid_name, baseline_id;  // as the grid names them; cells may name their own baselines
  std::vector<CellOutcome> cells;
  std::vector<std::string> categories;  // as the runs' evaluations name them
  std::vector<CellStat> stats;
  int64_t runs_finished = 0, runs_total = 0;
  // The grid's arithmetic.json, described (grid/grid_arithmetic.h): one entry, or more when the
  // runs mix arithmetics; empty when the folder keeps no record.
  std::vector<std::string> arithmetic;
  const CellStat* find(const std::string& cell, const std::string& at, const std::string& category,
                       const std::string& metric) const;
};

// The metrics in table order, and whether lower is better.
const std::vector<std::string>& grid_metrics();
bool lower_is_better(const std::string& metric);

GridResults collect_grid_results(const Grid& grid, const GridFolder& folder);

nlohmann::json to_json(const GridResults& r, const Grid& grid);
std::string results_csv(const GridResults& r, const Grid& grid);
std::string results_markdown(const GridResults& r, const Grid& grid);
// The three files, each written whole to a temporary name and renamed.
void write_grid_results(const GridResults& r, const Grid& grid, const GridFolder& folder);

}  // namespace moekd
