#include "student_form.h"

#include <QComboBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QStackedWidget>
#include <QVBoxLayout>

#include "browse_row.h"
#include "inline_message.h"
#include "io/inspect.h"
#include "run/demo_recipe.h"

namespace moekd::ui {

using json = nlohmann::json;

namespace {

const char* const kLlama = "LlamaForCausalLM";
const char* const kMixtral = "MixtralForCausalLM";

bool isMoeArch(const QString& arch) { return arch != kLlama && arch != "Qwen2ForCausalLM"; }
const char* expertsKey(const QString& arch) { return arch == kMixtral ? "num_local_experts" : "num_experts"; }

int intOr(const json& j, const char* key, int fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? static_cast<int>(it->get<int64_t>()) : fallback;
}

}  // namespace

QString formatCount(double n) {
  if (n >= 1e9) return QString::number(n / 1e9, 'f', 2) + "B";
  if (n >= 1e6) return QString::number(n / 1e6, 'f', 2) + "M";
  if (n >= 1e3) return QString::number(n / 1e3, 'f', 1) + "k";
  return QString::number(n, 'f', 0);
}

StudentForm::StudentForm(QWidget* parent)
    : QGroupBox(tr("Student"), parent), init_("student.init.", [this] {
        if (!reading_) Q_EMIT edited();
      }) {
  auto* v = new QVBoxLayout(this);
  auto* top = new QFormLayout;
  source_ = new QComboBox;
  source_->setObjectName("student.source");
  source_->addItems({tr("New model"), tr("Folder")});
  top->addRow(tr("Source"), source_);
  v->addLayout(top);
  pages_ = new QStackedWidget;

  auto* fresh = new QWidget;
  auto* f = new QFormLayout(fresh);
  f->setContentsMargins(0, 0, 0, 0);
  arch_ = new QComboBox;
  arch_->setObjectName("student.init.architectures");
  arch_->addItems({kLlama, kMixtral});
  experts_ = new QSpinBox;
  experts_->setObjectName("student.init.num_experts");
  experts_->setRange(1, 4096);
  topK_ = new QSpinBox;
  topK_->setObjectName("student.init.num_experts_per_tok");
  topK_->setRange(1, 4096);
  vocab_ = init_.integer("student.init.vocab_size", 1, 1 << 24);
  vocab_->setToolTip(tr("Follows the teacher's vocabulary when a teacher folder is chosen"));
  f->addRow(tr("Architecture"), arch_);
  f->addRow(tr("Hidden size"), init_.integer("student.init.hidden_size", 1, 1 << 20));
  f->addRow(tr("Layers"), init_.integer("student.init.num_hidden_layers", 1, 4096));
  f->addRow(tr("Attention heads"), init_.integer("student.init.num_attention_heads", 1, 4096));
  f->addRow(tr("KV heads"), init_.integer("student.init.num_key_value_heads", 1, 4096));
  f->addRow(tr("Intermediate size"), init_.integer("student.init.intermediate_size", 1, 1 << 22));
  f->addRow(tr("Experts"), experts_);
  f->addRow(tr("Top-k"), topK_);
  f->addRow(tr("Vocabulary"), vocab_);

  auto* folder = new QWidget;
  auto* g = new QFormLayout(folder);
  g->setContentsMargins(0, 0, 0, 0);
  path_ = new QLineEdit;
  path_->setObjectName("student.path");
  path_->setPlaceholderText(tr("Hugging Face folder, or one holding only config.json"));
  g->addRow(tr("Folder"), withBrowse(path_, true));
  info_ = new QLabel;
  info_->setWordWrap(true);
  g->addRow(info_);
  pages_->addWidget(fresh);
  pages_->addWidget(folder);
  v->addWidget(pages_);

  auto changed = [this] {
    if (!reading_) Q_EMIT edited();
  };
  for (QSpinBox* s : {experts_, topK_}) connect(s, &QSpinBox::valueChanged, this, changed);
  for (QComboBox* c : {source_, arch_})
    connect(c, &QComboBox::currentIndexChanged, this, [this, changed] {
      updatePages();
      changed();
    });
  connect(path_, &QLineEdit::textChanged, this, changed);
  connect(path_, &QLineEdit::editingFinished, this, &StudentForm::inspectFolder);
}

void StudentForm::read(const json& student) {
  reading_ = true;
  const json init = student.contains("init") && student["init"].is_object() ? student["init"] : json::object();
  const auto path = student.contains("path") && student["path"].is_string() ? student["path"].get<std::string>() : "";
  source_->setCurrentIndex(path.empty() ? 0 : 1);
  path_->setText(QString::fromStdString(path));
  init_.read(init, demo_student_config());
  const json arch = init.value("architectures", json::array());
  const QString name =
      arch.is_array() && !arch.empty() && arch[0].is_string() ? QString::fromStdString(arch[0].get<std::string>()) : kLlama;
  if (arch_->findText(name) < 0) arch_->addItem(name);
  arch_->setCurrentText(name);
  const json moe = demo_teacher_config();  // a fresh MoE's defaults: the demo teacher's
  experts_->setValue(intOr(init, expertsKey(name), intOr(moe, "num_local_experts", 8)));
  topK_->setValue(intOr(init, "num_experts_per_tok", intOr(moe, "num_experts_per_tok", 2)));
  reading_ = false;
  updatePages();
  inspectFolder();
}

void StudentForm::write(json& s) const {
  if (!s.is_object()) s = json::object();
  if (source_->currentIndex() == 1) {
    s["path"] = path_->text().toStdString();
    s.erase("init");
    s.erase("init_std");
    return;
  }
  s.erase("path");
  json init = s.contains("init") && s["init"].is_object() ? s["init"] : demo_student_config();
  const QString arch = arch_->currentText();
  init["architectures"] = {arch.toStdString()};
  init_.write(init);
  for (const char* key : {"num_local_experts", "num_experts", "num_experts_per_tok"}) init.erase(key);
  if (isMoeArch(arch)) {
    init[expertsKey(arch)] = experts_->value();
    init["num_experts_per_tok"] = topK_->value();
  }
  s["init"] = init;
  if (!s.contains("init_std")) s["init_std"] = 0.02;
}

void StudentForm::setVocabulary(int64_t size) { vocab_->setValue(static_cast<int>(size)); }

void StudentForm::updatePages() {
  pages_->setCurrentIndex(source_->currentIndex());
  const bool moe = isMoeArch(arch_->currentText());
  experts_->setEnabled(moe);
  topK_->setEnabled(moe);
}

void StudentForm::inspectFolder() {
  const QString path = path_->text().trimmed();
  if (source_->currentIndex() != 1 || path.isEmpty()) {
    info_->clear();
    return;
  }
  try {
    const json info = inspect_model_dir(path.toStdString());
    showInlineMessage(info_,
                      tr("%1, %2 parameters, %3 layers")
                          .arg(QString::fromStdString(info.value("architecture", std::string("?"))))
                          .arg(formatCount(info.value("params_total", 0.0)))
                          .arg(info.value("num_layers", 0)),
                      false, palette());
  } catch (const std::exception& e) {
    showInlineMessage(info_, QString::fromStdString(e.what()), true, palette());
  }
}

}  // namespace moekd::ui
