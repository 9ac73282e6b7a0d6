#include "grid/grid_results.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "grid/grid_arithmetic.h"
#include "run/run_folder.h"
#include "util/error.h"
#include "util/json_file.h"

namespace moekd {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::vector<std::string>& grid_metrics() {
  static const std::vector<std::string> m = {"val_loss", "rouge_l", "exact_match"};
  return m;
}
bool lower_is_better(const std::string& metric) { return metric == "val_loss"; }

const CellStat* GridResults::find(const std::string& cell, const std::string& at, const std::string& category,
                                  const std::string& metric) const {
  for (const auto& s : stats)
    if (s.cell == cell && s.at == at && s.category == category && s.metric == metric) return &s;
  return nullptr;
}

namespace {

double metric_of(const EvalResult& e, const std::string& category, const std::string& metric) {
  if (category.empty()) return metric == "val_loss" ? e.val_loss : metric == "rouge_l" ? e.rouge_l : e.exact_match;
  const auto it = e.per_category.find(category);
  if (it == e.per_category.end()) return NAN;
  const auto& c = it->second;
  return metric == "val_loss" ? c.val_loss : metric == "rouge_l" ? c.rouge_l : c.exact_match;
}

SeedOutcome read_seed(const GridFolder& folder, const GridCell& cell, uint64_t seed) {
  SeedOutcome o;
  o.seed = seed;
  o.run_dir = folder.run_dir(cell.id, seed);
  if (!is_run_dir(o.run_dir)) return o;
  o.started = true;
  RunRecord r;
  try {
    r = load_run(o.run_dir, RunDetail::Summary);
  } catch (const Error& e) {
    o.status = RunStatus::Failed;
    o.failure = e.what();
    return o;
  }
  o.status = r.summary.status;
  o.failure = r.summary.failure;
  o.step = r.summary.step;
  o.total_steps = r.summary.total_steps;
  o.seconds = r.summary.seconds;
  for (const auto& s : r.steps) o.train_loss.push_back({s.step, s.loss});
  o.evals = r.evals;
  for (auto& e : o.evals) e.samples.clear();
  if (o.status == RunStatus::Finished && !o.evals.empty()) {
    o.final_eval = o.evals.back();
    // The best checkpoint holds the evaluation of the last step it was saved at.
    int64_t best_step = -1;
    for (const auto& c : r.checkpoints)
      if (c.best) best_step = c.step;
    for (const auto& e : o.evals)
      if (e.step == best_step) o.best_eval = e;
    if (!o.best_eval) {
      for (const auto& e : o.evals)
        if (!o.best_eval || best_checkpoint_score(e) > best_checkpoint_score(*o.best_eval)) o.best_eval = e;
    }
  }
  return o;
}

std::string fixed(double x, int digits) {
  if (std::isnan(x)) return "-";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", digits, x);
  return b;
}

// A metric as the tables show it: loss with 4 decimals, scores in percent with 1.
std::string shown(const std::string& metric, double x) {
  return lower_is_better(metric) ? fixed(x, 4) : fixed(100 * x, 1);
}
std::string shown_signed(const std::string& metric, double x) {
  const auto s = shown(metric, x);
  return (x >= 0 && s != "-" ? "+" : "") + s;
}

std::string metric_title(const std::string& m) {
  return m == "val_loss" ? "val loss" : m == "rouge_l" ? "ROUGE-L" : "exact match";
}

std::string p_text(double p) {
  char b[32];
  std::snprintf(b, sizeof b, p < 0.001 ? "%.1e" : "%.3f", p);
  return b;
}

json eval_json(const EvalResult& e) {
  json j = to_json(e);
  j.erase("samples");
  j.erase("type");
  return j;
}

}  // namespace

GridResults collect_grid_results(const Grid& grid, const GridFolder& folder) {
  GridResults r;
  r.grid_name = grid.name;
  r.baseline_id = grid.baseline;
  std::set<std::string> categories;
  for (const auto& cell : grid.cells) {
    CellOutcome c{cell, {}};
    for (const auto seed : grid.seeds) {
      c.seeds.push_back(read_seed(folder, cell, seed));
      const auto& o = c.seeds.back();
      ++r.runs_total;
      if (o.finished()) ++r.runs_finished;
      if (o.final_eval)
        for (const auto& [name, _] : o.final_eval->per_category) categories.insert(name);
    }
    r.cells.push_back(std::move(c));
  }
  r.categories.assign(categories.begin(), categories.end());
  if (const auto arithmetic = read_grid_arithmetic(folder)) r.arithmetic = describe(*arithmetic);

  auto outcome_of = [&](const std::string& id) -> const CellOutcome* {
    for (const auto& c : r.cells)
      if (c.cell.id == id) return &c;
    return nullptr;
  };
  std::vector<std::string> cats = {""};
  cats.insert(cats.end(), r.categories.begin(), r.categories.end());
  for (const auto& c : r.cells) {
    const CellOutcome* base = c.cell.baseline.empty() ? nullptr : outcome_of(c.cell.baseline);
    for (const char* at : {"final", "best"})
      for (const auto& category : cats)
        for (const auto& metric : grid_metrics()) {
          auto value_of = [&](const SeedOutcome& o) {
            const auto& e = std::string(at) == "final" ? o.final_eval : o.best_eval;
            return e ? metric_of(*e, category, metric) : NAN;
          };
          CellStat s{c.cell.id, at, category, metric, {}, {}, c.cell.baseline, std::nullopt};
          std::vector<double> values, mine, theirs;
          for (size_t i = 0; i < c.seeds.size(); ++i) {
            const double v = c.seeds[i].finished() ? value_of(c.seeds[i]) : NAN;
            if (std::isnan(v)) continue;
            values.push_back(v);
            s.seeds.push_back(c.seeds[i].seed);
            if (base && base != &c && base->seeds[i].finished()) {
              const double b = value_of(base->seeds[i]);
              if (!std::isnan(b)) {
                mine.push_back(v);
                theirs.push_back(b);
              }
            }
          }
          if (values.empty()) continue;
          s.value = spread(values);
          if (!mine.empty()) s.vs_baseline = paired_difference(mine, theirs);
          r.stats.push_back(std::move(s));
        }
  }
  return r;
}

json to_json(const GridResults& r, const Grid& grid) {
  json cells = json::array();
  for (const auto& c : r.cells) {
    json settings = json::object();
    for (const auto& [k, v] : c.cell.settings) settings[k] = v;
    json seeds = json::array();
    for (const auto& o : c.seeds) {
      json s = {{"seed", o.seed},
                {"run_dir", GridFolder::relative_run_dir(c.cell.id, o.seed)},
                {"status", o.started ? run_status_name(o.status) : "not started"},
                {"step", o.step},
                {"total_steps", o.total_steps},
                {"seconds", o.seconds}};
      if (!o.failure.empty()) s["failure"] = o.failure;
      if (o.final_eval) s["final"] = eval_json(*o.final_eval);
      if (o.best_eval) s["best"] = eval_json(*o.best_eval);
      seeds.push_back(s);
    }
    cells.push_back({{"id", c.cell.id}, {"label", c.cell.label}, {"method", c.cell.method}, {"settings", settings},
                     {"from", c.cell.from}, {"baseline", c.cell.baseline}, {"seeds", seeds}});
  }
  json stats = json::array();
  for (const auto& s : r.stats) {
    json j = {{"cell", s.cell},          {"at", s.at},       {"category", s.category.empty() ? "all" : s.category},
              {"metric", s.metric},      {"n", s.value.n},   {"mean", s.value.mean},
              {"sd", s.value.sd},        {"seeds", s.seeds}};
    if (s.vs_baseline) {
      const auto& p = *s.vs_baseline;
      j["vs_baseline"] = {{"baseline", s.baseline},   {"n", p.difference.n},
                          {"mean_difference", p.difference.mean},
                          {"sd_difference", p.difference.sd}, {"ci95", {p.interval.lo, p.interval.hi}},
                          {"above", p.sign.above},    {"below", p.sign.below},
                          {"ties", p.sign.ties},      {"sign_test_p", p.sign.p}};
    }
    stats.push_back(j);
  }
  return {{"grid", grid.name},
          {"baseline", grid.baseline},
          {"seeds", grid.seeds},
          {"data_order", data_order_name(grid.data_order)},
          {"arithmetic", r.arithmetic},
          {"runs_finished", r.runs_finished},
          {"runs_total", r.runs_total},
          {"categories", r.categories},
          {"cells", cells},
          {"stats", stats}};
}

std::string results_csv(const GridResults& r, const Grid& grid) {
  std::ostringstream out;
  out << "cell,method,at,category,metric,n,mean,sd,baseline,paired_n,mean_difference,ci95_low,ci95_high,"
         "above,below,sign_test_p\n";
  auto num = [](double x) {
    if (std::isnan(x)) return std::string();
    char b[64];
    std::snprintf(b, sizeof b, "%.9g", x);
    return std::string(b);
  };
  for (const auto& s : r.stats) {
    const GridCell* cell = grid.cell(s.cell);
    out << s.cell << "," << (cell ? cell->method : "") << "," << s.at << "," << (s.category.empty() ? "all" : s.category)
        << "," << s.metric << "," << s.value.n << "," << num(s.value.mean) << "," << num(s.value.sd) << ","
        << s.baseline << ",";
    if (s.vs_baseline) {
      const auto& p = *s.vs_baseline;
      out << p.difference.n << "," << num(p.difference.mean) << "," << num(p.interval.lo) << "," << num(p.interval.hi)
          << "," << p.sign.above << "," << p.sign.below << "," << num(p.sign.p);
    } else {
      out << ",,,,,,";
    }
    out << "\n";
  }
  return out.str();
}

std::string results_markdown(const GridResults& r, const Grid& grid) {
  std::ostringstream md;
  const bool any_baseline = grid.compares();
  const bool own_baselines = std::any_of(grid.cells.begin(), grid.cells.end(), [&](const GridCell& c) {
    return !c.baseline.empty() && c.baseline != grid.baseline;
  });
  md << "# Grid `" << grid.name << "`\n\n";
  md << r.runs_finished << " of " << r.runs_total << " runs finished; seeds";
  for (auto s : grid.seeds) md << " " << s;
  md << "; data order: " << data_order_name(grid.data_order) << ".";
  if (!grid.baseline.empty()) md << " Baseline: `" << grid.baseline << "`.";
  if (r.arithmetic.size() == 1) md << " Computed with " << r.arithmetic.front() << " (`arithmetic.json`).";
  if (r.arithmetic.size() > 1) {
    md << " **The runs mix arithmetics** (`arithmetic.json`): " << r.arithmetic.front();
    for (size_t i = 1; i < r.arithmetic.size(); ++i) md << "; then " << r.arithmetic[i];
    md << ". A paired difference on one seed may then hold rounding as well as the method.";
  }
  md << "\n\n";
  md << "Mean ± standard deviation over the finished seeds (n). Loss as it is, scores in percent. "
        "Δ is the cell minus its baseline on the seeds both finished"
     << (own_baselines ? " (the grid's baseline, or the cell named beside it: `(vs name)`)" : "")
     << ", with the 95% percentile-bootstrap interval "
        "of its mean (10,000 resamples) and the two-sided sign test p; `*` marks an interval that excludes 0. "
        "With few seeds the bootstrap interval is narrower than it should be, and the sign test cannot go below "
        "2/2^n (0.0625 for 5 seeds): read both together.\n";

  auto table = [&](const std::string& at, const std::string& category, const std::string& title) {
    md << "\n## " << title << "\n\n| cell | n |";
    for (const auto& m : grid_metrics()) md << " " << metric_title(m) << " |";
    if (any_baseline)
      for (const auto& m : grid_metrics()) md << " Δ " << metric_title(m) << " [95% CI] (p) |";
    md << "\n|---|---|";
    for (size_t i = 0; i < grid_metrics().size() * (any_baseline ? 2 : 1); ++i) md << "---|";
    md << "\n";
    for (const auto& c : r.cells) {
      const CellStat* first = r.find(c.cell.id, at, category, grid_metrics().front());
      md << "| " << grid.cell_title(c.cell) << " | " << (first ? first->value.n : 0) << " |";
      for (const auto& m : grid_metrics()) {
        const CellStat* s = r.find(c.cell.id, at, category, m);
        if (!s) md << " - |";
        else md << " " << shown(m, s->value.mean) << " ± " << shown(m, s->value.sd) << " |";
      }
      if (any_baseline)
        for (const auto& m : grid_metrics()) {
          const CellStat* s = r.find(c.cell.id, at, category, m);
          if (!s || !s->vs_baseline) {
            md << " |";
            continue;
          }
          const auto& p = *s->vs_baseline;
          const bool excludes_zero = p.interval.lo > 0 || p.interval.hi < 0;
          md << " " << shown_signed(m, p.difference.mean) << " [" << shown_signed(m, p.interval.lo) << ", "
             << shown_signed(m, p.interval.hi) << "]" << (excludes_zero ? "*" : "") << " (" << p_text(p.sign.p) << ") |";
        }
      md << "\n";
    }
  };
  table("final", "", "The final evaluation");
  table("best", "", "The best checkpoint");

  if (!r.categories.empty()) {
    for (const char* metric : {"rouge_l", "exact_match"}) {
      md << "\n## " << metric_title(metric) << " per category (final evaluation)\n\n| cell |";
      for (const auto& cat : r.categories) md << " " << cat << " |";
      md << "\n|---|";
      for (size_t i = 0; i < r.categories.size(); ++i) md << "---|";
      md << "\n";
      for (const auto& c : r.cells) {
        md << "| " << grid.cell_title(c.cell) << " |";
        for (const auto& cat : r.categories) {
          const CellStat* s = r.find(c.cell.id, "final", cat, metric);
          if (!s) {
            md << " - |";
            continue;
          }
          md << " " << shown(metric, s->value.mean);
          if (s->vs_baseline) {
            const auto& p = *s->vs_baseline;
            md << " (" << shown_signed(metric, p.difference.mean) << (p.interval.lo > 0 || p.interval.hi < 0 ? "*" : "")
               << ")";
          }
          md << " |";
        }
        md << "\n";
      }
    }
    if (any_baseline) md << "\nIn brackets: Δ against the cell's baseline; `*` as above.\n";
  }

  bool any_problem = false;
  for (const auto& c : r.cells)
    for (const auto& o : c.seeds)
      if (o.started && (o.status == RunStatus::Failed || !o.failure.empty())) {
        if (!any_problem) md << "\n## Failed runs\n\n";
        any_problem = true;
        md << "- `" << c.cell.id << "` seed " << o.seed << ": " << o.failure << "\n";
      }
  return md.str();
}

void write_grid_results(const GridResults& r, const Grid& grid, const GridFolder& folder) {
  write_json_file(folder.results("json"), to_json(r, grid));
  write_file_whole(folder.results("csv"), results_csv(r, grid));
  write_file_whole(folder.results("md"), results_markdown(r, grid));
}

}  // namespace moekd
