#pragma once
// The studio's view of a run folder: the engine's RunRecord (engine/run/run_record.h, shared
// with `moekd runs`) plus when its metrics.jsonl was last written.
#include <QDateTime>
#include <QString>

#include "qstr.h"
#include "run/run_record.h"

namespace moekd::ui {

struct RunHistory : moekd::RunRecord {
  QDateTime modified;  // invalid when the run has no metrics.jsonl yet
};

// Throws moekd::Error naming the file (and the line) when `dir` is not a run or is damaged.
RunHistory loadRunHistory(const QString& dir, moekd::RunDetail detail = moekd::RunDetail::Full);

bool isRunFolder(const QString& dir);
QString statusName(moekd::RunStatus s);

}  // namespace moekd::ui
