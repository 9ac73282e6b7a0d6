#pragma once
// Exports a run in Hugging Face format: the student, or for SAR runs the teacher with its tuned
// routers, from the best or last checkpoint. The export runs on an ExportWorker's thread with a
// progress bar and ends with a summary (architecture, parameters, files and sizes) and a button
// that opens the folder. Closing is refused while files are being written.
#include <QDialog>
#include <QString>
#include <QThread>

class QButtonGroup;
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QRadioButton;

namespace moekd::ui {

class ExportWorker;

class ExportDialog : public QDialog {
  Q_OBJECT
 public:
  explicit ExportDialog(const QString& runDir, QWidget* parent = nullptr);
  ~ExportDialog() override;  // lets an export in flight finish its files

  void setRun(const QString& dir);
  void setOutput(const QString& dir);
  void setTunedTeacher(bool on);  // false: the student
  bool setCheckpoint(const QString& which);  // "best" or "last"; false when the run has none

  // Starts the export; false (with the reason in message()) when the inputs are not usable.
  bool startExport();
  bool busy() const { return busy_; }
  int exportsDone() const { return done_; }
  QString message() const;
  QString summaryText() const;
  QString outputDir() const;
  QPushButton* exportButton() const { return exportButton_; }
  QPushButton* openFolderButton() const { return openFolder_; }
  QRadioButton* teacherChoice() const { return teacher_; }
  QComboBox* checkpointChoice() const { return checkpoint_; }

 Q_SIGNALS:
  void exported(const QString& dir);

 public Q_SLOTS:
  void reject() override;

 private:
  void readRun();
  void suggestOutput();
  void setBusy(bool on);
  void showMessage(const QString& text, bool error);
  void onDone(const QString& summaryHtml, const QString& dir);
  void onFailed(const QString& error);

  QLineEdit *run_ = nullptr, *output_ = nullptr;
  QLabel* runInfo_ = nullptr;
  QRadioButton *student_ = nullptr, *teacher_ = nullptr;
  QComboBox* checkpoint_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QLabel *stage_ = nullptr, *message_ = nullptr, *summary_ = nullptr;
  QPushButton *exportButton_ = nullptr, *openFolder_ = nullptr, *close_ = nullptr;
  QThread thread_;
  ExportWorker* worker_ = nullptr;
  bool busy_ = false;
  QString runMethod_, exportedDir_;
  bool runReadable_ = false, outputEdited_ = false, settingOutput_ = false;
  int done_ = 0;
};

}  // namespace moekd::ui
