#pragma once
// The one place the studio keeps the data of the run it shows (as PlotJuggler keeps one store that
// sources write and plots read). Two sources fill it: the engine worker appends a live run's events
// as they arrive, and opening a run replays its metrics.jsonl. The views hold a pointer to the
// store, read what they draw from it, and redraw on its signals; none keeps a copy.
#include <QObject>
#include <QString>
#include <QStringList>
#include <optional>
#include <vector>

#include "run/events.h"
#include "run/run_record.h"

namespace moekd::ui {

class RunStore : public QObject {
  Q_OBJECT
 public:
  explicit RunStore(QObject* parent = nullptr);

  // Sources.
  void clear(const QString& method = {});   // a new run of `method` ("kd", ...); emits reset()
  void load(const moekd::RunRecord& record);  // a run from disk; emits reset()
  void addStep(const moekd::StepMetrics& m);
  void addEvaluation(const moekd::EvalResult& r);
  void addRouting(const moekd::RoutingSnapshot& s);
  void setGeneration(const moekd::GenerationSample& g);  // on-policy runs: the latest written answer

  // Readers.
  QString method() const { return method_; }  // the run's method; empty when unknown
  const std::vector<moekd::StepMetrics>& steps() const { return steps_; }
  const std::vector<moekd::EvalResult>& evaluations() const { return evals_; }
  const std::vector<moekd::RoutingSnapshot>& routing() const { return routing_; }
  // The models that sent routing snapshots ("teacher", "student"), in order of their first one.
  QStringList routingModels() const { return models_; }
  const moekd::RoutingSnapshot* firstRouting(const QString& model) const;
  const moekd::RoutingSnapshot* latestRouting(const QString& model) const;
  int routingCount(const QString& model) const;
  const std::optional<moekd::GenerationSample>& generation() const { return generation_; }

 Q_SIGNALS:
  void reset();  // everything may have changed: views redraw from scratch
  void stepAdded();
  void evaluationAdded();
  void routingAdded(const QString& model);
  void generationChanged();

 private:
  std::vector<moekd::StepMetrics> steps_;
  std::vector<moekd::EvalResult> evals_;
  std::vector<moekd::RoutingSnapshot> routing_;
  std::optional<moekd::GenerationSample> generation_;
  QStringList models_;
  QString method_;
};

}  // namespace moekd::ui
