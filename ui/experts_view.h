#pragma once
// Per layer x expert routing of the RunStore's latest RoutingSnapshot as a heatmap (usage share or mean
// router probability; teacher or student; all tokens or one data category), with tooltips, and
// below it one layer's expert usage over the run.
#include <QString>
#include <QWidget>
#include <vector>

#include "run/events.h"

class QCustomPlot;
class QCPColorMap;
class QCPColorScale;
class QComboBox;
class QLabel;
class QSpinBox;

namespace moekd::ui {

class RunStore;

class ExpertsView : public QWidget {
  Q_OBJECT
 public:
  explicit ExpertsView(const RunStore* store, QWidget* parent = nullptr);

  // Selections: model "teacher"/"student"; measure 0 = usage, 1 = mean router probability;
  // category "" = all tokens; routing 0 = every token, 1 = top-k routed tokens, 2 = KA-sampled
  // tokens (1 and 2 only for KA snapshots; usage only).
  void setModel(const QString& model);
  void setMeasure(int measure);
  void setCategory(const QString& category);
  bool setRouting(int routing);  // false when the snapshot has no such split
  void setHistoryLayer(int position);

  QCPColorMap* colorMap() const { return map_; }
  QCustomPlot* heatmapPlot() const { return heat_; }
  QCustomPlot* historyPlot() const { return history_; }
  int snapshotCount(const QString& model) const;

 protected:
  void changeEvent(QEvent* event) override;  // follows a palette change (light <-> dark desktop)

 private:
  void onReset();
  void onSnapshot(const QString& model);
  void refreshSelectors();
  void redrawHeatmap();
  void redrawHistory();
  void showTooltip(QMouseEvent* event);
  const moekd::RoutingSnapshot* current() const;
  // The matrix shown: [layer position][expert]; empty when there is nothing to show.
  std::vector<std::vector<double>> matrix() const;

  const RunStore* store_;
  QComboBox *model_ = nullptr, *measure_ = nullptr, *category_ = nullptr, *routing_ = nullptr;
  QSpinBox* layer_ = nullptr;
  QLabel* info_ = nullptr;
  QCustomPlot* heat_ = nullptr;
  QCPColorMap* map_ = nullptr;
  QCPColorScale* scale_ = nullptr;
  QCustomPlot* history_ = nullptr;
  bool updating_ = false;
};

}  // namespace moekd::ui
