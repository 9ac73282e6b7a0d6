#include "run/run_folder.h"

#include <fcntl.h>
#include <stdio.h>

#include <algorithm>
#include <fstream>

#include "run/metrics_file.h"
#include "util/error.h"
#include "util/json_file.h"

namespace moekd {

namespace fs = std::filesystem;

bool CheckpointFolder::exists() const {
  std::error_code ec;
  return fs::is_regular_file(model() / "config.json", ec);
}

void move_into_place(const fs::path& staging, const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::rename(staging, dir);
    return;
  }
  if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) == 0) {
    fs::remove_all(staging);  // now the old folder
    return;
  }
  // A file system without the exchange: two renames, and recover_folder() for the moment between.
  const fs::path old = dir.string() + ".old";
  fs::remove_all(old);
  fs::rename(dir, old);
  fs::rename(staging, dir);
  fs::remove_all(old);
}

void recover_folder(const fs::path& dir) {
  const fs::path tmp = dir.string() + ".tmp", old = dir.string() + ".old";
  std::error_code ec;
  if (!fs::exists(dir, ec) && fs::exists(old, ec)) {
    if (fs::exists(tmp, ec)) fs::rename(tmp, dir);  // written whole before `dir` moved aside
    else fs::rename(old, dir);
  }
  fs::remove_all(tmp, ec);
  fs::remove_all(old, ec);
}

void recover_checkpoints(const RunFolder& run) {
  for (Checkpoint which : {Checkpoint::Best, Checkpoint::Last}) recover_folder(run.checkpoint(which).dir);
}

std::string run_config_text(const RunFolder& run, const RunConfig& config) {
  try {
    return to_json(config).dump(2) + "\n";
  } catch (const nlohmann::json::exception&) {
    fail(run.config().string(), ": the run config holds text that is not valid UTF-8");
  }
}

void write_run_config(const RunFolder& run, const RunConfig& config) {
  // The text first: a config that cannot be written (text that is not UTF-8) fails before the
  // folder or any file exists. Then a temporary file renamed into place: never half a config.json.
  const std::string text = run_config_text(run, config);
  std::error_code ec;
  fs::create_directories(run.dir, ec);
  if (ec) fail(run.dir.string(), ": cannot create the run folder (", ec.message(), ")");
  write_file_whole(run.config().string(), text);
}

namespace {

// `path` as an absolute path; a relative one is taken from the current directory, as the run
// that recorded it took it.
fs::path absolute_of(const std::string& path) { return fs::absolute(fs::path(path)).lexically_normal(); }

}  // namespace

nlohmann::json relocate_run_config(nlohmann::json config, const std::string& dir, std::vector<RelocatedPath>* moved) {
  if (!config.is_object()) return config;
  const fs::path here = absolute_of(dir);
  const auto recorded_run = config.find("run_dir");
  const fs::path was = recorded_run != config.end() && recorded_run->is_string() && !recorded_run->get<std::string>().empty()
                           ? absolute_of(recorded_run->get<std::string>())
                           : here;
  config["run_dir"] = dir;
  if (was == here) return config;  // not moved: every path stands as recorded
  for (const char* field : {"/teacher/path", "/student/path", "/data/path", "/data/tokenizer"}) {
    const nlohmann::json::json_pointer ptr(field);
    if (!config.contains(ptr) || !config[ptr].is_string()) continue;
    const std::string recorded = config[ptr].get<std::string>();
    std::error_code ec;
    if (recorded.empty() || recorded == "builtin" || fs::exists(recorded, ec)) continue;
    const fs::path relative = absolute_of(recorded).lexically_relative(was);
    if (relative.empty()) continue;
    const fs::path candidate = (here / relative).lexically_normal();
    if (!fs::exists(candidate, ec)) continue;
    config[ptr] = candidate.string();
    if (moved) {
      std::string name = field + 1;
      std::replace(name.begin(), name.end(), '/', '.');
      moved->push_back({name, recorded, candidate.string()});
    }
  }
  return config;
}

RunConfig load_run_folder_config(const std::string& dir) {
  const std::string path = RunFolder(dir).config().string();
  return parse_run_config(relocate_run_config(read_json_file(path), dir), path);
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
