#pragma once
// The engine speaks std::string (UTF-8); the widgets QString.
#include <QString>
#include <string>

namespace moekd::ui {
inline QString qstr(const std::string& s) { return QString::fromStdString(s); }
}  // namespace moekd::ui
