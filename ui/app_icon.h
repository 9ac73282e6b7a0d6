#pragma once
#include <QIcon>

namespace moekd::ui {
// The studio's icon, drawn with QPainter (Debian's Qt 6 base has no SVG module): a router node
// fanning out to a 2x2 grid of experts, two of them lit, as a top-2 MoE routes a token.
QIcon appIcon();
}  // namespace moekd::ui
