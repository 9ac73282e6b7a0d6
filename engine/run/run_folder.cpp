#include "run/run_folder.h"

#include <algorithm>
#include <fstream>

#include "run/metrics_file.h"
#include "util/error.h"

namespace moekd {

namespace fs = std::filesystem;

bool CheckpointFolder::exists() const {
  std::error_code ec;
  return fs::is_regular_file(model() / "config.json", ec);
}

void write_run_config(const RunFolder& run, const RunConfig& config) {
  fs::create_directories(run.dir);
  const auto tmp = run.config().string() + ".tmp";
  {
    std::ofstream out(tmp);
    out << to_json(config).dump(2) << "\n";
    if (!out) fail(tmp, ": cannot be written");
  }
  fs::rename(tmp, run.config());
}

bool is_run_dir(const std::string& dir) {
  const RunFolder run(dir);
  std::error_code ec;
  return fs::is_regular_file(run.config(), ec) && fs::is_regular_file(run.metrics(), ec);
}

bool run_dir_holds_training(const std::string& run_dir) {
  const RunFolder run(run_dir);
  if (!fs::exists(run.metrics())) return false;
  if (fs::exists(run.checkpoints())) return true;
  // Only a run that ended in setup may be replaced: one without a `failed` event may still be
  // setting up (loading a large teacher) in another process.
  bool failed = false;
  try {
    for (const auto& e : read_metrics(run.metrics().string())) {
      if (!e.is_object()) continue;
      const auto type = e.value("type", "");
      if (type == "step") return true;
      failed = failed || type == "failed";
    }
  } catch (const std::exception&) {
    return true;  // unreadable: keep it
  }
  return !failed;
}

std::string free_sibling_dir(const std::string& dir) {
  std::string base = dir;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  for (int i = 2;; ++i) {
    const std::string candidate = base + "-" + std::to_string(i);
    if (!fs::exists(candidate)) return candidate;
  }
}

std::vector<std::string> list_runs(const std::string& workspace) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(workspace, ec))
    if (e.is_directory(ec) && is_run_dir(e.path().string())) out.push_back(e.path().string());
  if (ec) fail(workspace, ": cannot list (", ec.message(), ")");
  std::sort(out.begin(), out.end());
  return out;
}

double best_checkpoint_score(const EvalResult& r) { return r.samples.empty() ? -r.val_loss : r.rouge_l; }

const char* best_checkpoint_rule(int64_t eval_samples) {
  return eval_samples > 0 ? "highest ROUGE-L" : "lowest validation loss";
}

}  // namespace moekd
