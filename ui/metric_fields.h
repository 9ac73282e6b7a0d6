#pragma once
// Every number the studio plots over a run, in one table: its key (as metrics.jsonl spells it),
// its label, whether it comes from the logged steps or from the evaluations, and how to read it.
// The Training charts, their CSV export and the Runs overlay all draw from this table.
#include <QString>
#include <vector>

#include "run/events.h"

namespace moekd::ui {

struct MetricField {
  enum class Source { Step, Evaluation };
  enum Chart { NoChart = -1, Losses = 0, LearningRate = 1, GradNorm = 2, Throughput = 3, OnPolicy = 4 };
  const char* key;
  const char* label;     // lower case, as in a legend: "train loss"
  Source source;
  double (*step)(const moekd::StepMetrics&);        // Source::Step
  double (*evaluation)(const moekd::EvalResult&);   // Source::Evaluation
  Chart chart;           // where the Training view draws it (steps only)
  int color;             // seriesColor() index
  bool overlay;          // offered by the Runs overlay
  double scale = 1.0;    // 100 for shares shown as percent
  const char* unit = "";
  bool right_axis = false;  // on its chart's right axis: another scale than the chart's main one

  double value(const moekd::StepMetrics& m) const { return step(m) * scale; }
  double value(const moekd::EvalResult& r) const { return evaluation(r) * scale; }
  // "Train loss", "ROUGE-L (%)": for combo boxes and axis titles.
  QString title() const;
};

const std::vector<MetricField>& metricFields();
const MetricField* metricField(const QString& key);  // nullptr for an unknown key

}  // namespace moekd::ui
