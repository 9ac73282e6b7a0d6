#pragma once
// Live training charts: losses (with validation loss from evaluations), learning rates, gradient
// norm and throughput. Points are collected as they arrive; a timer redraws at most ten times a
// second, whatever the step rate. EMA smoothing as in TensorBoard, log scale, drag to pan, wheel
// to zoom (double-click resets), export PNG/PDF/CSV.
#include <QString>
#include <QWidget>
#include <vector>

#include "session/events.h"

class QCustomPlot;
class QCPGraph;
class QCheckBox;
class QLabel;
class QSlider;
class QTimer;

namespace moekd::ui {

class TrainingView : public QWidget {
  Q_OBJECT
 public:
  explicit TrainingView(QWidget* parent = nullptr);

  void clear();
  void addStep(const moekd::StepMetrics& m);
  void addEvaluation(const moekd::EvalResult& r);

  int pointCount() const { return static_cast<int>(steps_.size()); }
  int evaluationCount() const { return static_cast<int>(evalSteps_.size()); }
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
    QString key, label;
    int chart = 0;
    std::vector<double> values;
    QCPGraph* raw = nullptr;
    QCPGraph* smooth = nullptr;
  };
  QCustomPlot* makePlot(const QString& title, const QString& yLabel);
  void addSeries(const QString& key, const QString& label, int chart, int colorIndex);
  void rebuild();
  void chooseExport(bool pdf);

  std::vector<double> steps_, stepSeconds_, tokens_;
  std::vector<Series> series_;
  std::vector<double> evalSteps_, evalLoss_, evalPerplexity_, evalRouge_, evalExact_;
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
