#include "reveal_folder.h"
#include "export_dialog.h"

#include <QComboBox>
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
#include <QVBoxLayout>
#include <exception>

#include "inline_message.h"
#include "export_worker.h"
#include "run_history.h"

namespace moekd::ui {

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
          [this] { revealFolder(this, exportedDir_); });
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
  worker_ = new ExportWorker;
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  connect(worker_, &ExportWorker::progress, this, [this](int done, int total, const QString& stage) {
    progress_->setRange(0, total);
    progress_->setValue(done);
    stage_->setText(stage == "done" ? tr("Done.") : stage[0].toUpper() + stage.mid(1) + "…");
  });
  connect(worker_, &ExportWorker::finished, this, &ExportDialog::onDone);
  connect(worker_, &ExportWorker::failed, this, &ExportDialog::onFailed);
  thread_.setObjectName("moekd-export");
  thread_.start();
  setRun(runDir);
}

ExportDialog::~ExportDialog() {
  thread_.quit();  // takes effect once an export in flight has written its files
  thread_.wait();
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
      // The engine's rule for which evaluation the best checkpoint keeps (run/run_folder.h).
      int64_t samples = moekd::EvalConfig{}.samples;
      if (const auto eval = h.config.find("eval"); eval != h.config.end() && eval->is_object())
        samples = eval->value("samples", samples);
      const QString bestLabel = tr("best: %1").arg(QString::fromLatin1(moekd::best_checkpoint_rule(samples)));
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

  busy_ = true;
  setBusy(true);  // before the export starts: disabling a focused field re-reads the run otherwise
  QMetaObject::invokeMethod(worker_, "exportRun", Qt::QueuedConnection, Q_ARG(QString, runDir), Q_ARG(QString, which),
                            Q_ARG(QString, out), Q_ARG(bool, teacher));
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
  busy_ = false;
  setBusy(false);
  ++done_;
  exportedDir_ = dir;
  summary_->setText(summary);
  openFolder_->setEnabled(true);
  Q_EMIT exported(dir);
}

void ExportDialog::onFailed(const QString& error) {
  busy_ = false;
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
