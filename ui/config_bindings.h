#pragma once
// The Configure form's fields, one row each: the run-config key a widget edits (also the widget's
// object name, e.g. "train.lr"), and how its value is shown. read() fills every widget from a
// config, falling back to the engine's defaults for a field the config lacks; write() puts every
// widget's value back. A typed text that is not a number goes to the engine as it is, so that the
// engine's message names the field ("`train.lr` must be a number, got \"abc\"").
#include <QString>
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

class QCheckBox;
class QComboBox;
class QLineEdit;
class QSpinBox;
class QWidget;

namespace moekd::ui {

class ConfigBindings {
 public:
  // Keys below `prefix` ("student.init.") are bound relative to the object read() and write() get.
  // `edited` runs after every user edit.
  ConfigBindings(QString prefix, std::function<void()> edited);

  QLineEdit* text(const char* key, const QString& placeholder = {});
  QLineEdit* number(const char* key);           // a double
  // A double that may be left unset (null in the config): empty text, `placeholder` saying what
  // the engine takes instead.
  QLineEdit* optionalNumber(const char* key, const QString& placeholder);
  QLineEdit* unsignedNumber(const char* key);   // a uint64 (seeds)
  QSpinBox* integer(const char* key, int lo, int hi);
  QComboBox* choice(const char* key, const std::vector<std::string>& names);
  QCheckBox* flag(const char* key, const QString& label);  // a boolean

  void read(const nlohmann::json& config, const nlohmann::json& defaults);
  void write(nlohmann::json& config) const;

 private:
  enum class Kind { Text, Number, OptionalNumber, Unsigned, Integer, Choice, Flag };
  struct Binding {
    nlohmann::json::json_pointer pointer;
    Kind kind;
    QWidget* widget;
  };
  nlohmann::json::json_pointer pointer(const char* key) const;
  void add(const char* key, Kind kind, QWidget* widget);

  QString prefix_;
  std::function<void()> edited_;
  std::vector<Binding> bindings_;
  bool reading_ = false;
};

// Shortest text that parses back to the same double (the form must round-trip a config exactly).
QString numberText(const nlohmann::json& v);

}  // namespace moekd::ui
