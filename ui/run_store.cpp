#include "run_store.h"

namespace moekd::ui {

RunStore::RunStore(QObject* parent) : QObject(parent) {}

void RunStore::clear(const QString& method) {
  method_ = method;
  steps_.clear();
  evals_.clear();
  routing_.clear();
  generation_.reset();
  models_.clear();
  Q_EMIT reset();
}

void RunStore::load(const moekd::RunRecord& record) {
  steps_ = record.steps;
  evals_ = record.evals;
  routing_ = record.routing;
  generation_ = record.generation;
  method_ = record.config.is_object() ? QString::fromStdString(record.config.value("method", std::string())) : QString();
  models_.clear();
  for (const auto& s : routing_)
    if (!models_.contains(QString::fromStdString(s.model))) models_ << QString::fromStdString(s.model);
  Q_EMIT reset();
}

void RunStore::addStep(const moekd::StepMetrics& m) {
  // A resumed run repeats the steps after its last checkpoint: the later record wins, as on disk.
  while (!steps_.empty() && steps_.back().step >= m.step) steps_.pop_back();
  steps_.push_back(m);
  Q_EMIT stepAdded();
}

void RunStore::addEvaluation(const moekd::EvalResult& r) {
  evals_.push_back(r);
  Q_EMIT evaluationAdded();
}

void RunStore::addRouting(const moekd::RoutingSnapshot& s) {
  routing_.push_back(s);
  const QString model = QString::fromStdString(s.model);
  if (!models_.contains(model)) models_ << model;
  Q_EMIT routingAdded(model);
}

void RunStore::setGeneration(const moekd::GenerationSample& g) {
  generation_ = g;
  Q_EMIT generationChanged();
}

const moekd::RoutingSnapshot* RunStore::firstRouting(const QString& model) const {
  const std::string m = model.toStdString();
  for (const auto& s : routing_)
    if (s.model == m) return &s;
  return nullptr;
}

const moekd::RoutingSnapshot* RunStore::latestRouting(const QString& model) const {
  const std::string m = model.toStdString();
  for (auto it = routing_.rbegin(); it != routing_.rend(); ++it)
    if (it->model == m) return &*it;
  return nullptr;
}

int RunStore::routingCount(const QString& model) const {
  const std::string m = model.toStdString();
  int n = 0;
  for (const auto& s : routing_) n += s.model == m;
  return n;
}

}  // namespace moekd::ui
