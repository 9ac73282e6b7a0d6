#pragma once
// The Runs view: the workspace folder, the comparison table of its runs (final metrics, the best
// of each column in bold, sortable), and one chart that overlays a metric of every ticked run.
// Opening a run (double-click, Open) asks the main window to replay it into the other views.
#include <QWidget>

class QComboBox;
class QCustomPlot;
class QLabel;
class QLineEdit;
class QPushButton;
class QSlider;
class QSortFilterProxyModel;
class QTableView;

namespace moekd::ui {

class RunsModel;

class RunsView : public QWidget {
  Q_OBJECT
 public:
  explicit RunsView(RunsModel* model, QWidget* parent = nullptr);

  QTableView* table() const { return table_; }
  QCustomPlot* overlayPlot() const { return plot_; }
  // The overlay's metric by key: loss, val_loss, rouge_l, exact_match, ce, divergence, lr,
  // grad_norm, tokens_per_s.
  bool setMetric(const QString& key);  // false for an unknown key
  QString metric() const;
  void setSmoothing(double weight);
  QString selectedRun() const;  // the current row's folder; empty when none
  void selectRun(const QString& dir);
  void replotNow();

 Q_SIGNALS:
  void openRequested(const QString& dir);
  void exportRequested(const QString& dir);
  void resumeRequested(const QString& dir);    // continue from its last checkpoint
  void continueRequested(const QString& dir);  // continue for more steps (a finished run too)
  void restartRequested(const QString& dir);   // its settings, as a new run
  void workspaceChosen(const QString& dir);

 protected:
  void changeEvent(QEvent* event) override;  // follows a palette change (light <-> dark desktop)

 private:
  void redraw();
  void updateButtons();
  void chooseWorkspace();

  RunsModel* model_;
  QSortFilterProxyModel* proxy_ = nullptr;
  QLineEdit* workspace_ = nullptr;
  QTableView* table_ = nullptr;
  QPushButton *open_ = nullptr, *export_ = nullptr, *reveal_ = nullptr;
  QComboBox* metric_ = nullptr;
  QSlider* smoothing_ = nullptr;
  QLabel* smoothingValue_ = nullptr;
  QLabel* hint_ = nullptr;
  QCustomPlot* plot_ = nullptr;
};

}  // namespace moekd::ui
