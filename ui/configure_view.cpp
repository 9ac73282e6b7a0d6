#include "configure_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QStyle>
#include <QVBoxLayout>
#include <filesystem>

#include "backend/devices.h"
#include "dist/dist_env.h"
#include "browse_row.h"
#include "data_preview.h"
#include "field_marks.h"
#include "form_checks.h"
#include "presets.h"
#include "inline_message.h"
#include "qstr.h"
#include "io/hf_config.h"
#include "io/inspect.h"
#include "run/run_config.h"
#include "run/run_folder.h"
#include "student_form.h"
#include "util/error.h"
#include "util/json_file.h"

// The presets live in a resource file compiled into this static library: register it explicitly
// (a static library's resource initialiser is otherwise dropped by the linker).
static void initStudioResources() { Q_INIT_RESOURCE(studio); }

namespace moekd::ui {

using json = nlohmann::json;

namespace {

// The engine's defaults: every field of a run config, and the shapes of the demo's models.
const json& runDefaults() {
  static const json d = to_json(RunConfig{});
  return d;
}

}  // namespace

ConfigureView::ConfigureView(QWidget* parent)
    : QWidget(parent), fields_({}, [this] { onEdited(); }), marks_(std::make_unique<FieldMarks>(this)) {
  auto* outer = new QVBoxLayout(this);

  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel(tr("Preset:")));
  preset_ = new QComboBox;
  preset_->setObjectName("preset");
  preset_->setPlaceholderText(tr("the settings of a run or a file"));
  preset_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  preset_->setMinimumContentsLength(24);  // shown once a run or file is loaded
  preset_->addItem(tr("Demo teacher (train-teacher, built-in tasks)"), "demo-teacher");
  // The guided demo path's next step: distil the teacher trained above (or the shipped one).
  for (const char* method : {"sft", "kd", "ka", "sar"})
    preset_->addItem(tr("Distil the demo teacher: %1").arg(QString::fromLatin1(method).toUpper()),
                     QString("demo-") + method);
  for (const char* method : {"kd", "ka"})
    preset_->addItem(tr("Distil the demo teacher: %1 on the student's own answers (on-policy)")
                         .arg(QString::fromLatin1(method).toUpper()),
                     QString("demo-") + method + "-on-policy");
  preset_->addItem(tr("Paper-like KD (LLaMA-MoE teacher, 1.3B Llama student, Dolly)"), "paper-like");
  // The paper authors' own recipes (their finetune_gkd.py and finetune_sfr.py scripts): the
  // student, fine-tuned first, writes the responses; the teacher's path and the data are the user's.
  preset_->addItem(tr("KA with student-generated outputs (paper)"), "paper-ka-sgo");
  preset_->setItemData(preset_->count() - 1,
                       tr("M = 4 sampled-expert passes, lambda 0.05, k' = 15 of 16 experts (all but one of the "
                          "teacher you choose), the reverse KL alone on the student's own answers, lr 1e-5 constant, batch 4"),
                       Qt::ToolTipRole);
  preset_->addItem(tr("SAR (paper)"), "paper-sar");
  preset_->setItemData(preset_->count() - 1,
                       tr("Every expert, the teacher's routers trained for the student at 5e-6, the divergence alone on "
                          "the student's own answers, lr 5e-6 cosine, batch 4"),
                       Qt::ToolTipRole);
  preset_->setItemData(1, tr("SFT: the student alone on the data, the baseline the others are measured against"),
                       Qt::ToolTipRole);
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
  columns_ = new QGridLayout(content);
  auto column = [](QWidget*& box) {
    box = new QWidget;
    auto* v = new QVBoxLayout(box);
    v->setContentsMargins(0, 0, 0, 0);
    return v;
  };
  auto* col1 = column(col1_);
  col1->addWidget(buildRunGroup());
  col1->addWidget(buildTeacherGroup());
  student_ = new StudentForm;
  connect(student_, &StudentForm::edited, this, &ConfigureView::onEdited);
  col1->addWidget(student_);
  col1->addStretch(1);
  auto* col2 = column(col2_);
  col2->addWidget(buildDataGroup(), 1);
  auto* col3 = column(col3_);
  col3->addWidget(buildDistillGroups());
  col3->addWidget(buildTrainGroups());
  col3->addStretch(1);
  col2->addWidget(buildOnPolicyGroup());
  col2->addWidget(evalBox_);  // below the data, so that no column needs to scroll at 1400 x 900
  scroll_ = scroll;
  arrangeColumns(3);
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

ConfigureView::~ConfigureView() = default;

void ConfigureView::arrangeColumns(int count) {
  if (count == columnCount_) return;
  columnCount_ = count;
  for (QWidget* c : {col1_, col2_, col3_}) columns_->removeWidget(c);
  for (int i = 0; i < 3; ++i) columns_->setColumnStretch(i, 0);
  if (count == 3) {
    columns_->addWidget(col1_, 0, 0);
    columns_->addWidget(col2_, 0, 1);
    columns_->addWidget(col3_, 0, 2);
    columns_->setColumnStretch(0, 10);
    columns_->setColumnStretch(1, 12);
    columns_->setColumnStretch(2, 10);
  } else if (count == 2) {  // the distillation and training settings under the data
    columns_->addWidget(col1_, 0, 0, 2, 1);
    columns_->addWidget(col2_, 0, 1);
    columns_->addWidget(col3_, 1, 1);
    columns_->setColumnStretch(0, 10);
    columns_->setColumnStretch(1, 12);
  } else {
    columns_->addWidget(col1_, 0, 0);
    columns_->addWidget(col2_, 1, 0);
    columns_->addWidget(col3_, 2, 0);
  }
}

void ConfigureView::resizeEvent(QResizeEvent* event) {
  QWidget::resizeEvent(event);
  // Three columns where they fit, else two: a narrow window scrolls down, never sideways.
  // From this view's own width: a hidden tab's scroll area is resized only once it shows.
  const QMargins m = columns_->contentsMargins(), outer = layout()->contentsMargins();
  const int scrollbar = style()->pixelMetric(QStyle::PM_ScrollBarExtent, nullptr, scroll_);
  const int room = width() - outer.left() - outer.right() - scrollbar - m.left() - m.right();
  const int gap = columns_->horizontalSpacing();
  const int w1 = col1_->minimumSizeHint().width(), w2 = col2_->minimumSizeHint().width(),
            w3 = col3_->minimumSizeHint().width();
  arrangeColumns(w1 + w2 + w3 + 2 * gap <= room ? 3 : w1 + std::max(w2, w3) + gap <= room ? 2 : 1);
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
  name_->setToolTip(tr("The run's label in the Runs view and on charts. While the run folder ends in the name, "
                       "renaming the run renames the folder too."));
  form->addRow(tr("Name"), name_);
  form->addRow(tr("Run folder"), withBrowse(runDir, true));
  runWhere_ = new QLabel;
  runWhere_->setObjectName("run_dir.where");
  runWhere_->setWordWrap(true);
  runWhere_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  runWhere_->setForegroundRole(QPalette::PlaceholderText);
  form->addRow(QString(), runWhere_);
  form->addRow(tr("Method"), method_);
  // The folder follows the name while it is named after it (runs/kd -> runs/kd-long).
  connect(name_, &QLineEdit::textEdited, this, [this, runDir](const QString& now) {
    const QString folder = runDir->text().trimmed(), name = QString(now).replace('/', '-').trimmed();
    if (!folder.isEmpty() && !name.isEmpty() && QFileInfo(folder).fileName() == nameBefore_) {
      const QString parent = QFileInfo(folder).path();
      runDir->setText(parent == "." && !folder.startsWith("./") ? name : QDir(parent).filePath(name));
    }
    nameBefore_ = name;
  });
  connect(name_, &QLineEdit::textChanged, this, [this](const QString& t) {
    if (populating_) nameBefore_ = t;
  });
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
  tokenizer_ = fields_.text("data.tokenizer", tr("builtin, a tokenizer.json or .model, or a folder holding one"));
  // A built-in template or a custom string; JSONL only (built-in tasks and text are used as they are).
  auto* promptTemplate = fields_.choice("data.template", prompt_template_names());
  promptTemplate->setEditable(true);
  promptTemplate->setInsertPolicy(QComboBox::NoInsert);
  promptTemplate->setToolTip(
      tr("How a JSONL row becomes the text the models read: dolly (the paper's), chatml (Qwen), llama3, mistral, "
         "plain, or your own string with {instruction}, {context} and {response}. The loss covers the response and "
         "what follows {response}; markup typed in the data never becomes a control token."));
  form->addRow(tr("Kind"), dataKind_);
  form->addRow(tr("File"), dataPathRow_);
  form->addRow(tr("Seed"), fields_.unsignedNumber("data.seed"));
  form->addRow(tr("Max length"), fields_.integer("data.max_len", 1, 1 << 16));
  form->addRow(tr("Tokenizer"),
               withBrowse(tokenizer_, false, tr("Tokenizers (tokenizer.json *.model);;All files (*)")));
  form->addRow(tr("Template"), promptTemplate);
  v->addLayout(form);
  preview_ = new DataPreview;
  v->addWidget(preview_, 1);
  connect(dataKind_, &QComboBox::currentTextChanged, this,
          [this, promptTemplate](const QString& kind) {
            dataPathRow_->setEnabled(kind != name_of(DataKind::Builtin));
            promptTemplate->setEnabled(kind == name_of(DataKind::Jsonl));
          });
  return box;
}

// Where the responses come from: the dataset's, or the student's own (on-policy), and how the
// student samples them. Beside the data, whose prompts they answer.
QWidget* ConfigureView::buildOnPolicyGroup() {
  onPolicyBox_ = new QGroupBox(tr("Student-written answers (on-policy)"));
  // Two settings a row: the group stays short enough that no column scrolls at 1400 x 900.
  auto* g = new QGridLayout(onPolicyBox_);
  auto* onPolicy = fields_.number("distill.on_policy");
  onPolicy->setToolTip(tr("Probability that a batch's responses are written by the student and scored by the "
                          "teacher (GKD's mixing): 0 = the dataset's responses, 1 = always the student's"));
  auto* topK = fields_.integer("distill.sampling.top_k", 0, 1 << 24);
  topK->setSpecialValueText(tr("0 (all)"));
  topK->setToolTip(tr("Sample among the k most likely tokens only; 0: every token"));
  auto* newTokens = fields_.integer("distill.sampling.max_new_tokens", 1, 1 << 16);
  newTokens->setToolTip(tr("The most tokens the student writes per answer (never past the data's max length)"));
  g->addWidget(new QLabel(tr("Share of batches")), 0, 0);
  g->addWidget(onPolicy, 0, 1, 1, 3);
  g->addWidget(new QLabel(tr("Temperature")), 1, 0);
  g->addWidget(fields_.number("distill.sampling.temperature"), 1, 1);
  g->addWidget(new QLabel(tr("Top-k")), 1, 2);
  g->addWidget(topK, 1, 3);
  g->addWidget(new QLabel(tr("Top-p")), 2, 0);
  g->addWidget(fields_.number("distill.sampling.top_p"), 2, 1);
  g->addWidget(new QLabel(tr("New tokens")), 2, 2);
  g->addWidget(newTokens, 2, 3);
  g->setColumnStretch(1, 1);
  g->setColumnStretch(3, 1);
  return onPolicyBox_;
}

QWidget* ConfigureView::buildDistillGroups() {
  auto* w = new QWidget;
  auto* v = new QVBoxLayout(w);
  v->setContentsMargins(0, 0, 0, 0);
  distillBox_ = new QGroupBox(tr("Distillation"));
  auto* d = new QFormLayout(distillBox_);
  auto* alpha = fields_.number("distill.alpha");
  alpha->setToolTip(tr("L = w CE + alpha D, w the cross-entropy weight"));
  auto* ceWeight = fields_.optionalNumber("distill.ce_weight", tr("1 - alpha"));
  ceWeight->setToolTip(tr("Weight of the cross-entropy on the responses; empty: 1 - alpha. "
                          "0 trains on the divergence alone, as the paper authors' on-policy runs do."));
  d->addRow(tr("Divergence"), fields_.choice("distill.divergence", all_names<DivergenceKind>()));
  d->addRow(tr("Alpha"), alpha);
  d->addRow(tr("CE weight"), ceWeight);
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
  // Not a field of the run config: how the studio starts the run (torchrun and srun decide it
  // for runs started elsewhere).
  processes_ = new QSpinBox;
  processes_->setObjectName("processes");
  processes_->setRange(1, 256);
  processes_->setValue(1);
  processes_->setToolTip(
      several_processes_available()
          ? tr("1: the run trains inside the studio. More: the studio starts `moekd distill --nproc N`, N processes "
               "training data parallel (Gloo on the CPU, NCCL on CUDA with one GPU each), each with its share of the "
               "cores, and follows the run's files. Batch size is per process.")
          : tr("This build runs one process only (built without Gloo and NCCL)."));
  processes_->setEnabled(several_processes_available());
  processesNote_ = new QLabel;
  processesNote_->setObjectName("processesNote");
  auto* processesRow = new QWidget;
  auto* pr = new QHBoxLayout(processesRow);
  pr->setContentsMargins(0, 0, 0, 0);
  pr->addWidget(processes_);
  pr->addWidget(processesNote_, 1);
  t->addRow(tr("Processes"), processesRow);
  connect(processes_, qOverload<int>(&QSpinBox::valueChanged), this, [this] { updateProcessesNote(); });
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
  presetUntouched_ = false;
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

int ConfigureView::processes() const { return processes_->value(); }

void ConfigureView::updateProcessesNote() {
  const int n = processes_->value();
  const json train = buildJson().value("train", json::object());
  const auto batch = train.value("batch_size", int64_t{0}), accum = train.value("grad_accum", int64_t{1});
  processesNote_->setText(n > 1 && batch > 0 ? tr("%1 × batch %2%3 = %4 sequences per step")
                                                   .arg(n)
                                                   .arg(batch)
                                                   .arg(accum > 1 ? tr(" × %1 accumulated").arg(accum) : QString())
                                                   .arg(n * batch * std::max<int64_t>(1, accum))
                                             : QString());
}

void ConfigureView::onEdited() {
  if (populating_) return;
  presetUntouched_ = false;
  revalidate();
}

void ConfigureView::revalidate() {
  const json j = buildJson();
  RunConfig parsed;
  const std::vector<moekd::ConfigProblem> problems = checkForm(j, &parsed);
  const bool valid = problems.empty();
  if (valid) normalized_ = to_json(parsed);
  runWhere_->setText(parsed.run_dir.empty()
                         ? QString()
                         : tr("config.json, metrics.jsonl and the checkpoints go to %1")
                               .arg(QDir::toNativeSeparators(QFileInfo(qstr(parsed.run_dir)).absoluteFilePath())));

  // Each problem beside its field; the header lists them all (a marked field may be scrolled away).
  const auto unplaced = marks_->show(problems);
  QStringList lines;
  for (const auto& p : problems) lines << marks_->sentence(p, true);
  if (valid)
    message_ = tr("Configuration is valid: %1, %2 steps.").arg(method_->currentText()).arg(steps_->value());
  else if (problems.size() == 1)
    message_ = lines.front();
  else
    message_ = tr("%1 things to fix, marked at their fields:").arg(problems.size()) + "\n• " + lines.join("\n• ");
  showInline(status_, valid ? QStringLiteral("✔ ") + message_ : QStringLiteral("✖ ") + message_, !valid);
  status_->setToolTip(valid || unplaced.empty() ? QString() : QString::fromStdString(unplaced.front().message));
  const bool changed = valid != valid_;
  valid_ = valid;
  if (changed) Q_EMIT validityChanged(valid_);
  preview_->setDataConfig(j.value("data", json::object()));
  updateProcessesNote();
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
  onPolicyBox_->setEnabled(teacher);  // the teacher scores what the student writes
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
                       .arg(qstr(info.value("architecture", std::string("?"))))
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
      // The paper's KA samples k' = 15 of its teacher's 16 experts: all but one, for this teacher.
      auto* kPrime = findChild<QSpinBox*>("ka.k_prime");
      if (preset_->currentData().toString() == "paper-ka-sgo" && experts > 1 && kPrime) {
        kPrime->setValue(static_cast<int>(experts - 1));
        showInline(teacherInfo_, text + tr("<br>k' set to %1: all experts but one, as the paper's 15 of 16").arg(experts - 1),
                   false);
      }
    }
  } catch (const std::exception& e) {
    showInline(teacherInfo_, qstr(e.what()), true);
  }
}

// ----- files -------------------------------------------------------------------------------------

void ConfigureView::setWorkspace(const QString& dir) {
  workspace_ = dir;
  // A preset on show that nobody edited yet moves to the new workspace with its runs.
  if (presetUntouched_ && preset_->currentIndex() >= 0) loadPreset(preset_->currentData().toString());
}

QString ConfigureView::latestTeacher() const { return latestTeacherModel(workspace_); }

bool ConfigureView::loadPreset(const QString& name) {
  const auto config = presetConfig(name, workspace_);
  if (!config) return false;
  setConfig(*config);
  const int i = preset_->findData(name);
  if (i >= 0) preset_->setCurrentIndex(i);
  presetUntouched_ = true;
  return true;
}

bool ConfigureView::loadFile(const QString& path, QString* error) {
  try {
    const json j = read_json_file(path.toStdString());  // a regular file, bounded, nested at most 64 deep
    if (!j.is_object()) fail(path.toStdString(), ": the file holds no JSON object");
    setConfig(j);
  } catch (const std::exception& e) {
    if (error) *error = qstr(e.what());
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
