#pragma once
// The run's forms. Every edit rebuilds the run-config JSON (exactly what the CLI reads) and
// validates it with the engine's own parser; the message of the first problem shows next to the
// form and validityChanged() drives the Start button. Fields the forms do not show (e.g.
// distill.jsd_beta) keep the values of the loaded config or preset.
#include <QByteArray>
#include <QString>
#include <QWidget>
#include <nlohmann/json.hpp>

class QComboBox;
class QLabel;
class QLineEdit;
class QSpinBox;
class QGroupBox;
class QStackedWidget;
class QTableWidget;
class QTimer;
class QPushButton;

namespace moekd::ui {

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
  QWidget* buildStudentGroup();
  QWidget* buildDataGroup();
  QWidget* buildDistillGroups();
  QWidget* buildTrainGroups();
  QLineEdit* lineEdit(const char* key, const QString& placeholder = {});
  QSpinBox* spinBox(const char* key, int lo, int hi);
  QComboBox* comboBox(const char* key, const QStringList& items);
  QWidget* withBrowse(QLineEdit* edit, bool directory, const QString& filter = {});

  nlohmann::json buildJson() const;
  void populate();
  void onEdited();
  void revalidate();
  void updateMethodState();
  void inspectTeacher(bool userChoice);
  void inspectStudentFolder();
  void updateDataPreview();
  void showInline(QLabel* label, const QString& text, bool error);

  nlohmann::json base_;        // the loaded config with every field; the forms overwrite theirs
  nlohmann::json normalized_;  // valid: the engine's normalised config
  bool valid_ = false;
  bool populating_ = false;
  QString message_;
  QString previewKey_;

  QComboBox* preset_ = nullptr;
  QLabel* status_ = nullptr;
  // run
  QLineEdit *name_ = nullptr, *runDir_ = nullptr;
  QComboBox* method_ = nullptr;
  // teacher
  QGroupBox* teacherBox_ = nullptr;
  QLineEdit* teacherPath_ = nullptr;
  QLabel* teacherInfo_ = nullptr;
  // student
  QGroupBox* studentBox_ = nullptr;
  QComboBox* studentSource_ = nullptr;
  QStackedWidget* studentPages_ = nullptr;
  QLineEdit* studentPath_ = nullptr;
  QLabel* studentInfo_ = nullptr;
  QComboBox* studentArch_ = nullptr;
  QSpinBox *hidden_ = nullptr, *layers_ = nullptr, *heads_ = nullptr, *kvHeads_ = nullptr, *intermediate_ = nullptr,
           *experts_ = nullptr, *topK_ = nullptr, *vocab_ = nullptr;
  // data
  QComboBox* dataKind_ = nullptr;
  QLineEdit *dataPath_ = nullptr, *dataSeed_ = nullptr, *tokenizer_ = nullptr;
  QWidget* dataPathRow_ = nullptr;
  QSpinBox* maxLen_ = nullptr;
  QTableWidget* preview_ = nullptr;
  QLabel* previewInfo_ = nullptr;
  QTimer* previewTimer_ = nullptr;
  // distill, ka, sar
  QGroupBox *distillBox_ = nullptr, *kaBox_ = nullptr, *sarBox_ = nullptr, *evalBox_ = nullptr;
  QComboBox* divergence_ = nullptr;
  QLineEdit *alpha_ = nullptr, *temperature_ = nullptr;
  QSpinBox *kaM_ = nullptr, *kaKPrime_ = nullptr;
  QLineEdit* kaLambda_ = nullptr;
  QLineEdit* routerLr_ = nullptr;
  QComboBox *sarDirection_ = nullptr, *sarPolicy_ = nullptr;
  // train, eval
  QLineEdit *lr_ = nullptr, *trainSeed_ = nullptr;
  QComboBox *schedule_ = nullptr, *device_ = nullptr;
  QSpinBox *warmup_ = nullptr, *batch_ = nullptr, *steps_ = nullptr, *evalEvery_ = nullptr, *evalSamples_ = nullptr;
};

}  // namespace moekd::ui
