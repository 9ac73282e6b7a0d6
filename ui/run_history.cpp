#include "run_history.h"

#include <QDir>
#include <QFileInfo>

namespace moekd::ui {

QString statusName(moekd::RunStatus s) { return QString::fromLatin1(moekd::run_status_name(s)); }

bool isRunFolder(const QString& dir) { return moekd::is_run_dir(dir.toStdString()); }

RunHistory loadRunHistory(const QString& dir, moekd::RunDetail detail) {
  RunHistory h;
  static_cast<moekd::RunRecord&>(h) = moekd::load_run(dir.toStdString(), detail);
  const QFileInfo metrics(QString::fromStdString(moekd::RunFolder(dir.toStdString()).metrics().string()));
  if (metrics.exists()) h.modified = metrics.lastModified();
  return h;
}

}  // namespace moekd::ui
