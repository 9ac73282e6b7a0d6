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

}  // namespace moekd::ui
