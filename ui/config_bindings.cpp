#include "config_bindings.h"

#include <QCheckBox>
#include <QComboBox>
#include <QLineEdit>
#include <QLocale>
#include <QSpinBox>

namespace moekd::ui {

using json = nlohmann::json;

QString numberText(const json& v) {
  if (v.is_number()) {
    // Plain decimals where they are exact (0.0001 rather than 1e-04), else the shortest form.
    const double x = v.get<double>();
    for (int decimals = 0; decimals <= 12; ++decimals) {
      const QString t = QString::number(x, 'f', decimals);
      if (t.toDouble() == x) return t;
    }
    return QString::number(x, 'g', QLocale::FloatingPointShortest);
  }
  if (v.is_string()) return QString::fromStdString(v.get<std::string>());
  return {};
}

ConfigBindings::ConfigBindings(QString prefix, std::function<void()> edited)
    : prefix_(std::move(prefix)), edited_(std::move(edited)) {}

json::json_pointer ConfigBindings::pointer(const char* key) const {
  QString path = QString::fromLatin1(key);
  if (path.startsWith(prefix_)) path = path.mid(prefix_.size());
  return json::json_pointer("/" + path.replace('.', '/').toStdString());
}

void ConfigBindings::add(const char* key, Kind kind, QWidget* widget) {
  widget->setObjectName(QString::fromLatin1(key));
  bindings_.push_back({pointer(key), kind, widget});
}

QLineEdit* ConfigBindings::text(const char* key, const QString& placeholder) {
  auto* e = new QLineEdit;
  e->setPlaceholderText(placeholder);
  add(key, Kind::Text, e);
  QObject::connect(e, &QLineEdit::textChanged, e, [this] {
    if (!reading_) edited_();
  });
  return e;
}

QLineEdit* ConfigBindings::number(const char* key) {
  auto* e = text(key);
  bindings_.back().kind = Kind::Number;
  return e;
}

QLineEdit* ConfigBindings::optionalNumber(const char* key, const QString& placeholder) {
  auto* e = text(key, placeholder);
  bindings_.back().kind = Kind::OptionalNumber;
  return e;
}

QLineEdit* ConfigBindings::unsignedNumber(const char* key) {
  auto* e = text(key);
  bindings_.back().kind = Kind::Unsigned;
  return e;
}

QSpinBox* ConfigBindings::integer(const char* key, int lo, int hi) {
  auto* s = new QSpinBox;
  s->setRange(lo, hi);
  s->setGroupSeparatorShown(true);
  add(key, Kind::Integer, s);
  QObject::connect(s, &QSpinBox::valueChanged, s, [this] {
    if (!reading_) edited_();
  });
  return s;
}

QComboBox* ConfigBindings::choice(const char* key, const std::vector<std::string>& names) {
  auto* c = new QComboBox;
  for (const auto& n : names) c->addItem(QString::fromStdString(n));
  add(key, Kind::Choice, c);
  QObject::connect(c, &QComboBox::currentTextChanged, c, [this] {
    if (!reading_) edited_();
  });
  return c;
}

QCheckBox* ConfigBindings::flag(const char* key, const QString& label) {
  auto* c = new QCheckBox(label);
  add(key, Kind::Flag, c);
  QObject::connect(c, &QCheckBox::toggled, c, [this] {
    if (!reading_) edited_();
  });
  return c;
}

void ConfigBindings::read(const json& config, const json& defaults) {
  reading_ = true;
  for (const auto& b : bindings_) {
    const json* v = config.contains(b.pointer) ? &config.at(b.pointer) : nullptr;
    if (!v || v->is_null()) v = defaults.contains(b.pointer) ? &defaults.at(b.pointer) : nullptr;
    const json value = v ? *v : json();
    switch (b.kind) {
      case Kind::Text:
        static_cast<QLineEdit*>(b.widget)->setText(value.is_string() ? QString::fromStdString(value.get<std::string>())
                                                                     : QString());
        break;
      case Kind::Number:
        static_cast<QLineEdit*>(b.widget)->setText(numberText(value));
        break;
      case Kind::OptionalNumber:  // unset stays empty: the default lies in the engine, not here
        static_cast<QLineEdit*>(b.widget)->setText(
            config.contains(b.pointer) && !config.at(b.pointer).is_null() ? numberText(config.at(b.pointer)) : QString());
        break;
      case Kind::Unsigned:  // integers as written: a double would round a 64-bit seed
        static_cast<QLineEdit*>(b.widget)->setText(value.is_number_integer() ? QString::fromStdString(value.dump())
                                                                             : numberText(value));
        break;
      case Kind::Integer:
        if (value.is_number_integer()) static_cast<QSpinBox*>(b.widget)->setValue(static_cast<int>(value.get<int64_t>()));
        break;
      case Kind::Choice: {
        auto* box = static_cast<QComboBox*>(b.widget);
        const QString t = value.is_string() ? QString::fromStdString(value.get<std::string>()) : QString();
        if (t.isEmpty()) break;
        int i = box->findText(t);
        if (i < 0) {  // not one of ours (a typo in a loaded file): shown, and the engine names it
          box->addItem(t);
          i = box->count() - 1;
        }
        box->setCurrentIndex(i);
        break;
      }
      case Kind::Flag:
        static_cast<QCheckBox*>(b.widget)->setChecked(value.is_boolean() && value.get<bool>());
        break;
    }
  }
  reading_ = false;
}

namespace {
// Makes every object on the way to `ptr` an object (a loaded file may hold "data": "x" there).
void make_path(json& config, const json::json_pointer& ptr) {
  if (ptr.empty()) return;
  const auto parent = ptr.parent_pointer();
  make_path(config, parent);
  json& p = parent.empty() ? config : config[parent];
  if (!p.is_object()) p = json::object();
}
}  // namespace

void ConfigBindings::write(json& config) const {
  if (!config.is_object()) config = json::object();
  for (const auto& b : bindings_) {
    make_path(config, b.pointer);
    json& slot = config[b.pointer];
    switch (b.kind) {
      case Kind::Text:
        slot = static_cast<QLineEdit*>(b.widget)->text().toStdString();
        break;
      case Kind::Number:
      case Kind::OptionalNumber: {
        const QString t = static_cast<QLineEdit*>(b.widget)->text();
        bool ok = false;
        const double v = t.trimmed().toDouble(&ok);
        slot = ok ? json(v) : b.kind == Kind::OptionalNumber && t.trimmed().isEmpty() ? json() : json(t.toStdString());
        break;
      }
      case Kind::Unsigned: {
        const QString t = static_cast<QLineEdit*>(b.widget)->text();
        bool ok = false;
        const qulonglong v = t.trimmed().toULongLong(&ok);
        slot = ok ? json(static_cast<uint64_t>(v)) : json(t.toStdString());
        break;
      }
      case Kind::Integer:
        slot = static_cast<QSpinBox*>(b.widget)->value();
        break;
      case Kind::Choice:
        slot = static_cast<QComboBox*>(b.widget)->currentText().toStdString();
        break;
      case Kind::Flag:
        slot = static_cast<QCheckBox*>(b.widget)->isChecked();
        break;
    }
  }
}

}  // namespace moekd::ui
