// The Compare view on a small grid run from the view itself (`moekd compare` as a child): the
// cells fill in, the table shows the engine's statistics, the curves one band and line per cell,
// the teacher's probe beside them, and a double-clicked cell opens its run in the other views; a
// grid recorded with other arithmetic is refused by the child, and the view asks whether to mix;
// closing the studio while a grid runs asks whether to stop it.
#include "compare_view.h"
#include "grid/grid_results.h"
#include "util/json_file.h"
#include "probe/teacher_probe.h"
#include "test_ui.h"

namespace {
// A grid's base run: kd from a tiny Mixtral teacher into a Llama student, the grid giving seeds.
json gridBase(int steps) {
  json base = tinyRun("", steps);
  base.erase("run_dir");
  base.erase("name");
  base["method"] = "kd";
  base["train"].erase("seed");
  base["teacher"] = {{"init", base["student"]["init"]}};
  base["student"]["init"]["architectures"] = {"LlamaForCausalLM"};
  return base;
}
}  // namespace

void TestUi::compareView() {
  qputenv("MOEKD_CLI", MOEKD_CLI);
  QTemporaryDir own;
  QDir dir(own.path());
  json base = gridBase(30);
  base["checkpoint_every"] = 10;
  base["ka"] = {{"m", 2}};
  // kd-slow is compared with the ka cell rather than with the grid's baseline.
  const json grid = {{"name", "ui-grid"},
                     {"base", base},
                     {"axes", {{"method", {"kd", "ka"}}, {"ka.lambda", {0.5}}}},
                     {"cells", {{{"name", "kd-slow"}, {"set", {{"train.lr", 0.0005}}}, {"baseline", "ka_ka.lambda=0.5"}}}},
                     {"seeds", {1, 2}},
                     {"baseline", "kd"}};
  const QString gridFile = dir.filePath("grid.json");
  std::ofstream(gridFile.toStdString()) << grid.dump(2);

  auto* w = new MainWindow;
  w->resize(1400, 900);
  w->show();
  QVERIFY(QTest::qWaitForWindowExposed(w));
  auto* view = w->compareView();
  w->tabs()->setCurrentWidget(view);

  // A folder without a grid is refused with the reason; a bad grid file names its field.
  dir.mkpath("empty");
  QVERIFY(!view->openGrid(dir.filePath("empty")));
  QVERIFY2(view->status()->text().contains("holds no grid"), qPrintable(view->status()->text()));
  json bad = grid;
  bad["axes"]["ka.lambda"] = {2};
  std::ofstream(dir.filePath("bad.json").toStdString()) << bad.dump();
  QVERIFY(!view->startGrid(dir.filePath("bad.json"), dir.filePath("bad")));
  QVERIFY2(view->status()->text().contains("axes.ka.lambda[0]: `ka.lambda` must be in [0, 1], got 2"),
           qPrintable(view->status()->text()));

  QSignalSpy finished(view, &moekd::ui::CompareView::gridFinished);
  QVERIFY2(view->startGrid(gridFile, dir.filePath("out")), qPrintable(view->status()->text()));
  QVERIFY(view->running());
  QVERIFY(finished.wait(240000));
  QCOMPARE(finished.front().front().toInt(), 0);
  QVERIFY(!view->running());
  const auto* r = view->results();
  QVERIFY(r);
  QCOMPARE(r->runs_finished, int64_t{6});
  QVERIFY2(view->status()->text().contains("6 of 6 runs finished"), qPrintable(view->status()->text()));
  QVERIFY2(view->status()->text().contains(" Computed with LibTorch ") && view->status()->text().contains(" ATen "),
           qPrintable(view->status()->text()));

  // The table: one row per cell, the engine's numbers as the tables print them.
  auto* table = view->table();
  QCOMPARE(table->rowCount(), 3);
  QCOMPARE(table->item(0, 0)->text(), QString("kd (baseline)"));
  QCOMPARE(table->item(1, 0)->text(), QString("ka ka.lambda=0.5"));
  QCOMPARE(table->item(1, 1)->text(), QString("2/2"));
  const auto* kaLoss = r->find("ka_ka.lambda=0.5", "final", "", "val_loss");
  QVERIFY(kaLoss && kaLoss->vs_baseline);
  QCOMPARE(table->item(1, 2)->text(), QString::number(kaLoss->value.mean, 'f', 4) + " ± " +
                                          QString::number(kaLoss->value.sd, 'f', 4));
  QVERIFY(table->item(0, 5)->text().isEmpty());
  QVERIFY2(table->item(1, 5)->text().startsWith(
               (kaLoss->vs_baseline->difference.mean >= 0 ? "+" : "") +
               QString::number(kaLoss->vs_baseline->difference.mean, 'f', 4) + " ["),
           qPrintable(table->item(1, 5)->text()));
  QVERIFY(table->item(1, 5)->toolTip().startsWith("2 paired seeds"));
  QVERIFY2(table->item(1, 5)->toolTip().contains("above kd,"), qPrintable(table->item(1, 5)->toolTip()));
  QCOMPARE(table->item(2, 0)->text(), QString("kd-slow (vs ka_ka.lambda=0.5)"));
  const auto* slowLoss = r->find("kd-slow", "final", "", "val_loss");
  QVERIFY(slowLoss && slowLoss->vs_baseline);
  QCOMPARE(slowLoss->baseline, std::string("ka_ka.lambda=0.5"));
  QVERIFY2(table->item(2, 5)->toolTip().contains("above ka_ka.lambda=0.5,"), qPrintable(table->item(2, 5)->toolTip()));

  // Curves: a band (two graphs) and a mean line per cell; selecting a row keeps it and the baseline.
  view->curveChoice()->setCurrentIndex(view->curveChoice()->findData("rouge_l"));
  QCOMPARE(view->curves()->graphCount(), 9);
  QCOMPARE(view->curves()->graph(2)->data()->size(), 2);  // evaluations at steps 15 and 30
  table->selectRow(2);  // kd-slow and the cell it is compared with
  QCOMPARE(view->curves()->graphCount(), 6);
  QCOMPARE(view->curves()->graph(2)->name(), QString("ka ka.lambda=0.5"));
  QCOMPARE(view->curves()->graph(5)->name(), QString("kd-slow"));
  table->clearSelection();
  QCOMPARE(view->curves()->graphCount(), 9);
  view->curveChoice()->setCurrentIndex(view->curveChoice()->findData("train_loss"));
  QVERIFY(view->curves()->graph(2)->data()->size() >= 10);
  view->curveChoice()->setCurrentIndex(view->curveChoice()->findData("val_loss"));

  // The probe of the grid's teacher.
  QVERIFY(view->probeHint()->isVisibleTo(view) && !view->probeTable()->isVisibleTo(view));
  QSignalSpy probed(view, &moekd::ui::CompareView::probeFinished);
  QVERIFY(view->startProbe());
  QVERIFY(probed.wait(240000));
  QCOMPARE(probed.front().front().toInt(), 0);
  const auto expected = moekd::default_probe_policies(4, 2);
  QCOMPARE(view->probeTable()->rowCount(), static_cast<int>(expected.size()));
  QCOMPARE(view->probeTable()->item(1, 0)->text(), QString("top-2 (own)"));
  QCOMPARE(view->probeTable()->item(1, 4)->text(), QString("0.0000"));
  QCOMPARE(view->probePlot()->plottableCount(), 2);  // bars of discarded mass, the entropy line
  QVERIFY(!view->probeHint()->isVisibleTo(view) && view->probeTable()->isVisibleTo(view));

  QTest::qWait(200);
  saveShot(w, "compare.png");

  // Reopened from disk, the same results; a cell's run opens in the other views.
  auto* other = new moekd::ui::CompareView;
  QVERIFY(other->openGrid(dir.filePath("out")));
  QCOMPARE(other->table()->item(1, 2)->text(), table->item(1, 2)->text());
  QCOMPARE(other->probeTable()->rowCount(), view->probeTable()->rowCount());
  delete other;
  Q_EMIT table->cellDoubleClicked(1, 0);
  QCOMPARE(w->tabs()->currentWidget(), static_cast<QWidget*>(w->trainingView()));
  QVERIFY2(w->currentRunDir().endsWith("cells/ka_ka.lambda=0.5/seed-1"), qPrintable(w->currentRunDir()));

  // A grid recorded with other BLAS kernels: the child refuses it (exit code 3), the view shows
  // why and asks; "Continue anyway" runs it again with --mixed-arithmetic.
  w->tabs()->setCurrentWidget(view);
  json record = moekd::read_json_file(dir.filePath("out/arithmetic.json").toStdString());
  const std::string here = record["blas"];
  const std::string there = here == "OpenBLAS Haswell" ? "OpenBLAS Sandybridge" : "OpenBLAS Haswell";
  record["blas"] = there;
  dir.mkpath("mixed");
  moekd::write_json_file(dir.filePath("mixed/arithmetic.json").toStdString(), record);
  json small = grid;
  small.erase("cells");
  small["axes"] = {{"method", {"kd"}}};
  small["seeds"] = {1};
  const QString smallFile = dir.filePath("small.json");
  std::ofstream(smallFile.toStdString()) << small.dump(2);
  finished.clear();
  QVERIFY(view->startGrid(smallFile, dir.filePath("mixed")));
  QVERIFY(finished.wait(60000));
  QCOMPARE(finished.front().front().toInt(), 3);
  QMessageBox* question = nullptr;
  QTRY_VERIFY((question = view->findChild<QMessageBox*>("mixedArithmeticQuestion")) != nullptr);
  QVERIFY2(question->text().contains(QString::fromStdString("(BLAS: " + there + " there, " + here + " here)")),
           qPrintable(question->text()));
  QVERIFY2(!question->text().contains("--mixed-arithmetic"), qPrintable(question->text()));
  QAbstractButton* go = nullptr;
  for (auto* b : question->buttons())
    if (b->text() == "Continue anyway") go = b;
  QVERIFY(go);
  go->click();
  QVERIFY(view->running());
  QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 2, 240000);
  QCOMPARE(finished.back().front().toInt(), 0);
  QCOMPARE(view->results()->runs_finished, int64_t{1});
  const json mixed = moekd::read_json_file(dir.filePath("mixed/arithmetic.json").toStdString());
  QCOMPARE(mixed["blas"].get<std::string>(), there);
  QCOMPARE(mixed["mixed_with"].size(), size_t{1});
  QVERIFY2(view->status()->text().contains("mix arithmetics"), qPrintable(view->status()->text()));
  delete w;
}

// Closing the studio while a grid runs asks first: No keeps both; Yes stops the grid (its run
// writes its checkpoint) and the window closes once the child has ended.
void TestUi::closingStopsGridAfterAsking() {
  qputenv("MOEKD_CLI", MOEKD_CLI);
  QTemporaryDir own;
  QDir dir(own.path());
  json base = gridBase(100000);
  const json grid = {{"name", "closing"}, {"base", base}, {"axes", {{"method", {"kd"}}}}, {"seeds", {1}}};
  const QString gridFile = dir.filePath("grid.json");
  std::ofstream(gridFile.toStdString()) << grid.dump(2);

  auto* w = new MainWindow;
  w->show();
  QVERIFY(QTest::qWaitForWindowExposed(w));
  auto* view = w->compareView();
  w->tabs()->setCurrentWidget(view);
  QSignalSpy finished(view, &moekd::ui::CompareView::gridFinished);
  QVERIFY2(view->startGrid(gridFile, dir.filePath("closing")), qPrintable(view->status()->text()));
  QTRY_VERIFY_WITH_TIMEOUT(QFileInfo(dir.filePath("closing/cells/kd/seed-1/metrics.jsonl")).size() > 0, 120000);

  QTimer answerNo;
  answerNextQuestion(answerNo, QMessageBox::No);
  w->close();
  QVERIFY(!answerNo.isActive());  // the question was asked and answered
  QVERIFY(w->isVisible());
  QVERIFY(view->running());

  QTimer answerYes;
  answerNextQuestion(answerYes, QMessageBox::Yes);
  w->close();
  QVERIFY(!answerYes.isActive());
  QTRY_VERIFY_WITH_TIMEOUT(!w->isVisible(), 120000);
  QCOMPARE(finished.size(), 1);
  QCOMPARE(finished.front().front().toInt(), 130);
  QVERIFY(!view->running());
  QVERIFY(QFileInfo::exists(dir.filePath("closing/cells/kd/seed-1/checkpoints/last/state.json")));
  QVERIFY2(view->status()->text().contains("Continue resumes it"), qPrintable(view->status()->text()));
  delete w;
}
