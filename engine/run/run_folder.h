#pragma once
// A run folder on disk. Every path inside one is spelled here and nowhere else:
//
//   <run>/config.json                     the resolved run config (run/run_config.h)
//   <run>/metrics.jsonl                   every event, one JSON object per line (run/metrics_file.h)
//   <run>/checkpoints/{best,last}/        written whole to <name>.tmp, then renamed into place
//        model/                           a Hugging Face folder of the trained model
//        state.safetensors                optimizer moments, SAR's routers, the RNG state
//        state.json                       step, data position, best score, method
#include <filesystem>
#include <string>
#include <vector>

#include "run/events.h"
#include "run/run_config.h"
#include "run/settings.h"

namespace moekd {

struct CheckpointFolder {
  std::filesystem::path dir;
  std::filesystem::path model() const { return dir / "model"; }
  std::filesystem::path state_tensors() const { return dir / "state.safetensors"; }
  std::filesystem::path state_json() const { return dir / "state.json"; }
  // A checkpoint counts once its model's config.json is there (the last file a writer renames in).
  bool exists() const;
};

struct RunFolder {
  explicit RunFolder(const std::string& run_dir) : dir(run_dir) {}
  std::filesystem::path dir;
  std::filesystem::path config() const { return dir / "config.json"; }
  std::filesystem::path metrics() const { return dir / "metrics.jsonl"; }
  std::filesystem::path checkpoints() const { return dir / "checkpoints"; }
  CheckpointFolder checkpoint(Checkpoint which) const { return {checkpoints() / name_of(which)}; }
};

// Puts the fully written folder `staging` at `dir` in one step: an atomic exchange where the file
// system has one (renameat2's RENAME_EXCHANGE), else two renames through `<dir>.old`.
void move_into_place(const std::filesystem::path& staging, const std::filesystem::path& dir);

// Makes a folder that replace_folder() was writing when the process died whole again: `dir`
// missing with `<dir>.old` beside it means the crash fell between the two renames, and
// `<dir>.tmp` is then the complete new folder (else `.old` is put back); a `.tmp` beside an
// existing `dir` is unfinished, and a leftover `.old` is stale: both are removed.
void recover_folder(const std::filesystem::path& dir);

// Writes `dir` whole by `write(staging)` into a sibling `<dir>.tmp`, then moves it into place: a
// kill at any moment leaves the old folder or the new one, whole (after recover_folder()).
template <typename Write>
void replace_folder(const std::filesystem::path& dir, Write&& write) {
  namespace fs = std::filesystem;
  const fs::path tmp = dir.string() + ".tmp";
  recover_folder(dir);
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  write(tmp);
  move_into_place(tmp, dir);
}

// recover_folder() for a run's checkpoints (best and last): before a resume or an export reads them.
void recover_checkpoints(const RunFolder& run);

// A path a run recorded that is gone, found again relative to the run folder.
struct RelocatedPath {
  std::string field;     // "teacher.path"
  std::string recorded;  // as config.json has it
  std::string found;     // where it is now
};

// A run folder's config as the folder stands now. `run_dir` becomes `dir` (the folder was copied
// or moved), and each path the run recorded (teacher.path, student.path, data.path,
// data.tokenizer) that no longer exists is looked for at the same place relative to the run: a
// workspace copied or moved whole keeps its runs' teachers and data beside them. A path found
// nowhere stays as recorded, so that the error names it. `moved` lists what was resolved.
nlohmann::json relocate_run_config(nlohmann::json config, const std::string& dir,
                                   std::vector<RelocatedPath>* moved = nullptr);
// Reads `dir`'s config.json, relocates it and parses it (resume and export read runs this way).
RunConfig load_run_folder_config(const std::string& dir);

// The text `run.config()` gets; refuses a config holding text that is not UTF-8, naming the file.
std::string run_config_text(const RunFolder& run, const RunConfig& config);
// Writes `run.config()` through a temporary file and a rename.
void write_run_config(const RunFolder& run, const RunConfig& config);

// True when `dir` holds a run: config.json and metrics.jsonl (an exported model has config.json only).
bool is_run_dir(const std::string& dir);

// True when a new run must not write into `run_dir`: it holds a metrics.jsonl, unless that file
// records a failure in setup (a bad data file, a vocabulary mismatch) and no step and there are no
// checkpoints; such a folder holds nothing worth keeping and may be used again. A run still setting
// up (no `failed` event yet) is kept.
bool run_dir_holds_training(const std::string& run_dir);

// `dir-2`, `dir-3`, ...: the first sibling of `dir` that does not exist yet (a new run with the
// settings of the one in `dir`).
std::string free_sibling_dir(const std::string& dir);

// The runs directly below `workspace`, by folder name.
std::vector<std::string> list_runs(const std::string& workspace);

// Which evaluation the `best` checkpoint keeps: higher scores are better. ROUGE-L when the
// evaluation generated samples, else the negative validation loss.
double best_checkpoint_score(const EvalResult& r);
// The same rule in words, for a run that generates `eval_samples` per evaluation.
const char* best_checkpoint_rule(int64_t eval_samples);  // "highest ROUGE-L" | "lowest validation loss"

}  // namespace moekd
