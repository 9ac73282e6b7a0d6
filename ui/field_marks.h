#pragma once
// A form's problems shown where they are: under the field a problem concerns, in words that use
// the field's label ("Learning rate must be above 0 and at most 10; it is -1."), the field
// tinted, and the engine's message with the config key in the field's tooltip. A field is found
// by its object name, which is its run-config key ("train.lr", see config_bindings.h).
#include <QPointer>
#include <QString>
#include <map>
#include <vector>

#include "run/run_config.h"

class QLabel;
class QWidget;

namespace moekd::ui {

class FieldMarks {
 public:
  explicit FieldMarks(QWidget* form) : form_(form) {}

  // Clears the previous marks, marks the fields `problems` name, and returns the problems that
  // no field of the form shows (a key the form has no widget for, or none at all).
  std::vector<moekd::ConfigProblem> show(const std::vector<moekd::ConfigProblem>& problems);

  // The field's label as the form shows it ("Learning rate"); with `group`, after the title of
  // the box it sits in ("Training: Learning rate"). Empty for a key the form does not show.
  QString label(const QString& key, bool group = false) const;
  // What a person reads for `p`: the label and p.need ("Learning rate must be ..."); the engine's
  // message when the form has no such field.
  QString sentence(const moekd::ConfigProblem& p, bool group = false) const;

  // The note under `key`'s field; null when it has no problem (tests look at it).
  QLabel* note(const QString& key) const;

 private:
  QWidget* field(const QString& key) const;
  void clear();

  struct Mark {
    QPointer<QWidget> field;
    QPointer<QLabel> note;
    QString toolTip;  // the field's own, put back when the problem is gone
  };
  QWidget* form_;
  std::map<QString, Mark> marks_;       // the fields marked now
  std::map<QWidget*, QLabel*> notes_;   // one note row per field, made the first time it is needed
};

}  // namespace moekd::ui
