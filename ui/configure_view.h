#pragma once
// The run's forms. Every edit rebuilds the run-config JSON (exactly what the CLI reads) from the
// form's field table (config_bindings.h) and validates it with the engine's own checks
// (check_run_config: every problem at once); each problem shows beside its field in words
// (field_marks.h), all of them in the header, and validityChanged() drives the Start button. Defaults come from
// the engine; fields the forms do not show (e.g. distill.jsd_beta) keep the values of the loaded
// config or preset.
#include <QByteArray>
#include <QString>
#include <QWidget>
#include <memory>
#include <nlohmann/json.hpp>

#include "config_bindings.h"

class QComboBox;
class QGridLayout;
class QGroupBox;
class QScrollArea;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace moekd::ui {

class DataPreview;
class FieldMarks;
class StudentForm;

class ConfigureView : public QWidget {
  Q_OBJECT
 public:
  explicit ConfigureView(QWidget* parent = nullptr);
  ~ConfigureView() override;

  // Fills the forms from a run config (valid or not, e.g. a preset whose paths are still empty).
  void setConfig(const nlohmann::json& config);
  // Presets: "demo-teacher" and "paper-like" (compiled into the studio), and the demo's students
  // "demo-sft", "demo-kd", "demo-ka", "demo-sar" (the engine's recipe, distilled from the
  // workspace's latest teacher run or else the shipped demo teacher). Their run folders go into
  // the workspace once one is set; one that already trained gets a fresh sibling (kd-2).
  bool loadPreset(const QString& name);
  // Where presets put their runs (the Runs view's folder); empty: as the preset says (runs/...).
  void setWorkspace(const QString& dir);
  // The model folder of the workspace's newest train-teacher run that has a checkpoint; empty if none.
  QString latestTeacher() const;
  bool loadFile(const QString& path, QString* error = nullptr);
  bool saveFile(const QString& path, QString* error = nullptr) const;

  bool isValid() const { return valid_; }
  const FieldMarks& marks() const { return *marks_; }
  // Every problem in words, one per line (each also shows beside its field); or "valid: ...".
  QString validationMessage() const { return message_; }
  // The normalised config (to_json(parse_run_config(...))) when valid; else the raw form JSON.
  nlohmann::json config() const;
  QByteArray configJson() const { return QByteArray::fromStdString(config().dump(2)); }
  int totalSteps() const;
  // How many processes Start trains on (1: inside the studio; more: `moekd distill --nproc N`).
  int processes() const;
  // Validates again (the run folder may have filled since the last edit).
  void recheck() { revalidate(); }

 Q_SIGNALS:
  void validityChanged(bool valid);
  void configChanged();

 protected:
  void resizeEvent(QResizeEvent* event) override;

 private:
  void arrangeColumns(int count);  // 3 side by side, 2 with the third under the second, or 1
  QWidget* buildRunGroup();
  QWidget* buildTeacherGroup();
  QWidget* buildDataGroup();
  QWidget* buildDistillGroups();
  QWidget* buildOnPolicyGroup();
  QWidget* buildTrainGroups();

  nlohmann::json buildJson() const;
  void populate();
  void onEdited();
  void revalidate();
  void updateMethodState();
  void inspectTeacher(bool userChoice);
  void showInline(QLabel* label, const QString& text, bool error);
  void updateProcessesNote();

  nlohmann::json base_;        // the loaded config with every field; the forms overwrite theirs
  nlohmann::json normalized_;  // valid: the engine's normalised config
  bool valid_ = false;
  bool populating_ = false;
  bool presetUntouched_ = false;  // a preset on show, not edited since
  QString workspace_;
  QString message_;
  ConfigBindings fields_;  // every field but the student's (StudentForm)
  std::unique_ptr<FieldMarks> marks_;  // problems shown beside their fields

  QComboBox* preset_ = nullptr;
  QScrollArea* scroll_ = nullptr;
  QGridLayout* columns_ = nullptr;
  QWidget *col1_ = nullptr, *col2_ = nullptr, *col3_ = nullptr;
  int columnCount_ = 0;
  QLabel* status_ = nullptr;
  QLineEdit* name_ = nullptr;
  QString nameBefore_;          // the name before the user's edit (the run folder follows it)
  QLabel* runWhere_ = nullptr;  // the run folder, absolute
  QComboBox* method_ = nullptr;
  QGroupBox* teacherBox_ = nullptr;
  QLineEdit* teacherPath_ = nullptr;
  QLabel* teacherInfo_ = nullptr;
  StudentForm* student_ = nullptr;
  QSpinBox* steps_ = nullptr;
  QSpinBox* processes_ = nullptr;
  QLabel* processesNote_ = nullptr;
  QComboBox* dataKind_ = nullptr;
  QLineEdit* tokenizer_ = nullptr;
  QWidget* dataPathRow_ = nullptr;
  DataPreview* preview_ = nullptr;
  QGroupBox *distillBox_ = nullptr, *kaBox_ = nullptr, *sarBox_ = nullptr, *evalBox_ = nullptr,
            *onPolicyBox_ = nullptr;
};

}  // namespace moekd::ui
