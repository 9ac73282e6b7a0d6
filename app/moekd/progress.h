#pragma once
// The CLI's view of a run: on a terminal one live line (step, losses, tokens/s, ETA) rewritten in
// place; otherwise plain lines, one per logged step, for logs and CI.
#include <cstdio>
#include <string>

#include "run/events.h"

namespace moekd::cli {

class ProgressPrinter : public RunObserver {
 public:
  ProgressPrinter(int64_t total_steps, std::string label, bool quiet);
  void on_step(const StepMetrics& m) override;
  void on_eval(const EvalResult& r) override;
  void on_checkpoint(const CheckpointSaved& c) override;
  void on_finished(const RunFinished& f) override;
  void on_failed(const RunFailed& f) override;
  void on_message(const std::string& m) override;
  const std::string& failure() const { return failure_; }
  bool failed() const { return !failure_.empty(); }

 private:
  void end_line();
  int64_t total_;
  std::string label_, failure_;
  bool tty_, quiet_, line_open_ = false;
  double ema_step_seconds_ = 0;
};

std::string format_duration(double seconds);

}  // namespace moekd::cli
