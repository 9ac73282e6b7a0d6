#pragma once
// The studio's widgets, offscreen: forms <-> run-config JSON, inline validation gating Start, tiny
// runs driven from the window (charts, pause, resume, stop), the views on their RunStore,
// responsiveness of the GUI thread during runs, the Runs view and export, and screenshots of every
// view (docs/screenshots). One suite in three files (test_forms.cpp, test_views.cpp,
// test_window.cpp); its slots run in the order declared here, and later ones open earlier runs.
#include <QAction>
#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QInputDialog>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QTableWidget>
#include <QLineEdit>
#include <QListView>
#include <QProgressBar>
#include <QSlider>
#include <QRadioButton>
#include <QTableView>
#include <QScrollArea>
#include <QSpinBox>
#include <QStatusBar>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTextBrowser>
#include <QTemporaryDir>
#include <QTimer>
#include <QToolBar>
#include <QToolTip>
#include <QtTest>
#include <algorithm>
#include <array>
#include <fstream>
#include <memory>
#include <map>
#include <vector>

#include "child_run.h"
#include "dist/dist_env.h"
#include "run_history.h"
#include "configure_view.h"
#include "engine_worker.h"
#include "evaluation_view.h"
#include "experts_view.h"
#include "export_dialog.h"
#include "field_marks.h"
#include "generation_band.h"
#include "layer_expert_heatmap.h"
#include "main_window.h"
#include "plot_style.h"
#include "reveal_folder.h"
#include "router_view.h"
#include "export/export.h"
#include "run/demo_recipe.h"
#include "run/metrics_file.h"
#include "run/run_config.h"
#include "run_store.h"
#include "session/session.h"
#include "run_history.h"
#include "runs_model.h"
#include "runs_view.h"
#include "io/safetensors.h"
#include "training_view.h"

using json = nlohmann::json;
using moekd::ui::ConfigureView;
using moekd::ui::EngineWorker;
using moekd::ui::MainWindow;
using moekd::ui::RunsModel;
using moekd::ui::RunHistory;
using moekd::ui::loadRunHistory;

// A Mixtral-shaped MoE trained from scratch on the built-in tasks: small enough for seconds on CPU.
json tinyRun(const QString& runDir, int steps);
QString diff(const json& a, const json& b);
void saveShot(QWidget* w, const QString& name);
// Clicks `button` of the next modal message box as soon as it shows (the window's "Stop the
// run?"), polling with `timer`, which must outlive the box.
void answerNextQuestion(QTimer& timer, QMessageBox::StandardButton button);
// A dark desktop's palette: the charts must follow it.
QPalette darkPalette();

// Measures how late a 10 ms repeating timer fires on the GUI thread.
class LatencyProbe : public QObject {
 public:
  void start() {
    delays_.clear();
    clock_.start();
    last_ = 0;
    connect(&timer_, &QTimer::timeout, this, [this] {
      const qint64 now = clock_.nsecsElapsed();
      if (last_ > 0) delays_.push_back(std::max(0.0, (now - last_) / 1e6 - 10.0));
      last_ = now;
    });
    timer_.setTimerType(Qt::PreciseTimer);
    timer_.start(10);
  }
  void stop() { timer_.stop(); }
  double percentile(double p) const {
    if (delays_.empty()) return 0;
    std::vector<double> d = delays_;
    std::sort(d.begin(), d.end());
    return d[std::min(d.size() - 1, static_cast<size_t>(p * (d.size() - 1) + 0.5))];
  }
  size_t samples() const { return delays_.size(); }

 private:
  QTimer timer_;
  QElapsedTimer clock_;
  qint64 last_ = 0;
  std::vector<double> delays_;
};

class TestUi : public QObject {
  Q_OBJECT
  // Runs made by routerView and runFromWindow (teacher, sar, run-a, run-b) that the Runs and
  // Export tests open from disk.
  QTemporaryDir workspace_;

 private Q_SLOTS:
  void initTestCase();
  void presetsLoad();
  void formJsonRoundTrip_data();
  void formJsonRoundTrip();
  void invalidInputKeepsStartDisabled();
  void dataPreviewShowsTokens();
  void engineFailureIsReported();
  void closeDuringRunStopsCleanly();
  void evaluationView();
  void expertsRoutingSplit();
  void resumedRunReadsAsOneRun();
  void routerView();
  void onPolicyChart();
  void generationBand();
  void runFromWindow();
  void resumeFromWindow();
  void severalProcessesFromWindow();
  void runsOpenFromDisk();
  void exportFromDialog();
  void smallWindows();
  void guidedDemoPath();
  void copiedWorkspace();
  void compareView();
  void closingStopsGridAfterAsking();
};
