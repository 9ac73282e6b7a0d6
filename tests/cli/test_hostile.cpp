// SPDX-License-Identifier: MIT
// `moekd` against hostile input: every case exits 1 within seconds with one line that names the
// file or field, never a crash, a hang, a huge allocation or a half-written run folder.
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <sys/stat.h>

#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "io/hf_config.h"
#include "io/safetensors.h"
#include "test_util.h"

using namespace moekd;
using namespace moekd::test;
using json = nlohmann::json;

namespace {

struct Outcome {
  int code = -1;
  bool hung = false;
  QString err;
};

// A case must end within this; a hang is killed and reported (not a speed limit: cases take < 1 s).
constexpr int kHangMs = 60000;

Outcome run_moekd(const QStringList& args) {
  QProcess p;
  p.start(QStringLiteral(MOEKD_CLI), args);
  Outcome o;
  if (!p.waitForFinished(kHangMs)) {
    p.kill();
    p.waitForFinished();
    o.hung = true;
  }
  o.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
  o.err = QString::fromUtf8(p.readAllStandardError());
  return o;
}

void write_text(const QString& path, const std::string& text) { std::ofstream(path.toStdString()) << text; }
void write_json(const QString& path, const json& j) { write_text(path, j.dump(2)); }
std::string nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// A model folder: the Llama fixture's weights with its config.json changed by `edit`.
QString model_copy(const QDir& tmp, const QString& name, const std::function<void(json&)>& edit) {
  const QString dir = tmp.filePath(name);
  QDir().mkpath(dir);
  QFile::copy(data_path("hf/llama/model.safetensors"), dir + "/model.safetensors");
  std::ifstream in(data_path("hf/llama/config.json").toStdString());
  json config = json::parse(in);
  edit(config);
  write_json(dir + "/config.json", config);
  return dir;
}

// A tiny finished sft run with checkpoints (the resume cases damage it in different ways).
json tiny_run(const QString& run_dir) {
  auto student = config_to_hf(tiny_config(Family::Llama, 1));
  student["vocab_size"] = 99;
  return {{"run_dir", run_dir.toStdString()},
          {"method", "sft"},
          {"student", {{"init", student}}},
          {"data", {{"kind", "builtin"}, {"train_examples", 200}, {"validation_examples", 8}, {"max_len", 32}}},
          {"train", {{"steps", 4}, {"batch_size", 4}, {"warmup_steps", 1}}},
          {"eval", {{"every", 0}, {"samples", 0}}},
          {"log_every", 2},
          {"checkpoint_every", 2}};
}

QString trained_run(const QDir& tmp, const QString& name) {
  const QString dir = tmp.filePath(name);
  write_json(tmp.filePath(name + ".json"), tiny_run(dir));
  const auto r = run_moekd({"distill", "--config", tmp.filePath(name + ".json"), "--quiet"});
  if (r.code != 0) qFatal("the tiny run failed: %s", qPrintable(r.err));
  return dir;
}

}  // namespace

class TestHostile : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  QDir dir() const { return QDir(tmp_.path()); }

 private Q_SLOTS:
  void refusedByName_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    const QDir t = dir();
    const QString llama = data_path("hf/llama");
    const QString out = t.filePath("out.safetensors");

    // Values nested 100,000 deep: refused while parsing, before anything copies or prints them.
    const QString deep_model = model_copy(t, "deep-model", [](json& c) { c["x"] = json(); });
    write_text(deep_model + "/config.json", "{\"architectures\": " + nested(100000) + "}");
    QTest::newRow("nested model config") << QStringList{"inspect", deep_model} << "nested deeper than 64 levels";
    write_text(t.filePath("deep-run.json"), "{\"student\": {\"init\": " + nested(100000) + "}}");
    QTest::newRow("nested run config") << QStringList{"distill", "--config", t.filePath("deep-run.json")}
                                       << "deep-run.json: JSON nested deeper than 64 levels";
    const QString deep_resume = trained_run(t, "deep-resume");
    write_text(deep_resume + "/config.json", "{\"train\": " + nested(100000) + "}");
    QTest::newRow("nested resumed config") << QStringList{"distill", "--resume", deep_resume}
                                           << "deep-resume/config.json: JSON nested deeper than 64 levels";
    const json good = tiny_run(t.filePath("never-written"));
    write_json(t.filePath("good.json"), good);
    QTest::newRow("nested override") << QStringList{"distill", "--config", t.filePath("good.json"), "--set",
                                                    "train.lr=" + QString::fromStdString(nested(1000))}
                                     << "override `train.lr` is nested deeper than 64 levels";

    // FIFOs where files are expected: open() would block forever.
    const QString fifo_model = model_copy(t, "fifo-model", [](json&) {});
    QFile::remove(fifo_model + "/model.safetensors");
    ::mkfifo(qPrintable(fifo_model + "/model.safetensors"), 0600);
    QTest::newRow("fifo weights") << QStringList{"inspect", fifo_model} << "model.safetensors' is a FIFO (named pipe)";
    const QString fifo_config = model_copy(t, "fifo-config", [](json&) {});
    QFile::remove(fifo_config + "/config.json");
    ::mkfifo(qPrintable(fifo_config + "/config.json"), 0600);
    QTest::newRow("fifo config.json") << QStringList{"forward", "--model", fifo_config, "--tokens", "1", "--out", out}
                                      << "config.json' is a FIFO (named pipe); expected a file";
    ::mkfifo(qPrintable(t.filePath("fifo.json")), 0600);
    QTest::newRow("fifo --config") << QStringList{"distill", "--config", t.filePath("fifo.json")}
                                   << "fifo.json' is a FIFO (named pipe); expected a file";
    ::mkfifo(qPrintable(t.filePath("fifo.jsonl")), 0600);
    QTest::newRow("fifo data") << QStringList{"distill", "--config", t.filePath("good.json"), "--set", "data.kind=jsonl",
                                              "--set", "data.path=" + t.filePath("fifo.jsonl")}
                               << "fifo.jsonl' is a FIFO (named pipe); expected a file";
    QTest::newRow("device as data") << QStringList{"distill", "--config", t.filePath("good.json"), "--set",
                                                   "data.kind=text", "--set", "data.path=/dev/zero"}
                                    << "'/dev/zero' is a character device; expected a file";
    QTest::newRow("folder as --config") << QStringList{"distill", "--config", t.path()} << "is a folder; expected a file";

    // Absurd sizes: refused by field before anything is allocated.
    QTest::newRow("vocabulary 1e12") << QStringList{"distill", "--config", t.filePath("good.json"), "--set",
                                                    "student.init.vocab_size=1000000000000"}
                                     << "`vocab_size` must be an integer in [1, 4194304], got 1000000000000";
    QTest::newRow("intermediate 1e12") << QStringList{"distill", "--config", t.filePath("good.json"), "--set",
                                                      "student.init.intermediate_size=1000000000000"}
                                       << "`intermediate_size` must be an integer in [0, 1048576]";
    const QString wrong_vocab = model_copy(t, "wrong-vocab", [](json& c) { c["vocab_size"] = 5000; });
    QTest::newRow("config beyond its weights") << QStringList{"inspect", wrong_vocab}
                                               << "`vocab_size` = 5000 but tensor `model.embed_tokens.weight` has 96 rows";
    const QString wrong_ffn = model_copy(t, "wrong-ffn", [](json& c) { c["intermediate_size"] = 100000; });
    QTest::newRow("ffn beyond its weights") << QStringList{"forward", "--model", wrong_ffn, "--tokens", "1", "--out", out}
                                            << "do not match the checkpoint";
    const QString no_positions = model_copy(t, "no-positions", [](json& c) { c["max_position_embeddings"] = 0; });
    QTest::newRow("max_position_embeddings 0") << QStringList{"inspect", no_positions}
                                               << "`max_position_embeddings` must be an integer in [1, 16777216], got 0";
    QStringList many;
    for (int i = 0; i < 65; ++i) many << "1";
    QTest::newRow("tokens past the positions")
        << QStringList{"forward", "--model", llama, "--tokens", many.join(' '), "--out", out}
        << "65 tokens, more than the model's max_position_embeddings (64)";

    // Non-finite weights.
    {
      SafetensorsCheckpoint ckpt(llama.toStdString());
      std::vector<std::pair<std::string, torch::Tensor>> tensors;
      for (const auto& name : ckpt.names()) tensors.emplace_back(name, ckpt.load(name));
      for (auto& [name, t] : tensors)
        if (name == "lm_head.weight") t.view(-1)[7] = std::numeric_limits<float>::infinity();
      const QString nan_model = model_copy(t, "inf-model", [](json&) {});
      save_safetensors((nan_model + "/model.safetensors").toStdString(), tensors);
      QTest::newRow("infinite weight") << QStringList{"forward", "--model", nan_model, "--tokens", "1", "--out", out}
                                       << "tensor `lm_head.weight` holds 1 non-finite value (NaN or infinity; the first at [0, 7])";
    }

    // Flags: ranges, NaN, threads.
    QTest::newRow("threads 1000") << QStringList{"--threads", "1000", "doctor"} << "--threads: `1000` is not in [1, ";
    QTest::newRow("k' -1") << QStringList{"forward", "--model", llama, "--tokens", "1", "--k-prime", "-1", "--out", out}
                           << "--k-prime: Value -1 not in range";
    QTest::newRow("lambda nan") << QStringList{"forward", "--model", llama, "--tokens", "1", "--policy", "ka", "--lambda",
                                               "nan", "--out", out}
                                << "--lambda: `nan` is not a finite number";

    // Resume: a run whose files changed after its checkpoint was written.
    const QString reshaped = trained_run(t, "reshaped");
    {
      std::ifstream in((reshaped + "/config.json").toStdString());
      json c = json::parse(in);
      c["student"]["init"]["hidden_size"] = 48;
      write_json(reshaped + "/config.json", c);
    }
    QTest::newRow("resume, shape changed") << QStringList{"distill", "--resume", reshaped, "--steps", "6"}
                                           << "the run's `student.init.hidden_size` is 48, but the checkpoint's model has 32";
    const QString bad_state = trained_run(t, "bad-state");
    write_text(bad_state + "/checkpoints/last/state.json", "[1, 2, 3]");
    QTest::newRow("state.json an array") << QStringList{"distill", "--resume", bad_state, "--steps", "6"}
                                         << "state.json: expected a JSON object, got a list";
    const QString far_state = trained_run(t, "far-state");
    {
      std::ifstream in((far_state + "/checkpoints/last/state.json").toStdString());
      json s = json::parse(in);
      s["step"] = 999;
      write_json(far_state + "/checkpoints/last/state.json", s);
    }
    QTest::newRow("state.json step beyond") << QStringList{"distill", "--resume", far_state}
                                            << "state.json: `step` must be in [0, 4], got 999";
    const QString negative = trained_run(t, "negative-state");
    {
      std::ifstream in((negative + "/checkpoints/last/state.json").toStdString());
      json s = json::parse(in);
      s["step"] = -3;
      write_json(negative + "/checkpoints/last/state.json", s);
    }
    QTest::newRow("state.json step negative") << QStringList{"distill", "--resume", negative}
                                              << "state.json: `step` must be in [0, 4], got -3";
    const QString moments = trained_run(t, "bad-moments");
    {
      const std::string path = (moments + "/checkpoints/last/state.safetensors").toStdString();
      std::vector<std::pair<std::string, torch::Tensor>> tensors;
      SafetensorsFile st(path);
      for (const auto& [name, entry] : st.entries()) {
        auto v = st.load(name).clone();
        if (name.find(".exp_avg_sq") != std::string::npos && tensors.size() < 4) v = torch::zeros({3});
        tensors.emplace_back(name, v);
      }
      save_safetensors(path, tensors);
    }
    QTest::newRow("optimizer state of another shape") << QStringList{"distill", "--resume", moments, "--steps", "6"}
                                                       << "has shape [3], but the run's parameter has";
  }

  void refusedByName() {
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    const auto r = run_moekd(args);
    QVERIFY2(!r.hung, "moekd hung");
    QVERIFY2(r.code == 1, qPrintable(QString("exit code %1: %2").arg(r.code).arg(r.err)));
    QVERIFY2(r.err.startsWith("moekd: error: ") && r.err.count('\n') == 1, qPrintable(r.err));
    QVERIFY2(r.err.contains(message), qPrintable("stderr: " + r.err));
    for (const char* leak : {"frame #", "terminate called", "Segmentation", "what():", "json.exception"})
      QVERIFY2(!r.err.contains(leak), qPrintable(r.err));
  }

  // Text that is not UTF-8 in an override is refused before the run folder exists: nothing
  // half-written is left behind (it used to leave an empty config.json.tmp).
  void invalidUtf8LeavesNoFolder() {
    const QString run = dir().filePath("utf8-run");
    write_json(dir().filePath("utf8.json"), tiny_run(run));
    // Bytes that are not UTF-8 cannot travel in a QString: a shell puts them into the argument.
    QProcess p;
    p.start("/bin/sh", {"-c", "exec \"$0\" distill --config \"$1\" --set \"name=$(printf '\\377\\376')\"",
                        QStringLiteral(MOEKD_CLI), dir().filePath("utf8.json")});
    QVERIFY(p.waitForFinished(kHangMs));
    const Outcome r{p.exitCode(), false, QString::fromUtf8(p.readAllStandardError())};
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("is not valid UTF-8 text"), qPrintable(r.err));
    QVERIFY(!QFileInfo::exists(run));
  }
};

QTEST_GUILESS_MAIN(TestHostile)
#include "test_hostile.moc"
