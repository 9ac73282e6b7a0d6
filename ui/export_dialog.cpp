#include "export_dialog.h"

#include <QComboBox>
#include <QDesktopServices>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QThread>
#include <QUrl>
#include <QVBoxLayout>
#include <exception>

#include "inline_message.h"
#include "io/export.h"
#include "run_history.h"

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

ExportDialog::ExportDialog(const QString& runDir, QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("Export in Hugging Face format"));
  setMinimumWidth(620);

  run_ = new QLineEdit;
  run_->setObjectName("exportRun");
  auto* browseRun = new QPushButton(tr("Browse…"));
  connect(browseRun, &QPushButton::clicked, this, [this] {
    const QString d = QFileDialog::getExistingDirectory(this, tr("Run folder"), run_->text());
    if (!d.isEmpty()) setRun(d);
  });
  connect(run_, &QLineEdit::editingFinished, this, &ExportDialog::readRun);
  runInfo_ = new QLabel;
  runInfo_->setWordWrap(true);

  student_ = new QRadioButton(tr("Student"));
  student_->setToolTip(tr("config.json, model.safetensors, generation_config.json and the tokenizer"));
  teacher_ = new QRadioButton(tr("Teacher with its SAR-tuned routers"));
  teacher_->setToolTip(tr("Only SAR runs train the teacher's routers; every other teacher weight is the original"));
  student_->setChecked(true);
  connect(student_, &QRadioButton::toggled, this, &ExportDialog::suggestOutput);
  checkpoint_ = new QComboBox;
  checkpoint_->setObjectName("exportCheckpoint");

  output_ = new QLineEdit;
  output_->setObjectName("exportOutput");
  connect(output_, &QLineEdit::textEdited, this, [this] { outputEdited_ = true; });
  auto* browseOut = new QPushButton(tr("Browse…"));
  connect(browseOut, &QPushButton::clicked, this, [this] {
    const QString d = QFileDialog::getExistingDirectory(this, tr("Export folder"), output_->text());
    if (!d.isEmpty()) setOutput(d);
  });

  auto row = [](QWidget* edit, QWidget* button) {
    auto* w = new QWidget;
    auto* l = new QHBoxLayout(w);
    l->setContentsMargins(0, 0, 0, 0);
    l->addWidget(edit, 1);
    l->addWidget(button);
    return w;
  };
  auto* whatBox = new QWidget;
  auto* whatLayout = new QVBoxLayout(whatBox);
  whatLayout->setContentsMargins(0, 0, 0, 0);
  whatLayout->addWidget(student_);
  whatLayout->addWidget(teacher_);

  auto* form = new QFormLayout;
  form->addRow(tr("Run folder"), row(run_, browseRun));
  form->addRow(QString(), runInfo_);
  form->addRow(tr("Model"), whatBox);
  form->addRow(tr("Checkpoint"), checkpoint_);
  form->addRow(tr("Export to"), row(output_, browseOut));

  progress_ = new QProgressBar;
  progress_->setRange(0, 4);
  progress_->setValue(0);
  stage_ = new QLabel;
  message_ = new QLabel;
  message_->setWordWrap(true);
  message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  summary_ = new QLabel;
  summary_->setObjectName("exportSummary");
  summary_->setTextFormat(Qt::RichText);
  summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  summary_->setWordWrap(true);

  exportButton_ = new QPushButton(tr("Export"));
  exportButton_->setDefault(true);
  openFolder_ = new QPushButton(tr("Open folder"));
  openFolder_->setEnabled(false);
  close_ = new QPushButton(tr("Close"));
  connect(exportButton_, &QPushButton::clicked, this, &ExportDialog::startExport);
  connect(openFolder_, &QPushButton::clicked, this,
          [this] { QDesktopServices::openUrl(QUrl::fromLocalFile(exportedDir_)); });
  connect(close_, &QPushButton::clicked, this, &ExportDialog::reject);
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(openFolder_);
  buttons->addStretch(1);
  buttons->addWidget(exportButton_);
  buttons->addWidget(close_);

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(progress_);
  layout->addWidget(stage_);
  layout->addWidget(message_);
  layout->addWidget(summary_, 1);
  layout->addLayout(buttons);
  setRun(runDir);
}

ExportDialog::~ExportDialog() {
  if (!thread_) return;
  thread_->wait();  // lets the export finish its files; its queued reports die with the dialog
  delete thread_;
}

void ExportDialog::setRun(const QString& dir) {
  run_->setText(QDir::toNativeSeparators(dir));
  readRun();
}

void ExportDialog::setOutput(const QString& dir) {
  output_->setText(QDir::toNativeSeparators(dir));
  outputEdited_ = true;
}

void ExportDialog::setTunedTeacher(bool on) { (on ? teacher_ : student_)->setChecked(true); }

bool ExportDialog::setCheckpoint(const QString& which) {
  const int i = checkpoint_->findData(which);
  if (i >= 0) checkpoint_->setCurrentIndex(i);
  return i >= 0;
}

QString ExportDialog::message() const { return message_->text(); }
QString ExportDialog::summaryText() const { return summary_->text(); }
QString ExportDialog::outputDir() const { return QDir::fromNativeSeparators(output_->text().trimmed()); }

void ExportDialog::readRun() {
  if (busy()) return;
  checkpoint_->clear();
  runReadable_ = false;
  runMethod_.clear();
  const QString dir = QDir::fromNativeSeparators(run_->text().trimmed());
  if (dir.isEmpty()) {
    runInfo_->setText(tr("Choose a run folder (it holds config.json, metrics.jsonl and checkpoints/)."));
  } else {
    try {
      const RunHistory h = loadRunHistory(dir, moekd::RunDetail::Summary);
      const RunSummary& s = h.summary;
      runMethod_ = qstr(s.method);
      qint64 bestStep = -1, lastStep = -1;
      for (const auto& c : h.checkpoints) (c.best ? bestStep : lastStep) = c.step;
      // The engine keeps as best the evaluation with the highest ROUGE-L when it generates
      // samples, else the one with the lowest validation loss.
      const auto eval = h.config.find("eval");
      const bool byRouge = eval == h.config.end() || !eval->is_object() || eval->value("samples", 1) > 0;
      const QString bestLabel = byRouge ? tr("best: highest ROUGE-L") : tr("best: lowest validation loss");
      if (s.has_best)
        checkpoint_->addItem(bestStep >= 0 ? tr("%1 (step %2)").arg(bestLabel).arg(bestStep) : bestLabel,
                             QStringLiteral("best"));
      if (s.has_last)
        checkpoint_->addItem(lastStep >= 0 ? tr("last (step %1)").arg(lastStep) : tr("last"), QStringLiteral("last"));
      runReadable_ = s.has_best || s.has_last;
      runInfo_->setText(runReadable_ ? tr("%1: %2 run, %3, step %4 of %5.")
                                           .arg(qstr(s.name), qstr(s.method), statusName(s.status))
                                           .arg(s.step)
                                           .arg(s.total_steps)
                                     : tr("%1 has no checkpoint yet: a run writes checkpoints/last when it "
                                          "ends or is stopped.")
                                           .arg(dir));
    } catch (const std::exception& e) {
      runInfo_->setText(QString::fromUtf8(e.what()));
    }
  }
  const bool sar = runMethod_ == "sar";
  teacher_->setEnabled(sar);
  if (!sar) student_->setChecked(true);
  exportButton_->setEnabled(runReadable_ && !busy());
  suggestOutput();
}

void ExportDialog::suggestOutput() {
  if (outputEdited_) return;
  const QString dir = QDir::fromNativeSeparators(run_->text().trimmed());
  if (dir.isEmpty()) return;
  output_->setText(QDir::toNativeSeparators(QDir(dir).filePath(teacher_->isChecked() ? "export/teacher-sar" : "export/student")));
}

void ExportDialog::showMessage(const QString& text, bool error) { showInlineMessage(message_, text, error, palette()); }

bool ExportDialog::startExport() {
  if (busy()) return false;
  const QString runDir = QDir::fromNativeSeparators(run_->text().trimmed());
  const QString out = outputDir();
  const QString which = checkpoint_->currentData().toString();
  if (!runReadable_ || which.isEmpty()) {
    showMessage(tr("Run folder: %1").arg(runInfo_->text()), true);
    return false;
  }
  if (out.isEmpty()) {
    showMessage(tr("Export to: choose a folder for the exported model."), true);
    return false;
  }
  if (QDir::cleanPath(QDir(out).absolutePath()) == QDir::cleanPath(QDir(runDir).absolutePath())) {
    showMessage(tr("Export to: choose a folder other than the run folder itself."), true);
    return false;
  }
  if (isRunFolder(out)) {
    showMessage(tr("Export to: %1 is a run folder; exporting there would replace its config.json.").arg(out), true);
    return false;
  }
  if (QFileInfo(out).exists() && !QFileInfo(out).isDir()) {
    showMessage(tr("Export to: %1 is a file, not a folder.").arg(out), true);
    return false;
  }
  const bool teacher = teacher_->isChecked();
  const bool replacing = QFileInfo(QDir(out).filePath("config.json")).exists();
  summary_->clear();
  showMessage(replacing ? tr("%1 already holds a model: its files are replaced.").arg(out) : QString(), false);
  progress_->setValue(0);
  openFolder_->setEnabled(false);

  const std::string run = runDir.toStdString(), ckpt = which.toStdString(), dest = out.toStdString();
  thread_ = QThread::create([this, run, ckpt, dest, teacher] {
    auto progress = [this](int done, int total, const std::string& stage) {
      const QString text = QString::fromStdString(stage);
      QMetaObject::invokeMethod(this, [this, done, total, text] {
        progress_->setRange(0, total);
        progress_->setValue(done);
        stage_->setText(text == "done" ? tr("Done.") : text[0].toUpper() + text.mid(1) + "…");
      }, Qt::QueuedConnection);
    };
    try {
      const moekd::ExportSummary s = teacher ? moekd::export_tuned_teacher(run, ckpt, dest, progress)
                                             : moekd::export_student(run, ckpt, dest, progress);
      const QString html = summaryHtml(s), dir = QString::fromStdString(s.dir);
      QMetaObject::invokeMethod(this, [this, html, dir] { onDone(html, dir); }, Qt::QueuedConnection);
    } catch (const std::exception& e) {
      const QString error = QString::fromUtf8(e.what());
      QMetaObject::invokeMethod(this, [this, error] { onFailed(error); }, Qt::QueuedConnection);
    }
  });
  setBusy(true);  // after thread_ is set: disabling a focused field re-reads the run otherwise
  thread_->start();
  return true;
}

void ExportDialog::setBusy(bool on) {
  exportButton_->setEnabled(!on && runReadable_);
  close_->setEnabled(!on);
  for (QWidget* w : {static_cast<QWidget*>(run_), static_cast<QWidget*>(output_), static_cast<QWidget*>(checkpoint_),
                     static_cast<QWidget*>(student_)})
    w->setEnabled(!on);
  teacher_->setEnabled(!on && runMethod_ == "sar");
}

void ExportDialog::onDone(const QString& summary, const QString& dir) {
  thread_->wait();
  delete thread_;
  thread_ = nullptr;
  setBusy(false);
  ++done_;
  exportedDir_ = dir;
  summary_->setText(summary);
  openFolder_->setEnabled(true);
  Q_EMIT exported(dir);
}

void ExportDialog::onFailed(const QString& error) {
  thread_->wait();
  delete thread_;
  thread_ = nullptr;
  setBusy(false);
  progress_->setValue(0);
  stage_->clear();
  showMessage(tr("Export failed: %1").arg(error), true);
}

void ExportDialog::reject() {
  if (busy()) return;  // the files are half written; the export takes seconds
  QDialog::reject();
}

}  // namespace moekd::ui
