#pragma once
// What the window follows while a run trains: a session on the studio's own engine thread
// (EngineWorker) or `moekd distill --nproc N` as a child process (ChildRun). Both speak in the
// engine's event structs, so the views and the window cannot tell them apart. pause(), resume()
// and stop() may be called from the GUI thread while a run is in progress; idle, they do nothing.
#include <QMetaType>
#include <QObject>
#include <QString>

#include "run/events.h"

Q_DECLARE_METATYPE(moekd::StepMetrics)
Q_DECLARE_METATYPE(moekd::RoutingSnapshot)
Q_DECLARE_METATYPE(moekd::GenerationSample)
Q_DECLARE_METATYPE(moekd::EvalResult)
Q_DECLARE_METATYPE(moekd::CheckpointSaved)
Q_DECLARE_METATYPE(moekd::RunFinished)

namespace moekd::ui {

class RunSource : public QObject {
  Q_OBJECT
 public:
  enum class State { Idle, Running, Paused, Stopping };
  Q_ENUM(State)

  using QObject::QObject;
  // Registers the event structs for queued connections (idempotent).
  static void registerMetaTypes();

  virtual State state() const = 0;
  virtual void pause() = 0;
  virtual void resume() = 0;
  virtual void stop() = 0;

 Q_SIGNALS:
  void stateChanged(moekd::ui::RunSource::State state);
  void runStarted(qint64 totalSteps, QString runDir);
  void stepMetrics(moekd::StepMetrics metrics);
  void routingSnapshot(moekd::RoutingSnapshot snapshot);
  void generation(moekd::GenerationSample sample);
  void evaluation(moekd::EvalResult result);
  void checkpointSaved(moekd::CheckpointSaved checkpoint);
  void finished(moekd::RunFinished result);
  void failed(QString message);
  void message(QString text);
};

// A failure as the window shows it: training errors name their step already ("step 12: the
// divergence is not finite"), and so do a rank's ("rank 1 of 2: ..."); others get "After step N".
QString failureText(const moekd::RunFailed& e);

}  // namespace moekd::ui

Q_DECLARE_METATYPE(moekd::ui::RunSource::State)
