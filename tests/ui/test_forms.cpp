// The Configure forms: presets, JSON round trips, inline validation gating Start, engine errors shown.
#include "test_ui.h"

void TestUi::presetsLoad() {
  ConfigureView view;
  QVERIFY2(view.isValid(), qPrintable(view.validationMessage()));  // opens on the demo preset
  QCOMPARE(view.config()["method"], json("train-teacher"));
  QCOMPARE(view.config()["train"]["steps"], json(8000));  // the demo teacher recipe
  QCOMPARE(view.config()["student"]["init"]["num_local_experts"], json(8));
  QVERIFY(view.loadPreset("paper-like"));
  QVERIFY(!view.isValid());  // teacher and data paths are left for the user
  QCOMPARE(view.config()["method"], json("kd"));
  QCOMPARE(view.config()["student"]["init"]["hidden_size"], json(2048));
  auto* preset = view.findChild<QComboBox*>("preset");
  QVERIFY(preset && preset->currentData().toString() == "paper-like");
  // The authors' on-policy recipes: the divergence alone on the student's own answers.
  for (const char* name : {"paper-ka-sgo", "paper-sar"}) {
    QVERIFY(view.loadPreset(name));
    const auto c = view.config();
    QCOMPARE(c["distill"]["on_policy"], json(1.0));
    QCOMPARE(c["distill"]["ce_weight"], json(0.0));
    QCOMPARE(c["train"]["batch_size"], json(4));
    QCOMPARE(view.findChild<QLineEdit*>("distill.on_policy")->text(), QString("1"));
    QCOMPARE(view.findChild<QLineEdit*>("distill.ce_weight")->text(), QString("0"));
  }
  QCOMPARE(view.config()["sar"]["router_lr"], json(5e-6));
  // The paper's KA preset takes all experts but one of the teacher the user chooses (15 of 16 there).
  QVERIFY(view.loadPreset("paper-ka-sgo"));
  QCOMPARE(view.config()["ka"]["k_prime"], json(15));
  auto* teacherPath = view.findChild<QLineEdit*>("teacher.path");
  QVERIFY(teacherPath);
  teacherPath->setText(QString(MOEKD_TEST_DATA) + "/hf/mixtral");  // 4 experts
  Q_EMIT teacherPath->editingFinished();
  QCOMPARE(view.config()["ka"]["k_prime"], json(3));
  // The demo's on-policy KD distils from the shipped teacher and is ready to start; an empty
  // cross-entropy weight is "1 - alpha" (null in the config), not an error.
  QVERIFY(view.loadPreset("demo-kd-on-policy"));
  QVERIFY2(view.isValid(), qPrintable(view.validationMessage()));
  QCOMPARE(view.config()["method"], json("kd"));
  QVERIFY(view.loadPreset("demo-kd"));
  QVERIFY(view.config()["distill"]["ce_weight"].is_null());
  QVERIFY(view.findChild<QLineEdit*>("distill.ce_weight")->text().isEmpty());
  QVERIFY2(view.isValid(), qPrintable(view.validationMessage()));
  // A loaded run or file is not a preset: the box says so instead of naming the last preset.
  QTemporaryDir tmp;
  view.setConfig(tinyRun(tmp.filePath("run"), 10));
  QCOMPARE(preset->currentIndex(), -1);
  // A preset whose run folder already trained gets the first free sibling folder.
  const QString cwd = QDir::currentPath();
  QVERIFY(QDir::setCurrent(tmp.path()));
  QDir().mkpath("runs/demo-teacher");
  QFile metrics("runs/demo-teacher/metrics.jsonl");
  QVERIFY(metrics.open(QIODevice::WriteOnly));
  metrics.write("{\"type\": \"step\", \"step\": 1}\n");
  metrics.close();
  QVERIFY(view.loadPreset("demo-teacher"));
  QDir::setCurrent(cwd);
  QCOMPARE(view.config()["run_dir"], json("runs/demo-teacher-2"));
  QCOMPARE(view.config()["name"], json("demo-teacher-2"));
  QCOMPARE(preset->currentData().toString(), QString("demo-teacher"));
}

void TestUi::formJsonRoundTrip_data() {
  QTest::addColumn<QByteArray>("config");
  const QString hf = QString(MOEKD_TEST_DATA) + "/hf/";
  QTest::newRow("train-teacher") << QByteArray::fromStdString(tinyRun("/tmp/rt-a", 30).dump());
  json kd = tinyRun("/tmp/rt-b", 120);
  kd["method"] = "ka";
  kd["teacher"] = {{"path", (hf + "mixtral").toStdString()}};
  kd["student"] = {{"path", (hf + "llama").toStdString()}};
  kd["distill"] = {{"divergence", "skew_kl"}, {"alpha", 0.3}, {"temperature", 2.5}, {"skew_alpha", 0.2}};
  kd["ka"] = {{"m", 3}, {"lambda", 0.15}, {"k_prime", 1}};
  kd["train"]["lr"] = 1.7e-4;
  kd["train"]["schedule"] = "linear";
  kd["train"]["seed"] = 18446744073709551615ull;
  kd["train"]["precision"] = "bfloat16";
  kd["train"]["checkpoint_activations"] = true;
  kd["ka"]["batched"] = false;
  kd["data"]["seed"] = 42;
  QTest::newRow("ka, folders") << QByteArray::fromStdString(kd.dump());
  json sar = tinyRun("/tmp/rt-c", 50);
  sar["method"] = "sar";
  sar["teacher"] = {{"path", (hf + "qwen2_moe").toStdString()}};
  sar["student"]["init"]["architectures"] = {"LlamaForCausalLM"};
  sar["student"]["init"].erase("num_local_experts");
  sar["student"]["init"].erase("num_experts_per_tok");
  sar["sar"] = {{"router_lr", 0.001}, {"direction", "reverse"}, {"policy", "topp"}, {"top_p", 0.8}};
  sar["data"] = {{"kind", "jsonl"}, {"path", (QString(MOEKD_TEST_DATA) + "/jsonl/dolly_small.jsonl").toStdString()},
                 {"tokenizer", "builtin"}, {"max_len", 128}};
  sar["eval"]["teacher"] = true;
  sar["routing_every"] = 7;
  QTest::newRow("sar, jsonl") << QByteArray::fromStdString(sar.dump());
  json op = sar;  // on-policy: mixing, the divergence alone, sampling settings
  op["distill"] = {{"on_policy", 0.25}, {"ce_weight", 0.0}, {"divergence", "reverse_kl"},
                   {"sampling", {{"temperature", 0.7}, {"top_k", 20}, {"top_p", 0.95}, {"max_new_tokens", 48}}}};
  QTest::newRow("sar, on-policy") << QByteArray::fromStdString(op.dump());
}

void TestUi::formJsonRoundTrip() {
  QFETCH(QByteArray, config);
  const json c = json::parse(config.toStdString());
  const json expected = moekd::to_json(moekd::parse_run_config(c, "test"));
  ConfigureView view;
  view.setConfig(c);
  QVERIFY2(view.isValid(), qPrintable(view.validationMessage()));
  QVERIFY2(view.config() == expected, qPrintable(diff(expected, view.config())));
  // Precision and checkpointing are fields of their own, showing the config's values.
  const auto* precision = view.findChild<QComboBox*>("train.precision");
  const auto* ckpt = view.findChild<QCheckBox*>("train.checkpoint_activations");
  QVERIFY(precision && ckpt);
  QCOMPARE(precision->currentText().toStdString(), expected["train"]["precision"].get<std::string>());
  QCOMPARE(ckpt->isChecked(), expected["train"]["checkpoint_activations"].get<bool>());

  // Save as the CLI reads it, load into a fresh form: still identical.
  QTemporaryDir dir;
  const QString path = dir.filePath("run.json");
  QVERIFY(view.saveFile(path));
  ConfigureView other;
  QString error;
  QVERIFY2(other.loadFile(path, &error), qPrintable(error));
  QVERIFY2(other.config() == expected, qPrintable(diff(expected, other.config())));
}

void TestUi::invalidInputKeepsStartDisabled() {
  MainWindow w;
  QTemporaryDir dir;
  json c = tinyRun(dir.filePath("run"), 30);
  c["method"] = "kd";
  c["teacher"] = {{"path", (QString(MOEKD_TEST_DATA) + "/hf/mixtral").toStdString()}};
  w.configureView()->setConfig(c);
  QVERIFY2(w.configureView()->isValid(), qPrintable(w.configureView()->validationMessage()));
  QVERIFY(w.startAction()->isEnabled());
  auto* label = w.configureView()->findChild<QLabel*>("validation");
  QVERIFY(label);

  const moekd::ui::FieldMarks& marks = w.configureView()->marks();
  auto* teacher = w.configureView()->findChild<QLineEdit*>("teacher.path");
  QVERIFY(teacher);
  const QString good = teacher->text();
  const QColor plainBase = teacher->palette().color(QPalette::Base);
  teacher->setText("");
  QVERIFY(!w.configureView()->isValid());
  QVERIFY(!w.startAction()->isEnabled());
  // The problem shows under its field, in words with the field's label; the key is in the tooltip.
  QVERIFY(marks.note("teacher.path"));
  QVERIFY2(marks.note("teacher.path")->text().startsWith("Folder is needed by method kd"),
           qPrintable(marks.note("teacher.path")->text()));
  QVERIFY2(teacher->toolTip().contains("`teacher.path`"), qPrintable(teacher->toolTip()));
  QVERIFY(teacher->palette().color(QPalette::Base) != plainBase);
  QVERIFY2(label->text().contains("Teacher: Folder is needed"), qPrintable(label->text()));
  teacher->setText(good);
  QVERIFY(!marks.note("teacher.path"));
  QCOMPARE(teacher->palette().color(QPalette::Base), plainBase);
  QVERIFY(w.configureView()->isValid());
  QVERIFY(w.startAction()->isEnabled());
  // A folder that does not exist, or one without a config.json: what the form shows under the
  // field keeps Start off too (it used to say "valid" and fail at Start).
  teacher->setText(dir.filePath("no-such-teacher"));
  QVERIFY(!w.configureView()->isValid());
  QVERIFY(!w.startAction()->isEnabled());
  QVERIFY2(label->text().contains("no-such-teacher") && label->text().contains("does not exist"), qPrintable(label->text()));
  teacher->setText(dir.path());
  QVERIFY(!w.startAction()->isEnabled());
  QVERIFY2(label->text().contains("holds no config.json"), qPrintable(label->text()));
  teacher->setText(good);
  QVERIFY(w.startAction()->isEnabled());

  // Every problem at once, each beside its widget: a zero step count, a learning rate that is not
  // a number, a missing data file and an empty name.
  auto* steps = w.configureView()->findChild<QSpinBox*>("train.steps");
  auto* lr = w.configureView()->findChild<QLineEdit*>("train.lr");
  auto* name = w.configureView()->findChild<QLineEdit*>("name");
  QVERIFY(steps && lr && name);
  steps->setValue(0);
  lr->setText("fast");
  name->setText("");
  w.configureView()->findChild<QComboBox*>("data.kind")->setCurrentText("jsonl");
  w.configureView()->findChild<QLineEdit*>("data.path")->setText(dir.filePath("missing.jsonl"));
  QVERIFY(!w.startAction()->isEnabled());
  const std::map<QString, QString> expected = {
      {"train.steps", "Steps must be between 1 and 100000000; it is 0."},
      {"train.lr", "Learning rate must be a number, not \"fast\"."},
      {"name", "Name must not be empty: it labels the run in the Runs view and on charts."},
      {"data.path", "File does not exist: " + dir.filePath("missing.jsonl") + "."}};
  for (const auto& [key, text] : expected) {
    QLabel* note = marks.note(key);
    QVERIFY2(note, qPrintable(key));
    QCOMPARE(note->text(), text);
    QVERIFY(!note->isHidden());
    QVERIFY(note->palette().color(QPalette::WindowText) != w.palette().color(QPalette::WindowText));
    QVERIFY2(w.configureView()->findChild<QWidget*>(key)->toolTip().contains("`" + key + "`"), qPrintable(key));
  }
  QVERIFY2(label->text().contains("4 things to fix") && label->text().contains("Training: Steps must be between 1"),
           qPrintable(label->text()));
  QVERIFY(label->palette().color(QPalette::WindowText) != w.palette().color(QPalette::WindowText));
  w.resize(1400, 900);
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  saveShot(&w, "configure-problems.png");
  steps->setValue(30);
  QVERIFY(!marks.note("train.steps"));
  QVERIFY(marks.note("train.lr"));  // the others stay marked until they are fixed
  lr->setText("0.001");
  name->setText("ui-test");
  w.configureView()->findChild<QComboBox*>("data.kind")->setCurrentText("builtin");
  QVERIFY2(w.startAction()->isEnabled(), qPrintable(w.configureView()->validationMessage()));
  for (const auto& [key, text] : expected) QVERIFY2(!marks.note(key), qPrintable(key));

  // After choosing a teacher the form shows what it is.
  auto* info = w.configureView()->findChild<QLabel*>("teacher.info");
  QVERIFY(info);
  QVERIFY2(info->text().contains("MixtralForCausalLM") && info->text().contains("experts"), qPrintable(info->text()));
  teacher->setText(dir.filePath("nowhere"));
  Q_EMIT teacher->editingFinished();
  QVERIFY2(info->text().contains("nowhere"), qPrintable(info->text()));  // the engine's message, inline
  teacher->setText(good);
  Q_EMIT teacher->editingFinished();

  // A JSONL data set shows its rows and categories.
  w.configureView()->findChild<QComboBox*>("data.kind")->setCurrentText("jsonl");
  w.configureView()->findChild<QLineEdit*>("data.path")->setText(QString(MOEKD_TEST_DATA) + "/jsonl/dolly_small.jsonl");
  auto* preview = w.configureView()->findChild<QTableWidget*>("data.preview");
  auto* dataInfo = w.configureView()->findChild<QLabel*>("data.info");
  auto* counts = w.configureView()->findChild<QTableWidget*>("data.counts");
  QTRY_VERIFY2(dataInfo->text().contains("<b>18</b> train"), qPrintable(dataInfo->text()));
  QVERIFY(!counts->findItems("open_qa", Qt::MatchExactly).isEmpty());
  QVERIFY(preview->rowCount() > 0);
  QVERIFY(!preview->item(0, 1)->text().contains("###"));  // the instruction, not the template
  w.resize(1400, 900);
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  {
    // At a realistic window size every field fits: the forms need no scrolling.
    auto* scroll = w.configureView()->findChild<QScrollArea*>();
    const QSize need = scroll->widget()->minimumSizeHint(), have = scroll->viewport()->size();
    QVERIFY2(need.width() <= have.width() && need.height() <= have.height(),
             qPrintable(QString("forms need %1x%2, have %3x%4").arg(need.width()).arg(need.height())
                            .arg(have.width()).arg(have.height())));
  }
  saveShot(&w, "configure-kd.png");
}

// The data preview tokenizes as the run will: the chosen example's tokens with the template's
// control tokens named and the targets marked, and the counts per category.
void TestUi::dataPreviewShowsTokens() {
  MainWindow w;
  QTemporaryDir dir;
  json c = tinyRun(dir.filePath("run"), 30);
  c["data"] = {{"kind", "jsonl"},
               {"path", MOEKD_TEST_DATA "/jsonl/dolly_small.jsonl"},
               {"tokenizer", MOEKD_TEST_DATA "/tokenizers/qwen2"},
               {"template", "chatml"},
               {"max_len", 64}};
  c["student"]["init"]["vocab_size"] = 900;
  w.configureView()->setConfig(c);
  auto* tokens = w.configureView()->findChild<QTextBrowser*>("data.tokens");
  auto* counts = w.configureView()->findChild<QTableWidget*>("data.counts");
  auto* preview = w.configureView()->findChild<QTableWidget*>("data.preview");
  auto* info = w.configureView()->findChild<QLabel*>("data.info");
  QVERIFY(tokens && counts && preview && info);
  QTRY_VERIFY2(info->text().contains("template <b>chatml</b>"), qPrintable(info->text()));
  QVERIFY2(tokens->toPlainText().contains("<|im_start|>"), qPrintable(tokens->toPlainText()));
  QVERIFY(tokens->toHtml().contains("underline"));  // the targets
  // "P + T" per example: the targets are the response and <|im_end|>, at least two tokens.
  const QStringList pt = preview->item(0, 3)->text().split(" + ");
  QCOMPARE(pt.size(), 2);
  QVERIFY2(pt[0].toInt() > 10 && pt[1].section(' ', 0, 0).toInt() >= 2, qPrintable(preview->item(0, 3)->text()));
  // max_len 64 cuts the longer chatml examples; the table and the token view say so.
  int cut = -1;
  for (int r = 0; r < preview->rowCount() && cut < 0; ++r)
    if (preview->item(r, 3)->text().endsWith("(cut)")) cut = r;
  QVERIFY(cut >= 0);
  preview->setCurrentCell(cut, 1);
  QVERIFY2(tokens->toPlainText().contains("Cut to data.max_len = 64"), qPrintable(tokens->toPlainText()));
  preview->setCurrentCell(0, 1);
  // One row per training category, then "all", whose examples are the training split.
  QVERIFY(counts->rowCount() >= 3);
  const int last = counts->rowCount() - 1;
  QCOMPARE(counts->item(last, 0)->text(), QString("all"));
  int examples = 0;
  for (int r = 0; r < last; ++r) examples += counts->item(r, 1)->text().toInt();
  QCOMPARE(counts->item(last, 1)->text().toInt(), examples);
  QVERIFY(counts->item(last, 5)->text().toInt() > 0);  // max_len 64 cuts some chatml prompts
  w.resize(1400, 900);
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  // With room for whole examples (the README's pictures): the tokens, then the counts.
  c["data"]["max_len"] = 512;
  w.configureView()->setConfig(c);
  QTRY_VERIFY(!preview->item(0, 3)->text().endsWith("(cut)"));
  QCOMPARE(counts->item(last, 5)->text().toInt(), 0);
  auto* tabs = w.configureView()->findChild<QTabWidget*>("data.tabs");
  saveShot(tabs->parentWidget(), "data-preview.png");
  tabs->setCurrentIndex(1);
  saveShot(tabs->parentWidget(), "data-preview-counts.png");
  tabs->setCurrentIndex(0);
  c["data"]["max_len"] = 64;
  w.configureView()->setConfig(c);
  QTRY_VERIFY(preview->item(0, 3)->text().endsWith("(cut)"));

  // Choosing another example shows its tokens.
  const QString first = tokens->toPlainText();
  preview->setCurrentCell(1, 1);
  QVERIFY(tokens->toPlainText() != first);

  // A template whose tokens the tokenizer lacks: the examples stay, the reason is shown.
  c["data"]["template"] = "llama3";
  w.configureView()->setConfig(c);
  QTRY_VERIFY2(info->text().contains("&lt;|start_header_id|&gt;") || info->text().contains("<|start_header_id|>"),
               qPrintable(info->text()));
  QVERIFY(preview->rowCount() > 0);
  QVERIFY(tokens->toPlainText().contains("No tokens"));

  // A custom template that does not parse is marked at its field, with the engine's words.
  c["data"]["template"] = "Q: {question} A: {response}";
  w.configureView()->setConfig(c);
  QVERIFY2(!w.startAction()->isEnabled(), qPrintable(QString::fromStdString(w.configureView()->config()["data"].dump())));
  QLabel* note = w.configureView()->marks().note("data.template");
  QVERIFY(note);
  QVERIFY2(note->text().contains("{question}"), qPrintable(note->text()));
  // A custom template with newlines survives the form.
  c["data"]["template"] = "Q: {instruction}\n\nA: {response}";
  w.configureView()->setConfig(c);
  QCOMPARE(w.configureView()->config()["data"]["template"], c["data"]["template"]);
}

void TestUi::engineFailureIsReported() {
  MainWindow w;
  QTemporaryDir dir;
  QDir().mkpath(dir.filePath("taken"));
  QFile marker(dir.filePath("taken/metrics.jsonl"));
  QVERIFY(marker.open(QIODevice::WriteOnly));
  marker.write("{\"type\": \"step\", \"step\": 1}\n");
  marker.close();
  json c = tinyRun(dir.filePath("taken"), 10);
  w.configureView()->setConfig(c);  // the folder already holds a run: refused by the form
  QVERIFY(!w.startAction()->isEnabled());
  QVERIFY2(w.configureView()->validationMessage().contains("already holds a run"),
           qPrintable(w.configureView()->validationMessage()));
  c["run_dir"] = dir.filePath("fresh").toStdString();
  c["student"]["init"]["num_attention_heads"] = 5;  // 32 is not divisible by 5: refused by the form
  w.configureView()->setConfig(c);
  QVERIFY(!w.startAction()->isEnabled());
  c["student"]["init"]["num_attention_heads"] = 4;
  c["data"] = {{"kind", "jsonl"}, {"path", MOEKD_TEST_DATA "/jsonl/dolly_malformed.jsonl"}, {"max_len", 32}};
  w.configureView()->setConfig(c);
  QVERIFY2(w.startAction()->isEnabled(), qPrintable(w.configureView()->validationMessage()));
  w.startAction()->trigger();  // the engine reads the file and refuses its broken line
  QTRY_VERIFY_WITH_TIMEOUT(!w.lastError().isEmpty(), 60000);
  QTRY_COMPARE_WITH_TIMEOUT(w.state(), EngineWorker::State::Idle, 30000);
  QVERIFY2(w.lastError().contains("dolly_malformed.jsonl"), qPrintable(w.lastError()));
  QVERIFY(w.startAction()->isEnabled());  // a run that failed in setup leaves its folder usable
  QTRY_VERIFY(w.findChild<QMessageBox*>("runFailedMessage") != nullptr);
  qInfo("engine error shown to the user: %s", qPrintable(w.lastError()));
  w.findChild<QMessageBox*>("runFailedMessage")->close();
}
