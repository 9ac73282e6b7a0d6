#pragma once
// A label that says what is wrong (or right) next to a form: errors in a red that keeps its
// contrast on light and dark windows (Qt's palette has no error role).
#include <QColor>
#include <QLabel>
#include <QPalette>

namespace moekd::ui {

inline void showInlineMessage(QLabel* label, const QString& text, bool error, const QPalette& base) {
  label->setText(text);
  QPalette pal = base;
  if (error) {
    const bool dark = pal.color(QPalette::Window).lightnessF() < 0.5;
    pal.setColor(QPalette::WindowText, dark ? QColor(0xff, 0x8a, 0x80) : QColor(0xc6, 0x28, 0x28));
  }
  label->setPalette(pal);
}

}  // namespace moekd::ui
