#pragma once
// Where the files the programs ship live (presets, the demo teacher): MOEKD_RESOURCES when set,
// next to an installed executable (<prefix>/share/moekd), or the source tree's resources/ for a
// program run from its build folder.
#include <string>

namespace moekd {

// The path of `name` (e.g. "demo-teacher", "presets/demo-teacher.json"); throws Error listing the
// places it looked when none holds it.
std::string find_resource(const std::string& name);

}  // namespace moekd
