#pragma once
// Evaluations over the run in the RunStore: ROUGE-L, exact match and validation loss per step for all of the
// validation set or one data category, and the latest evaluation's generated samples side by side
// with their references (long text elided; the whole text in tooltips).
#include <QString>
#include <QWidget>
#include <vector>

#include "run/events.h"

class QCustomPlot;
class QCPGraph;
class QComboBox;
class QLabel;
class QTableWidget;

namespace moekd::ui {

class GenerationBand;
class RunStore;

class EvaluationView : public QWidget {
  Q_OBJECT
 public:
  explicit EvaluationView(const RunStore* store, QWidget* parent = nullptr);

  // "" or "all" = the whole validation set.
  void setCategory(const QString& category);

  QCustomPlot* plot() const { return plot_; }
  QCPGraph* rougeGraph() const { return rouge_; }
  QCPGraph* exactMatchGraph() const { return exact_; }
  QCPGraph* lossGraph() const { return loss_; }
  QTableWidget* samplesTable() const { return table_; }
  GenerationBand* generationBand() const { return generation_; }
  int evaluationCount() const;

 protected:
  void changeEvent(QEvent* event) override;  // follows a palette change (light <-> dark desktop)

 private:
  void onReset();
  void showLatest();
  void refreshCategories();
  void redrawChart();
  void fillSamples();
  void applyColors();

  const RunStore* store_;
  QComboBox* category_ = nullptr;
  QLabel* info_ = nullptr;
  QCustomPlot* plot_ = nullptr;
  QCPGraph *rouge_ = nullptr, *exact_ = nullptr, *loss_ = nullptr;
  QTableWidget* table_ = nullptr;
  GenerationBand* generation_ = nullptr;
  bool updating_ = false;
};

}  // namespace moekd::ui
