// The studio's widgets, offscreen: forms <-> run-config JSON, inline validation gating Start, a
// tiny run driven from the window (charts, pause, resume, stop), responsiveness of the GUI thread
// during runs, and screenshots of every view (docs/screenshots).
#include <QAction>
#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QComboBox>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QTableWidget>
#include <QLineEdit>
#include <QListView>
#include <QRadioButton>
#include <QTableView>
#include <QScrollArea>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QToolTip>
#include <QtTest>
#include <algorithm>
#include <array>
#include <map>
#include <vector>

#include "configure_view.h"
#include "engine_api.h"
#include "engine_worker.h"
#include "evaluation_view.h"
#include "experts_view.h"
#include "export_dialog.h"
#include "main_window.h"
#include "plot_style.h"
#include "router_view.h"
#include "run_history.h"
#include "runs_model.h"
#include "runs_view.h"
#include "training_view.h"

using json = nlohmann::json;
using moekd::ui::ConfigureView;
using moekd::ui::EngineWorker;
using moekd::ui::MainWindow;
using moekd::ui::RunsModel;

namespace {

// A Mixtral-shaped MoE trained from scratch on the built-in tasks: small enough for seconds on CPU.
json tinyRun(const QString& runDir, int steps) {
  return {{"name", "ui-test"},
          {"run_dir", runDir.toStdString()},
          {"method", "train-teacher"},
          {"student",
           {{"init",
             {{"architectures", {"MixtralForCausalLM"}},
              {"vocab_size", 99},
              {"hidden_size", 32},
              {"intermediate_size", 64},
              {"num_hidden_layers", 2},
              {"num_attention_heads", 4},
              {"num_key_value_heads", 2},
              {"num_local_experts", 4},
              {"num_experts_per_tok", 2},
              {"max_position_embeddings", 64},
              {"bos_token_id", 1},
              {"eos_token_id", 2}}}}},
          {"data",
           {{"kind", "builtin"}, {"seed", 1234}, {"train_examples", 800}, {"validation_examples", 16},
            {"test_examples", 16}, {"max_len", 32}}},
          {"train", {{"steps", steps}, {"batch_size", 8}, {"lr", 3e-3}, {"warmup_steps", 2}, {"seed", 3}}},
          {"eval", {{"every", 15}, {"samples", 4}, {"max_new_tokens", 8}}},
          {"log_every", 2},
          {"routing_every", 5},
          {"checkpoint_every", 0}};
}

QString diff(const json& a, const json& b) {
  return QString::fromStdString(json::diff(a, b).dump());
}

// Measures how late a 10 ms repeating timer fires on the GUI thread.
class LatencyProbe : public QObject {
 public:
  void start() {
    delays_.clear();
    clock_.start();
    last_ = 0;
    connect(&timer_, &QTimer::timeout, this, [this] {
      const qint64 now = clock_.nsecsElapsed();
      if (last_ > 0) delays_.push_back(std::max(0.0, (now - last_) / 1e6 - 10.0));
      last_ = now;
    });
    timer_.setTimerType(Qt::PreciseTimer);
    timer_.start(10);
  }
  void stop() { timer_.stop(); }
  double percentile(double p) const {
    if (delays_.empty()) return 0;
    std::vector<double> d = delays_;
    std::sort(d.begin(), d.end());
    return d[std::min(d.size() - 1, static_cast<size_t>(p * (d.size() - 1) + 0.5))];
  }
  size_t samples() const { return delays_.size(); }

 private:
  QTimer timer_;
  QElapsedTimer clock_;
  qint64 last_ = 0;
  std::vector<double> delays_;
};

void saveShot(QWidget* w, const QString& name) {
  QDir().mkpath(MOEKD_SCREENSHOTS);
  const QString path = QString(MOEKD_SCREENSHOTS) + "/" + name;
  QVERIFY2(w->grab().save(path), qPrintable(path));
}

}  // namespace

class TestUi : public QObject {
  Q_OBJECT
  // Runs made by routerView and runFromWindow (teacher, sar, run-a, run-b) that the Runs and
  // Export tests open from disk.
  QTemporaryDir workspace_;

 private Q_SLOTS:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);  // window settings go to a test location
    QApplication::setOrganizationName("MoE-KD Studio");
    QApplication::setApplicationName("MoE-KD Studio test");
    EngineWorker::registerMetaTypes();
  }

  void presetsLoad() {
    ConfigureView view;
    QVERIFY2(view.isValid(), qPrintable(view.validationMessage()));  // opens on the demo preset
    QCOMPARE(view.config()["method"], json("train-teacher"));
    QCOMPARE(view.config()["train"]["steps"], json(3000));
    QCOMPARE(view.config()["student"]["init"]["num_local_experts"], json(8));
    QVERIFY(view.loadPreset("paper-like"));
    QVERIFY(!view.isValid());  // teacher and data paths are left for the user
    QCOMPARE(view.config()["method"], json("kd"));
    QCOMPARE(view.config()["student"]["init"]["hidden_size"], json(2048));
  }

  void formJsonRoundTrip_data() {
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
    QTest::newRow("sar, jsonl") << QByteArray::fromStdString(sar.dump());
  }

  void formJsonRoundTrip() {
    QFETCH(QByteArray, config);
    const json c = json::parse(config.toStdString());
    const json expected = moekd::ui::normalize_run_config(c, "test");
    ConfigureView view;
    view.setConfig(c);
    QVERIFY2(view.isValid(), qPrintable(view.validationMessage()));
    QVERIFY2(view.config() == expected, qPrintable(diff(expected, view.config())));

    // Save as the CLI reads it, load into a fresh form: still identical.
    QTemporaryDir dir;
    const QString path = dir.filePath("run.json");
    QVERIFY(view.saveFile(path));
    ConfigureView other;
    QString error;
    QVERIFY2(other.loadFile(path, &error), qPrintable(error));
    QVERIFY2(other.config() == expected, qPrintable(diff(expected, other.config())));
  }

  void invalidInputKeepsStartDisabled() {
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

    auto* teacher = w.configureView()->findChild<QLineEdit*>("teacher.path");
    QVERIFY(teacher);
    const QString good = teacher->text();
    teacher->setText("");
    QVERIFY(!w.configureView()->isValid());
    QVERIFY(!w.startAction()->isEnabled());
    QVERIFY2(label->text().contains("teacher.path"), qPrintable(label->text()));
    teacher->setText(good);
    QVERIFY(w.configureView()->isValid());
    QVERIFY(w.startAction()->isEnabled());

    auto* steps = w.configureView()->findChild<QSpinBox*>("train.steps");
    QVERIFY(steps);
    steps->setValue(0);
    QVERIFY(!w.startAction()->isEnabled());
    QVERIFY2(label->text().contains("train.steps"), qPrintable(label->text()));
    QVERIFY(label->palette().color(QPalette::WindowText) != w.palette().color(QPalette::WindowText));
    steps->setValue(30);
    QVERIFY(w.startAction()->isEnabled());

    auto* lr = w.configureView()->findChild<QLineEdit*>("train.lr");
    lr->setText("fast");
    QVERIFY(!w.startAction()->isEnabled());
    QVERIFY2(label->text().contains("train.lr"), qPrintable(label->text()));
    lr->setText("0.001");
    QVERIFY(w.startAction()->isEnabled());

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
    QTRY_VERIFY2(dataInfo->text().contains("open_qa"), qPrintable(dataInfo->text()));
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

  void engineFailureIsReported() {
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

  void closeDuringRunStopsCleanly() {
    QTemporaryDir dir;
    auto* w = new MainWindow;
    w->show();
    w->configureView()->setConfig(tinyRun(dir.filePath("run-c"), 1000000));
    w->startAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(w->lastStep() >= 10, 120000);
    // Answer the "Stop the run?" question with Yes.
    QTimer answer;
    connect(&answer, &QTimer::timeout, this, [&answer] {
      if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
        answer.stop();
        box->button(QMessageBox::Yes)->click();
      }
    });
    answer.start(50);
    w->close();
    QTRY_VERIFY_WITH_TIMEOUT(!w->isVisible(), 60000);
    QCOMPARE(w->state(), EngineWorker::State::Idle);
    QVERIFY(w->lastRunStoppedEarly());
    QVERIFY(QDir(dir.filePath("run-c/checkpoints/last")).exists());
    delete w;
  }

  void evaluationView() {
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
  void expertsRoutingSplit() {
    moekd::ui::ExpertsView view;
    moekd::RoutingSnapshot plain;
    plain.step = 5;
    plain.model = "teacher";
    plain.layers.push_back({0, {0.5, 0.5}, {0.6, 0.4}, {10, 10}, 0, 0, {}, {}});
    view.addSnapshot(plain);
    QVERIFY(!view.setRouting(2));  // nothing was sampled
    moekd::RoutingSnapshot ka = plain;
    ka.step = 10;
    ka.layers = {{0, {0.4, 0.6}, {0.5, 0.5}, {8, 12}, 0.25, 0, {0.5, 0.5}, {0.1, 0.9}},
                 {1, {0.3, 0.7}, {0.5, 0.5}, {6, 14}, 0.25, 0, {0.2, 0.8}, {0.6, 0.4}}};
    view.addSnapshot(ka);
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
  void resumedRunReadsAsOneRun() {
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

  void routerView() {
    // Without a teacher snapshot that drifted, the drift chart gives way to an explanation.
    {
      moekd::ui::RouterView view;
      moekd::RoutingSnapshot frozen;
      frozen.step = 5;
      frozen.model = "teacher";
      frozen.layers.push_back({0, {0.5, 0.5}, {0.6, 0.4}, {10, 10}, 0, 0});
      view.addSnapshot(frozen);
      QVERIFY(!view.isSar());
      QVERIFY2(view.driftMessage()->text().contains("teacher routers are frozen"), qPrintable(view.driftMessage()->text()));
      QCOMPARE(view.driftPlot()->graphCount(), 0);
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
    QVERIFY2(w.routerView()->driftMessage()->text().contains("SAR runs"), qPrintable(w.routerView()->driftMessage()->text()));
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
    QPalette dark;
    dark.setColor(QPalette::Window, QColor(0x2b, 0x2b, 0x2b));
    dark.setColor(QPalette::WindowText, QColor(0xe6, 0xe6, 0xe6));
    dark.setColor(QPalette::Base, QColor(0x1e, 0x1e, 0x1e));
    dark.setColor(QPalette::Text, QColor(0xe6, 0xe6, 0xe6));
    dark.setColor(QPalette::Button, QColor(0x35, 0x35, 0x35));
    dark.setColor(QPalette::ButtonText, QColor(0xe6, 0xe6, 0xe6));
    for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
      dark.setColor(QPalette::Disabled, role, QColor(0x80, 0x80, 0x80));
    w.setPalette(dark);
    QTest::qWait(200);
    for (QCustomPlot* plot : {view->heatmapPlot(), view->driftPlot(), view->comparePlot()})
      QCOMPARE(plot->xAxis->tickLabelColor(), QColor(0xe6, 0xe6, 0xe6));
    saveShot(&w, "router-dark.png");
    w.setPalette(QPalette());
  }

  void runFromWindow() {
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
    QPalette dark;
    dark.setColor(QPalette::Window, QColor(0x2b, 0x2b, 0x2b));
    dark.setColor(QPalette::WindowText, QColor(0xe6, 0xe6, 0xe6));
    dark.setColor(QPalette::Base, QColor(0x1e, 0x1e, 0x1e));
    dark.setColor(QPalette::AlternateBase, QColor(0x35, 0x35, 0x35));
    dark.setColor(QPalette::Text, QColor(0xe6, 0xe6, 0xe6));
    dark.setColor(QPalette::Button, QColor(0x35, 0x35, 0x35));
    dark.setColor(QPalette::ButtonText, QColor(0xe6, 0xe6, 0xe6));
    dark.setColor(QPalette::Highlight, QColor(0x3d, 0x7a, 0xd6));
    dark.setColor(QPalette::HighlightedText, Qt::white);
    for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
      dark.setColor(QPalette::Disabled, role, QColor(0x80, 0x80, 0x80));
    w.setPalette(dark);
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
  void runsOpenFromDisk() {
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
    // The comparison table marks the best value of a column in bold: the lowest final train loss.
    int lowest = -1;
    for (int r = 0; r < model->rowCount(); ++r)
      if (model->history(r) && (lowest < 0 || model->history(r)->summary.train_loss < model->history(lowest)->summary.train_loss))
        lowest = r;
    for (int r = 0; r < model->rowCount(); ++r)
      QCOMPARE(cell(r, RunsModel::TrainLoss, Qt::FontRole).value<QFont>().bold(), r == lowest);
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
    QVERIFY(w.windowTitle().startsWith("ui-test"));

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
  void exportFromDialog() {
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
};

QTEST_MAIN(TestUi)
#include "test_ui.moc"
