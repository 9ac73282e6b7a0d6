#pragma once
// The routers themselves: the RunStore's latest RoutingSnapshot's mean router probability per layer and expert
// (teacher or student) as a heatmap; for SAR runs each teacher layer's router drift
// ||W - W_0|| / ||W_0|| over the run; and one layer's mean probabilities at the first snapshot
// against the latest one, side by side per expert.
#include <QString>
#include <QWidget>
#include <vector>

#include "run/events.h"

class QCustomPlot;
class QCPBars;
class QCPColorMap;
class QCPColorScale;
class QComboBox;
class QLabel;
class QSpinBox;
class QStackedWidget;

namespace moekd::ui {

class RunStore;

class RouterView : public QWidget {
  Q_OBJECT
 public:
  explicit RouterView(const RunStore* store, QWidget* parent = nullptr);

  void setModel(const QString& model);
  void setCompareLayer(int position);

  // True once a teacher snapshot reported a router drift (a SAR run).
  bool isSar() const;
  QCPColorMap* colorMap() const { return map_; }
  QCustomPlot* heatmapPlot() const { return heat_; }
  QCustomPlot* driftPlot() const { return drift_; }
  QLabel* driftMessage() const { return driftMessage_; }
  QCustomPlot* comparePlot() const { return compare_; }
  QCPBars* firstBars() const { return firstBars_; }
  QCPBars* latestBars() const { return latestBars_; }

 protected:
  void changeEvent(QEvent* event) override;  // follows a palette change (light <-> dark desktop)

 private:
  void onReset();
  void onSnapshot(const QString& model);
  void refreshSelectors();
  void redrawHeatmap();
  void redrawDrift();
  void redrawCompare();
  void showTooltip(QMouseEvent* event);
  void applyColors();
  const moekd::RoutingSnapshot* latest() const;

  const RunStore* store_;
  QComboBox* model_ = nullptr;
  QSpinBox* layer_ = nullptr;
  QLabel* info_ = nullptr;
  QCustomPlot* heat_ = nullptr;
  QCPColorMap* map_ = nullptr;
  QCPColorScale* scale_ = nullptr;
  QStackedWidget* driftStack_ = nullptr;
  QCustomPlot* drift_ = nullptr;
  QLabel* driftMessage_ = nullptr;
  QCustomPlot* compare_ = nullptr;
  QCPBars *firstBars_ = nullptr, *latestBars_ = nullptr;
  bool updating_ = false;
};

}  // namespace moekd::ui
