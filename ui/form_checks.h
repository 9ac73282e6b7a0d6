#pragma once
// What Configure checks before Start: every problem the engine's parser finds
// (check_run_config), a fresh student's shape as the engine will build it, the run folder, and
// the files and folders the run would open; each problem keyed by its field, so that the form
// shows it beside the widget (field_marks.h).
#include <nlohmann/json.hpp>
#include <vector>

#include "run/run_config.h"

namespace moekd::ui {

// `parsed` receives what could be read (a field with a problem keeps its default).
std::vector<moekd::ConfigProblem> checkForm(const nlohmann::json& config, moekd::RunConfig* parsed);

}  // namespace moekd::ui
