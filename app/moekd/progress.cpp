#include "progress.h"

#include <unistd.h>

#include <cmath>

namespace moekd::cli {

std::string format_duration(double s) {
  char buf[32];
  if (!std::isfinite(s) || s < 0) return "?";
  if (s < 60) std::snprintf(buf, sizeof buf, "%.0fs", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  else std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600, (static_cast<int>(s) % 3600) / 60);
  return buf;
}

ProgressPrinter::ProgressPrinter(int64_t total_steps, std::string label, bool quiet)
    : total_(total_steps), label_(std::move(label)), tty_(::isatty(STDOUT_FILENO) != 0), quiet_(quiet) {}

void ProgressPrinter::end_line() {
  if (line_open_) std::printf("\n");
  line_open_ = false;
}

void ProgressPrinter::on_step(const StepMetrics& m) {
  ema_step_seconds_ = ema_step_seconds_ == 0 ? m.step_seconds : 0.8 * ema_step_seconds_ + 0.2 * m.step_seconds;
  if (quiet_ && m.step != total_) return;
  char losses[160];
  int n = std::snprintf(losses, sizeof losses, "loss %.4f (ce %.4f", m.loss, m.ce);
  if (m.divergence != 0) n += std::snprintf(losses + n, sizeof losses - n, ", div %.4f", m.divergence);
  if (m.router_loss != 0) n += std::snprintf(losses + n, sizeof losses - n, ", router %.4f", m.router_loss);
  if (m.balance_loss != 0) n += std::snprintf(losses + n, sizeof losses - n, ", balance %.4f", m.balance_loss);
  std::snprintf(losses + n, sizeof losses - n, ")");
  const auto eta = format_duration(ema_step_seconds_ * static_cast<double>(total_ - m.step));
  if (tty_) {
    std::printf("\r\033[K%s step %lld/%lld  %s  %.0f tok/s  eta %s", label_.c_str(), static_cast<long long>(m.step),
                static_cast<long long>(total_), losses, m.tokens_per_s, eta.c_str());
    line_open_ = true;
  } else {
    std::printf("%s step %lld/%lld  %s  lr %.2e  %.0f tok/s  eta %s\n", label_.c_str(), static_cast<long long>(m.step),
                static_cast<long long>(total_), losses, m.lr, m.tokens_per_s, eta.c_str());
  }
  std::fflush(stdout);
}

void ProgressPrinter::on_eval(const EvalResult& r) {
  if (quiet_) return;
  end_line();
  std::printf("%s eval @ step %lld: val loss %.4f (ppl %.2f)  ROUGE-L %.1f  exact match %.1f%%\n", label_.c_str(),
              static_cast<long long>(r.step), r.val_loss, r.perplexity, 100 * r.rouge_l, 100 * r.exact_match);
  std::fflush(stdout);
}

void ProgressPrinter::on_checkpoint(const CheckpointSaved& c) {
  if (quiet_ || !c.best) return;
  end_line();
  std::printf("%s best so far at step %lld -> %s\n", label_.c_str(), static_cast<long long>(c.step), c.path.c_str());
}

void ProgressPrinter::on_finished(const RunFinished& f) {
  end_line();
  if (f.stopped_early)
    std::printf("%s stopped at step %lld after %s; the last checkpoint holds it\n", label_.c_str(),
                static_cast<long long>(f.step), format_duration(f.seconds).c_str());
  else if (!quiet_)
    std::printf("%s finished %lld steps in %s\n", label_.c_str(), static_cast<long long>(f.step),
                format_duration(f.seconds).c_str());
  std::fflush(stdout);
}

void ProgressPrinter::on_failed(const RunFailed& f) {
  end_line();
  failure_ = f.message;
}

void ProgressPrinter::on_message(const std::string& m) {
  end_line();
  std::printf("%s %s\n", label_.c_str(), m.c_str());
}

}  // namespace moekd::cli
