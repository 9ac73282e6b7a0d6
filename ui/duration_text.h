#pragma once
// "0.8s", "42s", "3m07s", "1h05m": run times in the status bar and the Runs table.
#include <QChar>
#include <QString>

namespace moekd::ui {

inline QString durationText(double seconds) {
  if (seconds < 9.95) return QString("%1s").arg(seconds, 0, 'f', 1);
  const qint64 s = static_cast<qint64>(seconds + 0.5);
  if (s >= 3600) return QString("%1h%2m").arg(s / 3600).arg((s % 3600) / 60, 2, 10, QChar('0'));
  if (s >= 60) return QString("%1m%2s").arg(s / 60).arg(s % 60, 2, 10, QChar('0'));
  return QString("%1s").arg(s);
}

}  // namespace moekd::ui
