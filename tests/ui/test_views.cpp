// The views on their RunStore: Evaluation, Experts, Router, and a run closed mid-way.
#include "test_ui.h"

void TestUi::closeDuringRunStopsCleanly() {
  QTemporaryDir dir;
  auto* w = new MainWindow;
  w->show();
  auto* progress = w->findChild<QProgressBar*>();
  QVERIFY(progress && !progress->isVisible());  // no empty box in an idle status bar
  auto* pauseButton = w->findChild<QToolBar*>("runToolBar")->widgetForAction(w->pauseAction());
  const int pauseWidth = pauseButton->width();
  w->configureView()->setConfig(tinyRun(dir.filePath("run-c"), 1000000));
  w->startAction()->trigger();
  QTRY_VERIFY_WITH_TIMEOUT(w->lastStep() >= 10, 120000);
  QVERIFY(progress->isVisible());
  // Pause turns into Resume without moving the toolbar.
  w->pauseAction()->trigger();
  QTRY_COMPARE_WITH_TIMEOUT(w->state(), EngineWorker::State::Paused, 60000);
  QCOMPARE(w->pauseAction()->text(), QString("Resume"));
  QCOMPARE(pauseButton->width(), pauseWidth);
  w->pauseAction()->trigger();
  QTRY_COMPARE_WITH_TIMEOUT(w->state(), EngineWorker::State::Running, 60000);
  // Once steps arrive, the status bar no longer says the models are being built; the title names
  // the run's folder.
  QVERIFY2(!w->statusBar()->currentMessage().contains("Building"), qPrintable(w->statusBar()->currentMessage()));
  QVERIFY2(w->windowTitle().startsWith("run-c"), qPrintable(w->windowTitle()));
  // Answer the "Stop the run?" question with Yes.
  QTimer answer;
  answerNextQuestion(answer, QMessageBox::Yes);
  w->close();
  QTRY_VERIFY_WITH_TIMEOUT(!w->isVisible(), 60000);
  QCOMPARE(w->state(), EngineWorker::State::Idle);
  QVERIFY(w->lastRunStoppedEarly());
  QVERIFY(QDir(dir.filePath("run-c/checkpoints/last")).exists());
  delete w;

  // "Show folder" on a machine without a file manager says where the folder is, instead of nothing.
  QWidget parent;
  QString opened;
  QVERIFY(moekd::ui::revealFolder(&parent, dir.path(), [&](const QUrl& u) { opened = u.toLocalFile(); return true; }));
  QCOMPARE(opened, dir.path());
  QVERIFY(!moekd::ui::revealFolder(&parent, dir.path(), [](const QUrl&) { return false; }));
  auto* box = parent.findChild<QMessageBox*>("revealFolderMessage");
  QVERIFY(box);
  QVERIFY2(box->text().contains(QDir::toNativeSeparators(dir.path())), qPrintable(box->text()));
  QCOMPARE(QGuiApplication::clipboard()->text(), QDir::toNativeSeparators(dir.path()));
  box->close();
}

void TestUi::evaluationView() {
  // Step axes tick whole steps only: one evaluation at step 750 is not flanked by 749.5.
  for (const auto& range : {QCPRange(749, 751), QCPRange(0, 3), QCPRange(10, 30), QCPRange(0, 8000)}) {
    QVector<double> ticks, subTicks;
    QVector<QString> labels;
    moekd::ui::stepTicker()->generate(range, QLocale(), 'g', 6, ticks, &subTicks, &labels);
    QVERIFY(!ticks.isEmpty());
    for (double t : ticks) QVERIFY2(t == std::floor(t), qPrintable(QString("tick %1 in [%2, %3]").arg(t).arg(range.lower).arg(range.upper)));
  }

  MainWindow w;
  w.resize(1400, 900);
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  QCOMPARE(w.tabs()->indexOf(w.evaluationView()), w.tabs()->indexOf(w.routerView()) + 1);
  QCOMPARE(w.tabs()->tabText(w.tabs()->indexOf(w.evaluationView())), QString("Evaluation"));
  QTemporaryDir dir;
  std::vector<moekd::EvalResult> evals;
  connect(w.worker(), &EngineWorker::evaluation, this, [&evals](const moekd::EvalResult& r) { evals.push_back(r); });
  json run = tinyRun(dir.filePath("run"), 240);  // long enough for the scores to leave zero
  run["eval"]["every"] = 30;
  w.configureView()->setConfig(run);
  w.startAction()->trigger();
  QTRY_VERIFY_WITH_TIMEOUT(w.finishedRuns() == 1 || !w.lastError().isEmpty(), 180000);
  QVERIFY2(w.lastError().isEmpty(), qPrintable(w.lastError()));
  QTRY_COMPARE_WITH_TIMEOUT(w.state(), EngineWorker::State::Idle, 30000);
  auto* view = w.evaluationView();
  QVERIFY(evals.size() >= 3);
  QCOMPARE(view->evaluationCount(), int(evals.size()));

  // All of the validation set: the points are the EvalResults' values.
  view->setCategory("all");
  auto check = [&](const std::string& category) {
    std::vector<std::array<double, 4>> expected;  // step, rouge, exact, loss
    for (const auto& r : evals) {
      if (category.empty()) expected.push_back({double(r.step), r.rouge_l, r.exact_match, r.val_loss});
      else if (auto it = r.per_category.find(category); it != r.per_category.end())
        expected.push_back({double(r.step), it->second.rouge_l, it->second.exact_match, it->second.val_loss});
    }
    QVERIFY(!expected.empty());
    QCPGraph* graphs[] = {view->rougeGraph(), view->exactMatchGraph(), view->lossGraph()};
    for (int g = 0; g < 3; ++g) {
      QCOMPARE(graphs[g]->data()->size(), int(expected.size()));
      for (size_t i = 0; i < expected.size(); ++i) {
        QCOMPARE(graphs[g]->data()->at(int(i))->key, expected[i][0]);
        QCOMPARE(graphs[g]->data()->at(int(i))->value, expected[i][g + 1]);
      }
    }
  };
  check("");
  if (QTest::currentTestFailed()) return;
  QVERIFY(!evals.back().per_category.empty());
  const std::string category = evals.back().per_category.rbegin()->first;
  view->setCategory(QString::fromStdString(category));
  check(category);
  if (QTest::currentTestFailed()) return;
  view->setCategory("all");

  // The table holds the latest samples, whole texts behind the elided cells.
  const auto& samples = evals.back().samples;
  QVERIFY(!samples.empty());
  QTableWidget* table = view->samplesTable();
  QCOMPARE(table->rowCount(), int(samples.size()));
  for (int i = 0; i < int(samples.size()); ++i) {
    const std::string* fields[] = {&samples[i].category, &samples[i].prompt, &samples[i].reference,
                                   &samples[i].student, &samples[i].teacher};
    for (int c = 0; c < 5; ++c) {
      QCOMPARE(table->item(i, c)->data(Qt::UserRole).toString(), QString::fromStdString(*fields[c]));
      QCOMPARE(table->item(i, c)->toolTip(), QString::fromStdString(*fields[c]));
      if (c >= 3 && fields[c]->empty()) QCOMPARE(table->item(i, c)->text(), QString("(generated nothing)"));
    }
  }
  w.tabs()->setCurrentWidget(view);
  QTest::qWait(200);
  saveShot(&w, "evaluation.png");
}

// KA snapshots split usage into top-k routed and sampled tokens; the heatmap shows either.
void TestUi::expertsRoutingSplit() {
  {  // Emptied (a run with no snapshot for the chosen model), the colour scale reads 0..1 again,
     // not the last data's 0..6.
    auto h = moekd::ui::makeLayerExpertHeatmap("test-heatmap");
    std::unique_ptr<QCustomPlot> owner(h.plot);
    moekd::ui::fillLayerExpertHeatmap(h, {{3.0, 6.0}}, {0}, [](double v) { return QString::number(v); });
    QCOMPARE(h.map->dataRange().upper, 6.0);
    moekd::ui::fillLayerExpertHeatmap(h, {}, {}, [](double v) { return QString::number(v); });
    QCOMPARE(h.map->dataRange().lower, 0.0);
    QCOMPARE(h.map->dataRange().upper, 1.0);
  }
  moekd::ui::RunStore store;
  moekd::ui::ExpertsView view(&store);
  moekd::RoutingSnapshot plain;
  plain.step = 5;
  plain.model = "teacher";
  plain.layers.push_back({0, {0.5, 0.5}, {0.6, 0.4}, {10, 10}, 0, 0, {}, {}});
  store.addRouting(plain);
  QVERIFY(!view.setRouting(2));  // nothing was sampled
  moekd::RoutingSnapshot ka = plain;
  ka.step = 10;
  ka.layers = {{0, {0.4, 0.6}, {0.5, 0.5}, {8, 12}, 0.25, 0, {0.5, 0.5}, {0.1, 0.9}},
               {1, {0.3, 0.7}, {0.5, 0.5}, {6, 14}, 0.25, 0, {0.2, 0.8}, {0.6, 0.4}}};
  store.addRouting(ka);
  view.setMeasure(0);
  QVERIFY(view.setRouting(2));
  for (int l = 0; l < 2; ++l)
    for (int e = 0; e < 2; ++e) QCOMPARE(view.colorMap()->data()->cell(e, l), ka.layers[l].usage_sampled[e]);
  QVERIFY(view.setRouting(1));
  for (int l = 0; l < 2; ++l)
    for (int e = 0; e < 2; ++e) QCOMPARE(view.colorMap()->data()->cell(e, l), ka.layers[l].usage_topk[e]);
  QVERIFY(view.setRouting(0));
  for (int l = 0; l < 2; ++l)
    for (int e = 0; e < 2; ++e) QCOMPARE(view.colorMap()->data()->cell(e, l), ka.layers[l].usage[e]);
  // The routing choice survives a detour through the mean router probability.
  QVERIFY(view.setRouting(1));
  view.setMeasure(1);
  QCOMPARE(view.colorMap()->data()->cell(1, 0), ka.layers[0].mean_prob[1]);
  view.setMeasure(0);
  for (int l = 0; l < 2; ++l)
    for (int e = 0; e < 2; ++e) QCOMPARE(view.colorMap()->data()->cell(e, l), ka.layers[l].usage_topk[e]);
}

// A run stopped, resumed and finished reads as one run: the last ending counts, the time adds up,
// and a line torn by a kill does not make it unreadable.
void TestUi::resumedRunReadsAsOneRun() {
  QTemporaryDir dir;
  QFile config(dir.filePath("config.json"));
  QVERIFY(config.open(QIODevice::WriteOnly));
  config.write(R"({"name": "resumed", "method": "kd", "train": {"steps": 4}})");
  config.close();
  QFile metrics(dir.filePath("metrics.jsonl"));
  QVERIFY(metrics.open(QIODevice::WriteOnly));
  metrics.write("{\"type\":\"step\",\"step\":1,\"loss\":3.0,\"step_seconds\":0.5}\n"
                "{\"type\":\"step\",\"step\":2,\"loss\":2.5,\"step_seconds\":0.5}\n"
                "{\"type\":\"finished\",\"step\":2,\"seconds\":5.0,\"stopped_early\":true}\n"
                "{\"type\":\"message\",\"text\":\"resumed at step 2\"}\n"
                "{\"type\":\"step\",\"step\":3,\"loss\":2.0,\"step_seconds\":0.5}\n"
                "{\"type\":\"step\",\"st\n");  // killed mid-line, then resumed again
  metrics.close();
  moekd::ui::RunHistory h = moekd::ui::loadRunHistory(dir.path());
  QCOMPARE(h.summary.status, moekd::RunStatus::Incomplete);  // not "stopped": it went on
  QCOMPARE(h.summary.step, qint64(3));
  QVERIFY(metrics.open(QIODevice::Append));
  metrics.write("{\"type\":\"step\",\"step\":4,\"loss\":1.5,\"step_seconds\":0.5}\n"
                "{\"type\":\"finished\",\"step\":4,\"seconds\":3.0,\"stopped_early\":false}\n");
  metrics.close();
  h = moekd::ui::loadRunHistory(dir.path());
  QCOMPARE(h.summary.status, moekd::RunStatus::Finished);
  QCOMPARE(h.summary.step, qint64(4));
  QCOMPARE(h.summary.seconds, 8.0);
  QCOMPARE(h.summary.train_loss, 1.5);
  QCOMPARE(int(h.steps.size()), 4);
}

// On-policy runs get a chart of what the student wrote per step and the share of each step spent
// writing it (right axis); off-policy runs do not show it at all.
void TestUi::onPolicyChart() {
  moekd::ui::RunStore store;
  moekd::ui::TrainingView view(&store);
  view.resize(1400, 700);
  store.clear("kd");
  for (int i = 1; i <= 20; ++i) {
    moekd::StepMetrics m;
    m.step = i;
    m.loss = 3.0 / i;
    m.tokens_per_s = 900;
    m.step_seconds = 0.5;
    store.addStep(m);
  }
  view.replotNow();
  auto* chart = view.findChild<QCustomPlot*>("plot-on-policy");
  QVERIFY(chart);
  QVERIFY(chart->isHidden());
  store.clear("kd");
  for (int i = 1; i <= 20; ++i) {
    moekd::StepMetrics m;
    m.step = i;
    m.loss = 3.0 / i;
    m.divergence = 2.0 / i;
    m.ce = 2.5 / i + 0.4;
    m.lr = 1e-3 * std::min(1.0, i / 4.0);
    m.grad_norm = 1.5 / std::sqrt(static_cast<double>(i));
    m.tokens_per_s = 600 + 5 * (i % 4);
    m.step_seconds = 0.5;
    m.generated_tokens = 200 + 10 * (i % 3);
    m.sampling_seconds = 0.2;
    store.addStep(m);
  }
  view.replotNow();
  QVERIFY(!chart->isHidden());
  QCOMPARE(view.drawnPoints("generated_tokens"), 20);
  QCOMPARE(view.drawnPoints("sampling_share"), 20);
  QVERIFY(chart->yAxis2->visible());
  QVERIFY(chart->yAxis2->range().contains(40.0));  // 0.2 s of 0.5 s: 40%
  QVERIFY(chart->yAxis->range().contains(210.0));
  saveShot(&view, "training-on-policy.png");
}

// The Evaluation view shows the student's latest own answer token by token on the teacher's
// probability of each token; a new run clears it.
void TestUi::generationBand() {
  moekd::ui::RunStore store;
  moekd::ui::EvaluationView view(&store);
  view.resize(1200, 800);
  auto* band = view.generationBand();
  QVERIFY(band && band->isHidden());
  moekd::GenerationSample g;
  g.step = 40;
  g.category = "add";
  g.prompt = "add 17 25 =";
  g.pieces = {" 4", "2", " ", "<"};
  g.teacher_logprob = {std::log(0.9), std::log(0.3), std::log(0.05), std::log(0.001)};
  g.student_logprob = {std::log(0.8), std::log(0.6), std::log(0.5), std::log(0.4)};
  store.clear("kd");
  store.setGeneration(g);
  QVERIFY(!band->isHidden());
  for (int b = 0; b < 4; ++b) QCOMPARE(band->bandCounts()[b], 1);
  QVERIFY2(band->text().contains("&lt;") && band->text().contains("step 40"), qPrintable(band->text()));
  QVERIFY(band->toolTip().contains("4 tokens written"));
  QVERIFY(moekd::ui::GenerationBand::bandColor(std::log(0.9)) != moekd::ui::GenerationBand::bandColor(std::log(0.001)));
  saveShot(&view, "evaluation-on-policy.png");
  store.clear("kd");
  QVERIFY(band->isHidden());
}

void TestUi::routerView() {
  // Without a teacher snapshot that drifted, the drift chart gives way to an explanation.
  {
    moekd::ui::RunStore store;
    moekd::ui::RouterView view(&store);
    // An empty tab says what to do in words, and where: no config keys.
    QVERIFY2(view.driftMessage()->text().contains("Routing every") && !view.driftMessage()->text().contains('`'),
             qPrintable(view.driftMessage()->text()));
    moekd::RoutingSnapshot frozen;
    frozen.step = 5;
    frozen.model = "teacher";
    frozen.layers.push_back({0, {0.5, 0.5}, {0.6, 0.4}, {10, 10}, 0, 0});
    store.addRouting(frozen);
    QVERIFY(!view.isSar());
    QVERIFY2(view.driftMessage()->text().contains("teacher routers are frozen"), qPrintable(view.driftMessage()->text()));
    QCOMPARE(view.driftPlot()->graphCount(), 0);
    // A train-teacher run's "teacher" is the model being trained: its routers are not frozen.
    store.clear("train-teacher");
    store.addRouting(frozen);
    QVERIFY2(view.driftMessage()->text().contains("trains its MoE's routers"), qPrintable(view.driftMessage()->text()));
  }

  MainWindow w;
  w.resize(1400, 900);
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  QCOMPARE(w.tabs()->tabText(w.tabs()->indexOf(w.routerView())), QString("Router"));
  QCOMPARE(w.tabs()->indexOf(w.routerView()), w.tabs()->indexOf(w.expertsView()) + 1);
  QDir dir(workspace_.path());

  // 1. A tiny MoE teacher with the built-in tokenizer's vocabulary (99), trained from the window.
  w.configureView()->setConfig(tinyRun(dir.filePath("teacher"), 10));
  w.startAction()->trigger();
  QTRY_VERIFY_WITH_TIMEOUT(w.finishedRuns() == 1 || !w.lastError().isEmpty(), 180000);
  QVERIFY2(w.lastError().isEmpty(), qPrintable(w.lastError()));
  QTRY_COMPARE_WITH_TIMEOUT(w.state(), EngineWorker::State::Idle, 30000);
  QVERIFY(!w.routerView()->isSar());
  QVERIFY2(w.routerView()->driftMessage()->text().contains("trains its MoE's routers"),
           qPrintable(w.routerView()->driftMessage()->text()));
  const QString teacher = dir.filePath("teacher/checkpoints/last/model");
  QVERIFY2(QDir(teacher).exists(), qPrintable(teacher));

  // 2. SAR from that teacher: its routers adapt, and the view follows them.
  std::vector<moekd::RoutingSnapshot> teacherSnaps, studentSnaps;
  connect(w.worker(), &EngineWorker::routingSnapshot, this, [&](const moekd::RoutingSnapshot& s) {
    (s.model == "teacher" ? teacherSnaps : studentSnaps).push_back(s);
  });
  json sar = tinyRun(dir.filePath("sar"), 30);
  sar["method"] = "sar";
  sar["teacher"] = {{"path", teacher.toStdString()}};
  sar["sar"] = {{"router_lr", 0.01}};
  w.configureView()->setConfig(sar);
  QVERIFY2(w.startAction()->isEnabled(), qPrintable(w.configureView()->validationMessage()));
  w.startAction()->trigger();
  QTRY_VERIFY_WITH_TIMEOUT(w.finishedRuns() == 2 || !w.lastError().isEmpty(), 180000);
  QVERIFY2(w.lastError().isEmpty(), qPrintable(w.lastError()));
  QTRY_COMPARE_WITH_TIMEOUT(w.state(), EngineWorker::State::Idle, 30000);
  QCOMPARE(teacherSnaps.size(), size_t(6));  // steps 5, 10, ..., 30
  auto* view = w.routerView();
  QVERIFY(view->isSar());

  // Drift: one line per MoE layer, its points the snapshots' router_drift.
  const size_t layers = teacherSnaps.back().layers.size();
  QCOMPARE(layers, size_t(2));
  QCOMPARE(view->driftPlot()->graphCount(), int(layers));
  for (size_t l = 0; l < layers; ++l) {
    auto data = view->driftPlot()->graph(int(l))->data();
    QCOMPARE(data->size(), int(teacherSnaps.size()));
    for (size_t i = 0; i < teacherSnaps.size(); ++i) {
      QCOMPARE(data->at(int(i))->key, double(teacherSnaps[i].step));
      QCOMPARE(data->at(int(i))->value, teacherSnaps[i].layers[l].router_drift);
    }
  }
  QVERIFY(teacherSnaps.back().layers[0].router_drift > 0);

  // Mean router probability: the last snapshot's, per model.
  for (const auto* snaps : {&teacherSnaps, &studentSnaps}) {
    if (snaps->empty()) continue;
    const moekd::RoutingSnapshot& last = snaps->back();
    view->setModel(QString::fromStdString(last.model));
    QCPColorMapData* data = view->colorMap()->data();
    QCOMPARE(data->valueSize(), int(last.layers.size()));
    QCOMPARE(data->keySize(), int(last.layers[0].mean_prob.size()));
    for (size_t l = 0; l < last.layers.size(); ++l)
      for (size_t e = 0; e < last.layers[l].mean_prob.size(); ++e)
        QCOMPARE(data->cell(int(e), int(l)), last.layers[l].mean_prob[e]);
  }
  QVERIFY(!studentSnaps.empty());

  // Before/after bars of one teacher layer: the first snapshot's vs the latest one's.
  view->setModel("teacher");
  view->setCompareLayer(1);
  QCOMPARE(view->firstBars()->data()->size(), 4);
  QCOMPARE(view->latestBars()->data()->size(), 4);
  for (int e = 0; e < 4; ++e) {
    QCOMPARE(view->firstBars()->data()->at(e)->value, teacherSnaps.front().layers[1].mean_prob[e]);
    QCOMPARE(view->latestBars()->data()->at(e)->value, teacherSnaps.back().layers[1].mean_prob[e]);
  }

  w.tabs()->setCurrentWidget(view);
  QVERIFY(view->driftPlot()->isVisible());
  QTest::qWait(200);
  saveShot(&w, "router.png");

  // A dark desktop: the router charts follow the palette.
  w.setPalette(darkPalette());
  QTest::qWait(200);
  for (QCustomPlot* plot : {view->heatmapPlot(), view->driftPlot(), view->comparePlot()})
    QCOMPARE(plot->xAxis->tickLabelColor(), QColor(0xe6, 0xe6, 0xe6));
  saveShot(&w, "router-dark.png");
  w.setPalette(QPalette());
}
