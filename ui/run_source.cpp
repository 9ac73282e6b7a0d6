#include "run_source.h"

namespace moekd::ui {

void RunSource::registerMetaTypes() {
  qRegisterMetaType<moekd::StepMetrics>("moekd::StepMetrics");
  qRegisterMetaType<moekd::RoutingSnapshot>("moekd::RoutingSnapshot");
  qRegisterMetaType<moekd::GenerationSample>("moekd::GenerationSample");
  qRegisterMetaType<moekd::EvalResult>("moekd::EvalResult");
  qRegisterMetaType<moekd::CheckpointSaved>("moekd::CheckpointSaved");
  qRegisterMetaType<moekd::RunFinished>("moekd::RunFinished");
  qRegisterMetaType<moekd::ui::RunSource::State>("moekd::ui::RunSource::State");
}

QString failureText(const moekd::RunFailed& e) {
  const QString text = QString::fromStdString(e.message);
  if (e.step <= 0 || text.startsWith("step ") || text.startsWith("rank ")) return text;
  return RunSource::tr("After step %1: %2").arg(e.step).arg(text);
}

}  // namespace moekd::ui
