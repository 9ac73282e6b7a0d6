// What a first session meets: the guided demo path (teacher preset, then a student preset), a
// workspace copied elsewhere, and small windows.
#include "test_ui.h"

namespace {

// The widgets of one row do not overlap, and each has at least its minimum width (unless it is
// one that is meant to be cut, with the whole text in its tooltip).
QString overlapIn(const std::vector<QWidget*>& row) {
  for (size_t i = 0; i < row.size(); ++i) {
    const QRect a(row[i]->mapTo(row[i]->window(), QPoint(0, 0)), row[i]->size());
    const bool cut = row[i]->sizePolicy().horizontalPolicy() == QSizePolicy::Ignored;  // meant to be cut
    if (!cut && row[i]->width() < row[i]->minimumSizeHint().width())
      return QString("%1 is %2 px wide, below its minimum %3")
          .arg(row[i]->objectName().isEmpty() ? row[i]->metaObject()->className() : row[i]->objectName())
          .arg(row[i]->width())
          .arg(row[i]->minimumSizeHint().width());
    for (size_t j = i + 1; j < row.size(); ++j) {
      const QRect b(row[j]->mapTo(row[j]->window(), QPoint(0, 0)), row[j]->size());
      if (a.intersects(b))
        return QString("%1 and %2 overlap").arg(row[i]->metaObject()->className(), row[j]->metaObject()->className());
    }
  }
  return {};
}

// A shortened step count and evaluation for a preset, through the form as a user would.
void shorten(ConfigureView* view, int steps) {
  view->findChild<QSpinBox*>("train.steps")->setValue(steps);
  view->findChild<QSpinBox*>("eval.samples")->setValue(4);
}

// Starts the configured run from the window and waits for its end (the test fails otherwise).
void startAndFinish(MainWindow& w) {
  const int before = w.finishedRuns();
  QVERIFY2(w.startAction()->isEnabled(), qPrintable(w.configureView()->validationMessage()));
  w.startAction()->trigger();
  QTRY_VERIFY_WITH_TIMEOUT(w.finishedRuns() == before + 1 || !w.lastError().isEmpty(), 180000);
  QVERIFY2(w.lastError().isEmpty(), qPrintable(w.lastError()));
  QTRY_COMPARE_WITH_TIMEOUT(w.state(), EngineWorker::State::Idle, 30000);
}

// When a window will not take the width asked for: which widgets hold it wide.
void dumpWide(QWidget* w, int depth) {
  const QSize m = w->minimumSizeHint(), mn = w->minimumSize();
  if (std::max(m.width(), mn.width()) > 400)
    qInfo("%*s%s %s minHint %dx%d min %dx%d", depth * 2, "", w->metaObject()->className(), qPrintable(w->objectName()),
          m.width(), m.height(), mn.width(), mn.height());
  for (QObject* c : w->children())
    if (auto* cw = qobject_cast<QWidget*>(c)) dumpWide(cw, depth + 1);
}
}  // namespace

// The demo teacher preset trains from the window; a "Distil the demo teacher" preset then fills the
// teacher in from that run and distils it; both finish.
void TestUi::guidedDemoPath() {
  QTemporaryDir ws;
  MainWindow w;
  w.setWorkspace(ws.path());
  ConfigureView* view = w.configureView();
  QVERIFY(view->loadPreset("demo-teacher"));
  QCOMPARE(view->config()["run_dir"], json(QDir(ws.path()).filePath("demo-teacher").toStdString()));
  // Without a trained teacher in the workspace, a student preset distils the shipped one.
  QVERIFY(view->loadPreset("demo-kd"));
  QCOMPARE(QDir(QString::fromStdString(view->config()["teacher"]["path"].get<std::string>())).dirName(),
           QString("demo-teacher"));
  QVERIFY(view->latestTeacher().isEmpty());

  QVERIFY(view->loadPreset("demo-teacher"));
  shorten(view, 6);
  startAndFinish(w);
  if (QTest::currentTestFailed()) return;
  // The status bar points to the next step.
  QVERIFY2(w.statusBar()->toolTip().contains("Distil the demo teacher"), qPrintable(w.statusBar()->toolTip()));

  // The student preset, chosen in the box as a user would.
  auto* preset = view->findChild<QComboBox*>("preset");
  const int kd = preset->findData("demo-kd");
  QVERIFY(kd >= 0);
  QCOMPARE(preset->itemText(kd), QString("Distil the demo teacher: KD"));
  preset->setCurrentIndex(kd);
  for (QPushButton* b : view->findChildren<QPushButton*>())
    if (b->text() == "Apply preset") b->click();
  const QString trained = QDir(ws.path()).filePath("demo-teacher/checkpoints/best/model");
  QCOMPARE(view->latestTeacher(), trained);
  QCOMPARE(view->findChild<QLineEdit*>("teacher.path")->text(), trained);
  QCOMPARE(view->config()["method"], json("kd"));
  QCOMPARE(view->config()["student"]["init"], moekd::demo_student_config());  // a dense student
  QCOMPARE(view->config()["run_dir"], json(QDir(ws.path()).filePath("demo-kd").toStdString()));
  shorten(view, 6);
  startAndFinish(w);
  if (QTest::currentTestFailed()) return;
  const auto record = moekd::load_run(QDir(ws.path()).filePath("demo-kd").toStdString());
  QVERIFY(record.finished && !record.finished->stopped_early);
  QCOMPARE(record.config["teacher"]["path"], json(trained.toStdString()));
  // The teacher's answers beside the student's, as the Evaluation view shows them.
  QVERIFY(!record.evals.empty() && !record.evals.back().samples.empty());
  for (const auto& sample : record.evals.back().samples) QVERIFY(!sample.teacher.empty());

  // Applied again, the preset gets a fresh folder; renaming the run renames its folder.
  QVERIFY(view->loadPreset("demo-kd"));
  QCOMPARE(view->config()["run_dir"], json(QDir(ws.path()).filePath("demo-kd-2").toStdString()));
  auto* name = view->findChild<QLineEdit*>("name");
  name->selectAll();
  QTest::keyClicks(name, "kd-long");
  QCOMPARE(view->findChild<QLineEdit*>("run_dir")->text(), QDir(ws.path()).filePath("kd-long"));
  QVERIFY2(view->findChild<QLabel*>("run_dir.where")->text().contains(QDir(ws.path()).filePath("kd-long")),
           qPrintable(view->findChild<QLabel*>("run_dir.where")->text()));

  // The on-policy presets start from the workspace's latest sft student, a fresh one without it.
  QVERIFY(view->loadPreset("demo-kd-on-policy"));
  QCOMPARE(view->config()["student"]["init"], moekd::demo_student_config());
  const QString sft = QDir(ws.path()).filePath("demo-sft");
  QVERIFY(QDir().mkpath(sft + "/checkpoints/best/model"));
  for (const auto& [file, text] : {std::pair<QString, QByteArray>{"config.json", R"({"method": "sft"})"},
                                   {"metrics.jsonl", "{\"type\": \"step\", \"step\": 1}\n"},
                                   {"checkpoints/best/model/config.json", "{}"}}) {
    QFile f(sft + "/" + file);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(text);
  }
  QVERIFY(view->loadPreset("demo-kd-on-policy"));
  QCOMPARE(view->config()["student"]["path"], json((sft + "/checkpoints/best/model").toStdString()));
  QCOMPARE(view->config()["distill"]["on_policy"], json(1.0));
}

// A workspace copied whole: the copy's runs open, resume and export with the paths beside them,
// not the original's.
void TestUi::copiedWorkspace() {
  QTemporaryDir root;
  const QDir orig(root.filePath("orig")), copy(root.filePath("copy"));
  QVERIFY(QDir().mkpath(orig.path()));
  // A teacher run, and a kd student distilled from its checkpoint, both under orig/.
  {
    json teacher = tinyRun(orig.filePath("teacher"), 4);
    QVERIFY(moekd::Session(moekd::parse_run_config(teacher, "test")).run());
    json kd = tinyRun(orig.filePath("kd"), 6);
    kd["method"] = "kd";
    kd["teacher"] = {{"path", orig.filePath("teacher/checkpoints/last/model").toStdString()}};
    kd["student"]["init"]["architectures"] = {"LlamaForCausalLM"};
    kd["checkpoint_every"] = 3;
    QVERIFY(moekd::Session(moekd::parse_run_config(kd, "test")).run());
  }
  QVERIFY(QDir().rename(orig.path(), copy.path()));  // moved: orig/ is gone

  MainWindow w;
  QVERIFY(w.openRun(copy.filePath("kd")));
  const json shown = w.configureView()->config();
  QCOMPARE(shown["run_dir"], json(copy.filePath("kd").toStdString()));
  QCOMPARE(shown["teacher"]["path"], json(copy.filePath("teacher/checkpoints/last/model").toStdString()));
  QVERIFY2(w.statusBar()->toolTip().contains("teacher.path found at"), qPrintable(w.statusBar()->toolTip()));
  // The teacher field shows the found folder as valid (no note under it).
  QVERIFY(!w.configureView()->marks().note("teacher.path"));

  // Continuing the copied run reads its teacher from the copy.
  w.resumeRun(copy.filePath("kd"), 8);
  QTRY_VERIFY_WITH_TIMEOUT(w.finishedRuns() == 1 || !w.lastError().isEmpty(), 120000);
  QVERIFY2(w.lastError().isEmpty(), qPrintable(w.lastError()));
  QTRY_COMPARE_WITH_TIMEOUT(w.state(), EngineWorker::State::Idle, 30000);
  QCOMPARE(w.lastStep(), qint64(8));

  // The export's model card names the teacher where it is now.
  const QString out = root.filePath("exported");
  moekd::export_student(copy.filePath("kd").toStdString(), moekd::Checkpoint::Last, out.toStdString());
  QFile card(out + "/README.md");
  QVERIFY(card.open(QIODevice::ReadOnly));
  const QString text = QString::fromUtf8(card.readAll());
  QVERIFY2(text.contains(copy.filePath("teacher")) && !text.contains(orig.path() + "/"), qPrintable(text));
}

// At 800, 1000 and 1600 px the window takes the width asked for, the forms reflow rather than
// scroll sideways, the Training view's controls keep their room, the status bar's message stays
// left of its fields and the expert-usage legend off the curves; disabled fields look disabled,
// and a selected run keeps its status dot.
void TestUi::smallWindows() {
  const QDir ws(workspace_.path());
  MainWindow w;
  w.setWorkspace(ws.path());
  QVERIFY(w.openRun(ws.filePath("run-b")));
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  // Disabled fields (the forms during a run) read as disabled: grey text on the window's colour.
  {
    auto* lr = w.configureView()->findChild<QLineEdit*>("train.lr");
    const QPalette p = lr->palette();
    QCOMPARE(p.color(QPalette::Disabled, QPalette::PlaceholderText), p.color(QPalette::Disabled, QPalette::WindowText));
    QCOMPARE(p.color(QPalette::Disabled, QPalette::Base), p.color(QPalette::Active, QPalette::Window));
  }
  // A selected row keeps its status dot: the selected-mode icon is the dot itself, not blended
  // into the highlight.
  {
    const int row = w.runsModel()->rowOf(ws.filePath("run-b"));
    const QIcon dot = w.runsModel()->index(row, RunsModel::Name).data(Qt::DecorationRole).value<QIcon>();
    QCOMPARE(dot.pixmap(12, QIcon::Selected).toImage(), dot.pixmap(12, QIcon::Normal).toImage());
  }
  for (int width : {800, 1000, 1600}) {
    w.resize(width, width < 1000 ? 600 : 900);
    QTest::qWait(100);
    if (w.width() != width) dumpWide(&w, 0);
    QVERIFY2(w.width() == width, qPrintable(QString("asked %1, got %2 (minimum %3)").arg(width).arg(w.width()).arg(w.minimumSizeHint().width())));
    for (int tab = 0; tab < w.tabs()->count(); ++tab) {
      QWidget* page = w.tabs()->widget(tab);
      QVERIFY2(page->minimumSizeHint().width() <= w.tabs()->width(),
               qPrintable(QString("%1 needs %2 px at a %3 px window").arg(w.tabs()->tabText(tab)).arg(
                   page->minimumSizeHint().width()).arg(width)));
    }
    // The forms reflow into fewer columns rather than scroll sideways.
    w.tabs()->setCurrentWidget(w.configureView());
    QTest::qWait(50);
    auto* forms = w.configureView()->findChild<QScrollArea*>();
    QVERIFY2(forms->widget()->minimumSizeHint().width() <= forms->viewport()->width(),
             qPrintable(QString("at %1 px the forms need %2 px, have %3").arg(width).arg(
                 forms->widget()->minimumSizeHint().width()).arg(forms->viewport()->width())));
    w.tabs()->setCurrentWidget(w.trainingView());
    QTest::qWait(50);
    auto* t = w.trainingView();
    std::vector<QWidget*> bar = {t->findChild<QSlider*>("smoothing"), t->findChild<QCheckBox*>("logScale"),
                                 t->findChild<QWidget*>("exportCharts")};
    for (QLabel* l : t->findChildren<QLabel*>(QString(), Qt::FindDirectChildrenOnly))
      if (l->isVisible()) bar.push_back(l);
    QVERIFY(bar[0] && bar[1] && bar[2]);
    const QString problem = overlapIn(bar);
    QVERIFY2(problem.isEmpty(), qPrintable(QString("at %1 px: %2").arg(width).arg(problem)));

    std::vector<QWidget*> fields;
    for (QWidget* f : w.statusBar()->findChildren<QWidget*>(QString(), Qt::FindDirectChildrenOnly))
      if (f->isVisible() && (qobject_cast<QLabel*>(f) || qobject_cast<QProgressBar*>(f))) fields.push_back(f);
    QVERIFY(fields.size() >= 3);
    const QString statusProblem = overlapIn(fields);
    QVERIFY2(statusProblem.isEmpty(), qPrintable(QString("status bar at %1 px: %2").arg(width).arg(statusProblem)));
    int left = w.statusBar()->width();
    for (QWidget* f : fields) left = std::min(left, f->x());
    const QString message = w.statusBar()->currentMessage();
    QVERIFY(!message.isEmpty());
    QVERIFY2(w.statusBar()->fontMetrics().horizontalAdvance(message) <= left,
             qPrintable(QString("at %1 px the message \"%2\" runs under the fields from x = %3").arg(width).arg(message).arg(left)));
    // The expert-usage legend sits below its chart, off the curves.
    QCustomPlot* history = w.expertsView()->historyPlot();
    w.tabs()->setCurrentWidget(w.expertsView());
    QTest::qWait(50);
    history->replot();
    QVERIFY(history->legend->visible());
    QVERIFY(!history->legend->outerRect().intersects(history->axisRect()->rect()));
    if (width == 800) continue;
    for (const auto& [tab, name] : std::vector<std::pair<QWidget*, const char*>>{
             {w.configureView(), "configure"}, {w.trainingView(), "training"}, {w.expertsView(), "experts"},
             {w.runsView(), "runs"}}) {
      w.tabs()->setCurrentWidget(tab);
      QTest::qWait(150);
      saveShot(&w, QString("%1-%2.png").arg(name).arg(width));
    }
  }
}
