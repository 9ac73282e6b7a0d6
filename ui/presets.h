#pragma once
// The studio's presets: "demo-teacher" and "paper-like" (JSON compiled into the studio,
// resources/presets/) and the demo's students "demo-sft", "demo-kd", "demo-ka", "demo-sar",
// "demo-kd-on-policy", "demo-ka-on-policy" (the engine's recipe, run/demo_recipe.h, distilled from the workspace's latest teacher run or else
// the shipped demo teacher). With a workspace, a preset's run folder goes into it; one that
// already trained gets the first free sibling folder (demo-kd-2). The on-policy ones start from
// the workspace's latest sft run's student, as `moekd demo` starts them from its sft run's.
#include <QString>
#include <nlohmann/json.hpp>
#include <optional>

#include "run/settings.h"

namespace moekd::ui {

// The preset's run config; nothing for an unknown name.
std::optional<nlohmann::json> presetConfig(const QString& name, const QString& workspace);
// The model folder of the workspace's newest train-teacher run with a checkpoint (its best, else
// its last); empty when there is none.
QString latestTeacherModel(const QString& workspace);
// The same for the newest run of `method` (the on-policy demo presets start from the latest sft).
QString latestRunModel(const QString& workspace, moekd::Method method);

}  // namespace moekd::ui
