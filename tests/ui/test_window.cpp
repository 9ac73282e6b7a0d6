// Runs driven from the window (pause, resume, stop, latency), the Runs view and the export dialog.
#include "test_ui.h"

void TestUi::runFromWindow() {
  MainWindow w;
  w.resize(1400, 900);
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  QDir dir(workspace_.path());
  std::vector<moekd::RoutingSnapshot> snapshots;
  connect(w.worker(), &EngineWorker::routingSnapshot, this,
          [&snapshots](const moekd::RoutingSnapshot& s) { snapshots.push_back(s); });
  std::vector<EngineWorker::State> states;
  connect(w.worker(), &EngineWorker::stateChanged, this,
          [&states](EngineWorker::State s) { states.push_back(s); });

  LatencyProbe probe;
  probe.start();

  // 1. A whole tiny run.
  w.configureView()->setConfig(tinyRun(dir.filePath("run-a"), 30));
  QVERIFY2(w.startAction()->isEnabled(), qPrintable(w.configureView()->validationMessage()));
  w.startAction()->trigger();
  QVERIFY(!w.startAction()->isEnabled());
  QTRY_VERIFY_WITH_TIMEOUT(w.finishedRuns() == 1 || !w.lastError().isEmpty(), 180000);
  QVERIFY2(w.lastError().isEmpty(), qPrintable(w.lastError()));
  QTRY_COMPARE_WITH_TIMEOUT(w.state(), EngineWorker::State::Idle, 30000);
  QCOMPARE(w.lastStep(), qint64(30));
  QVERIFY(!w.lastRunStoppedEarly());
  QVERIFY(!w.startAction()->isEnabled());  // its folder holds a run now; the form says so
  QVERIFY(w.configureView()->validationMessage().contains("already holds a run"));
  QVERIFY(QFile::exists(dir.filePath("run-a/checkpoints/last/model.safetensors")) ||
          QDir(dir.filePath("run-a/checkpoints/last")).exists());
  w.trainingView()->replotNow();
  QCOMPARE(w.trainingView()->pointCount(), 15);  // log_every 2
  QCOMPARE(w.trainingView()->drawnPoints("loss"), 15);
  QVERIFY(w.trainingView()->drawnPoints("val_loss") >= 1);
  // The balance loss (a train-teacher run has one) is drawn against the right axis, from zero; the
  // losses keep the left one to themselves.
  {
    auto* losses = w.trainingView()->findChild<QCustomPlot*>("plot-losses");
    QVERIFY(losses && losses->yAxis2->visible());
    int onRight = 0;
    for (int g = 0; g < losses->graphCount(); ++g)
      if (losses->graph(g)->valueAxis() == losses->yAxis2 && losses->graph(g)->visible() &&
          losses->legend->itemWithPlottable(losses->graph(g))) {  // the named series, not the faint raw ones
        ++onRight;
        QVERIFY2(losses->graph(g)->name().contains("balance loss"), qPrintable(losses->graph(g)->name()));
      }
    QVERIFY(onRight >= 1);
    QCOMPARE(losses->yAxis2->range().lower, 0.0);
  }
  QVERIFY(!snapshots.empty());
  QCOMPARE(snapshots.back().layers.size(), size_t(2));

  // The heatmap shows the last snapshot: layers x experts cells equal to its usage shares, its
  // mean router probabilities, and each category's usage.
  {
    const moekd::RoutingSnapshot& last = snapshots.back();
    auto* experts = w.expertsView();
    experts->setModel(QString::fromStdString(last.model));
    experts->setMeasure(0);
    experts->setCategory("");
    QCPColorMapData* data = experts->colorMap()->data();
    QCOMPARE(data->valueSize(), 2);
    QCOMPARE(data->keySize(), 4);
    for (int l = 0; l < 2; ++l)
      for (int e = 0; e < 4; ++e) QCOMPARE(data->cell(e, l), last.layers[l].usage[e]);
    experts->setMeasure(1);
    data = experts->colorMap()->data();
    for (int l = 0; l < 2; ++l)
      for (int e = 0; e < 4; ++e) QCOMPARE(data->cell(e, l), last.layers[l].mean_prob[e]);
    experts->setMeasure(0);
    QVERIFY(!last.usage_by_category.empty());
    const auto& [category, usage] = *last.usage_by_category.begin();
    experts->setCategory(QString::fromStdString(category));
    data = experts->colorMap()->data();
    for (int l = 0; l < 2; ++l)
      for (int e = 0; e < 4; ++e) QCOMPARE(data->cell(e, l), usage[l][e]);
    experts->setCategory("");

    // Hovering a cell names it, with its share and token count.
    QCustomPlot* heat = experts->heatmapPlot();
    w.tabs()->setCurrentWidget(experts);
    heat->replot();
    const QPointF at(heat->xAxis->coordToPixel(3), heat->yAxis->coordToPixel(1));
    QMouseEvent move(QEvent::MouseMove, at, heat->mapToGlobal(at), Qt::NoButton, Qt::NoButton, Qt::NoModifier);
    QApplication::sendEvent(heat, &move);
    QTRY_VERIFY(QToolTip::isVisible());
    const QString tip = QToolTip::text();
    QVERIFY2(tip.contains("layer 1, expert 3") && tip.contains("token slots"), qPrintable(tip));
    QVERIFY2(tip.contains(QString::number(100 * last.layers[1].usage[3], 'f', 2)), qPrintable(tip));
    QToolTip::hideText();
    QCOMPARE(experts->snapshotCount(QString::fromStdString(last.model)), 6);  // steps 5, 10, ..., 30
    QVERIFY(experts->historyPlot()->graphCount() == 5);  // 4 experts + the balanced line
    QCOMPARE(experts->historyPlot()->graph(0)->data()->size(), 6);
  }

  // 2. A long run: pause holds the steps, resume continues, stop ends it with a checkpoint.
  states.clear();
  json long_run = tinyRun(dir.filePath("run-b"), 600);  // stopped long before its end
  long_run["eval"]["every"] = 50;
  long_run["train"]["warmup_steps"] = 30;
  long_run["student"]["init"]["num_hidden_layers"] = 4;  // a fuller heatmap for the screenshots
  long_run["student"]["init"]["num_local_experts"] = 8;
  w.configureView()->setConfig(long_run);
  w.startAction()->trigger();
  QTRY_VERIFY_WITH_TIMEOUT(w.lastStep() >= 120 || !w.lastError().isEmpty(), 180000);
  QVERIFY2(w.lastError().isEmpty(), qPrintable(w.lastError()));
  {  // The Runs table follows the running run: its status, and its evaluations as they come.
    RunsModel* runs = w.runsModel();
    const int row = runs->rowOf(dir.filePath("run-b"));
    QVERIFY(row >= 0);
    QCOMPARE(runs->index(row, RunsModel::Status).data().toString(), QString("running"));
    QTRY_VERIFY(runs->history(row) && runs->history(row)->evals.size() >= 2);  // steps 50 and 100
    QCOMPARE(runs->index(row, RunsModel::ValLoss).data().toString(),
             QString::number(runs->history(row)->evals.back().val_loss, 'f', 4));
  }
  QCOMPARE(w.state(), EngineWorker::State::Running);
  QVERIFY(w.pauseAction()->isEnabled() && w.stopAction()->isEnabled());
  w.pauseAction()->trigger();
  QCOMPARE(w.state(), EngineWorker::State::Paused);
  QCOMPARE(w.pauseAction()->text(), QString("Resume"));
  QTest::qWait(400);  // the step in flight finishes and reports
  const qint64 pausedAt = w.lastStep();
  QTest::qWait(1200);
  QCOMPARE(w.lastStep(), pausedAt);
  w.pauseAction()->trigger();
  QCOMPARE(w.state(), EngineWorker::State::Running);
  QTRY_VERIFY_WITH_TIMEOUT(w.lastStep() > pausedAt + 20, 60000);
  w.stopAction()->trigger();
  QCOMPARE(w.state(), EngineWorker::State::Stopping);
  QVERIFY(!w.stopAction()->isEnabled());
  QTRY_VERIFY_WITH_TIMEOUT(w.finishedRuns() == 2, 60000);
  QTRY_COMPARE_WITH_TIMEOUT(w.state(), EngineWorker::State::Idle, 30000);
  QVERIFY(w.lastRunStoppedEarly());
  QVERIFY(w.lastStep() < 600);
  {  // The table rereads the run whose files changed: no longer running, now stopped.
    const int row = w.runsModel()->rowOf(dir.filePath("run-b"));
    QCOMPARE(w.runsModel()->index(row, RunsModel::Status).data().toString(), QString("stopped"));
    QCOMPARE(w.runsModel()->history(row)->summary.step, int64_t(w.lastStep()));
  }
  QVERIFY(QDir(dir.filePath("run-b/checkpoints/last")).exists());
  QVERIFY(std::find(states.begin(), states.end(), EngineWorker::State::Stopping) != states.end());
  probe.stop();

  qInfo("GUI thread timer delay during runs over %zu ticks: p50 %.2f ms, p99 %.2f ms, worst %.2f ms",
        probe.samples(), probe.percentile(0.5), probe.percentile(0.99), probe.percentile(1.0));
  QVERIFY(probe.samples() > 100);
  QVERIFY2(probe.percentile(0.99) < 500, "the GUI thread stalled during a run");

  // 3. Exports.
  QVERIFY(w.trainingView()->exportCsv(dir.filePath("t.csv")));
  QFile csv(dir.filePath("t.csv"));
  QVERIFY(csv.open(QIODevice::ReadOnly));
  QVERIFY(csv.readLine().startsWith("step,loss,ce,"));
  QVERIFY(w.trainingView()->exportImages(dir.filePath("t.png"), false));
  QVERIFY(QFile::exists(dir.filePath("t-losses.png")));
  QVERIFY(w.trainingView()->exportImages(dir.filePath("t.pdf"), true));
  QVERIFY(QFile::exists(dir.filePath("t-grad-norm.pdf")));

  // 4. Screenshots of every view, at a realistic window size.
  w.trainingView()->setSmoothing(0.6);
  w.tabs()->setCurrentWidget(w.trainingView());
  w.trainingView()->replotNow();
  QTest::qWait(200);
  saveShot(&w, "training.png");
  w.trainingView()->setLogScale(true);
  w.trainingView()->setSmoothing(0.9);
  w.trainingView()->replotNow();
  QCOMPARE(w.trainingView()->plots().first()->yAxis->scaleType(), QCPAxis::stLogarithmic);
  QTest::qWait(200);
  {
    const QVector<double> ticks = w.trainingView()->plots()[1]->yAxis->tickVector();
    QVERIFY(ticks.size() >= 2 && ticks.size() <= 12);
  }
  saveShot(&w, "training-log.png");
  w.trainingView()->setLogScale(false);
  w.trainingView()->setSmoothing(0.6);
  w.tabs()->setCurrentWidget(w.expertsView());
  QTest::qWait(200);
  saveShot(&w, "experts.png");

  // A dark desktop: the charts take the palette too.
  w.setPalette(darkPalette());
  QTest::qWait(200);
  QCOMPARE(w.trainingView()->plots().first()->xAxis->tickLabelColor(), QColor(0xe6, 0xe6, 0xe6));
  saveShot(&w, "experts-dark.png");
  w.tabs()->setCurrentWidget(w.trainingView());
  w.trainingView()->replotNow();
  QTest::qWait(200);
  saveShot(&w, "training-dark.png");
  w.setPalette(QPalette());
  w.configureView()->loadPreset("demo-teacher");
  w.tabs()->setCurrentWidget(w.configureView());
  QTest::qWait(400);  // the data preview's debounce
  saveShot(&w, "configure.png");
}

// The workspace lists the runs made above; a finished run opens from disk into every view with
// the numbers of its metrics.jsonl; runs overlay on one chart; the table compares them.
void TestUi::runsOpenFromDisk() {
  const QDir ws(workspace_.path());
  for (const char* run : {"teacher", "sar", "run-a", "run-b"})
    QVERIFY2(QFile::exists(ws.filePath(QString(run) + "/metrics.jsonl")), run);
  // A folder that is not a run (an export) is not listed; a damaged run is listed as unreadable.
  QVERIFY(ws.mkpath("not-a-run"));
  QFile exported(ws.filePath("not-a-run/config.json"));
  QVERIFY(exported.open(QIODevice::WriteOnly));
  exported.write("{\"architectures\": [\"LlamaForCausalLM\"]}\n");
  exported.close();
  QVERIFY(ws.mkpath("damaged"));
  for (const char* f : {"damaged/config.json", "damaged/metrics.jsonl"}) {
    QFile bad(ws.filePath(f));
    QVERIFY(bad.open(QIODevice::WriteOnly));
    bad.write("{\"name\": ");
  }

  // What the file says, read independently of the studio.
  int stepsInFile = 0, evalsInFile = 0;
  double lastLoss = 0;
  json lastRouting;
  for (const json& e : moekd::read_metrics(ws.filePath("run-a/metrics.jsonl").toStdString())) {
    const std::string type = e["type"];
    if (type == "step") {
      ++stepsInFile;
      lastLoss = e["loss"];
    }
    evalsInFile += type == "eval";
    if (type == "routing") lastRouting = e;
  }
  QCOMPARE(stepsInFile, 15);
  QVERIFY(evalsInFile >= 2);

  MainWindow w;
  w.resize(1400, 900);
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  w.setWorkspace(ws.path());
  RunsModel* model = w.runsModel();
  QCOMPARE(model->rowCount(), 5);  // teacher, sar, run-a, run-b, damaged
  QCOMPARE(w.runsSidebar()->model()->rowCount(), 5);
  const int a = model->rowOf(ws.filePath("run-a")), b = model->rowOf(ws.filePath("run-b"));
  const int sar = model->rowOf(ws.filePath("sar")), damaged = model->rowOf(ws.filePath("damaged"));
  QVERIFY(a >= 0 && b >= 0 && sar >= 0 && damaged >= 0);
  QCOMPARE(model->rowOf(ws.filePath("not-a-run")), -1);
  auto cell = [model](int row, int column, int role = Qt::DisplayRole) { return model->index(row, column).data(role); };
  QCOMPARE(cell(a, RunsModel::Status).toString(), QString("finished"));
  QCOMPARE(cell(b, RunsModel::Status).toString(), QString("stopped"));
  QCOMPARE(cell(sar, RunsModel::Method).toString(), QString("sar"));
  QCOMPARE(cell(damaged, RunsModel::Status).toString(), QString("unreadable"));
  QVERIFY2(cell(damaged, RunsModel::Name, Qt::ToolTipRole).toString().contains("config.json"),
           qPrintable(cell(damaged, RunsModel::Name, Qt::ToolTipRole).toString()));
  QCOMPARE(cell(a, RunsModel::Steps).toString(), QString("30 / 30"));
  QCOMPARE(model->history(a)->summary.train_loss, lastLoss);
  QCOMPARE(cell(a, RunsModel::TrainLoss).toString(), QString::number(lastLoss, 'f', 4));
  // The comparison table marks the best value of a column in bold: the lowest final train loss,
  // teachers ranked among teachers (here: teacher, run-a, run-b), students among students (sar
  // alone: no mark).
  int lowest = -1;
  for (int r = 0; r < model->rowCount(); ++r)
    if (model->history(r) && model->history(r)->summary.method == "train-teacher" &&
        (lowest < 0 || model->history(r)->summary.train_loss < model->history(lowest)->summary.train_loss))
      lowest = r;
  for (int r = 0; r < model->rowCount(); ++r)
    QCOMPARE(cell(r, RunsModel::TrainLoss, Qt::FontRole).value<QFont>().bold(), r == lowest);
  QVERIFY(!cell(sar, RunsModel::TrainLoss, Qt::FontRole).value<QFont>().bold());
  // Sorting the table by a column orders its rows by the numbers, not the text.
  auto* table = w.runsView()->table();
  table->sortByColumn(RunsModel::TrainLoss, Qt::AscendingOrder);
  double previous = -1;
  for (int r = 0; r < table->model()->rowCount(); ++r) {
    const QVariant key = table->model()->index(r, RunsModel::TrainLoss).data(RunsModel::SortRole);
    QVERIFY(key.toDouble() >= previous);
    previous = key.toDouble();
  }

  // Opening run-a replays it into every view.
  QString error;
  QVERIFY2(w.openRun(ws.filePath("run-a"), &error), qPrintable(error));
  QCOMPARE(w.currentRunDir(), QDir::cleanPath(ws.filePath("run-a")));
  QCOMPARE(w.trainingView()->pointCount(), 15);
  w.trainingView()->replotNow();
  QCOMPARE(w.trainingView()->drawnPoints("loss"), 15);
  QCOMPARE(w.trainingView()->evaluationCount(), evalsInFile);
  QCOMPARE(w.evaluationView()->evaluationCount(), evalsInFile);
  const QString routedModel = QString::fromStdString(lastRouting["model"].get<std::string>());
  QCOMPARE(w.expertsView()->snapshotCount(routedModel), 6);
  w.expertsView()->setModel(routedModel);
  w.expertsView()->setMeasure(0);
  w.expertsView()->setCategory("");
  QCPColorMapData* heat = w.expertsView()->colorMap()->data();
  for (int l = 0; l < 2; ++l)
    for (int e = 0; e < 4; ++e) QCOMPARE(heat->cell(e, l), lastRouting["layers"][l]["usage"][e].get<double>());
  QCOMPARE(w.configureView()->config()["name"], json("ui-test"));
  QCOMPARE(w.configureView()->config()["train"]["steps"], json(30));
  // Its folder holds a run: starting it again is refused with the reason.
  QVERIFY(!w.startAction()->isEnabled());
  QVERIFY(w.configureView()->validationMessage().contains("already holds a run"));
  QVERIFY(w.windowTitle().startsWith("run-a"));  // the open run's folder, not its Name field (ui-test)

  // A damaged folder is refused with a message naming the file.
  QVERIFY(!w.openRun(ws.filePath("damaged"), &error));
  QVERIFY2(error.contains("damaged") && error.contains("config.json"), qPrintable(error));
  QTRY_VERIFY(w.findChild<QMessageBox*>("openRunMessage") != nullptr);
  w.findChild<QMessageBox*>("openRunMessage")->close();
  QCOMPARE(w.trainingView()->pointCount(), 15);  // the views still show run-a

  // Overlay: one smoothed curve per ticked run, each with its run's points.
  auto* runs = w.runsView();
  runs->setMetric("loss");
  runs->setSmoothing(0.6);
  model->setOverlay(ws.filePath("run-a"), true);
  model->setOverlay(ws.filePath("run-b"), true);
  QCOMPARE(model->overlayRuns().size(), 2);
  // Ticking a run made it the current one: Open acts on it without another click.
  QCOMPARE(runs->selectedRun(), QDir::cleanPath(ws.filePath("run-b")));
  QVERIFY(runs->findChild<QPushButton*>("openRun")->isEnabled());
  auto curves = [runs] {
    std::map<QString, QCPGraph*> out;
    for (int i = 0; i < runs->overlayPlot()->graphCount(); ++i) {
      QCPGraph* g = runs->overlayPlot()->graph(i);
      if (g->property("runDir").isValid()) out[QDir(g->property("runDir").toString()).dirName()] = g;
    }
    return out;
  };
  auto drawn = curves();
  QCOMPARE(drawn.size(), size_t(2));
  QCOMPARE(drawn["run-a"]->data()->size(), 15);
  QCOMPARE(drawn["run-b"]->data()->size(), int(model->history(b)->steps.size()));
  QCOMPARE(runs->overlayPlot()->graphCount(), 4);  // plus each run's faint raw curve
  runs->setMetric("val_loss");
  drawn = curves();
  QCOMPARE(drawn["run-a"]->data()->size(), evalsInFile);
  QCOMPARE(drawn["run-a"]->data()->at(evalsInFile - 1)->value, model->history(a)->summary.val_loss);
  model->setOverlay(ws.filePath("sar"), true);
  runs->setMetric("loss");
  QCOMPARE(curves().size(), size_t(3));

  w.tabs()->setCurrentWidget(runs);
  runs->selectRun(ws.filePath("run-a"));
  table->sortByColumn(RunsModel::Modified, Qt::DescendingOrder);
  runs->replotNow();
  QTest::qWait(200);
  saveShot(&w, "runs.png");
}

// The export dialog writes a Hugging Face folder: the student of any run, and for SAR runs
// the teacher with its tuned routers.
void TestUi::exportFromDialog() {
  const QDir ws(workspace_.path());
  MainWindow w;
  w.resize(1400, 900);
  w.show();
  QVERIFY(w.openRun(ws.filePath("run-a")));
  moekd::ui::ExportDialog* d = w.showExportDialog();
  QVERIFY(QTest::qWaitForWindowExposed(d));
  QCOMPARE(d->outputDir(), QDir(ws.filePath("run-a")).filePath("export/student"));
  QVERIFY(!d->teacherChoice()->isEnabled());  // not a SAR run
  QCOMPARE(d->checkpointChoice()->count(), 2);  // best (evaluations ran) and last
  QVERIFY(d->setCheckpoint("last"));
  QVERIFY(d->startExport());
  QVERIFY(d->busy());
  QVERIFY(!d->exportButton()->isEnabled());
  QTRY_VERIFY_WITH_TIMEOUT(d->exportsDone() == 1 || d->message().startsWith("Export failed"), 60000);
  QVERIFY2(d->exportsDone() == 1, qPrintable(d->message()));
  const QDir out(d->outputDir());
  for (const char* f : {"config.json", "model.safetensors", "generation_config.json", "moekd_tokenizer.json", "README.md"})
    QVERIFY2(QFile::exists(out.filePath(f)), f);
  QFile config(out.filePath("config.json"));
  QVERIFY(config.open(QIODevice::ReadOnly));
  const json hf = json::parse(config.readAll().toStdString());
  QCOMPARE(hf["architectures"][0], json("MixtralForCausalLM"));
  QCOMPARE(hf["hidden_size"], json(32));
  QCOMPARE(hf["num_local_experts"], json(4));
  QVERIFY2(d->summaryText().contains("MixtralForCausalLM") && d->summaryText().contains("model.safetensors"),
           qPrintable(d->summaryText()));
  QVERIFY(d->openFolderButton()->isEnabled());
  QVERIFY(d->exportButton()->isEnabled());
  QTest::qWait(100);
  saveShot(d, "export.png");

  // Bad destinations are named before anything is written.
  d->setOutput(ws.filePath("run-a/metrics.jsonl"));
  QVERIFY(!d->startExport());
  QVERIFY2(d->message().contains("is a file"), qPrintable(d->message()));
  d->setOutput(ws.filePath("run-b"));
  QVERIFY(!d->startExport());
  QVERIFY2(d->message().contains("is a run folder"), qPrintable(d->message()));
  // An exported model is not a run: opening it is refused with the reason.
  QString error;
  QVERIFY(!w.openRun(out.path(), &error));
  QVERIFY2(error.contains("not a run folder"), qPrintable(error));
  QTRY_VERIFY(w.findChild<QMessageBox*>("openRunMessage") != nullptr);
  w.findChild<QMessageBox*>("openRunMessage")->close();
  d->close();

  // SAR: the tuned teacher differs from the teacher it started from only in its routers.
  d = w.showExportDialog(ws.filePath("sar"));
  QVERIFY(d->teacherChoice()->isEnabled());
  d->setTunedTeacher(true);
  QCOMPARE(d->outputDir(), QDir(ws.filePath("sar")).filePath("export/teacher-sar"));
  QVERIFY(d->startExport());
  QTRY_VERIFY_WITH_TIMEOUT(d->exportsDone() == 1 || d->message().startsWith("Export failed"), 60000);
  QVERIFY2(d->exportsDone() == 1, qPrintable(d->message()));
  QFile tuned(QDir(d->outputDir()).filePath("model.safetensors"));
  QFile original(ws.filePath("teacher/checkpoints/last/model/model.safetensors"));
  QVERIFY(tuned.open(QIODevice::ReadOnly) && original.open(QIODevice::ReadOnly));
  const QByteArray t = tuned.readAll(), o = original.readAll();
  QCOMPARE(t.size(), o.size());
  QVERIFY(t != o);
  d->close();
}

// Stop a run, resume it from the window: it finishes with the weights of an uninterrupted run of the
// same settings, bit for bit. Then the Runs view's menu continues the finished run for more steps
// and starts its settings as a new run.
void TestUi::resumeFromWindow() {
  MainWindow w;
  w.resize(1400, 900);
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  QTemporaryDir dir;
  auto settings = [&](const QString& name) {
    json c = tinyRun(dir.filePath(name), 120);
    c["eval"]["every"] = 0;
    return c;
  };
  auto finishRun = [&] {
    QTRY_VERIFY_WITH_TIMEOUT(w.state() == EngineWorker::State::Idle, 180000);
  };
  // The reference: 120 steps in one go.
  w.configureView()->setConfig(settings("whole"));
  QVERIFY(!w.resumeRunAction()->isEnabled());  // nothing to resume yet
  w.startAction()->trigger();
  QTRY_VERIFY_WITH_TIMEOUT(w.finishedRuns() == 1 || !w.lastError().isEmpty(), 180000);
  QVERIFY2(w.lastError().isEmpty(), qPrintable(w.lastError()));
  finishRun();
  QVERIFY(!w.resumeRunAction()->isEnabled());  // finished: nothing to resume

  // The same settings, paused after a few steps and stopped there.
  w.configureView()->setConfig(settings("cut"));
  w.startAction()->trigger();
  QTRY_VERIFY_WITH_TIMEOUT(w.lastStep() >= 10, 120000);
  w.pauseAction()->trigger();
  QTRY_COMPARE_WITH_TIMEOUT(w.state(), EngineWorker::State::Paused, 60000);
  w.stopAction()->trigger();
  finishRun();
  QVERIFY(w.lastRunStoppedEarly());
  const qint64 stoppedAt = w.lastStep();
  QVERIFY(stoppedAt >= 10 && stoppedAt < 120);
  QTRY_VERIFY(w.resumeRunAction()->isEnabled());
  const int pointsBefore = w.trainingView()->pointCount();

  w.resumeRunAction()->trigger();
  QTRY_VERIFY_WITH_TIMEOUT(w.finishedRuns() == 3 || !w.lastError().isEmpty(), 180000);  // a stop counts as an end
  QVERIFY2(w.lastError().isEmpty(), qPrintable(w.lastError()));
  finishRun();
  QCOMPARE(w.lastStep(), 120);
  QVERIFY(w.trainingView()->pointCount() > pointsBefore);  // the history stayed, the new steps joined it
  QVERIFY(!w.resumeRunAction()->isEnabled());
  const auto weights = [&](const QString& run) {
    return std::make_unique<moekd::SafetensorsFile>(dir.filePath(run + "/checkpoints/last/model/model.safetensors").toStdString());
  };
  const auto whole = weights("whole"), cut = weights("cut");
  QCOMPARE(cut->entries().size(), whole->entries().size());
  for (const auto& [name, entry] : whole->entries())
    QVERIFY2(torch::equal(cut->load(name), whole->load(name)), name.c_str());

  // Continue the finished run for 6 more steps from the Runs view's menu (the dialog answered).
  QTimer answer;
  connect(&answer, &QTimer::timeout, this, [&answer] {
    if (auto* input = qobject_cast<QInputDialog*>(QApplication::activeModalWidget())) {
      answer.stop();
      input->setIntValue(6);
      input->accept();
    }
  });
  answer.start(50);
  w.continueRun(dir.filePath("cut"));
  QTRY_VERIFY_WITH_TIMEOUT(w.finishedRuns() == 4 || !w.lastError().isEmpty(), 180000);
  finishRun();
  QCOMPARE(w.lastStep(), 126);
  std::ifstream saved(dir.filePath("cut/config.json").toStdString());
  QCOMPARE(json::parse(saved)["train"]["steps"].get<int>(), 126);

  // Its settings as a new run: a fresh sibling folder, ready to Start.
  w.startAsNewRun(dir.filePath("cut"));
  QCOMPARE(w.tabs()->currentWidget(), static_cast<QWidget*>(w.configureView()));
  QCOMPARE(QString::fromStdString(w.configureView()->config()["run_dir"].get<std::string>()), dir.filePath("cut-2"));
  QVERIFY2(w.configureView()->isValid(), qPrintable(w.configureView()->validationMessage()));
  QVERIFY(w.startAction()->isEnabled());
}

// A run of two processes started from Configure: the studio starts `moekd distill --nproc 2` and
// follows its metrics.jsonl in every view; Pause holds both ranks (through the control file),
// Resume continues them, and closing the window asks, then stops the child after its step with a
// checkpoint. What the views hold is what rank 0 wrote.
void TestUi::severalProcessesFromWindow() {
  if (!moekd::several_processes_available()) QSKIP("built without Gloo (MOEKD_WITH_DIST=OFF)");
  qputenv("MOEKD_CLI", MOEKD_CLI);
  QTemporaryDir own;  // not the shared workspace, whose runs later tests count
  QDir dir(own.path());
  json run = tinyRun(dir.filePath("run-dp"), 100000);  // stopped long before its end
  run["method"] = "kd";
  run["name"] = "run-dp";
  run["teacher"] = {{"init", run["student"]["init"]}};
  run["student"]["init"]["num_local_experts"] = 2;
  run["student"]["init"]["num_experts_per_tok"] = 1;
  run["train"]["batch_size"] = 4;
  auto* w = new MainWindow;
  w->resize(1400, 900);
  w->show();
  QVERIFY(QTest::qWaitForWindowExposed(w));
  w->configureView()->setConfig(run);
  auto* processes = w->configureView()->findChild<QSpinBox*>("processes");
  QVERIFY(processes && processes->isEnabled());
  processes->setValue(2);
  QCOMPARE(w->configureView()->processes(), 2);
  auto* note = w->configureView()->findChild<QLabel*>("processesNote");
  QCOMPARE(note->text(), QString("2 × batch 4 = 8 sequences per step"));
  QVERIFY2(w->startAction()->isEnabled(), qPrintable(w->configureView()->validationMessage()));
  w->startAction()->trigger();
  QCOMPARE(w->state(), EngineWorker::State::Running);
  QTRY_VERIFY_WITH_TIMEOUT(w->lastStep() >= 40 || !w->lastError().isEmpty(), 180000);
  QVERIFY2(w->lastError().isEmpty(), qPrintable(w->lastError()));
  QVERIFY2(w->windowTitle().startsWith("run-dp"), qPrintable(w->windowTitle()));

  w->pauseAction()->trigger();
  QCOMPARE(w->state(), EngineWorker::State::Paused);
  QTest::qWait(1500);  // the step in flight ends, rank 0 reads the file, the window reads the step
  const qint64 pausedAt = w->lastStep();
  QTest::qWait(1500);
  QCOMPARE(w->lastStep(), pausedAt);
  w->pauseAction()->trigger();
  QCOMPARE(w->state(), EngineWorker::State::Running);
  QTRY_VERIFY_WITH_TIMEOUT(w->lastStep() > pausedAt + 10, 60000);

  QTimer answer;
  answerNextQuestion(answer, QMessageBox::Yes);  // "Stop the run?"
  w->close();
  QTRY_VERIFY_WITH_TIMEOUT(!w->isVisible(), 60000);
  QCOMPARE(w->state(), EngineWorker::State::Idle);
  QVERIFY2(w->lastError().isEmpty(), qPrintable(w->lastError()));
  QVERIFY(w->lastRunStoppedEarly());
  QVERIFY(QFileInfo::exists(dir.filePath("run-dp/checkpoints/last/state.json")));

  // Every view's data is the run's file: the same steps, evaluations and routing snapshots.
  const RunHistory h = loadRunHistory(dir.filePath("run-dp"));
  QCOMPARE(w->store()->steps().size(), h.steps.size());
  QCOMPARE(w->store()->steps().back().step, h.steps.back().step);
  QCOMPARE(w->store()->steps().back().loss, h.steps.back().loss);
  QCOMPARE(w->store()->evaluations().size(), h.evals.size());
  QCOMPARE(w->store()->routing().size(), h.routing.size());
  QVERIFY(!h.routing.empty());
  QCOMPARE(w->lastStep(), qint64(h.summary.step));
  QVERIFY(std::any_of(h.messages.begin(), h.messages.end(), [](const std::string& m) {
    return m.find("2 processes (gloo), train.batch_size 4 each: 8 sequences per optimizer step") != std::string::npos;
  }));
  delete w;
}
