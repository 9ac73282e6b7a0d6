#pragma once
// The Compare view: a grid of runs (`moekd compare`) opened from its folder or started from a
// grid file, its cells filling in while it runs, the results table with the paired differences
// against the baseline and their intervals, the curves with a band over seeds, and the probe of
// the grid's teacher beside them. The grid runs as a `moekd compare` child process (the CLI's one
// implementation of a grid, and a run that fails cannot take the studio with it), the probe as
// `moekd probe`; the view reads what they write (the run folders, probe.json) with the engine's
// torch-free readers. Closing the studio asks first and stops the grid (MainWindow::closeEvent).
#include <QWidget>
#include <memory>
#include <optional>

#include "grid/grid_config.h"
#include "grid/grid_results.h"
#include "probe/teacher_probe.h"

class QComboBox;
class QCustomPlot;
class QLabel;
class QProcess;
class QPushButton;
class QTableWidget;
class QTimer;

namespace moekd::ui {

class CompareView : public QWidget {
  Q_OBJECT
 public:
  explicit CompareView(QWidget* parent = nullptr);
  ~CompareView() override;

  // Shows the grid in `dir` (its grid.json and whatever its runs have written); false, with the
  // reason in the view, when it holds no readable grid.
  bool openGrid(const QString& dir);
  // Runs (or continues) `gridFile` into `dir` as a `moekd compare` child; false when it cannot
  // start (the reason shown). An empty `gridFile` continues the grid already in `dir`. A grid
  // whose runs were computed with another arithmetic is refused by the child; the view then asks
  // (mixedArithmeticQuestion) whether to continue anyway, which `mixedArithmetic` does.
  bool startGrid(const QString& gridFile, const QString& dir, int jobs = 1, bool mixedArithmetic = false);
  void stopGrid();
  bool running() const;
  // Runs `moekd probe` on the grid's teacher; its table appears when it is done.
  bool startProbe();
  // Rereads the run folders (on a timer while the grid runs).
  void refresh();

  QString gridDir() const { return dir_; }
  const GridResults* results() const { return results_ ? &*results_ : nullptr; }
  QTableWidget* table() const { return table_; }
  QTableWidget* probeTable() const { return probeTable_; }
  QCustomPlot* curves() const { return curves_; }
  QCustomPlot* probePlot() const { return probePlot_; }
  QComboBox* curveChoice() const { return curve_; }
  QLabel* status() const { return status_; }
  QLabel* probeHint() const { return probeHint_; }

 Q_SIGNALS:
  void gridFinished(int exitCode);
  void probeFinished(int exitCode);
  void openRunRequested(const QString& dir);  // a cell's seed double-clicked: open it in the other views

 protected:
  void changeEvent(QEvent* event) override;  // follows a palette change

 private:
  void chooseAndOpen();
  void chooseAndStart();
  void fillTable();
  void fillProbe();
  void redrawCurves();
  void updateButtons();
  void say(const QString& text, bool error = false);
  void askToMixArithmetic(const QString& refusal, const QString& gridFile, const QString& dir, int jobs);

  QString dir_;
  std::optional<Grid> grid_;
  std::optional<GridResults> results_;
  std::optional<TeacherProbe> probe_;
  QProcess* grid_process_ = nullptr;
  QProcess* probe_process_ = nullptr;
  QTimer* poll_ = nullptr;
  QPushButton *open_ = nullptr, *start_ = nullptr, *continue_ = nullptr, *stop_ = nullptr, *probeButton_ = nullptr;
  QLabel* status_ = nullptr;
  QTableWidget* table_ = nullptr;
  QTableWidget* probeTable_ = nullptr;
  QComboBox* curve_ = nullptr;
  QCustomPlot* curves_ = nullptr;
  QCustomPlot* probePlot_ = nullptr;
  QLabel* probeHint_ = nullptr;  // what the probe is for, until there is one
};

}  // namespace moekd::ui
