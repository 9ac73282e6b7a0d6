#pragma once
// The studio's window: toolbar (Start, Pause/Resume, Stop), the views as tabs, and a status bar
// with step, loss, throughput, ETA and progress. The engine runs in an EngineWorker on its own
// thread; this window only forwards configs and controls and shows the events.
#include <QElapsedTimer>
#include <QMainWindow>
#include <QThread>

#include "engine_worker.h"

class QAction;
class QLabel;
class QProgressBar;
class QTabWidget;

namespace moekd::ui {

class ConfigureView;
class TrainingView;
class ExpertsView;
class RouterView;
class EvaluationView;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  ConfigureView* configureView() const { return configure_; }
  TrainingView* trainingView() const { return training_; }
  ExpertsView* expertsView() const { return experts_; }
  RouterView* routerView() const { return router_; }
  EvaluationView* evaluationView() const { return evaluation_; }
  QTabWidget* tabs() const { return tabs_; }
  EngineWorker* worker() const { return worker_; }
  EngineWorker::State state() const { return state_; }
  QAction* startAction() const { return start_; }
  QAction* pauseAction() const { return pause_; }
  QAction* stopAction() const { return stop_; }
  qint64 lastStep() const { return lastStep_; }
  bool lastRunStoppedEarly() const { return stoppedEarly_; }
  int finishedRuns() const { return finishedRuns_; }
  QString lastError() const { return lastError_; }

  // Starts the configured run (no-op unless the configuration is valid and nothing runs).
  void startRun();
  void togglePause();
  void stopRun();

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void onState(EngineWorker::State s);
  void onStep(const moekd::StepMetrics& m);
  void onFinished(const moekd::RunFinished& r);
  void onFailed(const QString& message);
  void updateActions();
  void updateEta();

  QThread thread_;
  EngineWorker* worker_ = nullptr;
  EngineWorker::State state_ = EngineWorker::State::Idle;
  ConfigureView* configure_ = nullptr;
  TrainingView* training_ = nullptr;
  ExpertsView* experts_ = nullptr;
  RouterView* router_ = nullptr;
  EvaluationView* evaluation_ = nullptr;
  QTabWidget* tabs_ = nullptr;
  QAction *start_ = nullptr, *pause_ = nullptr, *stop_ = nullptr;
  QLabel *stepLabel_ = nullptr, *lossLabel_ = nullptr, *speedLabel_ = nullptr, *etaLabel_ = nullptr;
  QProgressBar* progress_ = nullptr;
  qint64 totalSteps_ = 0, lastStep_ = 0, firstStep_ = -1;
  QElapsedTimer clock_;
  qint64 firstStepMs_ = 0, pausedMs_ = 0, pauseStartedMs_ = -1;
  bool closeAfterStop_ = false, stoppedEarly_ = false;
  int finishedRuns_ = 0;
  QString lastError_;
};

}  // namespace moekd::ui
