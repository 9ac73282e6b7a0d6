#pragma once
// An export in Hugging Face format on a thread of its own, in the pattern of EngineWorker: the
// worker lives in a QThread, export() runs there (queued from the GUI thread), and progress and
// the outcome come back as queued signals.
#include <QObject>
#include <QString>

namespace moekd::ui {

class ExportWorker : public QObject {
  Q_OBJECT
 public:
  using QObject::QObject;

 public Q_SLOTS:
  // `which` is "best" or "last"; `tunedTeacher` exports SAR's teacher instead of the student.
  void exportRun(QString runDir, QString which, QString outDir, bool tunedTeacher);

 Q_SIGNALS:
  void progress(int done, int total, QString stage);
  void finished(QString summaryHtml, QString dir);
  void failed(QString message);
};

}  // namespace moekd::ui
