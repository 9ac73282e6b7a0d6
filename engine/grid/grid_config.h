#pragma once
// A grid of runs (`moekd compare`, the studio's Compare view): one base run config, axes whose
// product gives the cells (`method` or any config field), explicit cells beside them, and seeds
// that repeat every cell. An axis that does not change a method's run collapses for that method
// (kd has no `ka.lambda`), so the product holds no two cells that would train the same thing.
// Plain C++17 and nlohmann/json: no LibTorch.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace moekd {

// How the seeds of a grid treat the order of the training examples: `seed` draws it from the
// seed too (train.data_seed = the seed), `fixed` keeps the base's order for every seed, so that
// seeds differ only in the student's initialisation and the run's own sampling.
enum class DataOrder { Seed, Fixed };
const char* data_order_name(DataOrder d);

struct GridCell {
  std::string id;     // its folder under cells/, e.g. "ka_ka.lambda=0.05"
  std::string label;  // for tables: "ka ka.lambda=0.05"
  std::string method;
  // Fields applied to the base, in order (method first): "ka.lambda" -> 0.05.
  std::vector<std::pair<std::string, nlohmann::json>> settings;
  std::string from;   // the id of the cell whose student (its best checkpoint) this one starts from, same seed
  // The cell its paired differences are taken against: its own `baseline` where it names one
  // (an on-policy cell against the cell it started from), else the grid's; empty for none.
  std::string baseline;
};

// Extra charts: a name and the cells drawn on them (the grid's own charts draw every cell).
struct GridPlot {
  std::string name;
  std::vector<std::string> cells;
};

struct Grid {
  std::string name = "grid";
  nlohmann::json base;           // a run config without run_dir
  std::vector<std::string> axes;  // `method` first, then the others by name
  std::vector<GridCell> cells;
  std::vector<uint64_t> seeds;
  DataOrder data_order = DataOrder::Seed;
  std::string baseline;  // a cell id; empty: no paired comparisons unless a cell names its own
  std::vector<GridPlot> plots;
  nlohmann::json file;   // the grid as given, kept as grid.json beside its runs
  const GridCell* cell(const std::string& id) const;
  bool compares() const;  // some cell has a baseline: the tables get their Δ columns
  // A cell's name in tables: its label, with " (baseline)" for the grid's baseline and
  // " (vs <id>)" for a cell compared with a baseline of its own.
  std::string cell_title(const GridCell& c) const;
};

// Validates everything, every cell's run config included, and names the field of the grid that
// is wrong (`axes.ka.lambda[1]`, `cells[0].set`, `baseline`). Throws Error at the first problem.
Grid parse_grid(const nlohmann::json& j, const std::string& source);
Grid load_grid(const std::string& path);

// Whether setting `key` (a dotted config field) changes a run of `method`: `ka.*` only ka,
// `sar.*` only sar, `distill.*` and `teacher.*` only the methods with a teacher, `teacher_policy.*`
// only kd (ka and sar set the teacher's policy from their own sections).
bool setting_applies(const std::string& key, const std::string& method);

// The files of a grid's folder.
class GridFolder {
 public:
  explicit GridFolder(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }
  std::string grid_json() const { return dir_ + "/grid.json"; }
  std::string run_dir(const std::string& cell, uint64_t seed) const;  // <dir>/cells/<id>/seed-<s>
  // The same inside the grid folder (results.json names runs so, to stay true in a copy of the folder).
  static std::string relative_run_dir(const std::string& cell, uint64_t seed);  // cells/<id>/seed-<s>
  std::string run_config(const std::string& cell, uint64_t seed) const;  // configs/<id>-seed-<s>.json
  // The student a dependent cell starts from: the run's best checkpoint, exported.
  std::string student_dir(const std::string& cell, uint64_t seed) const;
  std::string log_file(const std::string& cell, uint64_t seed) const;  // logs/<id>-seed-<s>.log
  std::string results(const std::string& extension) const { return dir_ + "/results." + extension; }
  std::string plots_dir() const { return dir_ + "/plots"; }

 private:
  std::string dir_;
};

// The run config of `cell` at `seed`: the base with the cell's settings, train.seed = seed, the
// data order, run_dir and name inside `folder`, and for a dependent cell student.path = the
// other cell's exported student.
nlohmann::json cell_run_config(const Grid& grid, const GridCell& cell, uint64_t seed, const GridFolder& folder);

// Two grid files describe the same runs (equal but for `seeds`, `plots` and the baselines, which
// only change how the runs are compared): a grid folder can be continued with more seeds or
// other comparisons, not with other cells.
bool same_cells(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace moekd
