#pragma once
// The run's student (for train-teacher: the model to train): a fresh model of a shape set here, or
// a Hugging Face folder. Reads and writes the run config's `student` object; a fresh model's
// fields default to the engine's demo student, its experts to the demo teacher's.
#include <QGroupBox>
#include <nlohmann/json.hpp>

#include "config_bindings.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QSpinBox;
class QStackedWidget;

namespace moekd::ui {

class StudentForm : public QGroupBox {
  Q_OBJECT
 public:
  explicit StudentForm(QWidget* parent = nullptr);

  void read(const nlohmann::json& student);
  void write(nlohmann::json& student) const;
  // The student speaks the teacher's vocabulary: follows a teacher the user chose.
  void setVocabulary(int64_t size);

 Q_SIGNALS:
  void edited();

 private:
  void updatePages();
  void inspectFolder();

  ConfigBindings init_;  // student.init.*
  bool reading_ = false;
  QComboBox *source_ = nullptr, *arch_ = nullptr;
  QStackedWidget* pages_ = nullptr;
  QSpinBox *experts_ = nullptr, *topK_ = nullptr, *vocab_ = nullptr;
  QLineEdit* path_ = nullptr;
  QLabel* info_ = nullptr;
};

// "1.80M": parameter counts for people.
QString formatCount(double n);

}  // namespace moekd::ui
