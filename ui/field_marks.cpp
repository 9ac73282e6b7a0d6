#include "field_marks.h"

#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QWidget>

#include "inline_message.h"

namespace moekd::ui {

namespace {

// The QFormLayout row that holds `w` (the field itself, or the browse row around it): the
// layout and the row's widget; {nullptr, nullptr} when `w` is not in a form row below `top`.
std::pair<QFormLayout*, QWidget*> formRow(QWidget* w, QWidget* top) {
  for (QWidget* item = w; item && item != top; item = item->parentWidget()) {
    QWidget* parent = item->parentWidget();
    if (!parent) break;
    for (QFormLayout* form : parent->findChildren<QFormLayout*>()) {
      int row = -1;
      QFormLayout::ItemRole role;
      form->getWidgetPosition(item, &row, &role);
      if (row >= 0) return {form, item};
    }
  }
  return {nullptr, nullptr};
}

QString plain(QString label) { return label.remove('&').trimmed(); }

// A field that needs attention: its background tinted red, on light and dark windows.
void tint(QWidget* w, bool on) {
  if (!on) {
    w->setPalette(QPalette());  // no role of its own: the window's palette again
    return;
  }
  QPalette p = w->palette();
  const bool dark = p.color(QPalette::Window).lightnessF() < 0.5;
  const QColor bad = dark ? QColor(0x5c, 0x26, 0x26) : QColor(0xfd, 0xe4, 0xe4);
  p.setColor(QPalette::Active, QPalette::Base, bad);
  p.setColor(QPalette::Inactive, QPalette::Base, bad);
  p.setColor(QPalette::Active, QPalette::Button, bad);
  p.setColor(QPalette::Inactive, QPalette::Button, bad);
  w->setPalette(p);
}

}  // namespace

QWidget* FieldMarks::field(const QString& key) const {
  if (key.isEmpty()) return nullptr;
  QWidget* w = form_->findChild<QWidget*>(key);
  return w && !qobject_cast<QLabel*>(w) ? w : nullptr;
}

QString FieldMarks::label(const QString& key, bool group) const {
  QWidget* w = field(key);
  if (!w) return {};
  const auto [form, item] = formRow(w, form_);
  if (!form) return {};
  const auto* text = qobject_cast<QLabel*>(form->labelForField(item));
  if (!text) return {};
  QString out = plain(text->text());
  if (group)
    for (QWidget* p = item->parentWidget(); p && p != form_; p = p->parentWidget())
      if (auto* box = qobject_cast<QGroupBox*>(p)) {
        out = plain(box->title()) + ": " + out;
        break;
      }
  return out;
}

QString FieldMarks::sentence(const moekd::ConfigProblem& p, bool group) const {
  const QString name = label(QString::fromStdString(p.field), group);
  if (name.isEmpty()) return QString::fromStdString(p.message);
  return name + " " + QString::fromStdString(p.need) + ".";
}

QLabel* FieldMarks::note(const QString& key) const {
  const auto it = marks_.find(key);
  return it == marks_.end() ? nullptr : it->second.note.data();
}

void FieldMarks::clear() {
  for (auto& [key, m] : marks_) {
    if (m.field) {
      tint(m.field, false);
      m.field->setToolTip(m.toolTip);
    }
    if (m.note) {
      if (const auto [form, item] = formRow(m.note, form_); form) form->setRowVisible(m.note, false);
      m.note->clear();
    }
  }
  marks_.clear();
}

std::vector<moekd::ConfigProblem> FieldMarks::show(const std::vector<moekd::ConfigProblem>& problems) {
  clear();
  std::vector<moekd::ConfigProblem> elsewhere;
  for (const auto& p : problems) {
    const QString key = QString::fromStdString(p.field);
    QWidget* w = field(key);
    const auto [form, item] = w ? formRow(w, form_) : std::pair<QFormLayout*, QWidget*>{nullptr, nullptr};
    if (!form) {
      elsewhere.push_back(p);
      continue;
    }
    auto existing = marks_.find(key);
    if (existing != marks_.end()) {  // a second problem of the same field: one note says both
      existing->second.note->setText(existing->second.note->text() + "\n" + sentence(p));
      continue;
    }
    QLabel*& note = notes_[w];
    if (!note) {
      note = new QLabel;
      note->setObjectName(key + ".problem");
      note->setWordWrap(true);
      int row = -1;
      QFormLayout::ItemRole role;
      form->getWidgetPosition(item, &row, &role);
      form->insertRow(row + 1, static_cast<QWidget*>(nullptr), note);
    }
    showInlineMessage(note, sentence(p), true, form_->palette());
    form->setRowVisible(note, true);
    marks_[key] = {w, note, w->toolTip()};
    tint(w, true);
    w->setToolTip(QString::fromStdString(p.message));
  }
  return elsewhere;
}

}  // namespace moekd::ui
