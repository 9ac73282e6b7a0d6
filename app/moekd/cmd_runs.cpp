// `moekd runs`: the studio's Runs table for servers. Lists the runs of workspace folders (or run
// folders given directly) with their status and final metrics; the best value of each metric
// column is marked with *.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "progress.h"
#include "run/run_record.h"
#include "util/error.h"

namespace moekd::cli {

namespace {

using json = nlohmann::json;

json number_or_null(double v) { return std::isnan(v) ? json(nullptr) : json(v); }

json to_json(const RunSummary& s) {
  json arithmetic = json::array();  // what it computed with, from which step (older runs: none)
  for (const auto& a : s.arithmetic) arithmetic.push_back({{"step", a.step}, {"computed_with", describe(a.arithmetic)}});
  return {{"dir", s.dir},
          {"name", s.name},
          {"method", s.method},
          {"status", run_status_name(s.status)},
          {"step", s.step},
          {"total_steps", s.total_steps},
          {"seconds", s.seconds},
          {"train_loss", number_or_null(s.train_loss)},
          {"val_loss", number_or_null(s.val_loss)},
          {"best_val_loss", number_or_null(s.best_val_loss)},
          {"rouge_l", number_or_null(s.rouge_l)},
          {"exact_match", number_or_null(s.exact_match)},
          {"failure", s.failure},
          {"has_best", s.has_best},
          {"has_last", s.has_last},
          {"arithmetic", arithmetic}};
}

// The metric columns: how to read one from a summary, and which way is better.
struct Column {
  const char* key;
  double (*get)(const RunSummary&);
  bool lower_is_better;
};
const std::vector<Column>& metric_columns() {
  static const std::vector<Column> c = {
      {"train_loss", [](const RunSummary& s) { return s.train_loss; }, true},
      {"val_loss", [](const RunSummary& s) { return s.val_loss; }, true},
      {"best_val_loss", [](const RunSummary& s) { return s.best_val_loss; }, true},
      {"rouge_l", [](const RunSummary& s) { return s.rouge_l; }, false},
      {"exact_match", [](const RunSummary& s) { return s.exact_match; }, false},
  };
  return c;
}

}  // namespace

void add_runs(CLI::App& app) {
  struct Args {
    std::vector<std::string> paths = {"runs"};
    std::string sort = "name";
    bool json_out = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("runs", "compare runs: status and final metrics of each run in workspace folders");
  cmd->add_option("paths", a->paths, "workspace folders (their subfolders are runs) or run folders")->capture_default_str();
  cmd->add_option("--sort", a->sort, "order: name, step, seconds, train_loss, val_loss, best_val_loss, rouge_l, exact_match")
      ->capture_default_str();
  cmd->add_flag("--json", a->json_out, "machine-readable output");
  cmd->callback([a] {
    const auto& columns = metric_columns();
    const bool by_metric = std::any_of(columns.begin(), columns.end(), [&](const Column& c) { return a->sort == c.key; });
    if (!by_metric && a->sort != "name" && a->sort != "step" && a->sort != "seconds")
      fail("--sort: `", a->sort, "` is not known; expected name, step, seconds, train_loss, val_loss, best_val_loss, "
           "rouge_l or exact_match");
    std::vector<std::string> dirs;
    for (const auto& p : a->paths) {
      if (!std::filesystem::is_directory(p)) fail(p, ": not a folder");
      if (is_run_dir(p)) {
        dirs.push_back(p);
      } else {
        const auto found = list_runs(p);
        dirs.insert(dirs.end(), found.begin(), found.end());
      }
    }
    std::vector<RunSummary> runs;
    std::vector<std::string> unreadable;
    for (const auto& d : dirs) {
      try {
        runs.push_back(load_run(d, RunDetail::Summary).summary);
      } catch (const Error& e) {
        unreadable.push_back(e.what());
      }
    }
    auto key = [&](const RunSummary& s) -> double {
      for (const auto& c : columns)
        if (a->sort == c.key) {
          const double v = c.get(s);  // runs without the metric go last
          return std::isnan(v) ? INFINITY : (c.lower_is_better ? v : -v);
        }
      return a->sort == "step" ? -static_cast<double>(s.step) : s.seconds;
    };
    std::stable_sort(runs.begin(), runs.end(), [&](const RunSummary& x, const RunSummary& y) {
      return a->sort == "name" ? x.dir < y.dir : key(x) < key(y);
    });
    for (const auto& u : unreadable) std::cerr << "moekd runs: cannot read " << u << "\n";
    if (a->json_out) {
      json out = json::array();
      for (const auto& s : runs) out.push_back(to_json(s));
      std::cout << out.dump(2) << "\n";
      return;
    }
    if (runs.empty()) {
      std::printf("no runs in %s\n", a->paths.front().c_str());
      return;
    }
    // The best value of each metric, when there is something to compare it with.
    std::map<std::string, double> best;
    for (const auto& c : columns) {
      int present = 0;
      for (const auto& s : runs) {
        const double v = c.get(s);
        if (std::isnan(v)) continue;
        ++present;
        if (!best.count(c.key) || (c.lower_is_better ? v < best[c.key] : v > best[c.key])) best[c.key] = v;
      }
      if (present < 2) best.erase(c.key);
    }
    auto cell = [&](const Column& c, const RunSummary& s, double scale, int decimals) {
      const double v = c.get(s);
      if (std::isnan(v)) return std::string("-");
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.*f%s", decimals, scale * v, best.count(c.key) && best[c.key] == v ? "*" : "");
      return std::string(buf);
    };
    std::printf("%-16s %-13s %-10s %11s %8s %11s %10s %10s %8s %8s\n", "run", "method", "status", "steps", "time",
                "train loss", "val loss", "best val", "ROUGE-L", "exact %");
    for (const auto& s : runs) {
      const std::string steps = std::to_string(s.step) + "/" + std::to_string(s.total_steps);
      std::printf("%-16s %-13s %-10s %11s %8s %11s %10s %10s %8s %8s\n",
                  std::filesystem::path(s.dir).filename().string().c_str(), s.method.c_str(), run_status_name(s.status),
                  steps.c_str(), s.step > 0 ? format_duration(s.seconds).c_str() : "-",
                  cell(columns[0], s, 1, 4).c_str(), cell(columns[1], s, 1, 4).c_str(), cell(columns[2], s, 1, 4).c_str(),
                  cell(columns[3], s, 100, 1).c_str(), cell(columns[4], s, 100, 1).c_str());
      if (s.status == RunStatus::Failed) std::printf("%-16s failed: %s\n", "", s.failure.c_str());
    }
    if (!best.empty()) std::printf("\n* the best of the listed runs; val loss and ROUGE-L are the last evaluation's\n");
  });
}

}  // namespace moekd::cli
