#include "configure_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QVBoxLayout>
#include <filesystem>

#include "backend/devices.h"
#include "browse_row.h"
#include "data_preview.h"
#include "inline_message.h"
#include "io/hf_config.h"
#include "io/inspect.h"
#include "run/run_config.h"
#include "run/run_folder.h"
#include "student_form.h"
#include "util/error.h"

// The presets live in a resource file compiled into this static library: register it explicitly
// (a static library's resource initialiser is otherwise dropped by the linker).
static void initStudioResources() { Q_INIT_RESOURCE(studio); }

namespace moekd::ui {

using json = nlohmann::json;

namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

// The engine's defaults: every field of a run config, and the shapes of the demo's models.
const json& runDefaults() {
  static const json d = to_json(RunConfig{});
  return d;
}

}  // namespace

ConfigureView::ConfigureView(QWidget* parent) : QWidget(parent), fields_({}, [this] { onEdited(); }) {
  auto* outer = new QVBoxLayout(this);

  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel(tr("Preset:")));
  preset_ = new QComboBox;
  preset_->setObjectName("preset");
  preset_->setPlaceholderText(tr("the settings of a run or a file"));  // shown once a run or file is loaded
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
  student_ = new StudentForm;
  connect(student_, &StudentForm::edited, this, &ConfigureView::onEdited);
  col1->addWidget(student_);
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
  connect(preset_, &QComboBox::currentIndexChanged, applyPreset, [this, applyPreset] {
    applyPreset->setEnabled(preset_->currentIndex() >= 0);
  });
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
  base_ = runDefaults();
  loadPreset("demo-teacher");
}

// ----- widgets ---------------------------------------------------------------------------------

QWidget* ConfigureView::buildRunGroup() {
  auto* box = new QGroupBox(tr("Run"));
  auto* form = new QFormLayout(box);
  name_ = fields_.text("name");
  auto* runDir = fields_.text("run_dir", tr("folder for config.json, metrics.jsonl, checkpoints"));
  method_ = fields_.choice("method", all_names<Method>());
  method_->setToolTip(tr("sft: no teacher · kd: classic distillation · ka: Knowledge Augmentation · "
                         "sar: Student-Aware Router · train-teacher: train an MoE from scratch"));
  form->addRow(tr("Name"), name_);
  form->addRow(tr("Run folder"), withBrowse(runDir, true));
  form->addRow(tr("Method"), method_);
  connect(method_, &QComboBox::currentTextChanged, this, [this] { updateMethodState(); });
  return box;
}

QWidget* ConfigureView::buildTeacherGroup() {
  teacherBox_ = new QGroupBox(tr("Teacher"));
  auto* form = new QFormLayout(teacherBox_);
  teacherPath_ = fields_.text("teacher.path", tr("Hugging Face folder (config.json + safetensors)"));
  form->addRow(tr("Folder"), withBrowse(teacherPath_, true));
  teacherInfo_ = new QLabel;
  teacherInfo_->setObjectName("teacher.info");
  teacherInfo_->setWordWrap(true);
  teacherInfo_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  form->addRow(teacherInfo_);
  connect(teacherPath_, &QLineEdit::editingFinished, this, [this] { inspectTeacher(true); });
  return teacherBox_;
}

QWidget* ConfigureView::buildDataGroup() {
  auto* box = new QGroupBox(tr("Data"));
  auto* v = new QVBoxLayout(box);
  auto* form = new QFormLayout;
  dataKind_ = fields_.choice("data.kind", all_names<DataKind>());
  auto* dataPath = fields_.text("data.path", tr("Dolly-format .jsonl or a text file"));
  dataPathRow_ = withBrowse(dataPath, false, tr("Data (*.jsonl *.json *.txt);;All files (*)"));
  tokenizer_ = fields_.text("data.tokenizer", tr("builtin, a tokenizer.model or a folder holding one"));
  form->addRow(tr("Kind"), dataKind_);
  form->addRow(tr("File"), dataPathRow_);
  form->addRow(tr("Seed"), fields_.unsignedNumber("data.seed"));
  form->addRow(tr("Max length"), fields_.integer("data.max_len", 1, 1 << 16));
  form->addRow(tr("Tokenizer"), withBrowse(tokenizer_, false, tr("SentencePiece (*.model);;All files (*)")));
  v->addLayout(form);
  preview_ = new DataPreview;
  v->addWidget(preview_, 1);
  connect(dataKind_, &QComboBox::currentTextChanged, this,
          [this](const QString& kind) { dataPathRow_->setEnabled(kind != name_of(DataKind::Builtin)); });
  return box;
}

QWidget* ConfigureView::buildDistillGroups() {
  auto* w = new QWidget;
  auto* v = new QVBoxLayout(w);
  v->setContentsMargins(0, 0, 0, 0);
  distillBox_ = new QGroupBox(tr("Distillation"));
  auto* d = new QFormLayout(distillBox_);
  auto* alpha = fields_.number("distill.alpha");
  alpha->setToolTip(tr("L = (1 - alpha) CE + alpha D"));
  d->addRow(tr("Divergence"), fields_.choice("distill.divergence", all_names<DivergenceKind>()));
  d->addRow(tr("Alpha"), alpha);
  d->addRow(tr("Temperature"), fields_.number("distill.temperature"));
  v->addWidget(distillBox_);

  kaBox_ = new QGroupBox(tr("Knowledge Augmentation"));
  auto* k = new QFormLayout(kaBox_);
  auto* kPrime = fields_.integer("ka.k_prime", 0, 4096);
  kPrime->setSpecialValueText(tr("0 (the model's top-k)"));
  k->addRow(tr("Samples M"), fields_.integer("ka.m", 0, 256));
  k->addRow(tr("Lambda"), fields_.number("ka.lambda"));
  k->addRow(tr("k'"), kPrime);
  v->addWidget(kaBox_);

  sarBox_ = new QGroupBox(tr("Student-Aware Router"));
  auto* s = new QFormLayout(sarBox_);
  s->addRow(tr("Router learning rate"), fields_.number("sar.router_lr"));
  s->addRow(tr("Direction"), fields_.choice("sar.direction", all_names<RouterLoss>()));
  s->addRow(tr("Teacher policy"),
            fields_.choice("sar.policy", {name_of(PolicyKind::All), name_of(PolicyKind::TopP)}));
  v->addWidget(sarBox_);
  return w;
}

QWidget* ConfigureView::buildTrainGroups() {
  auto* w = new QWidget;
  auto* v = new QVBoxLayout(w);
  v->setContentsMargins(0, 0, 0, 0);
  auto* train = new QGroupBox(tr("Training"));
  auto* t = new QFormLayout(train);
  steps_ = fields_.integer("train.steps", 0, 100000000);
  auto* device = fields_.choice("train.device", device_choices());
  device->setEditable(true);
  t->addRow(tr("Learning rate"), fields_.number("train.lr"));
  t->addRow(tr("Schedule"), fields_.choice("train.schedule", all_names<Schedule>()));
  t->addRow(tr("Warm-up steps"), fields_.integer("train.warmup_steps", 0, 100000000));
  t->addRow(tr("Batch size"), fields_.integer("train.batch_size", 0, 1 << 16));
  t->addRow(tr("Steps"), steps_);
  t->addRow(tr("Seed"), fields_.unsignedNumber("train.seed"));
  t->addRow(tr("Device"), device);
  auto* precision = fields_.choice("train.precision", all_names<Precision>());
  precision->setToolTip(tr("auto: bfloat16 on CUDA GPUs that support it, float16 on older GPUs, float32 on the CPU. "
                           "The teacher is stored in it; the student keeps float32 weights and computes in it."));
  t->addRow(tr("Precision"), precision);
  auto* ckpt = fields_.flag("train.checkpoint_activations", tr("recompute each layer in backward"));
  ckpt->setToolTip(tr("Activation checkpointing: less memory for one more forward per layer "
                      "(the student, and SAR's teacher pass)."));
  t->addRow(tr("Checkpointing"), ckpt);
  v->addWidget(train);

  evalBox_ = new QGroupBox(tr("Evaluation"));
  auto* e = new QFormLayout(evalBox_);
  auto* every = fields_.integer("eval.every", 0, 100000000);
  every->setSpecialValueText(tr("only at the end"));
  e->addRow(tr("Every (steps)"), every);
  e->addRow(tr("Generated samples"), fields_.integer("eval.samples", 0, 1000000));
  auto* teacherGen = fields_.flag("eval.teacher", tr("the teacher's answers beside the student's"));
  teacherGen->setToolTip(tr("Each evaluation also generates the teacher's answers to the same prompts (slower), "
                            "shown side by side in the Evaluation tab."));
  e->addRow(tr("Teacher samples"), teacherGen);
  auto* routing = fields_.integer("routing_every", 0, 100000000);
  routing->setSpecialValueText(tr("never"));
  routing->setToolTip(tr("How often an MoE run records its routing (the Experts and Router tabs)."));
  e->addRow(tr("Routing every (steps)"), routing);
  return w;
}

// ----- JSON <-> forms ----------------------------------------------------------------------------

void ConfigureView::setConfig(const json& config) {
  preset_->setCurrentIndex(-1);  // the form no longer shows a preset (loadPreset sets it back)
  try {
    base_ = to_json(parse_run_config(config, "configuration"));
  } catch (const std::exception&) {
    // Not (yet) valid, e.g. a preset waiting for its paths: every default, then the given fields.
    base_ = runDefaults();
    if (config.is_object()) base_.merge_patch(config);
  }
  populate();
}

void ConfigureView::populate() {
  populating_ = true;
  fields_.read(base_, runDefaults());
  student_->read(base_.value("student", json::object()));
  dataPathRow_->setEnabled(dataKind_->currentText() != name_of(DataKind::Builtin));
  populating_ = false;

  updateMethodState();
  inspectTeacher(false);
  revalidate();
  preview_->refreshNow();
}

json ConfigureView::buildJson() const {
  json j = base_;
  fields_.write(j);
  if (teacherPath_->text().isEmpty()) j["teacher"].erase("path");

  student_->write(j["student"]);
  return j;
}

json ConfigureView::config() const { return valid_ ? normalized_ : buildJson(); }

int ConfigureView::totalSteps() const { return steps_->value(); }

void ConfigureView::onEdited() {
  if (populating_) return;
  revalidate();
}

namespace {
// What the form shows under its fields, checked for Start too: files and folders the run would
// open. Empty when all are there.
QString missingInput(const RunConfig& c) {
  namespace fs = std::filesystem;
  auto model = [](const std::string& path, const QString& role) -> QString {
    if (path.empty()) return {};
    if (!fs::is_directory(path))
      return QObject::tr("The %1 folder %2 does not exist.").arg(role, QString::fromStdString(path));
    if (!fs::exists(fs::path(path) / "config.json"))
      return QObject::tr("The %1 folder %2 holds no config.json: choose a Hugging Face model folder.")
          .arg(role, QString::fromStdString(path));
    return {};
  };
  const bool teacher = c.method == Method::KD || c.method == Method::KA || c.method == Method::SAR;
  if (teacher) {
    if (c.teacher.path.empty() && c.teacher.init.is_null()) return QObject::tr("Choose the teacher's folder.");
    if (auto e = model(c.teacher.path, QObject::tr("teacher")); !e.isEmpty()) return e;
  }
  if (auto e = model(c.student.path, QObject::tr("student")); !e.isEmpty()) return e;
  if (c.data.kind != DataKind::Builtin && !fs::is_regular_file(c.data.path))
    return QObject::tr("The data file %1 does not exist.").arg(QString::fromStdString(c.data.path));
  if (!c.data.tokenizer.empty() && c.data.tokenizer != "builtin" && !fs::exists(c.data.tokenizer))
    return QObject::tr("The tokenizer %1 does not exist.").arg(QString::fromStdString(c.data.tokenizer));
  return {};
}
}  // namespace

void ConfigureView::revalidate() {
  const json j = buildJson();
  QString error;
  try {
    const RunConfig parsed = parse_run_config(j, "configuration");
    normalized_ = to_json(parsed);
    if (!parsed.student.init.is_null()) config_from_hf(parsed.student.init, "student.init").validate();
    if (parsed.run_dir.empty())
      error = tr("Choose a run folder: config.json, metrics.jsonl and the checkpoints go there.");
    else if (run_dir_holds_training(parsed.run_dir))
      error = tr("Run folder %1 already holds a run: choose a new folder for this one (the Runs view opens "
                 "the old one).")
                  .arg(qs(parsed.run_dir));
    else if (parsed.data.tokenizer.empty())
      error = tr("`data.tokenizer` is empty: `builtin`, a SentencePiece tokenizer.model, or a folder holding one "
                 "(usually the teacher's).");
    else
      error = missingInput(parsed);
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
  preview_->setDataConfig(j.value("data", json::object()));
  Q_EMIT configChanged();
}

void ConfigureView::showInline(QLabel* label, const QString& text, bool error) {
  showInlineMessage(label, text, error, palette());
}

void ConfigureView::updateMethodState() {
  const auto m = parse_name<Method>(method_->currentText().toStdString());
  const bool teacher = m == Method::KD || m == Method::KA || m == Method::SAR;
  teacherBox_->setEnabled(teacher);
  distillBox_->setEnabled(teacher);
  if (auto* samples = findChild<QCheckBox*>("eval.teacher")) samples->setEnabled(teacher);  // no teacher, no answers
  kaBox_->setEnabled(m == Method::KA);
  sarBox_->setEnabled(m == Method::SAR);
  student_->setTitle(m == Method::TrainTeacher ? tr("Model to train (the future teacher)") : tr("Student"));
  if (!teacher) showInline(teacherInfo_, tr("Method %1 uses no teacher.").arg(method_->currentText()), false);
  else inspectTeacher(false);
}

void ConfigureView::inspectTeacher(bool userChoice) {
  const QString path = teacherPath_->text().trimmed();
  if (!teacherBox_->isEnabled()) return;
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
      if (info.contains("vocab_size")) student_->setVocabulary(info["vocab_size"].get<int64_t>());
      if (tokenizer_->text().trimmed().isEmpty()) tokenizer_->setText(path);
    }
  } catch (const std::exception& e) {
    showInline(teacherInfo_, qs(e.what()), true);
  }
}

// ----- files -------------------------------------------------------------------------------------

bool ConfigureView::loadPreset(const QString& name) {
  QFile f(":/presets/" + name + ".json");
  if (!f.open(QIODevice::ReadOnly)) return false;
  try {
    json config = json::parse(f.readAll().toStdString());
    // Applied again after its run trained: the first free sibling folder (demo-teacher-2, ...),
    // not one that Start would refuse.
    if (config.contains("run_dir") && config["run_dir"].is_string()) {
      const std::string dir = config["run_dir"].get<std::string>();
      if (run_dir_holds_training(dir)) {
        const std::string fresh = free_sibling_dir(dir);
        config["run_dir"] = fresh;
        if (config.contains("name")) config["name"] = std::filesystem::path(fresh).filename().string();
      }
    }
    setConfig(config);
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
