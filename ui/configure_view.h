#pragma once
// The run's forms. Every edit rebuilds the run-config JSON (exactly what the CLI reads) from the
// form's field table (config_bindings.h) and validates it with the engine's own parser; the first
// problem shows next to the form and validityChanged() drives the Start button. Defaults come from
// the engine; fields the forms do not show (e.g. distill.jsd_beta) keep the values of the loaded
// config or preset.
#include <QByteArray>
#include <QString>
#include <QWidget>
#include <memory>
#include <nlohmann/json.hpp>

#include "config_bindings.h"

class QComboBox;
class QGroupBox;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace moekd::ui {

class DataPreview;
class StudentForm;

class ConfigureView : public QWidget {
  Q_OBJECT
 public:
  explicit ConfigureView(QWidget* parent = nullptr);

  // Fills the forms from a run config (valid or not, e.g. a preset whose paths are still empty).
  void setConfig(const nlohmann::json& config);
  // Presets compiled into the studio: "demo-teacher", "paper-like".
  bool loadPreset(const QString& name);
  bool loadFile(const QString& path, QString* error = nullptr);
  bool saveFile(const QString& path, QString* error = nullptr) const;

  bool isValid() const { return valid_; }
  QString validationMessage() const { return message_; }
  // The normalised config (to_json(parse_run_config(...))) when valid; else the raw form JSON.
  nlohmann::json config() const;
  QByteArray configJson() const { return QByteArray::fromStdString(config().dump(2)); }
  int totalSteps() const;
  // Validates again (the run folder may have filled since the last edit).
  void recheck() { revalidate(); }

 Q_SIGNALS:
  void validityChanged(bool valid);
  void configChanged();

 private:
  QWidget* buildRunGroup();
  QWidget* buildTeacherGroup();
  QWidget* buildDataGroup();
  QWidget* buildDistillGroups();
  QWidget* buildTrainGroups();

  nlohmann::json buildJson() const;
  void populate();
  void onEdited();
  void revalidate();
  void updateMethodState();
  void inspectTeacher(bool userChoice);
  void showInline(QLabel* label, const QString& text, bool error);

  nlohmann::json base_;        // the loaded config with every field; the forms overwrite theirs
  nlohmann::json normalized_;  // valid: the engine's normalised config
  bool valid_ = false;
  bool populating_ = false;
  QString message_;
  ConfigBindings fields_;  // every field but the student's (StudentForm)

  QComboBox* preset_ = nullptr;
  QLabel* status_ = nullptr;
  QLineEdit* name_ = nullptr;
  QComboBox* method_ = nullptr;
  QGroupBox* teacherBox_ = nullptr;
  QLineEdit* teacherPath_ = nullptr;
  QLabel* teacherInfo_ = nullptr;
  StudentForm* student_ = nullptr;
  QSpinBox* steps_ = nullptr;
  QComboBox* dataKind_ = nullptr;
  QLineEdit* tokenizer_ = nullptr;
  QWidget* dataPathRow_ = nullptr;
  DataPreview* preview_ = nullptr;
  QGroupBox *distillBox_ = nullptr, *kaBox_ = nullptr, *sarBox_ = nullptr, *evalBox_ = nullptr;
};

}  // namespace moekd::ui
