// `moekd` end to end, as people and scripts call it: JSON outputs, parity of `forward` with the
// reference implementations' own outputs, and readable errors with non-zero exit codes.
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "io/hf_config.h"
#include "io/safetensors.h"
#include "cli_util.h"
#include "test_util.h"

using namespace moekd;
using namespace moekd::test;
using json = nlohmann::json;

namespace {

std::vector<json> events_of(const QString& run_dir) {
  std::vector<json> out;
  std::ifstream in((run_dir + "/metrics.jsonl").toStdString());
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

int count_type(const std::vector<json>& events, const std::string& type) {
  int n = 0;
  for (const auto& e : events) n += e["type"] == type ? 1 : 0;
  return n;
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
    // The OpenBLAS kernels in use, next to what the CPU supports, and their self-check.
    QVERIFY(j.contains("cpu_features") && j["cpu_features"].is_array());
    QVERIFY2(j.contains("openblas"), qPrintable(r.out));
    const auto& o = j["openblas"];
    QVERIFY(!o["core"].get<std::string>().empty());
    QVERIFY(o.contains("best_for_cpu") && o.contains("source") && o.contains("slower_than_cpu_allows"));
    QVERIFY2(o["self_check"].get<bool>(), qPrintable(QString::fromStdString(o.dump())));
  }

  // A core type the user set is respected, whatever the CPU could do; without one, moekd
  // switches to the best kernels the CPU supports (after a self-check), or keeps OpenBLAS's own.
  void openblasCoreChoice() {
    auto openblas = [](const Run& r) { return r.parsed()["openblas"]; };
    const auto set = openblas(moekd_cli({"doctor", "--json"}, {"OPENBLAS_CORETYPE=Prescott"}));
    QCOMPARE(set["core"], json("Prescott"));
    QCOMPARE(set["source"], json("set by OPENBLAS_CORETYPE"));
    QCOMPARE(set["slower_than_cpu_allows"].get<bool>(), set["best_for_cpu"] != json(""));

    const auto own = openblas(moekd_cli({"doctor", "--json"}, {"-OPENBLAS_CORETYPE", "MOEKD_OPENBLAS_AUTO=0"}));
    QCOMPARE(own["source"], json("detected by OpenBLAS"));
    const auto automatic = openblas(moekd_cli({"doctor", "--json"}, {"-OPENBLAS_CORETYPE", "-MOEKD_OPENBLAS_AUTO"}));
    if (own["slower_than_cpu_allows"].get<bool>() && automatic["rejected"] == json("")) {
      QCOMPARE(automatic["core"], own["best_for_cpu"]);
      QCOMPARE(automatic["source"], json("chosen by moekd"));
      QCOMPARE(automatic["detected"], own["core"]);
    } else {
      QCOMPARE(automatic["core"], own["core"]);
    }
    qInfo("OpenBLAS here: detected %s, best for the CPU %s, automatic choice %s (%s)",
          own["core"].get<std::string>().c_str(), own["best_for_cpu"].get<std::string>().c_str(),
          automatic["core"].get<std::string>().c_str(), automatic["source"].get<std::string>().c_str());

    // A named core type is tried (and checked) instead; one OpenBLAS does not have is refused.
    const auto named = openblas(moekd_cli({"doctor", "--json"}, {"-OPENBLAS_CORETYPE", "MOEKD_OPENBLAS_AUTO=Prescott"}));
    if (own["core"] != json("Prescott")) {
      QCOMPARE(named["core"], json("Prescott"));
      QCOMPARE(named["source"], json("chosen by moekd"));
    }
    const auto bogus = openblas(moekd_cli({"doctor", "--json"}, {"-OPENBLAS_CORETYPE", "MOEKD_OPENBLAS_AUTO=Foo"}));
    QVERIFY2(bogus["rejected"].get<std::string>().find("Foo: not a core type") == 0, qPrintable(QString::fromStdString(bogus.dump())));
  }

  // ATen's own CPU kernels (exp, softmax, elementwise): moekd picks the best the CPU has, which
  // LibTorch 1.13 alone does not on an AVX-512 CPU; a level the user set is respected; what is
  // reported is what ATen says it runs.
  void atenKernelChoice() {
    const QStringList clean{"-ATEN_CPU_CAPABILITY", "-MOEKD_ATEN_CHOSEN", "-MOEKD_ATEN_AUTO"};
    const auto chosen = moekd_cli({"doctor", "--json"}, clean).parsed();
    const auto& k = chosen["aten_kernels"];
    const auto features = chosen["cpu_features"].get<std::vector<std::string>>();
    auto has = [&](const char* f) { return std::find(features.begin(), features.end(), f) != features.end(); };
    const std::string best = has("avx512f") && has("avx512bw") && has("avx512dq") && has("avx512vl") && has("fma") ? "AVX512"
                             : has("avx2") && has("fma")                                                        ? "AVX2"
                                                                                                                : "DEFAULT";
    QCOMPARE(k["best_for_cpu"], json(best));
    QCOMPARE(k["in_use"], json(best));
    QCOMPARE(k["source"], json("chosen by moekd"));

    const auto set = moekd_cli({"doctor", "--json"}, QStringList(clean) << "ATEN_CPU_CAPABILITY=default").parsed();
    QCOMPARE(set["aten_kernels"]["in_use"], json("DEFAULT"));
    QCOMPARE(set["aten_kernels"]["source"], json("set by ATEN_CPU_CAPABILITY"));

    const auto own = moekd_cli({"doctor", "--json"}, QStringList(clean) << "MOEKD_ATEN_AUTO=0").parsed();
    QCOMPARE(own["aten_kernels"]["source"], json("ATen's own choice"));
    qInfo("ATen kernels here: %s by moekd, %s by ATen alone", k["in_use"].get<std::string>().c_str(),
          own["aten_kernels"]["in_use"].get<std::string>().c_str());
  }

  // The demo distils from the teacher that ships with moekd, says so, and names the BLAS kernels
  // its numbers came from (other kernels round differently).
  void demoNamesItsTeacherAndKernels() {
    QTemporaryDir tmp;
    const auto r = moekd_cli({"demo", "--out", tmp.filePath("demo"), "--scale", "0.003", "--methods", "kd", "--quiet"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    std::ifstream in(tmp.filePath("demo/results.json").toStdString());
    const auto results = json::parse(in);
    QVERIFY2(results["teacher"].get<std::string>().find("shipped with moekd") == 0, qPrintable(QString::fromStdString(results.dump())));
    QVERIFY(!results["blas"]["openblas_core"].get<std::string>().empty());
    QCOMPARE(results["runs"].size(), size_t(2));
    QCOMPARE(results["runs"][0]["method"], json("teacher"));
    QVERIFY(results["runs"][0]["exact_match"].get<double>() >= 0.9);  // evaluated, not trained
    QCOMPARE(results["runs"][1]["method"], json("kd"));
    QVERIFY2(r.out.contains("BLAS kernels:"), qPrintable(r.out));
  }

  // moekd tokenize --input: the ids the `tokenizers` library gives with special tokens, the text
  // decoded without them; a line that is not a string is refused with its file and line.
  void tokenizeMatchesTheLibrary() {
    const json fixtures = json::parse(std::ifstream(MOEKD_TEST_DATA "/tokenizers/strings.json"));
    QTemporaryDir dir;
    const QString input = dir.filePath("strings.jsonl");
    {
      std::ofstream out(input.toStdString());
      for (size_t i = 0; i < 40; ++i) out << fixtures["strings"][i].dump() << "\n";
    }
    const Run r = moekd_cli({"tokenize", "--tokenizer", MOEKD_TEST_DATA "/tokenizers/llama3", "--input", input});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const QStringList lines = r.out.split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 40);
    for (int i = 0; i < 40; ++i) {
      const json got = json::parse(lines[i].toStdString());
      const json& want = fixtures["expected"]["llama3"][i];
      QCOMPARE(got["ids"].dump(), want["ids"].dump());
      QCOMPARE(QString::fromStdString(got["text"].get<std::string>()), QString::fromStdString(want["text"].get<std::string>()));
    }
    const Run decoded = moekd_cli({"tokenize", "--tokenizer", MOEKD_TEST_DATA "/tokenizers/llama3", "--decode",
                                   QString::fromStdString(json::parse(lines[3].toStdString())["ids"].dump())});
    QCOMPARE(decoded.code, 0);
    QCOMPARE(decoded.out, QString::fromStdString(fixtures["expected"]["llama3"][3]["text"].get<std::string>()) + "\n");
    std::ofstream(input.toStdString(), std::ios::app) << "{\"not\": \"a string\"}\n";
    const Run bad = moekd_cli({"tokenize", "--tokenizer", MOEKD_TEST_DATA "/tokenizers/llama3", "--input", input});
    QCOMPARE(bad.code, 1);
    QVERIFY2(bad.err.contains(input + ":41: expected a JSON string, found object"), qPrintable(bad.err));
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
    QTest::newRow("missing folder") << QStringList{"inspect", "/nonexistent/model"} << "model folder '/nonexistent/model' does not exist";
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
        << "--lambda: `2` is not in [0, 1]";
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

  // The whole pipeline, as a person would run it.
  // The demo's on-policy runs end to end: the student writes every batch's answers, the metrics
  // say how many tokens and how long, and the table lists the runs by name.
  void onPolicyDemoRuns() {
    QTemporaryDir tmp;
    const auto r = moekd_cli({"demo", "--out", tmp.filePath("demo"), "--scale", "0.005", "--methods", "sft",
                              "kd-on-policy", "ka-on-policy", "--quiet"});
    QVERIFY2(r.code == 0, qPrintable(r.err + r.out));
    // They start from the sft run's student, as the authors' runs start from a fine-tuned one.
    std::ifstream results_file(tmp.filePath("demo/results.json").toStdString());
    const auto results = json::parse(results_file);
    QCOMPARE(results["runs"].size(), size_t{4});
    QVERIFY(!results["runs"][1].contains("from"));
    QCOMPARE(results["runs"][2]["from"], json("sft"));
    QVERIFY2(r.out.contains("started from the sft run's student"), qPrintable(r.out));
    for (const char* name : {"kd-on-policy", "ka-on-policy"}) {
      QVERIFY2(r.out.contains(name), qPrintable(r.out));
      const QString run = tmp.filePath(QString("demo/") + name);
      std::ifstream in((run + "/config.json").toStdString());
      const auto config = json::parse(in);
      QCOMPARE(config["distill"]["on_policy"].get<double>(), 1.0);
      QCOMPARE(config["method"].get<std::string>(), std::string(name).substr(0, 2));
      QVERIFY(config["student"]["path"].get<std::string>().find("sft-student") != std::string::npos);
      int steps = 0, generations = 0;
      for (const auto& e : events_of(run)) {
        if (e["type"] == "generation") {
          ++generations;
          QCOMPARE(e["pieces"].size(), e["teacher_logprob"].size());
          QVERIFY(!e["pieces"].empty());
        }
        if (e["type"] == "step") {
          ++steps;
          QVERIFY(e["generated_tokens"].get<double>() >= 32);  // batch 32, at least one token each
          QVERIFY(e["generated_tokens"].get<double>() <= 32 * 16);
          QVERIFY(e["sampling_seconds"].get<double>() > 0);
          QVERIFY(e["divergence"].get<double>() > 0);
        }
      }
      QCOMPARE(steps, 4);
      QCOMPARE(generations, 4);  // with each routing snapshot: every step at this length
    }
  }

  void trainTeacherDistillEvalExport() {
    QTemporaryDir tmp;
    const auto teacher_run = tmp.path() + "/teacher-run";
    write_json(tmp.path() + "/teacher.json", tiny_run(teacher_run, "train-teacher", 20));
    auto r = moekd_cli({"train-teacher", "--config", tmp.path() + "/teacher.json"});
    QVERIFY2(r.code == 0, qPrintable(r.err + r.out));
    QVERIFY(r.out.contains("step 20/20"));
    auto events = events_of(teacher_run);
    QCOMPARE(count_type(events, "step"), 4);
    QVERIFY(count_type(events, "routing") >= 4);
    QCOMPARE(count_type(events, "finished"), 1);
    r = moekd_cli({"export", "--run", teacher_run, "--checkpoint", "last", "--out", tmp.path() + "/teacher"});
    QVERIFY2(r.code == 0, qPrintable(r.err));

    const auto kd_run = tmp.path() + "/kd";
    auto kd = tiny_run(kd_run, "kd", 10);
    kd["teacher"] = {{"path", (tmp.path() + "/teacher").toStdString()}};
    write_json(tmp.path() + "/kd.json", kd);
    r = moekd_cli({"distill", "--config", tmp.path() + "/kd.json", "--set", "distill.divergence=reverse_kl", "--set",
                   "eval.every=5"});
    QVERIFY2(r.code == 0, qPrintable(r.err + r.out));
    QVERIFY(r.out.contains("eval @ step 5"));
    std::ifstream resolved((kd_run + "/config.json").toStdString());
    QCOMPARE(json::parse(resolved)["distill"]["divergence"].get<std::string>(), std::string("reverse_kl"));
    events = events_of(kd_run);
    QCOMPARE(count_type(events, "eval"), 2);
    for (const auto& e : events)
      if (e["type"] == "step") QVERIFY(e["divergence"].get<double>() > 0);

    r = moekd_cli({"eval", "--run", kd_run, "--checkpoint", "last", "--json"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const auto ev = r.parsed();
    QCOMPARE(ev["step"].get<int>(), 10);
    QVERIFY(ev["val_loss"].get<double>() > 0);
    QCOMPARE(ev["per_category"].size(), size_t{8});

    r = moekd_cli({"export", "--run", kd_run, "--out", tmp.path() + "/student", "--json"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    r = moekd_cli({"inspect", tmp.path() + "/student", "--json"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QCOMPARE(r.parsed()["architecture"].get<std::string>(), std::string("LlamaForCausalLM"));

    // `moekd runs` lists the two runs, not the exported model folders beside them.
    r = moekd_cli({"runs", tmp.path(), "--json", "--sort", "val_loss"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const auto runs = r.parsed();
    QCOMPARE(runs.size(), size_t{2});
    QVERIFY(runs[0]["val_loss"].get<double>() <= runs[1]["val_loss"].get<double>());  // sorted
    const bool kd_first = runs[0]["method"] == "kd";
    const auto& kd_summary = runs[kd_first ? 0 : 1];
    QCOMPARE(runs[kd_first ? 1 : 0]["method"].get<std::string>(), std::string("train-teacher"));
    QCOMPARE(kd_summary["method"].get<std::string>(), std::string("kd"));
    QCOMPARE(kd_summary["status"].get<std::string>(), std::string("finished"));
    QCOMPARE(kd_summary["step"].get<int>(), 10);
    double last_val = 0;
    for (const auto& e : events_of(kd_run))
      if (e["type"] == "eval") last_val = e["val_loss"].get<double>();
    QCOMPARE(kd_summary["val_loss"].get<double>(), last_val);
    r = moekd_cli({"runs", tmp.path()});
    QVERIFY2(r.code == 0 && r.out.contains("teacher-run") && r.out.contains("finished") && r.out.contains("*"),
             qPrintable(r.out + r.err));
    r = moekd_cli({"runs", tmp.path(), "--sort", "speed"});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("--sort: `speed` is not known"), qPrintable(r.err));
  }

  // Ctrl-C stops after the current step with a checkpoint; --resume finishes the same run.
  void interruptAndResume() {
    QTemporaryDir tmp;
    const auto run = tmp.path() + "/sft";
    auto cfg = tiny_run(run, "sft", 3000);
    cfg["checkpoint_every"] = 0;
    cfg["log_every"] = 1;
    write_json(tmp.path() + "/sft.json", cfg);
    QProcess p;
    p.start(QStringLiteral(MOEKD_CLI), {"distill", "--config", tmp.path() + "/sft.json"});
    QVERIFY(p.waitForStarted());
    QTRY_VERIFY_WITH_TIMEOUT(QFile(run + "/metrics.jsonl").size() > 600, 60000);  // a few steps in
    ::kill(static_cast<pid_t>(p.processId()), SIGINT);
    QVERIFY(p.waitForFinished(60000));
    QCOMPARE(p.exitCode(), 130);
    QVERIFY(QString::fromUtf8(p.readAllStandardOutput()).contains("moekd distill --resume"));
    auto events = events_of(run);
    QVERIFY(events.back()["stopped_early"].get<bool>());
    const auto stopped_at = events.back()["step"].get<int>();
    QVERIFY(stopped_at > 0 && stopped_at < 3000);

    // Resume to a shorter goal so the test stays quick: the run dir's config says 3000 steps,
    // so edit it the way a person would (the checkpoint is what carries the state).
    std::ifstream in((run + "/config.json").toStdString());
    auto saved = json::parse(in);
    saved["train"]["steps"] = stopped_at + 5;
    write_json(run + "/config.json", saved);
    const auto r = moekd_cli({"distill", "--resume", run});
    QVERIFY2(r.code == 0, qPrintable(r.err + r.out));
    QVERIFY(r.out.contains("resumed at step " + QString::number(stopped_at)));
    events = events_of(run);
    QCOMPARE(events.back()["type"].get<std::string>(), std::string("finished"));
    QCOMPARE(events.back()["step"].get<int>(), stopped_at + 5);

    // The stopped-then-resumed run reads as one finished run; its time covers both sessions.
    const auto listed = moekd_cli({"runs", run, "--json"});
    QVERIFY2(listed.code == 0, qPrintable(listed.err));
    const auto summary = listed.parsed()[0];
    QCOMPARE(summary["status"].get<std::string>(), std::string("finished"));
    QCOMPARE(summary["step"].get<int>(), stopped_at + 5);
    double sessions = 0;
    for (const auto& e : events)
      if (e["type"] == "finished") sessions += e["seconds"].get<double>();
    QCOMPARE(summary["seconds"].get<double>(), sessions);

    // A finished run continues to a larger total with --steps, which its config.json then records;
    // a total at or below the checkpoint's step is refused with both numbers.
    const int total = stopped_at + 8;
    const auto more = moekd_cli({"distill", "--resume", run, "--steps", QString::number(total)});
    QVERIFY2(more.code == 0, qPrintable(more.err + more.out));
    QCOMPARE(events_of(run).back()["step"].get<int>(), total);
    std::ifstream again((run + "/config.json").toStdString());
    QCOMPARE(json::parse(again)["train"]["steps"].get<int>(), total);
    const auto back = moekd_cli({"distill", "--resume", run, "--steps", QString::number(total - 1)});
    QCOMPARE(back.code, 1);
    QVERIFY2(back.err.contains("at step " + QString::number(total)) && back.err.contains("train.steps = " + QString::number(total - 1)),
             qPrintable(back.err));
    QVERIFY(moekd_cli({"distill", "--config", tmp.path() + "/sft.json", "--steps", "5"}).code != 0);
  }

  void badRunConfigsAreRefused() {
    QTemporaryDir tmp;
    auto cfg = tiny_run(tmp.path() + "/x", "kd", 5);
    cfg["teacher"] = {{"path", "/nonexistent/teacher"}};
    cfg["distill"] = {{"temprature", 2.0}};
    write_json(tmp.path() + "/bad.json", cfg);
    auto r = moekd_cli({"distill", "--config", tmp.path() + "/bad.json"});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("unknown field `distill.temprature`"), qPrintable(r.err));
    cfg["distill"] = json::object();
    write_json(tmp.path() + "/bad.json", cfg);
    r = moekd_cli({"distill", "--config", tmp.path() + "/bad.json"});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("/nonexistent/teacher"), qPrintable(r.err));
    r = moekd_cli({"distill", "--config", tmp.path() + "/missing.json"});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("missing.json' does not exist"), qPrintable(r.err));
  }

  // Every check of `moekd selftest` passes on the CPU, one JSON line each, every group present.
  void selftestPassesOnTheCpu() {
    const auto r = moekd_cli({"selftest", "--json"});
    QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
    std::map<std::string, int> groups;
    int lines = 0;
    for (const auto& line : r.out.split('\n', Qt::SkipEmptyParts)) {
      const auto c = json::parse(line.toStdString());
      QVERIFY2(c["passed"].get<bool>(), qPrintable(line));
      QVERIFY(c["error"].get<double>() <= c["tolerance"].get<double>());
      const auto name = c["name"].get<std::string>();
      groups[name.substr(0, name.find(' '))]++;
      ++lines;
    }
    QVERIFY2(lines >= 59, qPrintable(QString::number(lines)));
    QCOMPARE(groups["moe"], 4 * 7);      // 4 MoE families x (4 forwards + 3 gradient checks)
    QCOMPARE(groups["divergence"], 7);   // six divergences and KA's
    QCOMPARE(groups["step"], 3 * 2 * 2); // kd, ka, sar x float32, bfloat16 x losses, update
    QVERIFY(groups["bfloat16"] >= 10 && groups["ka"] == 2);
    QCOMPARE(groups["token"], 1);        // the on-policy sampler against its distribution
    QVERIFY(r.err.contains("0 failed"));
  }

  // The plan needs only config files: a teacher folder holding a config.json and nothing else.
  void planFromConfigFilesAlone() {
    QTemporaryDir tmp;
    QDir().mkpath(tmp.path() + "/teacher");
    auto teacher = config_to_hf(tiny_config(Family::Mixtral));
    teacher["vocab_size"] = 99;
    write_json(tmp.path() + "/teacher/config.json", teacher);
    auto cfg = tiny_run(tmp.path() + "/run", "kd", 5);
    cfg["teacher"] = {{"path", (tmp.path() + "/teacher").toStdString()}};
    write_json(tmp.path() + "/run.json", cfg);
    const auto r = moekd_cli({"plan", "--config", tmp.path() + "/run.json", "--device", "cuda", "--memory-gb", "1", "--json"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const auto j = r.parsed();
    int64_t sum = 0;
    for (const char* key : {"teacher_weights_bytes", "student_weights_bytes", "gradients_bytes", "optimizer_bytes",
                            "activations_bytes"}) {
      QVERIFY2(j.contains(key) && j[key].get<int64_t>() > 0, key);
      sum += j[key].get<int64_t>();
    }
    QVERIFY(j["total_bytes"].get<int64_t>() >= sum);
    // The student's gradients and two AdamW moments are float32 (4 bytes per parameter); on CUDA its
    // weights are float32 masters plus autocast's bfloat16 copies (2 more), on the CPU masters only.
    const auto grads = j["gradients_bytes"].get<int64_t>();
    QCOMPARE(j["optimizer_bytes"].get<int64_t>(), 2 * grads);
    QCOMPARE(j["student_weights_bytes"].get<int64_t>(), grads * 3 / 2);
    QVERIFY(j["max_batch_size"].get<int64_t>() > 8);  // a tiny pair in 1 GiB
    const auto cpu = moekd_cli({"plan", "--config", tmp.path() + "/run.json", "--device", "cpu", "--json"}).parsed();
    QCOMPARE(cpu["student_weights_bytes"].get<int64_t>(), grads);
    QCOMPARE(cpu["max_batch_size"].get<int64_t>(), -1);  // no memory given
    const auto small = moekd_cli({"plan", "--config", tmp.path() + "/run.json", "--memory-gb", "0.0001", "--json"});
    QCOMPARE(small.parsed()["max_batch_size"].get<int64_t>(), 0);
    const auto missing = moekd_cli({"plan", "--config", tmp.path() + "/nope.json"});
    QCOMPARE(missing.code, 1);
    QVERIFY2(missing.err.contains("nope.json"), qPrintable(missing.err));
  }

  // `bench distill --profile` says where a step's time goes: operators by self time, adding up to
  // the step, the matrix products among the most expensive.
  void benchDistillProfilesTheStep() {
    QTemporaryDir tmp;
    const auto r = moekd_cli({"bench", "distill", "--batch", "2", "--seq-len", "16", "--steps", "1", "--cases", "kd",
                              "--profile", "1", "--output", tmp.path() + "/bench.json"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.out.contains("kd:") && r.out.contains("ms of CPU operators (self time) per step"), qPrintable(r.out));
    const auto j = json::parse(std::ifstream((tmp.path() + "/bench.json").toStdString()));
    QVERIFY(j["kd"].get<double>() > 0 && j["flops_per_token"]["kd"].get<double>() > 0);
    const auto& p = j["profile"]["kd"];
    double rows = 0;
    bool mm = false;
    for (const auto& row : p["top"]) {
      rows += row["ms"].get<double>();
      mm = mm || row["name"].get<std::string>() == "aten::mm";
    }
    QVERIFY2(mm, qPrintable(QString::fromStdString(p.dump())));
    QVERIFY(rows > 0 && rows <= p["total_ms"].get<double>() * 1.0001);
  }

  void usageErrorsExitNonZero() {
    QVERIFY(moekd_cli({}).code != 0);
    QVERIFY(moekd_cli({"forward", "--tokens", "1"}).code != 0);  // --model and --out missing
  }
};

QTEST_APPLESS_MAIN(TestCli)
#include "test_cli.moc"
