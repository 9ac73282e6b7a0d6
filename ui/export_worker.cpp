#include "export_worker.h"

#include <QLocale>

#include "export/export.h"

namespace moekd::ui {

namespace {

QString paramsText(int64_t n) {
  const QString exact = QLocale::system().toString(static_cast<qlonglong>(n));
  if (n >= 1'000'000'000) return QString("%1 (%2 B)").arg(exact).arg(n / 1e9, 0, 'f', 2);
  if (n >= 1'000'000) return QString("%1 (%2 M)").arg(exact).arg(n / 1e6, 0, 'f', 2);
  return exact;
}

QString summaryHtml(const moekd::ExportSummary& s) {
  const QLocale locale = QLocale::system();
  QString rows;
  qint64 total = 0;
  for (const auto& [name, bytes] : s.files) {
    rows += QString("<tr><td>%1</td><td align='right'>&nbsp;&nbsp;%2</td></tr>")
                .arg(QString::fromStdString(name).toHtmlEscaped(), locale.formattedDataSize(static_cast<qint64>(bytes)));
    total += static_cast<qint64>(bytes);
  }
  return QObject::tr("<b>Exported</b> %1 with %2 parameters to<br><code>%3</code><br>"
                     "<table>%4<tr><td><b>total</b></td><td align='right'><b>%5</b></td></tr></table>")
      .arg(QString::fromStdString(s.architecture).toHtmlEscaped(), paramsText(s.params),
           QString::fromStdString(s.dir).toHtmlEscaped(), rows, locale.formattedDataSize(total));
}

}  // namespace

void ExportWorker::exportRun(QString runDir, QString which, QString outDir, bool tunedTeacher) {
  auto report = [this](int done, int total, const std::string& stage) {
    Q_EMIT progress(done, total, QString::fromStdString(stage));
  };
  try {
    const auto checkpoint = moekd::parse_name<moekd::Checkpoint>(which.toStdString());
    const auto run = runDir.toStdString(), out = outDir.toStdString();
    const moekd::ExportSummary s = tunedTeacher ? moekd::export_tuned_teacher(run, checkpoint, out, report)
                                                : moekd::export_student(run, checkpoint, out, report);
    Q_EMIT finished(summaryHtml(s), QString::fromStdString(s.dir));
  } catch (const std::exception& e) {
    Q_EMIT failed(QString::fromUtf8(e.what()));
  }
}

}  // namespace moekd::ui
