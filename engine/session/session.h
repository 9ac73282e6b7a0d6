#pragma once
// A run: config -> tokenizer, data, models, trainer -> events to observers, with pause, resume
// and stop. The CLI drives it on its main thread; the studio on a worker thread.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "dist/process_group.h"
#include "distill/trainer.h"
#include "run/events.h"
#include "run/metrics_file.h"
#include "run/run_config.h"
#include "run/run_folder.h"
#include "session/models.h"
#include "util/folder_lock.h"

namespace moekd {

class Session {
 public:
  // A new run: writes `run_dir/config.json` (refuses a run_dir that already holds a run that trained; one that failed in setup is reused).
  explicit Session(RunConfig config);
  // Continues the run in `run_dir` from its last checkpoint, with the same config; `total_steps`
  // > 0 changes train.steps to that total (more than the checkpoint's step), e.g. to continue a
  // finished run, and records it in the run's config.json. The schedule follows the new total.
  // The process that resumes holds the run's folder until it ends (util/folder_lock.h): a second
  // writer is refused by name before it touches anything.
  static std::unique_ptr<Session> resume(const std::string& run_dir, int64_t total_steps = 0);
  // The run in `run_dir` for evaluate_checkpoint() only: it may be training in another process at
  // the same time, so its checkpoints are repaired only when no other process holds the folder.
  static std::unique_ptr<Session> open_for_evaluation(const std::string& run_dir);

  void add_observer(RunObserver* observer) { observers_.push_back(observer); }
  // Runs to the configured number of steps or until stopped. Returns false after a failure
  // (reported to the observers as RunFailed; nothing is thrown).
  bool run();

  // Thread-safe controls.
  void request_stop() { stop_ = true; resume_cv_.notify_all(); }
  // A flag set elsewhere (e.g. by a SIGINT handler, where notifying is not allowed) also stops the
  // run after the current step.
  void watch_stop_flag(const std::atomic<bool>* flag) { external_stop_ = flag; }
  // Builds the run's data and models, loads checkpoint `which` ("last" or "best") and evaluates
  // on the validation or test split; no training, nothing written.
  EvalResult evaluate_checkpoint(Checkpoint which, bool test_split, int64_t samples);
  // The same for the student as the config gives it (a Hugging Face folder, such as the shipped
  // demo teacher): no checkpoint, no training, nothing written.
  EvalResult evaluate_student(bool test_split, int64_t samples);
  void set_paused(bool paused);
  bool paused() const { return paused_; }
  // A file whose first word steers the run from another process (the studio's child runs, a
  // script): `pause`, `run` or `stop`, read before every step (by rank 0 when there are several).
  // A missing file changes nothing.
  void watch_control_file(std::string path) { control_file_ = std::move(path); }

  const RunConfig& config() const { return cfg_; }
  Trainer* trainer() { return trainer_.get(); }
  RunFolder folder() const { return RunFolder(cfg_.run_dir); }

 private:
  Session(RunConfig config, bool resuming, bool new_total = false);
  void build();
  // train.device, or for one of several CUDA processes the device of its rank (device_for_rank).
  torch::Device run_device() const;
  // Several processes: rank 0 speaks for the run (events, config.json, metrics.jsonl,
  // checkpoints); the others report only their own failure.
  bool writes() const { return dist_.rank == 0; }
  template <typename Fn>
  void emit(Fn&& fn) {
    if (!writes()) return;
    for (auto* o : observers_) fn(*o);
  }
  void emit_failure(int64_t step, const std::string& message);
  enum class Directive { Run = 0, Pause = 1, Stop = 2 };
  void read_control_file();
  // Before each step: blocks while the run is paused; false when it should stop. Several
  // processes decide together, after the same step: any rank's stop over pause over run.
  bool proceed();
  void evaluate_and_checkpoint();
  void save_checkpoint(Checkpoint which);

  RunConfig cfg_;
  DistEnv dist_;                          // this process's place among several (one by default)
  std::unique_ptr<ProcessGroup> group_;   // null: one process
  std::unique_ptr<FolderLock> lock_;      // the run folder, held by the process that writes it
  bool resuming_ = false;
  bool new_total_ = false;  // resume() changed train.steps: config.json gets the new total
  std::vector<RunObserver*> observers_;
  std::unique_ptr<MetricsFileObserver> metrics_file_;
  std::unique_ptr<Trainer> trainer_;
  bool stopping() const { return stop_ || (external_stop_ && *external_stop_); }
  std::atomic<bool> stop_{false}, paused_{false};
  const std::atomic<bool>* external_stop_ = nullptr;
  bool evaluation_only_ = false;
  std::mutex pause_mutex_;
  std::condition_variable resume_cv_;
  std::string control_file_, control_word_;  // the file, and the word last acted on
};

}  // namespace moekd
