#pragma once
// The studio's window: toolbar (Start, Pause/Resume, Stop), the views as tabs, and a status bar
// with step, loss, throughput, ETA and progress. The engine runs in an EngineWorker on its own
// thread, or, on several processes, in a ChildRun; their events, or a run folder opened from
// disk, fill the RunStore that every view reads.
#include <QElapsedTimer>
#include <QMainWindow>
#include <QThread>
#include <optional>

#include "engine_worker.h"
#include "run_history.h"

class QAction;
class QDockWidget;
class QLabel;
class QListView;
class QProgressBar;
class QTabWidget;

namespace moekd::ui {

class ChildRun;
class CompareView;
class ConfigureView;
class TrainingView;
class ExpertsView;
class RouterView;
class EvaluationView;
class ExportDialog;
class RunsModel;
class RunsView;
class RunStore;

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
  RunsView* runsView() const { return runs_; }
  CompareView* compareView() const { return compare_; }
  RunsModel* runsModel() const { return runsModel_; }
  QListView* runsSidebar() const { return sidebar_; }
  QTabWidget* tabs() const { return tabs_; }
  EngineWorker* worker() const { return worker_; }
  ChildRun* childRun() const { return child_; }
  RunStore* store() const { return store_; }
  EngineWorker::State state() const { return state_; }
  QAction* startAction() const { return start_; }
  QAction* pauseAction() const { return pause_; }
  QAction* stopAction() const { return stop_; }
  QAction* exportAction() const { return export_; }
  QAction* resumeRunAction() const { return resumeRun_; }
  QLabel* memoryPlan() const { return planLabel_; }
  qint64 lastStep() const { return lastStep_; }
  bool lastRunStoppedEarly() const { return stoppedEarly_; }
  int finishedRuns() const { return finishedRuns_; }
  QString lastError() const { return lastError_; }

  // Starts the configured run (no-op unless the configuration is valid and nothing runs).
  void startRun();
  // Continues a run (the open one when `dir` is empty) from its last checkpoint, its history kept
  // in the views; `totalSteps` > 0 sets a new total. No-op while a run is in progress.
  void resumeRun(const QString& dir = {}, qint64 totalSteps = 0);
  // Asks how many more steps, then continues the run for them.
  void continueRun(const QString& dir = {});
  // Loads a run's settings into Configure under a fresh run folder, ready to Start.
  void startAsNewRun(const QString& dir = {});
  void togglePause();
  void stopRun();

  // Lists the runs of `dir` in the Runs view and the sidebar (remembered for the next start).
  void setWorkspace(const QString& dir);
  // Replays a run folder from disk into every view (refused while a run is in progress); errors
  // reading it are shown to the user and returned in `error`.
  bool openRun(const QString& dir, QString* error = nullptr);
  // The run the views show: the last one started or opened; empty before either.
  QString currentRunDir() const { return currentRunDir_; }
  // Opens the export dialog (non-modal, deleted on close) for `dir`, or the current run.
  ExportDialog* showExportDialog(const QString& dir = {});

 protected:
  void closeEvent(QCloseEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;

 private:
  void onState(EngineWorker::State s);
  void onStep(const moekd::StepMetrics& m);
  void onFinished(const moekd::RunFinished& r);
  void onFailed(const QString& message);
  void updateActions();
  void updatePlan();
  void updateEta();
  void showWarning(const QString& title, const QString& text, const char* objectName);
  void say(const QString& text, int timeoutMs = 0);  // a status bar message that fits
  void showSaid();                                   // the message, elided to the room it has now
  // A run's record, or nothing after telling the user (under `title`) why it could not be read.
  std::optional<RunHistory> readRun(const QString& dir, moekd::RunDetail detail, const QString& title);

  QThread thread_;
  EngineWorker* worker_ = nullptr;
  ChildRun* child_ = nullptr;      // runs of several processes
  RunSource* active_ = nullptr;    // the one that runs (or ran last): worker_ or child_
  RunStore* store_ = nullptr;
  EngineWorker::State state_ = EngineWorker::State::Idle;
  ConfigureView* configure_ = nullptr;
  TrainingView* training_ = nullptr;
  ExpertsView* experts_ = nullptr;
  RouterView* router_ = nullptr;
  EvaluationView* evaluation_ = nullptr;
  RunsModel* runsModel_ = nullptr;
  RunsView* runs_ = nullptr;
  CompareView* compare_ = nullptr;
  QListView* sidebar_ = nullptr;
  QDockWidget* sidebarDock_ = nullptr;
  QTabWidget* tabs_ = nullptr;
  QAction *start_ = nullptr, *pause_ = nullptr, *stop_ = nullptr, *export_ = nullptr, *openRun_ = nullptr;
  QAction* resumeRun_ = nullptr;
  bool openRunResumable_ = false;  // the open run stopped, failed or was cut off, with a checkpoint
  QString currentRunDir_;
  QLabel* planLabel_ = nullptr;
  QLabel *stepLabel_ = nullptr, *lossLabel_ = nullptr, *speedLabel_ = nullptr, *etaLabel_ = nullptr;
  QProgressBar* progress_ = nullptr;
  qint64 totalSteps_ = 0, lastStep_ = 0, firstStep_ = -1;
  QElapsedTimer clock_;
  qint64 firstStepMs_ = 0, pausedMs_ = 0, pauseStartedMs_ = -1;
  bool closeAfterStop_ = false, stoppedEarly_ = false;
  int finishedRuns_ = 0;
  QString lastError_;
  QString said_;             // the status bar's message, whole
  qint64 saidUntilMs_ = -1;  // when it goes (clock_), -1: stays
};

}  // namespace moekd::ui
