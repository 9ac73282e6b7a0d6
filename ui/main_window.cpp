#include "main_window.h"

#include "compare_view.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QFontMetrics>
#include <QLabel>
#include <QListView>
#include <QMessageBox>
#include <QProgressBar>
#include <QSettings>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>
#include <QToolBar>
#include <algorithm>

#include "app_icon.h"
#include "child_run.h"
#include "run/run_config.h"
#include "session/plan.h"
#include "configure_view.h"
#include "duration_text.h"
#include "evaluation_view.h"
#include "experts_view.h"
#include "export_dialog.h"
#include "router_view.h"
#include "run/run_folder.h"
#include "run_history.h"
#include "runs_model.h"
#include "run_store.h"
#include "runs_view.h"
#include "training_view.h"

namespace moekd::ui {

namespace {
QSettings settings() { return QSettings(QStringLiteral("MoE-KD Studio"), QStringLiteral("moekd-studio")); }
}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("MoE-KD Studio"));
  setWindowIcon(appIcon());
  // Disabled fields (the forms during a run) read as disabled on every platform theme: some
  // leave a dark placeholder on a white base there.
  QPalette pal = palette();
  for (auto role : {QPalette::Text, QPalette::PlaceholderText})
    pal.setColor(QPalette::Disabled, role, pal.color(QPalette::Disabled, QPalette::WindowText));
  pal.setColor(QPalette::Disabled, QPalette::Base, pal.color(QPalette::Active, QPalette::Window));
  setPalette(pal);
  EngineWorker::registerMetaTypes();

  worker_ = new EngineWorker;
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  thread_.setObjectName("moekd-engine");
  thread_.start();
  child_ = new ChildRun(this);
  active_ = worker_;

  // One store holds the run on show; the live worker and the replay of a run folder fill it.
  store_ = new RunStore(this);
  configure_ = new ConfigureView;
  training_ = new TrainingView(store_);
  experts_ = new ExpertsView(store_);
  router_ = new RouterView(store_);
  evaluation_ = new EvaluationView(store_);
  tabs_ = new QTabWidget;
  tabs_->setDocumentMode(true);
  tabs_->addTab(configure_, tr("Configure"));
  tabs_->addTab(training_, tr("Training"));
  tabs_->addTab(experts_, tr("Experts"));
  tabs_->addTab(router_, tr("Router"));
  tabs_->addTab(evaluation_, tr("Evaluation"));
  runsModel_ = new RunsModel(this);
  runs_ = new RunsView(runsModel_);
  tabs_->addTab(runs_, tr("Runs"));
  compare_ = new CompareView;
  tabs_->addTab(compare_, tr("Compare"));
  setCentralWidget(tabs_);

  // The sidebar lists the same runs: double-click (or Enter) opens one, the box overlays it.
  sidebar_ = new QListView;
  sidebar_->setObjectName("runsSidebarList");
  sidebar_->setModel(runsModel_);
  sidebar_->setModelColumn(RunsModel::Name);
  sidebar_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  sidebar_->setMinimumWidth(150);
  sidebarDock_ = new QDockWidget(tr("Runs"));
  sidebarDock_->setObjectName("runsSidebar");
  sidebarDock_->setWidget(sidebar_);
  sidebarDock_->setFeatures(QDockWidget::DockWidgetClosable | QDockWidget::DockWidgetMovable);
  addDockWidget(Qt::LeftDockWidgetArea, sidebarDock_);
  resizeDocks({sidebarDock_}, {190}, Qt::Horizontal);
  connect(sidebar_, &QListView::activated, this,
          [this](const QModelIndex& i) { openRun(i.data(RunsModel::DirRole).toString()); });
  connect(runs_, &RunsView::openRequested, this, [this](const QString& dir) { openRun(dir); });
  connect(compare_, &CompareView::gridFinished, this, [this] {
    if (closeAfterStop_) QMetaObject::invokeMethod(this, "close", Qt::QueuedConnection);
  });
  connect(compare_, &CompareView::openRunRequested, this, [this](const QString& dir) {
    if (openRun(dir)) tabs_->setCurrentWidget(training_);
  });
  connect(runs_, &RunsView::resumeRequested, this, [this](const QString& dir) { resumeRun(dir); });
  connect(runs_, &RunsView::continueRequested, this, [this](const QString& dir) { continueRun(dir); });
  connect(runs_, &RunsView::restartRequested, this, [this](const QString& dir) { startAsNewRun(dir); });
  connect(runs_, &RunsView::exportRequested, this, [this](const QString& dir) {
    if (!dir.isEmpty()) showExportDialog(dir);
  });
  connect(runs_, &RunsView::workspaceChosen, this, &MainWindow::setWorkspace);

  auto* bar = addToolBar(tr("Run"));
  bar->setObjectName("runToolBar");
  bar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
  start_ = bar->addAction(style()->standardIcon(QStyle::SP_MediaPlay), tr("Start"));
  start_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
  start_->setToolTip(tr("Start the configured run (Ctrl+R)"));
  pause_ = bar->addAction(style()->standardIcon(QStyle::SP_MediaPause), tr("Pause"));
  pause_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
  pause_->setToolTip(tr("Pause or resume after the current step (Ctrl+P)"));
  // Pause becomes Resume: the button keeps the wider label's width, so the toolbar does not shift.
  if (auto* button = bar->widgetForAction(pause_)) {
    const QFontMetrics fm(button->font());
    const int extra = button->sizeHint().width() - fm.horizontalAdvance(pause_->text());
    button->setMinimumWidth(extra + std::max(fm.horizontalAdvance(tr("Pause")), fm.horizontalAdvance(tr("Resume"))));
  }
  stop_ = bar->addAction(style()->standardIcon(QStyle::SP_MediaStop), tr("Stop"));
  stop_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Period));
  stop_->setToolTip(tr("Stop after the current step and write the last checkpoint (Ctrl+.)"));
  resumeRun_ = bar->addAction(style()->standardIcon(QStyle::SP_MediaSeekForward), tr("Resume run"));
  resumeRun_->setObjectName("resumeRun");
  resumeRun_->setToolTip(tr("Continue the open run from its last checkpoint (stopped, failed or cut-off runs)"));
  connect(resumeRun_, &QAction::triggered, this, [this] { resumeRun(); });
  // What the configured run will need, next to Start (moekd plan's estimate).
  planLabel_ = new QLabel;
  planLabel_->setObjectName("memoryPlan");
  planLabel_->setContentsMargins(8, 0, 8, 0);
  bar->addWidget(planLabel_);
  connect(start_, &QAction::triggered, this, &MainWindow::startRun);
  connect(pause_, &QAction::triggered, this, &MainWindow::togglePause);
  connect(stop_, &QAction::triggered, this, &MainWindow::stopRun);
  bar->addSeparator();
  openRun_ = bar->addAction(style()->standardIcon(QStyle::SP_DirOpenIcon), tr("Open run…"));
  openRun_->setShortcut(QKeySequence::Open);
  openRun_->setToolTip(tr("Open a run folder from disk and browse all its views (Ctrl+O)"));
  export_ = bar->addAction(style()->standardIcon(QStyle::SP_DialogSaveButton), tr("Export…"));
  export_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
  export_->setToolTip(tr("Export the current run's student in Hugging Face format (Ctrl+E)"));
  connect(openRun_, &QAction::triggered, this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open a run folder"), runsModel_->workspace());
    if (!dir.isEmpty()) openRun(dir);
  });
  connect(export_, &QAction::triggered, this, [this] { showExportDialog(); });
  bar->addSeparator();
  QAction* toggleSidebar = sidebarDock_->toggleViewAction();
  toggleSidebar->setText(tr("Runs sidebar"));
  toggleSidebar->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_B));
  bar->addAction(toggleSidebar);

  stepLabel_ = new QLabel;
  lossLabel_ = new QLabel;
  speedLabel_ = new QLabel;
  etaLabel_ = new QLabel;
  progress_ = new QProgressBar;
  progress_->setMaximumWidth(260);
  progress_->setTextVisible(true);
  for (QWidget* w : {static_cast<QWidget*>(stepLabel_), static_cast<QWidget*>(lossLabel_),
                     static_cast<QWidget*>(speedLabel_), static_cast<QWidget*>(etaLabel_),
                     static_cast<QWidget*>(progress_)})
    statusBar()->addPermanentWidget(w);
  say(tr("Ready"));
  progress_->setVisible(false);  // an empty bar says nothing: it shows once there is a run

  // Both sources of a live run, the in-process worker and a child of several processes, speak
  // in the same signals: the window and the store follow whichever runs.
  for (RunSource* source : {static_cast<RunSource*>(worker_), static_cast<RunSource*>(child_)}) {
    connect(source, &RunSource::stateChanged, this, &MainWindow::onState);
    connect(source, &RunSource::runStarted, this, [this](qint64 total, const QString& dir) {
      currentRunDir_ = QDir::cleanPath(QDir(dir).absolutePath());
      setWindowTitle(tr("%1 — MoE-KD Studio").arg(QDir(dir).dirName()));
      totalSteps_ = total;
      progress_->setRange(0, static_cast<int>(std::min<qint64>(total, INT_MAX)));
      progress_->setValue(0);
      progress_->setVisible(true);
      say(tr("Building models and data for %1…").arg(dir));
    });
    connect(source, &RunSource::stepMetrics, store_, &RunStore::addStep);
    connect(source, &RunSource::evaluation, store_, &RunStore::addEvaluation);
    connect(source, &RunSource::routingSnapshot, store_, &RunStore::addRouting);
    connect(source, &RunSource::generation, store_, &RunStore::setGeneration);
    connect(source, &RunSource::stepMetrics, this, &MainWindow::onStep);
    // The running run's row in Runs follows its evaluations (read back from its metrics.jsonl).
    connect(source, &RunSource::evaluation, this,
            [this](const moekd::EvalResult&) { runsModel_->reloadRun(currentRunDir_); });
    connect(source, &RunSource::checkpointSaved, this, [this](const moekd::CheckpointSaved& c) {
      say(tr("Step %1: checkpoint written to %2").arg(c.step).arg(QString::fromStdString(c.path)), 8000);
    });
    connect(source, &RunSource::finished, this, &MainWindow::onFinished);
    connect(source, &RunSource::failed, this, &MainWindow::onFailed);
    connect(source, &RunSource::message, this, [this](const QString& text) { say(text, 8000); });
  }
  connect(configure_, &ConfigureView::validityChanged, this, &MainWindow::updateActions);
  connect(configure_, &ConfigureView::configChanged, this, &MainWindow::updatePlan);

  const QSettings s = settings();
  if (!restoreGeometry(s.value("window/geometry").toByteArray())) resize(1400, 900);
  restoreState(s.value("window/state").toByteArray());
  runsModel_->setWorkspace(s.value("workspace", QDir::current().filePath("runs")).toString());
  configure_->setWorkspace(runsModel_->workspace());
  clock_.start();
  updateActions();
  updatePlan();
}

MainWindow::~MainWindow() {
  worker_->stop();  // thread-safe; a no-op when idle (a child run stops in its own destructor)
  thread_.quit();   // takes effect once a running session has returned
  thread_.wait();
}

void MainWindow::setWorkspace(const QString& dir) {
  runsModel_->setWorkspace(dir);
  configure_->setWorkspace(runsModel_->workspace());
  QSettings s = settings();
  s.setValue("workspace", runsModel_->workspace());
}

bool MainWindow::openRun(const QString& dir, QString* error) {
  auto refuse = [&](const QString& why) {
    if (error) *error = why;
    say(why, 10000);
    showWarning(tr("Cannot open the run"), why, "openRunMessage");
    return false;
  };
  if (dir.isEmpty()) return false;
  if (state_ != EngineWorker::State::Idle)
    return refuse(tr("A run is in progress: stop it, or wait for it to end, before opening %1.").arg(dir));
  if (!isRunFolder(dir))
    return refuse(tr("%1 is not a run folder: a run folder holds config.json and metrics.jsonl (an exported model "
                     "has only the first).")
                      .arg(QDir::toNativeSeparators(dir)));
  QElapsedTimer took;
  took.start();
  RunHistory h;
  try {
    h = loadRunHistory(dir);
  } catch (const std::exception& e) {
    return refuse(QString::fromUtf8(e.what()));
  }
  configure_->setConfig(h.config);
  store_->load(h);
  const RunSummary& s = h.summary;
  currentRunDir_ = qstr(s.dir);
  openRunResumable_ = s.status != moekd::RunStatus::Finished &&
                      QFileInfo::exists(currentRunDir_ + "/checkpoints/last/state.json");
  totalSteps_ = s.total_steps;
  lastStep_ = s.step;
  firstStep_ = -1;
  stepLabel_->setText(tr("step %1 / %2").arg(s.step).arg(s.total_steps));
  lossLabel_->setText(h.steps.empty() ? QString() : tr("loss %1").arg(s.train_loss, 0, 'f', 4));
  speedLabel_->setText(h.steps.empty() ? QString() : tr("%1k tok/s").arg(h.steps.back().tokens_per_s / 1000, 0, 'f', 1));
  etaLabel_->clear();
  progress_->setRange(0, static_cast<int>(std::max<qint64>(1, std::min<qint64>(s.total_steps, INT_MAX))));
  progress_->setValue(static_cast<int>(std::min<qint64>(s.step, INT_MAX)));
  progress_->setVisible(true);
  setWindowTitle(tr("%1 — MoE-KD Studio").arg(QDir(qstr(s.dir)).dirName()));  // the run's folder, as a live run
  QString what = tr("Opened %1 (%2, %3 at step %4)").arg(QDir::toNativeSeparators(qstr(s.dir)), qstr(s.method), statusName(s.status)).arg(s.step);
  if (!s.failure.empty()) what += tr(": %1").arg(qstr(s.failure));
  what += tr(" in %1 ms").arg(took.elapsed());
  // A copied or moved run: the paths it recorded were found beside it (Configure shows them).
  for (const auto& r : h.relocated)
    what += tr("; %1 found at %2 (recorded %3)").arg(qstr(r.field), QDir::toNativeSeparators(qstr(r.found)), qstr(r.recorded));
  say(what);
  if (runsModel_->rowOf(currentRunDir_) < 0) {
    runsModel_->addRunFolder(currentRunDir_);
    runsModel_->refresh();
  }
  runs_->selectRun(currentRunDir_);
  tabs_->setCurrentWidget(training_);
  return true;
}

ExportDialog* MainWindow::showExportDialog(const QString& dir) {
  auto* dialog = new ExportDialog(dir.isEmpty() ? currentRunDir_ : dir, this);
  dialog->setAttribute(Qt::WA_DeleteOnClose);
  connect(dialog, &ExportDialog::exported, this, [this](const QString& out) {
    say(tr("Exported to %1").arg(QDir::toNativeSeparators(out)), 10000);
  });
  dialog->show();
  return dialog;
}

void MainWindow::startRun() {
  if (state_ != EngineWorker::State::Idle || !configure_->isValid()) return;
  store_->clear(QString::fromStdString(configure_->config().value("method", std::string())));
  lastStep_ = 0;
  firstStep_ = -1;
  pausedMs_ = 0;
  pauseStartedMs_ = -1;
  stoppedEarly_ = false;
  lastError_.clear();
  totalSteps_ = configure_->totalSteps();
  stepLabel_->setText(tr("step 0 / %1").arg(totalSteps_));
  lossLabel_->clear();
  speedLabel_->clear();
  etaLabel_->clear();
  // The worker's state changes only once its thread picks the run up; until then Start is off.
  state_ = EngineWorker::State::Running;
  updateActions();
  tabs_->setCurrentWidget(training_);
  const int processes = configure_->processes();
  if (processes > 1) {  // `moekd distill --nproc N` as a child process, followed through its files
    active_ = child_;
    child_->start(configure_->configJson(), processes);
    return;
  }
  active_ = worker_;
  QMetaObject::invokeMethod(worker_, "start", Qt::QueuedConnection, Q_ARG(QByteArray, configure_->configJson()));
}

std::optional<RunHistory> MainWindow::readRun(const QString& dir, moekd::RunDetail detail, const QString& title) {
  try {
    return loadRunHistory(dir, detail);
  } catch (const std::exception& e) {
    showWarning(title, QString::fromUtf8(e.what()), "resumeRunMessage");
    return std::nullopt;
  }
}

void MainWindow::resumeRun(const QString& dir, qint64 totalSteps) {
  if (state_ != EngineWorker::State::Idle) return;
  if (dir.isEmpty() && currentRunDir_.isEmpty()) return;
  const QString run = QDir::cleanPath(QDir(dir.isEmpty() ? currentRunDir_ : dir).absolutePath());
  // The views show the run's history; the resumed steps continue its curves.
  const auto read = readRun(run, moekd::RunDetail::Full, tr("Cannot resume the run"));
  if (!read) return;
  const RunHistory& h = *read;
  configure_->setConfig(h.config);
  store_->load(h);
  currentRunDir_ = run;
  lastStep_ = h.summary.step;
  firstStep_ = -1;
  pausedMs_ = 0;
  pauseStartedMs_ = -1;
  stoppedEarly_ = false;
  lastError_.clear();
  openRunResumable_ = false;
  totalSteps_ = totalSteps > 0 ? totalSteps : h.summary.total_steps;
  stepLabel_->setText(tr("step %1 / %2").arg(lastStep_).arg(totalSteps_));
  state_ = EngineWorker::State::Running;
  updateActions();
  active_ = worker_;  // one process, in the studio: a run of several resumes on one as well
  QMetaObject::invokeMethod(worker_, "resumeRun", Qt::QueuedConnection, Q_ARG(QString, run), Q_ARG(qint64, totalSteps));
  tabs_->setCurrentWidget(training_);
}

void MainWindow::continueRun(const QString& dir) {
  if (state_ != EngineWorker::State::Idle) return;
  const QString run = dir.isEmpty() ? currentRunDir_ : dir;
  const auto read = readRun(run, moekd::RunDetail::Summary, tr("Cannot continue the run"));
  if (!read) return;
  const RunHistory& h = *read;
  bool ok = false;
  const int more = QInputDialog::getInt(
      this, tr("Continue the run"),
      tr("%1 is at step %2 of %3. Train for how many more steps? (The learning-rate schedule stretches to the "
         "new total.)")
          .arg(QDir(run).dirName())
          .arg(h.summary.step)
          .arg(h.summary.total_steps),
      std::max<int>(1, static_cast<int>(h.summary.total_steps / 2)), 1, 100000000, 1, &ok);
  if (ok) resumeRun(run, h.summary.step + more);
}

void MainWindow::startAsNewRun(const QString& dir) {
  if (state_ != EngineWorker::State::Idle) return;
  const QString run = dir.isEmpty() ? currentRunDir_ : dir;
  const auto read = readRun(run, moekd::RunDetail::Summary, tr("Cannot read the run"));
  if (!read) return;
  const RunHistory& h = *read;
  // The same settings in the first free sibling folder: run-2, run-3, ...
  const QString fresh = QString::fromStdString(moekd::free_sibling_dir(QDir::cleanPath(run).toStdString()));
  auto config = h.config;
  config["run_dir"] = fresh.toStdString();
  if (config.contains("name")) config["name"] = QDir(fresh).dirName().toStdString();
  configure_->setConfig(config);
  tabs_->setCurrentWidget(configure_);
  say(tr("The settings of %1, as a new run in %2: press Start.").arg(QDir(run).dirName(), fresh), 10000);
}

void MainWindow::togglePause() {
  if (state_ == EngineWorker::State::Running) active_->pause();
  else if (state_ == EngineWorker::State::Paused) active_->resume();
}

void MainWindow::stopRun() {
  if (state_ == EngineWorker::State::Running || state_ == EngineWorker::State::Paused) active_->stop();
}

void MainWindow::onState(EngineWorker::State s) {
  const qint64 now = clock_.elapsed();
  if (s == EngineWorker::State::Paused && pauseStartedMs_ < 0) pauseStartedMs_ = now;
  if (s != EngineWorker::State::Paused && pauseStartedMs_ >= 0) {
    pausedMs_ += now - pauseStartedMs_;
    pauseStartedMs_ = -1;
  }
  state_ = s;
  switch (s) {
    case EngineWorker::State::Paused: say(tr("Paused after step %1").arg(lastStep_)); break;
    case EngineWorker::State::Stopping:
      say(tr("Stopping after the current step; writing the last checkpoint…"));
      break;
    case EngineWorker::State::Running: say(tr("Running"), 3000); break;
    case EngineWorker::State::Idle:
      openRunResumable_ = (stoppedEarly_ || !lastError_.isEmpty()) &&
                          QFileInfo::exists(currentRunDir_ + "/checkpoints/last/state.json");
      runsModel_->setActiveRun({});
      runsModel_->refresh();
      configure_->recheck();  // its run folder now holds a run
      if (closeAfterStop_) QMetaObject::invokeMethod(this, "close", Qt::QueuedConnection);
      break;
  }
  updateActions();
  updateEta();
}

void MainWindow::updateActions() {
  const bool idle = state_ == EngineWorker::State::Idle;
  start_->setEnabled(idle && configure_->isValid());
  resumeRun_->setEnabled(idle && openRunResumable_);
  pause_->setEnabled(state_ == EngineWorker::State::Running || state_ == EngineWorker::State::Paused);
  const bool paused = state_ == EngineWorker::State::Paused;
  pause_->setText(paused ? tr("Resume") : tr("Pause"));
  pause_->setIcon(style()->standardIcon(paused ? QStyle::SP_MediaPlay : QStyle::SP_MediaPause));
  stop_->setEnabled(state_ == EngineWorker::State::Running || state_ == EngineWorker::State::Paused);
  configure_->setEnabled(idle);
}

void MainWindow::onStep(const moekd::StepMetrics& m) {
  if (firstStep_ < 0) {
    firstStep_ = m.step;
    firstStepMs_ = clock_.elapsed();
    pausedMs_ = 0;
    statusBar()->clearMessage();  // "Building models and data…" is over
    said_.clear();
    // The run folder has its config.json now: list it as running.
    runsModel_->addRunFolder(currentRunDir_);
    runsModel_->setActiveRun(currentRunDir_);
    runsModel_->refresh();
  }
  lastStep_ = m.step;
  stepLabel_->setText(tr("step %1 / %2").arg(m.step).arg(totalSteps_));
  lossLabel_->setText(tr("loss %1").arg(m.loss, 0, 'f', 4));
  speedLabel_->setText((m.tokens_per_s >= 1000 ? tr("%1k tok/s").arg(m.tokens_per_s / 1000, 0, 'f', 1)
                                               : tr("%1 tok/s").arg(m.tokens_per_s, 0, 'f', 0)) +
                       (m.peak_memory > 0 ? tr(" · peak %1 GiB").arg(m.peak_memory / 1073741824.0, 0, 'f', 2) : QString()));
  progress_->setValue(static_cast<int>(std::min<qint64>(m.step, INT_MAX)));
  updateEta();
}

void MainWindow::updatePlan() {
  QString text, tip;
  try {
    const auto cfg = moekd::parse_run_config(configure_->config(), "configuration");
    const auto p = moekd::plan_memory(cfg, cfg.train.device.rfind("cuda", 0) == 0 ? "cuda" : "cpu");
    auto gib = [](int64_t bytes) { return QString::number(bytes / 1073741824.0, 'f', bytes < (1ll << 30) ? 2 : 1); };
    text = tr("needs ≈ %1 GiB").arg(gib(p.total));
    tip = tr("Estimated memory on %1 in %2 (moekd plan):\nteacher weights %3 GiB\nstudent weights %4 GiB\n"
             "gradients %5 GiB\noptimizer %6 GiB\nactivations %7 GiB (batch %8 x %9 tokens)")
              .arg(QString::fromStdString(p.device), QString::fromLatin1(moekd::name_of(p.precision)), gib(p.teacher_weights),
                   gib(p.student_weights), gib(p.gradients), gib(p.optimizer), gib(p.activations))
              .arg(cfg.train.batch_size)
              .arg(cfg.data.max_len);
  } catch (const std::exception&) {
    // Not a complete run yet (the form says why): no estimate.
  }
  planLabel_->setText(text);
  planLabel_->setToolTip(tip);
}

void MainWindow::updateEta() {
  if (state_ == EngineWorker::State::Idle || firstStep_ < 0 || lastStep_ <= firstStep_) {
    if (state_ == EngineWorker::State::Idle) etaLabel_->clear();
    return;
  }
  const qint64 now = clock_.elapsed();
  const qint64 paused = pausedMs_ + (pauseStartedMs_ >= 0 ? now - pauseStartedMs_ : 0);
  const double seconds = (now - firstStepMs_ - paused) / 1000.0;
  const double perStep = seconds / static_cast<double>(lastStep_ - firstStep_);
  etaLabel_->setText(tr("ETA %1").arg(durationText(perStep * static_cast<double>(totalSteps_ - lastStep_))));
}

void MainWindow::onFinished(const moekd::RunFinished& r) {
  ++finishedRuns_;
  stoppedEarly_ = r.stopped_early;
  lastStep_ = r.step;
  stepLabel_->setText(tr("step %1 / %2").arg(r.step).arg(totalSteps_));
  progress_->setValue(static_cast<int>(std::min<qint64>(r.step, INT_MAX)));
  QString text = r.stopped_early
                     ? tr("Stopped at step %1 after %2; the last checkpoint is saved.").arg(r.step).arg(durationText(r.seconds))
                     : tr("Finished %1 steps in %2.").arg(r.step).arg(durationText(r.seconds));
  // The guided path: a trained teacher is distilled next.
  if (!r.stopped_early && store_->method() == QLatin1String("train-teacher"))
    text += tr(" Next: distil it, with a \"Distil the demo teacher\" preset in Configure.");
  say(text);
}

void MainWindow::onFailed(const QString& message) {
  lastError_ = message;
  say(tr("Run failed: %1").arg(message));
  showWarning(tr("Run failed"), message, "runFailedMessage");
}

void MainWindow::say(const QString& text, int timeoutMs) {
  said_ = text;
  saidUntilMs_ = timeoutMs > 0 ? clock_.elapsed() + timeoutMs : -1;
  showSaid();
}

void MainWindow::showSaid() {
  // Elided to the room left of the step, loss and progress fields (a narrow window must not run
  // the message under them); the whole text stays in the tooltip. Shown again at every resize.
  // The room is the smaller of what the fields' sizes leave and where the leftmost one stands now
  // (a field whose text just changed is laid out later).
  int room = statusBar()->width() - 24, leftmost = statusBar()->width();
  for (QWidget* w : {static_cast<QWidget*>(stepLabel_), static_cast<QWidget*>(lossLabel_),
                     static_cast<QWidget*>(speedLabel_), static_cast<QWidget*>(etaLabel_),
                     static_cast<QWidget*>(progress_)})
    if (w && w->isVisible()) {
      room -= w->sizeHint().width() + 8;
      leftmost = std::min(leftmost, w->x());
    }
  room = std::min(room, leftmost - 16);
  const qint64 left = saidUntilMs_ < 0 ? 0 : saidUntilMs_ - clock_.elapsed();
  if (saidUntilMs_ >= 0 && left <= 0) return;  // its time is over
  statusBar()->showMessage(statusBar()->fontMetrics().elidedText(said_, Qt::ElideRight, std::max(0, room)),
                           static_cast<int>(left));
  statusBar()->setToolTip(said_);
}

void MainWindow::resizeEvent(QResizeEvent* event) {
  QMainWindow::resizeEvent(event);
  if (!statusBar()->currentMessage().isEmpty()) showSaid();
}

void MainWindow::showWarning(const QString& title, const QString& text, const char* objectName) {
  // Window-modal and non-blocking: the event loop (and the charts) keep running behind it.
  auto* box = new QMessageBox(QMessageBox::Warning, title, text, QMessageBox::Ok, this);
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->setObjectName(objectName);
  box->open();
}

void MainWindow::closeEvent(QCloseEvent* event) {
  // A run in this process and a grid in its child both stop after their current step with a
  // checkpoint; the studio asks once for both and closes when the last of them has stopped.
  const bool run = state_ != EngineWorker::State::Idle;
  const bool grid = compare_->running();
  if (run || grid) {
    if (!closeAfterStop_) {
      const QString what = run && grid ? tr("A run and a grid are in progress. Stop both and close the studio?")
                           : run       ? tr("A run is in progress. Stop it and close the studio?")
                                       : tr("A grid is in progress. Stop it and close the studio?");
      const QString how = run && grid
                              ? tr("Each stops after its current step and writes its last checkpoint first; Continue "
                                   "in the Compare view resumes the grid.")
                          : run ? tr("The run stops after the current step and its last checkpoint is written first.")
                                : tr("Its runs stop after their current step and write their last checkpoint first; "
                                     "Continue in the Compare view resumes them.");
      const auto answer = QMessageBox::question(this, grid && !run ? tr("Stop the grid?") : tr("Stop the run?"),
                                                what + " " + how, QMessageBox::Yes | QMessageBox::No, QMessageBox::No);
      if (answer != QMessageBox::Yes) {
        event->ignore();
        return;
      }
      closeAfterStop_ = true;
      if (run) active_->stop();
      if (grid) compare_->stopGrid();
    }
    event->ignore();  // closes itself once the worker reports idle and the grid's child has ended
    return;
  }
  QSettings s = settings();
  s.setValue("window/geometry", saveGeometry());
  s.setValue("window/state", saveState());
  event->accept();
}

}  // namespace moekd::ui
