// kill -9 at any moment loses nothing: a KA run is killed 20 times (at random moments, while it
// writes a checkpoint, while it evaluates) and resumed each time from its last complete
// checkpoint; its metrics.jsonl stays readable, and the finished run's weights and scores equal an
// uninterrupted run's bit for bit.
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>

#include <fstream>

#include <nlohmann/json.hpp>

#include "io/hf_config.h"
#include "io/hf_model.h"
#include "io/safetensors.h"
#include "run/run_record.h"
#include "test_util.h"

using namespace moekd;
using namespace moekd::test;
using json = nlohmann::json;

namespace {

constexpr int kEvalEvery = 12;

json ka_run(const QString& run_dir, const QString& teacher) {
  auto student = config_to_hf(tiny_config(Family::Llama, 1));
  student["vocab_size"] = 99;
  return {{"run_dir", run_dir.toStdString()},
          {"method", "ka"},
          {"teacher", {{"path", teacher.toStdString()}}},
          {"student", {{"init", student}}},
          {"ka", {{"m", 2}, {"lambda", 0.3}}},  // draws from the RNG every step: its state must survive too
          {"data", {{"kind", "builtin"}, {"train_examples", 400}, {"validation_examples", 16}, {"max_len", 32}}},
          {"train", {{"steps", 144}, {"batch_size", 8}, {"lr", 3e-3}, {"warmup_steps", 4}, {"seed", 11}}},
          {"eval", {{"every", kEvalEvery}, {"samples", 4}, {"max_new_tokens", 6}}},
          {"log_every", 1},
          {"routing_every", 6},
          {"checkpoint_every", 4}};
}

// The number of the last complete `step` line of a metrics file (a torn last line is skipped).
int64_t last_logged_step(const QString& metrics) {
  std::ifstream in(metrics.toStdString());
  std::string line;
  int64_t step = -1;
  while (std::getline(in, line)) {
    const auto j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("type", "") == "step") step = j.value("step", int64_t{-1});
  }
  return step;
}

bool exists(const QString& path) { return QFileInfo::exists(path); }

}  // namespace

class TestCrash : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void killedRunsResumeExactly() {
    QTemporaryDir tmp;
    const QDir dir(tmp.path());
    // A small MoE teacher of the built-in tokenizer's vocabulary.
    auto config = tiny_config(Family::Mixtral);
    config.vocab_size = 99;
    CausalLM teacher(config);
    teacher->init_weights(0.2);
    save_pretrained(teacher, dir.filePath("teacher").toStdString());

    const QString ref = dir.filePath("ref"), crash = dir.filePath("crash");
    std::ofstream(dir.filePath("ref.json").toStdString()) << ka_run(ref, dir.filePath("teacher")).dump(2);
    std::ofstream(dir.filePath("crash.json").toStdString()) << ka_run(crash, dir.filePath("teacher")).dump(2);
    {
      QProcess p;
      p.start(QStringLiteral(MOEKD_CLI), {"distill", "--config", dir.filePath("ref.json"), "--quiet"});
      QVERIFY(p.waitForFinished(300000));
      QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
    }

    QRandomGenerator rng(20261202);  // the same moments every time the test runs
    const QString metrics = crash + "/metrics.jsonl", last = crash + "/checkpoints/last";
    int kills = 0, in_checkpoint = 0, in_eval = 0, at_random = 0, finished_early = 0;
    bool started = false;
    while (kills < 20) {
      QProcess p;
      p.start(QStringLiteral(MOEKD_CLI), started ? QStringList{"distill", "--resume", crash, "--quiet"}
                                                 : QStringList{"distill", "--config", dir.filePath("crash.json"), "--quiet"});
      QVERIFY(p.waitForStarted());
      const int mode = kills % 3;
      const int64_t before = last_logged_step(metrics);
      QElapsedTimer clock;
      clock.start();
      bool killed = false, landed = false;
      // The first kill waits for a checkpoint, so that every later start has one to resume from.
      const int delay_ms = static_cast<int>(rng.bounded(150, 1500));
      while (!killed && clock.elapsed() < 120000) {
        if (p.waitForFinished(1)) break;  // ended by itself: the run is done
        bool now = false;
        if (!started) {
          now = exists(last + "/state.json") && last_logged_step(metrics) >= 6;
        } else if (mode == 0) {
          now = clock.elapsed() >= delay_ms;
        } else if (mode == 1) {  // while a checkpoint is being written
          now = exists(last + ".tmp") || exists(crash + "/checkpoints/best.tmp");
          landed = now;
        } else {  // while an evaluation runs: its step is logged, its result not yet
          const int64_t step = last_logged_step(metrics);
          now = step > before && step % kEvalEvery == 0;
          landed = now;
          if (now) QThread::msleep(rng.bounded(0, 20));
        }
        if (now) {
          p.kill();  // SIGKILL
          p.waitForFinished();
          killed = true;
        }
      }
      if (!killed) {
        QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, p.readAllStandardError().constData());
        ++finished_early;
        break;
      }
      ++kills;
      if (started) (mode == 0 ? at_random : mode == 1 ? in_checkpoint : in_eval) += landed || mode == 0 ? 1 : 0;
      started = true;
      // After every kill the run folder reads: its metrics (a torn last line skipped) and its config.
      try {
        const auto record = load_run(crash.toStdString());
        QVERIFY(record.summary.step >= 0);
      } catch (const std::exception& e) {
        QFAIL(qPrintable(QString("after kill %1: %2").arg(kills).arg(e.what())));
      }
    }
    qInfo("%d kills: %d at random moments, %d while writing a checkpoint, %d while evaluating; %d starts ran to the end",
          kills, at_random, in_checkpoint, in_eval, finished_early);
    QVERIFY(kills >= 10);
    QVERIFY(in_checkpoint >= 2 && in_eval >= 2);

    if (!finished_early) {  // the last start, uninterrupted
      QProcess p;
      p.start(QStringLiteral(MOEKD_CLI), {"distill", "--resume", crash, "--quiet"});
      QVERIFY(p.waitForFinished(300000));
      QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
    }

    // Bit for bit the uninterrupted run: every weight, and every evaluation's scores.
    SafetensorsCheckpoint a(ref.toStdString() + "/checkpoints/last/model"), b(crash.toStdString() + "/checkpoints/last/model");
    QCOMPARE(a.names(), b.names());
    for (const auto& name : a.names()) QVERIFY2(torch::equal(a.load(name), b.load(name)), name.c_str());
    const auto ra = load_run(ref.toStdString()), rb = load_run(crash.toStdString());
    QCOMPARE(rb.summary.step, int64_t{144});
    QCOMPARE(ra.evals.size(), rb.evals.size());
    for (size_t i = 0; i < ra.evals.size(); ++i) {
      QCOMPARE(rb.evals[i].step, ra.evals[i].step);
      QCOMPARE(rb.evals[i].val_loss, ra.evals[i].val_loss);
      QCOMPARE(rb.evals[i].rouge_l, ra.evals[i].rouge_l);
    }
    QCOMPARE(rb.steps.back().loss, ra.steps.back().loss);
    for (const char* leftover : {"/checkpoints/last.tmp", "/checkpoints/last.old", "/checkpoints/best.tmp"})
      QVERIFY2(!exists(crash + leftover), leftover);
  }
};

QTEST_GUILESS_MAIN(TestCrash)
#include "test_crash.moc"
