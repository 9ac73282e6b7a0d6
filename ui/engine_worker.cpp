#include "engine_worker.h"

#include <QMutexLocker>
#include <memory>

#include "run/run_config.h"
#include "session/session.h"
#include "util/error.h"

namespace moekd::ui {

EngineWorker::EngineWorker(QObject* parent) : RunSource(parent) { registerMetaTypes(); }

EngineWorker::~EngineWorker() = default;

void EngineWorker::setState(State s) {
  state_ = s;
  Q_EMIT stateChanged(s);
}

void EngineWorker::pause() {
  QMutexLocker lock(&mutex_);
  if (!session_ || state_ != State::Running) return;
  session_->set_paused(true);
  setState(State::Paused);
}

void EngineWorker::resume() {
  QMutexLocker lock(&mutex_);
  if (!session_ || state_ != State::Paused) return;
  session_->set_paused(false);
  setState(State::Running);
}

void EngineWorker::stop() {
  QMutexLocker lock(&mutex_);
  if (!session_ || state_ == State::Stopping || state_ == State::Idle) return;
  session_->request_stop();  // also wakes a paused run
  setState(State::Stopping);
}

void EngineWorker::start(QByteArray configJson) {
  if (state_ != State::Idle) {
    Q_EMIT failed(tr("A run is already in progress."));
    return;
  }
  std::unique_ptr<Session> session;
  try {
    const auto j = nlohmann::json::parse(configJson.constData(), configJson.constData() + configJson.size());
    session = std::make_unique<Session>(parse_run_config(j, "studio config"));
  } catch (const nlohmann::json::exception& e) {
    Q_EMIT failed(tr("The run configuration is not valid JSON: %1").arg(QString::fromStdString(e.what())));
    setState(State::Idle);
    return;
  } catch (const std::exception& e) {
    Q_EMIT failed(QString::fromStdString(e.what()));
    setState(State::Idle);
    return;
  }
  runSession(std::move(session));
}

void EngineWorker::resumeRun(QString runDir, qint64 totalSteps) {
  if (state_ != State::Idle) {
    Q_EMIT failed(tr("A run is already in progress."));
    return;
  }
  std::unique_ptr<Session> session;
  try {
    session = Session::resume(runDir.toStdString(), totalSteps);
  } catch (const std::exception& e) {
    Q_EMIT failed(QString::fromStdString(e.what()));
    setState(State::Idle);
    return;
  }
  runSession(std::move(session));
}

void EngineWorker::runSession(std::unique_ptr<Session> session) {
  session->add_observer(this);
  {
    QMutexLocker lock(&mutex_);
    session_ = session.get();
    setState(State::Running);
  }
  Q_EMIT runStarted(session->config().train.steps, QString::fromStdString(session->config().run_dir));
  session->run();  // reports failures through on_failed; never throws
  {
    QMutexLocker lock(&mutex_);
    session_ = nullptr;
  }
  session.reset();  // joins nothing; frees the models before the state says idle
  setState(State::Idle);
}

void EngineWorker::on_step(const StepMetrics& e) { Q_EMIT stepMetrics(e); }
void EngineWorker::on_routing(const RoutingSnapshot& e) { Q_EMIT routingSnapshot(e); }
void EngineWorker::on_generation(const GenerationSample& e) { Q_EMIT generation(e); }
void EngineWorker::on_eval(const EvalResult& e) { Q_EMIT evaluation(e); }
void EngineWorker::on_checkpoint(const CheckpointSaved& e) { Q_EMIT checkpointSaved(e); }
void EngineWorker::on_finished(const RunFinished& e) { Q_EMIT finished(e); }
void EngineWorker::on_failed(const RunFailed& e) { Q_EMIT failed(failureText(e)); }
void EngineWorker::on_message(const std::string& m) { Q_EMIT message(QString::fromStdString(m)); }

}  // namespace moekd::ui
