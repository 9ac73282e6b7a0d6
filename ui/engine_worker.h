#pragma once
// The in-process RunSource: a moekd::Session on the studio's engine thread. The worker lives in
// its own QThread; start() runs a whole session there (its event loop is blocked meanwhile), and
// the session's observer callbacks become queued signals carrying the event structs. pause(),
// resume() and stop() are thread-safe and meant to be called directly from the GUI thread while
// start() is running.
#include <QByteArray>
#include <QMutex>
#include <QString>
#include <atomic>
#include <memory>

#include "run_source.h"

namespace moekd {
class Session;
}

namespace moekd::ui {

class EngineWorker : public RunSource, public RunObserver {
  Q_OBJECT
 public:
  explicit EngineWorker(QObject* parent = nullptr);
  ~EngineWorker() override;

  State state() const override { return state_.load(); }

  // Thread-safe: act on the running session from any thread. No-ops when nothing runs.
  void pause() override;
  void resume() override;
  void stop() override;

 public Q_SLOTS:
  // Runs one session to its end on the worker's thread. configJson is a run config (the CLI's
  // JSON); a config or engine error is reported through failed().
  void start(QByteArray configJson);
  // Continues the run in `runDir` from its last checkpoint (moekd::Session::resume); totalSteps
  // > 0 sets a new total (continuing a finished run).
  void resumeRun(QString runDir, qint64 totalSteps);

 private:
  void setState(State s);
  void runSession(std::unique_ptr<Session> session);
  // RunObserver, called on the worker thread.
  void on_step(const StepMetrics& e) override;
  void on_routing(const RoutingSnapshot& e) override;
  void on_generation(const GenerationSample& e) override;
  void on_eval(const EvalResult& e) override;
  void on_checkpoint(const CheckpointSaved& e) override;
  void on_finished(const RunFinished& e) override;
  void on_failed(const RunFailed& e) override;
  void on_message(const std::string& m) override;

  QMutex mutex_;                 // guards session_ against the run ending while a control acts
  Session* session_ = nullptr;   // owned by start()'s frame while a run is in progress
  std::atomic<State> state_{State::Idle};
};

}  // namespace moekd::ui
