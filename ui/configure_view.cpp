#include "configure_view.h"

#include <QComboBox>
#include <QFile>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QStackedWidget>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>
#include <map>

#include "data/dataset.h"
#include "data/tasks.h"
#include "engine_api.h"
#include "inline_message.h"
#include "io/hf_config.h"
#include "io/inspect.h"
#include "session/events.h"
#include "util/error.h"

// The presets live in a resource file compiled into this static library: register it explicitly
// (a static library's resource initialiser is otherwise dropped by the linker).
static void initStudioResources() { Q_INIT_RESOURCE(studio); }

namespace moekd::ui {

using json = nlohmann::json;

namespace {

const char* const kLlama = "LlamaForCausalLM";
const char* const kMixtral = "MixtralForCausalLM";

QString qs(const std::string& s) { return QString::fromStdString(s); }

// Shortest text that parses back to the same double (the form must round-trip a config exactly).
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
  if (v.is_string()) return qs(v.get<std::string>());
  return {};
}

// A number typed in a line edit; text that is not a number goes to the engine as it is, so the
// engine's message names the field ("`train.lr` must be a number, got \"abc\"").
json numberOrText(const QLineEdit* e) {
  bool ok = false;
  const double v = e->text().trimmed().toDouble(&ok);
  return ok ? json(v) : json(e->text().toStdString());
}

json unsignedOrText(const QLineEdit* e) {
  bool ok = false;
  const qulonglong v = e->text().trimmed().toULongLong(&ok);
  return ok ? json(static_cast<uint64_t>(v)) : json(e->text().toStdString());
}

QString formatCount(double n) {
  if (n >= 1e9) return QString::number(n / 1e9, 'f', 2) + "B";
  if (n >= 1e6) return QString::number(n / 1e6, 'f', 2) + "M";
  if (n >= 1e3) return QString::number(n / 1e3, 'f', 1) + "k";
  return QString::number(n, 'f', 0);
}

bool isMoeArch(const QString& arch) { return arch != kLlama && arch != "Qwen2ForCausalLM"; }

const char* expertsKey(const QString& arch) { return arch == kMixtral ? "num_local_experts" : "num_experts"; }

// A student shape for "new model" when the loaded config has none (the demo student's defaults).
json studentTemplate() {
  return {{"architectures", {kLlama}},   {"vocab_size", 99},           {"hidden_size", 96},
          {"intermediate_size", 256},    {"num_hidden_layers", 3},     {"num_attention_heads", 4},
          {"num_key_value_heads", 2},    {"max_position_embeddings", 128}, {"rms_norm_eps", 1e-6},
          {"rope_theta", 10000.0},       {"tie_word_embeddings", false}, {"bos_token_id", 1},
          {"eos_token_id", 2}};
}

int intOr(const json& j, const char* key, int fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? static_cast<int>(it->get<int64_t>()) : fallback;
}

std::string strOr(const json& j, const char* key, const std::string& fallback = {}) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

const json& child(const json& j, const char* key) {
  static const json empty = json::object();
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : empty;
}

void setCombo(QComboBox* box, const QString& text) {
  int i = box->findText(text);
  if (i < 0) {
    box->addItem(text);
    i = box->count() - 1;
  }
  box->setCurrentIndex(i);
}

}  // namespace

ConfigureView::ConfigureView(QWidget* parent) : QWidget(parent) {
  previewTimer_ = new QTimer(this);
  previewTimer_->setSingleShot(true);
  previewTimer_->setInterval(250);
  connect(previewTimer_, &QTimer::timeout, this, &ConfigureView::updateDataPreview);
  auto* outer = new QVBoxLayout(this);

  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel(tr("Preset:")));
  preset_ = new QComboBox;
  preset_->addItem(tr("Demo teacher (train-teacher, built-in tasks)"), "demo-teacher");
  preset_->addItem(tr("Paper-like KD (LLaMA-MoE teacher, 1.3B Llama student, Dolly)"), "paper-like");
  bar->addWidget(preset_);
  auto* applyPreset = new QPushButton(tr("Apply preset"));
  bar->addWidget(applyPreset);
  bar->addSpacing(24);
  auto* load = new QPushButton(tr("Load JSON…"));
  auto* save = new QPushButton(tr("Save JSON…"));
  bar->addWidget(load);
  bar->addWidget(save);
  bar->addStretch(1);
  outer->addLayout(bar);

  status_ = new QLabel;
  status_->setObjectName("validation");
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  outer->addWidget(status_);

  auto* scroll = new QScrollArea;
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  auto* content = new QWidget;
  auto* columns = new QHBoxLayout(content);
  auto* col1 = new QVBoxLayout;
  col1->addWidget(buildRunGroup());
  col1->addWidget(buildTeacherGroup());
  col1->addWidget(buildStudentGroup());
  col1->addStretch(1);
  auto* col2 = new QVBoxLayout;
  col2->addWidget(buildDataGroup(), 1);
  auto* col3 = new QVBoxLayout;
  col3->addWidget(buildDistillGroups());
  col3->addWidget(buildTrainGroups());
  col3->addStretch(1);
  col2->addWidget(evalBox_);  // below the data, so that no column needs to scroll at 1400 x 900
  columns->addLayout(col1, 10);
  columns->addLayout(col2, 12);
  columns->addLayout(col3, 10);
  scroll->setWidget(content);
  outer->addWidget(scroll, 1);

  connect(applyPreset, &QPushButton::clicked, this, [this] { loadPreset(preset_->currentData().toString()); });
  connect(load, &QPushButton::clicked, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, tr("Load run configuration"), {}, tr("JSON (*.json)"));
    if (path.isEmpty()) return;
    QString error;
    if (!loadFile(path, &error)) QMessageBox::warning(this, tr("Load run configuration"), error);
  });
  connect(save, &QPushButton::clicked, this, [this] {
    const QString path = QFileDialog::getSaveFileName(this, tr("Save run configuration"), name_->text() + ".json",
                                                      tr("JSON (*.json)"));
    if (path.isEmpty()) return;
    QString error;
    if (!saveFile(path, &error)) QMessageBox::warning(this, tr("Save run configuration"), error);
  });

  initStudioResources();
  base_ = default_run_config();
  loadPreset("demo-teacher");
}

// ----- widgets ---------------------------------------------------------------------------------

QLineEdit* ConfigureView::lineEdit(const char* key, const QString& placeholder) {
  auto* e = new QLineEdit;
  e->setObjectName(key);
  e->setPlaceholderText(placeholder);
  connect(e, &QLineEdit::textChanged, this, &ConfigureView::onEdited);
  return e;
}

QSpinBox* ConfigureView::spinBox(const char* key, int lo, int hi) {
  auto* s = new QSpinBox;
  s->setObjectName(key);
  s->setRange(lo, hi);
  s->setGroupSeparatorShown(true);
  connect(s, &QSpinBox::valueChanged, this, &ConfigureView::onEdited);
  return s;
}

QComboBox* ConfigureView::comboBox(const char* key, const QStringList& items) {
  auto* c = new QComboBox;
  c->setObjectName(key);
  c->addItems(items);
  connect(c, &QComboBox::currentTextChanged, this, &ConfigureView::onEdited);
  return c;
}

QWidget* ConfigureView::withBrowse(QLineEdit* edit, bool directory, const QString& filter) {
  auto* row = new QWidget;
  auto* h = new QHBoxLayout(row);
  h->setContentsMargins(0, 0, 0, 0);
  h->addWidget(edit, 1);
  auto* browse = new QPushButton(tr("Browse…"));
  h->addWidget(browse);
  connect(browse, &QPushButton::clicked, this, [this, edit, directory, filter] {
    const QString path = directory ? QFileDialog::getExistingDirectory(this, tr("Choose a folder"), edit->text())
                                   : QFileDialog::getOpenFileName(this, tr("Choose a file"), edit->text(), filter);
    if (!path.isEmpty()) {
      edit->setText(path);
      Q_EMIT edit->editingFinished();
    }
  });
  return row;
}

QWidget* ConfigureView::buildRunGroup() {
  auto* box = new QGroupBox(tr("Run"));
  auto* form = new QFormLayout(box);
  name_ = lineEdit("name");
  runDir_ = lineEdit("run_dir", tr("folder for config.json, metrics.jsonl, checkpoints"));
  QStringList methods;
  for (const char* m : kMethods) methods << m;
  method_ = comboBox("method", methods);
  method_->setToolTip(tr("sft: no teacher · kd: classic distillation · ka: Knowledge Augmentation · "
                         "sar: Student-Aware Router · train-teacher: train an MoE from scratch"));
  form->addRow(tr("Name"), name_);
  form->addRow(tr("Run folder"), withBrowse(runDir_, true));
  form->addRow(tr("Method"), method_);
  connect(method_, &QComboBox::currentTextChanged, this, [this] { updateMethodState(); });
  return box;
}

QWidget* ConfigureView::buildTeacherGroup() {
  teacherBox_ = new QGroupBox(tr("Teacher"));
  auto* form = new QFormLayout(teacherBox_);
  teacherPath_ = lineEdit("teacher.path", tr("Hugging Face folder (config.json + safetensors)"));
  form->addRow(tr("Folder"), withBrowse(teacherPath_, true));
  teacherInfo_ = new QLabel;
  teacherInfo_->setObjectName("teacher.info");
  teacherInfo_->setWordWrap(true);
  teacherInfo_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  form->addRow(teacherInfo_);
  connect(teacherPath_, &QLineEdit::editingFinished, this, [this] { inspectTeacher(true); });
  return teacherBox_;
}

QWidget* ConfigureView::buildStudentGroup() {
  auto* box = new QGroupBox(tr("Student"));
  studentBox_ = box;
  auto* v = new QVBoxLayout(box);
  auto* top = new QFormLayout;
  studentSource_ = comboBox("student.source", {tr("New model"), tr("Folder")});
  top->addRow(tr("Source"), studentSource_);
  v->addLayout(top);
  studentPages_ = new QStackedWidget;

  auto* fresh = new QWidget;
  auto* f = new QFormLayout(fresh);
  f->setContentsMargins(0, 0, 0, 0);
  studentArch_ = comboBox("student.init.architectures", {kLlama, kMixtral});
  hidden_ = spinBox("student.init.hidden_size", 1, 1 << 20);
  layers_ = spinBox("student.init.num_hidden_layers", 1, 4096);
  heads_ = spinBox("student.init.num_attention_heads", 1, 4096);
  kvHeads_ = spinBox("student.init.num_key_value_heads", 1, 4096);
  intermediate_ = spinBox("student.init.intermediate_size", 1, 1 << 22);
  experts_ = spinBox("student.init.num_experts", 1, 4096);
  topK_ = spinBox("student.init.num_experts_per_tok", 1, 4096);
  vocab_ = spinBox("student.init.vocab_size", 1, 1 << 24);
  vocab_->setToolTip(tr("Follows the teacher's vocabulary when a teacher folder is chosen"));
  f->addRow(tr("Architecture"), studentArch_);
  f->addRow(tr("Hidden size"), hidden_);
  f->addRow(tr("Layers"), layers_);
  f->addRow(tr("Attention heads"), heads_);
  f->addRow(tr("KV heads"), kvHeads_);
  f->addRow(tr("Intermediate size"), intermediate_);
  f->addRow(tr("Experts"), experts_);
  f->addRow(tr("Top-k"), topK_);
  f->addRow(tr("Vocabulary"), vocab_);
  connect(studentArch_, &QComboBox::currentTextChanged, this, [this](const QString& arch) {
    experts_->setEnabled(isMoeArch(arch));
    topK_->setEnabled(isMoeArch(arch));
  });

  auto* folder = new QWidget;
  auto* g = new QFormLayout(folder);
  g->setContentsMargins(0, 0, 0, 0);
  studentPath_ = lineEdit("student.path", tr("Hugging Face folder, or one holding only config.json"));
  g->addRow(tr("Folder"), withBrowse(studentPath_, true));
  studentInfo_ = new QLabel;
  studentInfo_->setWordWrap(true);
  g->addRow(studentInfo_);
  connect(studentPath_, &QLineEdit::editingFinished, this, [this] { inspectStudentFolder(); });

  studentPages_->addWidget(fresh);
  studentPages_->addWidget(folder);
  connect(studentSource_, &QComboBox::currentIndexChanged, studentPages_, &QStackedWidget::setCurrentIndex);
  v->addWidget(studentPages_);
  return box;
}

QWidget* ConfigureView::buildDataGroup() {
  auto* box = new QGroupBox(tr("Data"));
  auto* v = new QVBoxLayout(box);
  auto* form = new QFormLayout;
  dataKind_ = comboBox("data.kind", {"builtin", "jsonl", "text"});
  dataPath_ = lineEdit("data.path", tr("Dolly-format .jsonl or a text file"));
  dataPathRow_ = withBrowse(dataPath_, false, tr("Data (*.jsonl *.json *.txt);;All files (*)"));
  dataSeed_ = lineEdit("data.seed");
  maxLen_ = spinBox("data.max_len", 1, 1 << 16);
  tokenizer_ = lineEdit("data.tokenizer", tr("builtin, a tokenizer.model or a folder holding one"));
  form->addRow(tr("Kind"), dataKind_);
  form->addRow(tr("File"), dataPathRow_);
  form->addRow(tr("Seed"), dataSeed_);
  form->addRow(tr("Max length"), maxLen_);
  form->addRow(tr("Tokenizer"), withBrowse(tokenizer_, false, tr("SentencePiece (*.model);;All files (*)")));
  v->addLayout(form);
  previewInfo_ = new QLabel;
  previewInfo_->setObjectName("data.info");
  previewInfo_->setWordWrap(true);
  previewInfo_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  v->addWidget(previewInfo_);
  preview_ = new QTableWidget(0, 3);
  preview_->setObjectName("data.preview");
  preview_->setHorizontalHeaderLabels({tr("Category"), tr("Prompt"), tr("Response")});
  preview_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
  preview_->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
  preview_->horizontalHeader()->setSectionResizeMode(2, QHeaderView::Stretch);
  preview_->verticalHeader()->setVisible(false);
  preview_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  preview_->setSelectionBehavior(QAbstractItemView::SelectRows);
  preview_->setWordWrap(false);
  preview_->setMinimumHeight(220);
  v->addWidget(preview_, 1);
  connect(dataKind_, &QComboBox::currentTextChanged, this, [this](const QString& kind) {
    dataPathRow_->setEnabled(kind != "builtin");
    previewTimer_->start();
  });
  connect(dataPath_, &QLineEdit::textChanged, previewTimer_, qOverload<>(&QTimer::start));
  connect(dataSeed_, &QLineEdit::textChanged, previewTimer_, qOverload<>(&QTimer::start));
  return box;
}

QWidget* ConfigureView::buildDistillGroups() {
  auto* w = new QWidget;
  auto* v = new QVBoxLayout(w);
  v->setContentsMargins(0, 0, 0, 0);
  distillBox_ = new QGroupBox(tr("Distillation"));
  auto* d = new QFormLayout(distillBox_);
  QStringList divs;
  for (const char* x : kDivergences) divs << x;
  divergence_ = comboBox("distill.divergence", divs);
  alpha_ = lineEdit("distill.alpha");
  alpha_->setToolTip(tr("L = (1 - alpha) CE + alpha D"));
  temperature_ = lineEdit("distill.temperature");
  d->addRow(tr("Divergence"), divergence_);
  d->addRow(tr("Alpha"), alpha_);
  d->addRow(tr("Temperature"), temperature_);
  v->addWidget(distillBox_);

  kaBox_ = new QGroupBox(tr("Knowledge Augmentation"));
  auto* k = new QFormLayout(kaBox_);
  kaM_ = spinBox("ka.m", 0, 256);
  kaLambda_ = lineEdit("ka.lambda");
  kaKPrime_ = spinBox("ka.k_prime", 0, 4096);
  kaKPrime_->setSpecialValueText(tr("0 (the model's top-k)"));
  k->addRow(tr("Samples M"), kaM_);
  k->addRow(tr("Lambda"), kaLambda_);
  k->addRow(tr("k'"), kaKPrime_);
  v->addWidget(kaBox_);

  sarBox_ = new QGroupBox(tr("Student-Aware Router"));
  auto* s = new QFormLayout(sarBox_);
  routerLr_ = lineEdit("sar.router_lr");
  sarDirection_ = comboBox("sar.direction", {"forward", "reverse"});
  sarPolicy_ = comboBox("sar.policy", {"all", "topp"});
  s->addRow(tr("Router learning rate"), routerLr_);
  s->addRow(tr("Direction"), sarDirection_);
  s->addRow(tr("Teacher policy"), sarPolicy_);
  v->addWidget(sarBox_);
  return w;
}

QWidget* ConfigureView::buildTrainGroups() {
  auto* w = new QWidget;
  auto* v = new QVBoxLayout(w);
  v->setContentsMargins(0, 0, 0, 0);
  auto* train = new QGroupBox(tr("Training"));
  auto* t = new QFormLayout(train);
  lr_ = lineEdit("train.lr");
  QStringList schedules;
  for (const char* x : kSchedules) schedules << x;
  schedule_ = comboBox("train.schedule", schedules);
  warmup_ = spinBox("train.warmup_steps", 0, 100000000);
  batch_ = spinBox("train.batch_size", 0, 1 << 16);
  steps_ = spinBox("train.steps", 0, 100000000);
  trainSeed_ = lineEdit("train.seed");
  device_ = comboBox("train.device", {"cpu", "cuda", "cuda:0", "cuda:1"});
  device_->setEditable(true);
  t->addRow(tr("Learning rate"), lr_);
  t->addRow(tr("Schedule"), schedule_);
  t->addRow(tr("Warm-up steps"), warmup_);
  t->addRow(tr("Batch size"), batch_);
  t->addRow(tr("Steps"), steps_);
  t->addRow(tr("Seed"), trainSeed_);
  t->addRow(tr("Device"), device_);
  v->addWidget(train);

  auto* eval = new QGroupBox(tr("Evaluation"));
  evalBox_ = eval;
  auto* e = new QFormLayout(eval);
  evalEvery_ = spinBox("eval.every", 0, 100000000);
  evalEvery_->setSpecialValueText(tr("only at the end"));
  evalSamples_ = spinBox("eval.samples", 0, 1000000);
  e->addRow(tr("Every (steps)"), evalEvery_);
  e->addRow(tr("Generated samples"), evalSamples_);
  return w;
}

// ----- JSON <-> forms ----------------------------------------------------------------------------

void ConfigureView::setConfig(const json& config) {
  try {
    base_ = normalize_run_config(config, "configuration");
  } catch (const std::exception&) {
    // Not (yet) valid, e.g. a preset waiting for its paths: every default, then the given fields.
    base_ = default_run_config();
    if (config.is_object()) base_.merge_patch(config);
  }
  populate();
}

void ConfigureView::populate() {
  populating_ = true;
  const json& b = base_;
  name_->setText(qs(strOr(b, "name")));
  runDir_->setText(qs(strOr(b, "run_dir")));
  setCombo(method_, qs(strOr(b, "method", "kd")));

  const json& teacher = child(b, "teacher");
  teacherPath_->setText(qs(strOr(teacher, "path")));

  const json& student = child(b, "student");
  const std::string studentPath = strOr(student, "path");
  studentPath_->setText(qs(studentPath));
  json init = student.contains("init") && student["init"].is_object() ? student["init"] : studentTemplate();
  studentSource_->setCurrentIndex(studentPath.empty() ? 0 : 1);
  studentPages_->setCurrentIndex(studentSource_->currentIndex());
  QString arch = kLlama;
  if (init.contains("architectures") && init["architectures"].is_array() && !init["architectures"].empty() &&
      init["architectures"][0].is_string())
    arch = qs(init["architectures"][0].get<std::string>());
  setCombo(studentArch_, arch);
  hidden_->setValue(intOr(init, "hidden_size", 96));
  layers_->setValue(intOr(init, "num_hidden_layers", 2));
  heads_->setValue(intOr(init, "num_attention_heads", 4));
  kvHeads_->setValue(intOr(init, "num_key_value_heads", heads_->value()));
  intermediate_->setValue(intOr(init, "intermediate_size", 256));
  experts_->setValue(intOr(init, expertsKey(arch), 8));
  topK_->setValue(intOr(init, "num_experts_per_tok", 2));
  vocab_->setValue(intOr(init, "vocab_size", 99));
  experts_->setEnabled(isMoeArch(arch));
  topK_->setEnabled(isMoeArch(arch));

  const json& d = child(b, "data");
  setCombo(dataKind_, qs(strOr(d, "kind", "builtin")));
  dataPathRow_->setEnabled(dataKind_->currentText() != "builtin");
  dataPath_->setText(qs(strOr(d, "path")));
  dataSeed_->setText(d.contains("seed") ? qs(d["seed"].dump()) : QString());
  maxLen_->setValue(intOr(d, "max_len", 64));
  tokenizer_->setText(qs(strOr(d, "tokenizer")));

  const json& dist = child(b, "distill");
  setCombo(divergence_, qs(strOr(dist, "divergence", "forward_kl")));
  alpha_->setText(numberText(dist.value("alpha", json())));
  temperature_->setText(numberText(dist.value("temperature", json())));
  const json& ka = child(b, "ka");
  kaM_->setValue(intOr(ka, "m", 4));
  kaLambda_->setText(numberText(ka.value("lambda", json())));
  kaKPrime_->setValue(intOr(ka, "k_prime", 0));
  const json& sar = child(b, "sar");
  routerLr_->setText(numberText(sar.value("router_lr", json())));
  setCombo(sarDirection_, qs(strOr(sar, "direction", "forward")));
  setCombo(sarPolicy_, qs(strOr(sar, "policy", "all")));

  const json& t = child(b, "train");
  lr_->setText(numberText(t.value("lr", json())));
  setCombo(schedule_, qs(strOr(t, "schedule", "cosine")));
  warmup_->setValue(intOr(t, "warmup_steps", 0));
  batch_->setValue(intOr(t, "batch_size", 16));
  steps_->setValue(intOr(t, "steps", 1000));
  trainSeed_->setText(t.contains("seed") ? qs(t["seed"].dump()) : QString());
  setCombo(device_, qs(strOr(t, "device", "cpu")));
  const json& e = child(b, "eval");
  evalEvery_->setValue(intOr(e, "every", 200));
  evalSamples_->setValue(intOr(e, "samples", 64));
  populating_ = false;

  updateMethodState();
  inspectTeacher(false);
  inspectStudentFolder();
  revalidate();
  updateDataPreview();
}

json ConfigureView::buildJson() const {
  json j = base_;
  j["name"] = name_->text().toStdString();
  j["run_dir"] = runDir_->text().toStdString();
  j["method"] = method_->currentText().toStdString();

  if (!j["teacher"].is_object()) j["teacher"] = json::object();
  if (teacherPath_->text().isEmpty())
    j["teacher"].erase("path");
  else
    j["teacher"]["path"] = teacherPath_->text().toStdString();

  json& s = j["student"];
  if (!s.is_object()) s = json::object();
  if (studentSource_->currentIndex() == 0) {
    s.erase("path");
    json init = s.contains("init") && s["init"].is_object() ? s["init"] : studentTemplate();
    const QString arch = studentArch_->currentText();
    init["architectures"] = {arch.toStdString()};
    init["hidden_size"] = hidden_->value();
    init["num_hidden_layers"] = layers_->value();
    init["num_attention_heads"] = heads_->value();
    init["num_key_value_heads"] = kvHeads_->value();
    init["intermediate_size"] = intermediate_->value();
    init["vocab_size"] = vocab_->value();
    if (isMoeArch(arch)) {
      init[expertsKey(arch)] = experts_->value();
      init["num_experts_per_tok"] = topK_->value();
    } else {
      init.erase("num_local_experts");
      init.erase("num_experts");
      init.erase("num_experts_per_tok");
    }
    s["init"] = init;
    if (!s.contains("init_std")) s["init_std"] = 0.02;
  } else {
    s["path"] = studentPath_->text().toStdString();
    s.erase("init");
    s.erase("init_std");
  }

  json& d = j["data"];
  d["kind"] = dataKind_->currentText().toStdString();
  d["path"] = dataPath_->text().toStdString();
  d["seed"] = unsignedOrText(dataSeed_);
  d["max_len"] = maxLen_->value();
  d["tokenizer"] = tokenizer_->text().toStdString();

  json& dist = j["distill"];
  dist["divergence"] = divergence_->currentText().toStdString();
  dist["alpha"] = numberOrText(alpha_);
  dist["temperature"] = numberOrText(temperature_);
  json& ka = j["ka"];
  ka["m"] = kaM_->value();
  ka["lambda"] = numberOrText(kaLambda_);
  ka["k_prime"] = kaKPrime_->value();
  json& sar = j["sar"];
  sar["router_lr"] = numberOrText(routerLr_);
  sar["direction"] = sarDirection_->currentText().toStdString();
  sar["policy"] = sarPolicy_->currentText().toStdString();

  json& t = j["train"];
  t["lr"] = numberOrText(lr_);
  t["schedule"] = schedule_->currentText().toStdString();
  t["warmup_steps"] = warmup_->value();
  t["batch_size"] = batch_->value();
  t["steps"] = steps_->value();
  t["seed"] = unsignedOrText(trainSeed_);
  t["device"] = device_->currentText().toStdString();
  json& e = j["eval"];
  e["every"] = evalEvery_->value();
  e["samples"] = evalSamples_->value();
  return j;
}

json ConfigureView::config() const { return valid_ ? normalized_ : buildJson(); }

int ConfigureView::totalSteps() const { return steps_->value(); }

void ConfigureView::onEdited() {
  if (populating_) return;
  revalidate();
}

void ConfigureView::revalidate() {
  const json j = buildJson();
  QString error;
  try {
    normalized_ = normalize_run_config(j, "configuration");
    const auto& s = normalized_["student"];
    if (s.contains("init") && s["init"].is_object()) config_from_hf(s["init"], "student.init").validate();
    const QString runDir = qs(normalized_["run_dir"].get<std::string>());
    if (runDir.isEmpty())
      error = tr("Choose a run folder: config.json, metrics.jsonl and the checkpoints go there.");
    else if (moekd::run_dir_holds_training(runDir.toStdString()))
      error = tr("Run folder %1 already holds a run: choose a new folder for this one (the Runs view opens "
                 "the old one).")
                  .arg(runDir);
    else if (normalized_["data"]["tokenizer"].get<std::string>().empty())
      error = tr("`data.tokenizer` is empty: `builtin`, a SentencePiece tokenizer.model, or a folder holding one "
                 "(usually the teacher's).");
  } catch (const std::exception& e) {
    error = qs(e.what());
  }
  const bool valid = error.isEmpty();
  message_ = valid ? tr("Configuration is valid: %1, %2 steps.").arg(method_->currentText()).arg(steps_->value())
                   : error;
  showInline(status_, valid ? QStringLiteral("✔ ") + message_ : QStringLiteral("✖ ") + message_, !valid);
  const bool changed = valid != valid_;
  valid_ = valid;
  if (changed) Q_EMIT validityChanged(valid_);
  Q_EMIT configChanged();
}

void ConfigureView::showInline(QLabel* label, const QString& text, bool error) {
  showInlineMessage(label, text, error, palette());
}

void ConfigureView::updateMethodState() {
  const QString m = method_->currentText();
  const bool teacher = m == "kd" || m == "ka" || m == "sar";
  teacherBox_->setEnabled(teacher);
  distillBox_->setEnabled(teacher);
  kaBox_->setEnabled(m == "ka");
  sarBox_->setEnabled(m == "sar");
  studentBox_->setTitle(m == "train-teacher" ? tr("Model to train (the future teacher)") : tr("Student"));
  if (!teacher) showInline(teacherInfo_, tr("Method %1 uses no teacher.").arg(m), false);
  else inspectTeacher(false);
}

void ConfigureView::inspectTeacher(bool userChoice) {
  const QString path = teacherPath_->text().trimmed();
  const QString m = method_->currentText();
  if (m != "kd" && m != "ka" && m != "sar") return;
  if (path.isEmpty()) {
    showInline(teacherInfo_, tr("Choose the teacher's Hugging Face folder."), false);
    return;
  }
  try {
    const json info = inspect_model_dir(path.toStdString());
    const int64_t experts = info.value("num_experts", 0);
    QString text = tr("<b>%1</b><br>%2 parameters, %3 active per token<br>%4 layers (%5 MoE)")
                       .arg(qs(info.value("architecture", std::string("?"))))
                       .arg(formatCount(info.value("params_total", 0.0)))
                       .arg(formatCount(info.value("params_active", 0.0)))
                       .arg(info.value("num_layers", 0))
                       .arg(info.value("num_moe_layers", 0));
    if (experts > 0) text += tr(", %1 experts, top-%2").arg(experts).arg(info.value("top_k", 0));
    text += tr("<br>vocabulary %1, hidden size %2").arg(info.value("vocab_size", 0)).arg(info.value("hidden_size", 0));
    showInline(teacherInfo_, text, false);
    if (userChoice) {
      // The student speaks the teacher's vocabulary, and usually its tokenizer.
      vocab_->setValue(static_cast<int>(info.value("vocab_size", int64_t(vocab_->value()))));
      if (tokenizer_->text().trimmed().isEmpty()) tokenizer_->setText(path);
    }
  } catch (const std::exception& e) {
    showInline(teacherInfo_, qs(e.what()), true);
  }
}

void ConfigureView::inspectStudentFolder() {
  const QString path = studentPath_->text().trimmed();
  if (studentSource_->currentIndex() != 1 || path.isEmpty()) {
    studentInfo_->clear();
    return;
  }
  try {
    const json info = inspect_model_dir(path.toStdString());
    showInline(studentInfo_,
               tr("%1, %2 parameters, %3 layers")
                   .arg(qs(info.value("architecture", std::string("?"))))
                   .arg(formatCount(info.value("params_total", 0.0)))
                   .arg(info.value("num_layers", 0)),
               false);
  } catch (const std::exception& e) {
    showInline(studentInfo_, qs(e.what()), true);
  }
}

void ConfigureView::updateDataPreview() {
  const json d = buildJson()["data"];
  const QString key = qs(d.dump());
  if (key == previewKey_) return;
  previewKey_ = key;
  preview_->setRowCount(0);
  try {
    const std::string kind = d.value("kind", std::string("builtin"));
    bool seedOk = false;
    const uint64_t seed = dataSeed_->text().toULongLong(&seedOk);
    if (!seedOk) throw Error("`data.seed` must be a non-negative integer");
    Dataset ds;
    if (kind == "builtin") {
      ds = make_builtin_tasks(seed, d.value("train_examples", int64_t(6000)), d.value("validation_examples", int64_t(240)),
                              d.value("test_examples", int64_t(240)));
    } else if (kind == "jsonl") {
      const std::string path = d.value("path", std::string());
      if (path.empty()) throw Error("Choose a Dolly-format JSONL file to preview it.");
      ds = load_dolly_jsonl(path, d.value("validation_fraction", 0.05), d.value("test_fraction", 0.05), seed);
    } else {
      const std::string path = d.value("path", std::string());
      if (path.empty()) throw Error("Choose a text file to preview it.");
      ds = load_text(path, d.value("text_chunk_chars", int64_t(512)), d.value("validation_fraction", 0.05), seed);
    }
    std::map<std::string, int64_t> counts;
    for (const auto& ex : ds.train) counts[ex.category]++;
    QStringList parts;
    for (const auto& [cat, n] : counts) parts << QStringLiteral("%1 %2").arg(qs(cat)).arg(n);
    QString text = tr("<b>%1</b> train · %2 validation · %3 test examples<br>training examples per category: %4")
                       .arg(ds.train.size())
                       .arg(ds.validation.size())
                       .arg(ds.test.size())
                       .arg(parts.join(QStringLiteral(" · ")));
    for (const auto& w : ds.warnings) text += "<br>" + qs(w).toHtmlEscaped();
    showInline(previewInfo_, text, false);
    const int rows = static_cast<int>(std::min<size_t>(ds.train.size(), 40));
    preview_->setRowCount(rows);
    for (int r = 0; r < rows; ++r) {
      const auto& ex = ds.train[r];
      preview_->setItem(r, 0, new QTableWidgetItem(qs(ex.category)));
      // Dolly prompts: show the instruction (and input), not the template around them.
      QString prompt = qs(ex.prompt);
      const int at = prompt.indexOf(QStringLiteral("### Instruction:"));
      if (at >= 0) prompt = prompt.mid(at + 16);
      prompt.replace(QStringLiteral("### Input:"), QStringLiteral(" — ")).remove(QStringLiteral("### Response:"));
      auto* item = new QTableWidgetItem(prompt.simplified());
      item->setToolTip(qs(ex.prompt));
      preview_->setItem(r, 1, item);
      preview_->setItem(r, 2, new QTableWidgetItem(qs(ex.response).simplified()));
    }
  } catch (const std::exception& e) {
    showInline(previewInfo_, qs(e.what()).toHtmlEscaped(), true);
  }
}

// ----- files -------------------------------------------------------------------------------------

bool ConfigureView::loadPreset(const QString& name) {
  QFile f(":/presets/" + name + ".json");
  if (!f.open(QIODevice::ReadOnly)) return false;
  try {
    setConfig(json::parse(f.readAll().toStdString()));
  } catch (const std::exception&) {
    return false;
  }
  const int i = preset_->findData(name);
  if (i >= 0) preset_->setCurrentIndex(i);
  return true;
}

bool ConfigureView::loadFile(const QString& path, QString* error) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) {
    if (error) *error = tr("%1: cannot be read (%2)").arg(path, f.errorString());
    return false;
  }
  try {
    const json j = json::parse(f.readAll().toStdString());
    if (!j.is_object()) throw Error("the file holds no JSON object");
    setConfig(j);
  } catch (const std::exception& e) {
    if (error) *error = tr("%1: %2").arg(path, qs(e.what()));
    return false;
  }
  return true;
}

bool ConfigureView::saveFile(const QString& path, QString* error) const {
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
    if (error) *error = tr("%1: cannot be written (%2)").arg(path, f.errorString());
    return false;
  }
  f.write(configJson());
  f.write("\n");
  return true;
}

}  // namespace moekd::ui
