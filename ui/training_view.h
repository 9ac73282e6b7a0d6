#pragma once
// Training charts of the run in the RunStore: losses (with validation loss from evaluations),
// learning rates, gradient norm and throughput, one series per step field of the metric table
// (metric_fields.h). The store's signals mark the charts dirty; a timer redraws at most ten times
// a second, whatever the step rate. EMA smoothing as in TensorBoard, log scale, drag to pan, wheel
// to zoom (double-click resets), export PNG/PDF/CSV.
#include <QString>
#include <QWidget>
#include <vector>

#include "metric_fields.h"

class QCustomPlot;
class QCPGraph;
class QCheckBox;
class QLabel;
class QSlider;
class QTimer;

namespace moekd::ui {

class RunStore;

class TrainingView : public QWidget {
  Q_OBJECT
 public:
  explicit TrainingView(const RunStore* store, QWidget* parent = nullptr);

  int pointCount() const;
  int evaluationCount() const;
  QList<QCustomPlot*> plots() const { return plots_; }
  // Points currently drawn by the smoothed graph of `series` (e.g. "loss"); -1 when unknown.
  int drawnPoints(const QString& series) const;

  void setSmoothing(double weight);  // 0 .. 0.99
  double smoothing() const { return smoothing_; }
  void setLogScale(bool on);
  void resetZoom();
  void replotNow();

  // PNG/PDF: one file per chart, `<base>-<chart>.<ext>`. CSV: every raw series, one row per step.
  bool exportImages(const QString& path, bool pdf, QString* error = nullptr);
  bool exportCsv(const QString& path, QString* error = nullptr) const;

 protected:
  void changeEvent(QEvent* event) override;  // follows a palette change (light <-> dark desktop)

 private:
  struct Series {
    const MetricField* field = nullptr;
    QCPGraph* raw = nullptr;
    QCPGraph* smooth = nullptr;
  };
  QCustomPlot* makePlot(const QString& title, const QString& yLabel);
  void onReset();
  void showLastEvaluation();
  void rebuild();
  void chooseExport(bool pdf);

  const RunStore* store_;
  std::vector<Series> series_;
  QCPGraph* valGraph_ = nullptr;
  QList<QCustomPlot*> plots_;
  std::vector<bool> autoRange_;
  QTimer* timer_ = nullptr;
  bool dirty_ = false;
  double smoothing_ = 0.6;
  bool logScale_ = false;
  QSlider* slider_ = nullptr;
  QLabel* sliderValue_ = nullptr;
  QCheckBox* logBox_ = nullptr;
  QLabel* evalLabel_ = nullptr;
};

}  // namespace moekd::ui
