// `moekd` end to end, as people and scripts call it: JSON outputs, parity of `forward` with the
// reference implementations' own outputs, and readable errors with non-zero exit codes.
#include <QProcess>
#include <QtTest>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "test_util.h"

using namespace moekd;
using namespace moekd::test;
using json = nlohmann::json;

namespace {

struct Run {
  int code = -1;
  QString out, err;
  json parsed() const { return json::parse(out.toStdString()); }
};

Run moekd_cli(const QStringList& args) {
  QProcess p;
  p.start(QStringLiteral(MOEKD_CLI), args);
  if (!p.waitForFinished(300000)) qFatal("moekd did not finish");
  return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
}

QString tokens_of(const SafetensorsFile& expected) {
  auto t = expected.load("tokens");
  QStringList ids;
  for (int64_t i = 0; i < t.numel(); ++i) ids << QString::number(t[i].item<int64_t>());
  return ids.join(' ');
}

}  // namespace

class TestCli : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void doctorReportsTheBuildAndBlas() {
    const auto r = moekd_cli({"doctor", "--json"});
    QCOMPARE(r.code, 0);
    const auto j = r.parsed();
    for (const char* key : {"torch_version", "blas", "gflops", "threads", "cuda_devices"})
      QVERIFY2(j.contains(key), key);
    QVERIFY(j["gflops"].get<double>() > 0);
    QVERIFY(j["threads"].get<int>() >= 1);
    QVERIFY(!j["blas"].get<std::string>().empty());
  }

  void inspectDescribesEachArchitecture_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("architecture");
    QTest::addColumn<int>("experts");
    QTest::addColumn<int>("topK");
    QTest::addColumn<int>("moeLayers");
    QTest::newRow("llama") << "llama" << "LlamaForCausalLM" << 0 << 0 << 0;
    QTest::newRow("qwen2") << "qwen2" << "Qwen2ForCausalLM" << 0 << 0 << 0;
    QTest::newRow("mixtral") << "mixtral" << "MixtralForCausalLM" << 4 << 2 << 2;
    QTest::newRow("mixtral_sharded") << "mixtral_sharded" << "MixtralForCausalLM" << 4 << 2 << 2;
    QTest::newRow("qwen2_moe") << "qwen2_moe" << "Qwen2MoeForCausalLM" << 4 << 2 << 2;
    QTest::newRow("olmoe") << "olmoe" << "OlmoeForCausalLM" << 4 << 2 << 2;
    QTest::newRow("llama_moe") << "llama_moe" << "LlamaMoEForCausalLM" << 4 << 2 << 2;
  }
  void inspectDescribesEachArchitecture() {
    QFETCH(QString, name);
    QFETCH(QString, architecture);
    QFETCH(int, experts);
    QFETCH(int, topK);
    QFETCH(int, moeLayers);
    const auto r = moekd_cli({"inspect", data_path("hf/" + name), "--json"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const auto j = r.parsed();
    QCOMPARE(QString::fromStdString(j["architecture"].get<std::string>()), architecture);
    QCOMPARE(j["num_experts"].get<int>(), experts);
    QCOMPARE(j["top_k"].get<int>(), topK);
    QCOMPARE(j["num_moe_layers"].get<int>(), moeLayers);
    // Parameters: the tensors in the files (inv_freq buffers excluded) ...
    SafetensorsCheckpoint ckpt(data_dir(("hf/" + name).toUtf8().constData()));
    int64_t total = 0;
    for (const auto& n : ckpt.names())
      if (n.find("inv_freq") == std::string::npos) total += ckpt.load(n).numel();
    QCOMPARE(j["params_total"].get<int64_t>(), total);
    // ... of which every expert beyond the top-k is inactive per token.
    if (experts > 0) QVERIFY(j["params_active"].get<int64_t>() < total);
    else QCOMPARE(j["params_active"].get<int64_t>(), total);
    // The plain-text form says the same.
    const auto text = moekd_cli({"inspect", data_path("hf/" + name)});
    QCOMPARE(text.code, 0);
    QVERIFY(text.out.contains(architecture));
  }

  void forwardMatchesTheReferenceImplementation_data() {
    QTest::addColumn<QString>("name");
    for (const char* n : {"llama", "qwen2", "mixtral", "qwen2_moe", "olmoe", "llama_moe"}) QTest::newRow(n) << QString(n);
  }
  void forwardMatchesTheReferenceImplementation() {
    QFETCH(QString, name);
    const auto dir = data_path("hf/" + name);
    SafetensorsFile expected((dir + "/expected.safetensors").toStdString());
    QTemporaryDir tmp;
    const auto out = tmp.path() + "/out.safetensors";
    const auto r = moekd_cli({"forward", "--model", dir, "--tokens", tokens_of(expected), "--out", out});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    SafetensorsFile got(out.toStdString());
    const double diff = max_abs_diff(got.load("logits"), expected.load("logits"));
    QVERIFY2(diff <= 1e-4, qPrintable(QString("logits differ by %1").arg(diff)));
    int layers = 0;
    for (const auto& [key, entry] : expected.entries()) {
      if (key.rfind("expert_ids.", 0) == 0) {
        QVERIFY2(torch::equal(got.load(key), expected.load(key)), key.c_str());
        ++layers;
      }
      if (key.rfind("router_probs.", 0) == 0) QVERIFY(max_abs_diff(got.load(key), expected.load(key)) <= 1e-5);
    }
    int written = 0;
    for (const auto& [key, entry] : got.entries()) written += key.rfind("expert_ids.", 0) == 0 ? 1 : 0;
    QCOMPARE(written, layers);
  }

  void forwardPoliciesBehave() {
    const auto dir = data_path("hf/mixtral");
    QTemporaryDir tmp;
    auto run = [&](const QStringList& extra, const QString& file) {
      const auto r = moekd_cli(QStringList{"forward", "--model", dir, "--tokens", "1 2 3 4 5 6 7 8", "--out",
                                           tmp.path() + "/" + file} + extra);
      if (r.code != 0) qWarning("%s", qPrintable(r.err));
      return SafetensorsFile((tmp.path() + "/" + file).toStdString());
    };
    auto topk = run({}, "topk.safetensors");
    auto ka0 = run({"--policy", "ka", "--lambda", "0"}, "ka0.safetensors");
    QVERIFY(torch::equal(topk.load("logits"), ka0.load("logits")));
    auto ka_a = run({"--policy", "ka", "--lambda", "1", "--seed", "3"}, "ka_a.safetensors");
    auto ka_b = run({"--policy", "ka", "--lambda", "1", "--seed", "3"}, "ka_b.safetensors");
    QVERIFY(torch::equal(ka_a.load("logits"), ka_b.load("logits")));  // the seed fixes the draws
    auto all = run({"--policy", "all"}, "all.safetensors");
    QCOMPARE(all.entry("expert_ids.0").shape, (std::vector<int64_t>{8, 4}));
    QVERIFY(max_abs_diff(all.load("logits"), topk.load("logits")) > 1e-3);
  }

  void badInputsGiveReadableErrors_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    const auto mixtral = data_path("hf/mixtral");
    QTest::newRow("missing folder") << QStringList{"inspect", "/nonexistent/model"} << "/nonexistent/model: not a folder";
    QTest::newRow("token outside vocabulary")
        << QStringList{"forward", "--model", mixtral, "--tokens", "1 96", "--out", "/tmp/x.safetensors"}
        << "id 96 is outside the vocabulary [0, 96)";
    QTest::newRow("token not a number")
        << QStringList{"forward", "--model", mixtral, "--tokens", "1 two", "--out", "/tmp/x.safetensors"}
        << "`two` is not a token id";
    QTest::newRow("unknown policy")
        << QStringList{"forward", "--model", mixtral, "--tokens", "1", "--policy", "top2", "--out", "/tmp/x.safetensors"}
        << "expected one of: topk, ka, all, topp";
    QTest::newRow("lambda out of range")
        << QStringList{"forward", "--model", mixtral, "--tokens", "1", "--policy", "ka", "--lambda", "2", "--out",
                       "/tmp/x.safetensors"}
        << "lambda must be in [0, 1]";
    QTest::newRow("unknown device") << QStringList{"doctor", "--device", "tpu"} << "device `tpu` is not understood";
  }
  void badInputsGiveReadableErrors() {
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    const auto r = moekd_cli(args);
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains(message), qPrintable("stderr: " + r.err));
    QVERIFY2(r.err.startsWith("moekd: error: "), qPrintable(r.err));
    QVERIFY(!r.err.contains("frame #"));  // no LibTorch backtraces for users
  }

  void usageErrorsExitNonZero() {
    QVERIFY(moekd_cli({}).code != 0);
    QVERIFY(moekd_cli({"forward", "--tokens", "1"}).code != 0);  // --model and --out missing
  }
};

QTEST_APPLESS_MAIN(TestCli)
#include "test_cli.moc"
