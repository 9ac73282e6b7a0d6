#pragma once
// The RunSource for a run of several processes: `moekd distill --nproc N` started as a child
// process. The window follows the run's metrics.jsonl as rank 0 writes it (the same events the
// in-process worker sends) and steers the run through a control file that the CLI reads before
// every step (`--control`: pause, run, stop). Lives on the GUI thread and never blocks it.
#include <QByteArray>
#include <QProcess>
#include <QString>
#include <QTimer>
#include <memory>
#include <optional>

#include "run/metrics_file.h"
#include "run_source.h"

class QTemporaryDir;

namespace moekd::ui {

class ChildRun : public RunSource, private RunObserver {
  Q_OBJECT
 public:
  explicit ChildRun(QObject* parent = nullptr);
  // A child still running is told to stop and given a few seconds to write its checkpoint.
  ~ChildRun() override;

  // The moekd program: $MOEKD_CLI, else `moekd` beside the studio (installed) or in the build
  // tree's app/ folder, else the one on PATH; empty when there is none.
  static QString program();

  State state() const override { return state_; }
  void pause() override;
  void resume() override;
  void stop() override;

  // Trains `configJson` (a run config) on `processes` processes. A config that cannot be read or
  // a program that cannot start is reported through failed().
  void start(const QByteArray& configJson, int processes);
  // What the child printed (its last 16 KiB): the CLI's end-of-run lines and any error.
  QString output() const { return output_; }

 private:
  void setState(State s);
  void poll();
  void onExited(int code);
  void fail(const QString& message);
  bool writeControl(const char* word);

  // RunObserver: the events read back from metrics.jsonl.
  void on_step(const StepMetrics& e) override { Q_EMIT stepMetrics(e); }
  void on_routing(const RoutingSnapshot& e) override { Q_EMIT routingSnapshot(e); }
  void on_generation(const GenerationSample& e) override { Q_EMIT generation(e); }
  void on_eval(const EvalResult& e) override { Q_EMIT evaluation(e); }
  void on_checkpoint(const CheckpointSaved& e) override { Q_EMIT checkpointSaved(e); }
  void on_finished(const RunFinished& e) override;
  void on_failed(const RunFailed& e) override { failure_ = e; }  // reported once the child has ended
  void on_message(const std::string& m) override { Q_EMIT message(QString::fromStdString(m)); }

  QProcess* process_ = nullptr;
  QTimer poll_;
  std::unique_ptr<QTemporaryDir> files_;  // the config the child reads and the control file
  std::unique_ptr<MetricsTail> tail_;
  std::optional<RunFailed> failure_;
  bool finished_ = false;
  QString output_;
  State state_ = State::Idle;
};

}  // namespace moekd::ui
