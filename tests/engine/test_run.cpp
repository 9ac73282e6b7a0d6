// The run vocabulary (engine/run/), which needs no LibTorch: config parsing with its messages, the
// names of every setting, run folders and the best-checkpoint rule, and metrics.jsonl reading.
#include <QTemporaryDir>
#include <QtTest>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "run/demo_recipe.h"
#include "run/metrics_file.h"
#include "run/resources.h"
#include "run/run_config.h"
#include "run/run_folder.h"
#include "run/settings.h"
#include "util/error.h"
#include "util/folder_lock.h"
#include "error_of.h"

using namespace moekd;
using moekd::test::error_of;
using json = nlohmann::json;

namespace {

// A small run of `method`; the models' shapes are not read here, only carried.
json tiny_run(const std::string& method, const std::string& run_dir) {
  const json shape = {{"architectures", {"LlamaForCausalLM"}}, {"vocab_size", 99}, {"hidden_size", 32},
                      {"num_hidden_layers", 1},                 {"num_attention_heads", 4}};
  json j = {{"name", method},
            {"run_dir", run_dir},
            {"method", method},
            {"student", {{"init", shape}, {"init_std", 0.1}}},
            {"data", {{"kind", "builtin"}, {"train_examples", 200}, {"validation_examples", 24}, {"max_len", 32}}},
            {"train", {{"steps", 6}, {"batch_size", 4}, {"lr", 1e-2}, {"warmup_steps", 2}, {"seed", 3}}},
            {"ka", {{"m", 3}, {"lambda", 0.5}}},
            {"sar", {{"router_lr", 1e-2}}}};
  if (method != "sft" && method != "train-teacher") j["teacher"] = {{"init", shape}, {"init_std", 0.2}};
  return j;
}

}  // namespace

class TestRun : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  // A run killed mid-line and resumed: the torn line stays on its own and is skipped, the events
  // around it stay readable; a damaged line that is not torn is still refused by number.
  void tornMetricsLineIsClosedOnAppend() {
    QTemporaryDir tmp;
    const auto path = tmp.path().toStdString() + "/metrics.jsonl";
    std::ofstream(path) << "{\"type\":\"step\",\"step\":1,\"loss\":2.5}\n{\"type\":\"step\",\"st";
    {
      MetricsFileObserver appended(path, true);
      appended.on_step(StepMetrics{2, 2.0});
    }
    const auto events = read_metrics(path);
    QCOMPARE(events.size(), size_t(2));
    QCOMPARE(events[1]["step"].get<int64_t>(), int64_t{2});
    std::ofstream(path, std::ios::app) << "{\"type\": ]}\n{\"type\":\"step\",\"step\":3}\n";
    QString err;
    try {
      read_metrics(path);
    } catch (const moekd::Error& e) {
      err = e.what();
    }
    QVERIFY2(err.contains("line 4 is not valid JSON"), qPrintable(err));
    QCOMPARE(to_json(run_failed_from_json(to_json(RunFailed{3, "boom"}))), to_json(RunFailed{3, "boom"}));
  }

  void badConfigsNameTheField_data() {
    QTest::addColumn<QString>("patch");
    QTest::addColumn<QString>("message");
    QTest::newRow("unknown method") << R"({"method": "distil"})" << "`method` = `distil` is not allowed; expected one of: sft, kd, ka, sar, train-teacher";
    QTest::newRow("typo in a key") << R"({"train": {"stpes": 10}})" << "unknown field `train.stpes`";
    QTest::newRow("wrong type") << R"({"train": {"steps": "ten"}})" << "`train.steps` must be an integer";
    QTest::newRow("out of range") << R"({"distill": {"alpha": 1.5}})" << "`distill.alpha` must be in [0, 1]";
    QTest::newRow("bad divergence") << R"({"distill": {"divergence": "kl"}})" << "`distill.divergence` = `kl` is not allowed; expected one of: forward_kl, reverse_kl";
    QTest::newRow("bad schedule") << R"({"train": {"schedule": "step"}})" << "expected one of: constant, linear, cosine";
    QTest::newRow("ka lambda") << R"({"ka": {"lambda": -0.1}})" << "`ka.lambda` must be in [0, 1]";
    QTest::newRow("ka batched") << R"({"ka": {"batched": "yes"}})" << "`ka.batched` must be true, false or \"auto\"";
    QTest::newRow("sar policy") << R"({"sar": {"policy": "topk"}})" << "`sar.policy` = `topk` is not allowed; expected one of: all, topp";
    QTest::newRow("missing teacher") << R"({"teacher": null})" << "needs `teacher.path`";
    QTest::newRow("sar direction") << R"({"sar": {"direction": "sideways"}})" << "`sar.direction` = `sideways` is not allowed; expected one of: forward, reverse";
    QTest::newRow("data kind") << R"({"data": {"kind": "csv"}})" << "`data.kind` = `csv` is not allowed; expected one of: builtin, jsonl, text";
    QTest::newRow("data path") << R"({"data": {"kind": "jsonl"}})" << "`data.path` is required";
  }
  void badConfigsNameTheField() {
    QFETCH(QString, patch);
    QFETCH(QString, message);
    auto j = tiny_run("kd", "/tmp/unused");
    j.merge_patch(json::parse(patch.toStdString()));
    QString err;
    try {
      parse_run_config(j, "run.json");
    } catch (const moekd::Error& e) {
      err = e.what();
    }
    QVERIFY2(err.contains(message), qPrintable("got: " + err));
    QVERIFY2(err.startsWith("run.json"), qPrintable(err));
  }

  void configRoundTripsThroughJson() {
    auto cfg = parse_run_config(tiny_run("sar", "/tmp/x"), "test");
    auto again = parse_run_config(to_json(cfg), "round trip");
    QCOMPARE(to_json(again).dump(), to_json(cfg).dump());
  }

  // ka.batched: unset ("auto") picks the device's faster path, an explicit value wins; "auto"
  // survives the round trip through a run folder's config.json.
  void kaBatchedIsDecidedPerDevice() {
    auto j = tiny_run("ka", "/tmp/x");
    const auto automatic = parse_run_config(j, "test");
    QVERIFY(!automatic.ka.batched.has_value());
    QVERIFY(ka_batched(automatic.ka, "cuda:1") && !ka_batched(automatic.ka, "cpu"));
    QCOMPARE(to_json(automatic)["ka"]["batched"].get<std::string>(), std::string("auto"));
    j["ka"]["batched"] = true;
    const auto forced = parse_run_config(j, "test");
    QVERIFY(ka_batched(forced.ka, "cpu") && ka_batched(forced.ka, "cuda"));
    QCOMPARE(to_json(forced)["ka"]["batched"].get<bool>(), true);
    j["ka"]["batched"] = "auto";
    QVERIFY(!parse_run_config(j, "test").ka.batched.has_value());
  }

  void overridesSetNestedFields() {
    json j = json::object();
    apply_override(j, "train.steps=200");
    apply_override(j, "distill.divergence=reverse_kl");
    apply_override(j, "eval.teacher=true");
    QCOMPARE(j["train"]["steps"].get<int>(), 200);
    QCOMPARE(j["distill"]["divergence"].get<std::string>(), std::string("reverse_kl"));
    QCOMPARE(j["eval"]["teacher"].get<bool>(), true);
  }

  // Every enumerated setting reads back its own spelling; a wrong one lists the allowed ones.
  void settingNamesRoundTrip() {
    for (const auto& n : all_names<Method>()) QCOMPARE(name_of(parse_name<Method>(n)), n);
    for (const auto& n : all_names<DivergenceKind>()) QCOMPARE(name_of(parse_name<DivergenceKind>(n)), n);
    for (const auto& n : all_names<PolicyKind>()) QCOMPARE(name_of(parse_name<PolicyKind>(n)), n);
    QCOMPARE(all_names<Checkpoint>(), (std::vector<std::string>{"best", "last"}));
    const QString e = error_of([] { parse_name<Schedule>("step"); });
    QVERIFY2(e.contains("schedule `step` is not known; expected one of: constant, linear, cosine"), qPrintable(e));
    // The parser fills in what each method implies: KA's and SAR's teacher policies.
    const auto ka = parse_run_config(tiny_run("ka", "/tmp/x"), "test");
    QVERIFY(ka.teacher_policy.kind == PolicyKind::KA && ka.teacher_policy.ka_lambda == 0.5);
    const auto sar = parse_run_config(tiny_run("sar", "/tmp/x"), "test");
    QVERIFY(sar.teacher_policy.kind == PolicyKind::All);
  }

  // The data section alone (the studio's preview) is validated as in a whole config.
  void dataSectionParsesAlone() {
    const auto d = parse_data_config({{"kind", "text"}, {"path", "a.txt"}, {"max_len", 128}}, "form");
    QVERIFY(d.kind == DataKind::Text && d.path == "a.txt" && d.max_len == 128);
    const QString e = error_of([] { parse_data_config({{"kind", "jsonl"}}, "form"); });
    QVERIFY2(e.contains("`data.path` is required"), qPrintable(e));
    QVERIFY(error_of([] { parse_data_config({{"max_lenn", 3}}, "form"); }).contains("unknown field `data.max_lenn`"));
  }

  // The studio's demo-teacher preset is the demo's teacher recipe, which trained the shipped teacher.
  void demoTeacherPresetIsTheRecipe() {
    std::ifstream in(find_resource("presets/demo-teacher.json"));
    const json preset = json::parse(in);
    const auto recipe = demo_teacher_run(preset["run_dir"].get<std::string>());
    QCOMPARE(to_json(parse_run_config(preset, "preset")).dump(2), to_json(parse_run_config(recipe, "recipe")).dump(2));
    const auto student = parse_run_config(demo_student_run("kd", "/tmp/kd", "/tmp/teacher"), "recipe");
    QCOMPARE(student.data.seed, parse_run_config(recipe, "recipe").data.seed);  // the same data
    QCOMPARE(student.teacher.path, std::string("/tmp/teacher"));
    const QString e = error_of([] { find_resource("no-such-resource"); });
    QVERIFY2(e.contains("`no-such-resource` is not installed; looked in:"), qPrintable(e));
  }

  // A run folder's paths, written once; a checkpoint counts when its model's config.json is there.
  void runFolderLayout() {
    QTemporaryDir tmp;
    const RunFolder run(tmp.filePath("r").toStdString());
    QCOMPARE(run.config().filename().string(), std::string("config.json"));
    QCOMPARE(run.metrics().filename().string(), std::string("metrics.jsonl"));
    const auto best = run.checkpoint(Checkpoint::Best);
    QCOMPARE(best.dir.lexically_relative(run.dir).string(), std::string("checkpoints/best"));
    QVERIFY(!best.exists());
    std::filesystem::create_directories(best.model());
    std::ofstream(best.model() / "config.json") << "{}";
    QVERIFY(best.exists());
    QVERIFY(!is_run_dir(run.dir.string()));
    write_run_config(run, parse_run_config(tiny_run("kd", run.dir.string()), "test"));
    std::ofstream(run.metrics()) << "";
    QVERIFY(is_run_dir(run.dir.string()));
    QCOMPARE(list_runs(tmp.path().toStdString()), std::vector<std::string>{run.dir.string()});
    QVERIFY(!std::filesystem::exists(run.config().string() + ".tmp"));
    // The best checkpoint follows ROUGE-L when samples were generated, else the validation loss.
    EvalResult r;
    r.val_loss = 2.0;
    r.rouge_l = 0.3;
    QCOMPARE(best_checkpoint_score(r), -2.0);
    r.samples.push_back({});
    QCOMPARE(best_checkpoint_score(r), 0.3);
    QCOMPARE(std::string(best_checkpoint_rule(0)), std::string("lowest validation loss"));
    QCOMPARE(std::string(best_checkpoint_rule(64)), std::string("highest ROUGE-L"));
  }

  // Every problem at once (the studio's forms), each with its field, the engine's message and the
  // same in words; the first is exactly what parse_run_config throws.
  void checkRunConfigListsEveryProblem() {
    auto j = tiny_run("kd", "/tmp/unused");
    j.merge_patch(json::parse(R"({"method": "distil", "distill": {"alpha": 2}, "train": {"steps": "ten", "lr": -1,
                                  "stpes": 3}, "name": ""})"));
    const auto problems = check_run_config(j, "run.json");
    std::vector<std::string> fields;
    for (const auto& p : problems) fields.push_back(p.field);
    QCOMPARE(fields, (std::vector<std::string>{"name", "method", "distill.alpha", "train.steps", "train.lr",
                                               "train.stpes"}));
    QCOMPARE(problems[0].message, error_of([&] { parse_run_config(j, "run.json"); }).toStdString());
    QCOMPARE(problems[2].message, std::string("run.json: `distill.alpha` must be in [0, 1], got 2"));
    QCOMPARE(problems[2].need, std::string("must be between 0 and 1; it is 2"));
    QCOMPARE(problems[3].need, std::string("must be a whole number, not \"ten\""));
    QCOMPARE(problems[4].need, std::string("must be above 0 and at most 10; it is -1"));
    QVERIFY(problems[5].need.find("is not a setting here") == 0);
    QVERIFY(check_run_config(tiny_run("kd", "/tmp/unused"), "run.json").empty());
    // A hostile value is quoted by kind, never serialised whole.
    auto deep = tiny_run("kd", "/tmp/unused");
    deep["train"]["lr"] = json::array({json::array({1, 2}), std::string(500, 'x')});
    const auto one = check_run_config(deep, "run.json");
    QCOMPARE(one.size(), size_t(1));
    QCOMPARE(one[0].need, std::string("must be a number, not a list"));
  }

  // A run folder moved with its workspace: run_dir is where it is now, and a recorded path that is
  // gone is found at the same place relative to the run; one found nowhere stays as recorded.
  void movedRunFindsItsPathsBesideIt() {
    QTemporaryDir tmp;
    namespace fs = std::filesystem;
    const fs::path root = tmp.path().toStdString();
    fs::create_directories(root / "copy/runs/kd");
    fs::create_directories(root / "copy/teacher");
    std::ofstream(root / "copy/data.jsonl") << "{}\n";
    auto j = tiny_run("kd", (root / "orig/runs/kd").string());
    j["teacher"] = {{"path", (root / "orig/teacher").string()}};
    j["data"] = {{"kind", "jsonl"}, {"path", (root / "orig/data.jsonl").string()}, {"tokenizer", (root / "orig/tok.model").string()}};
    std::vector<RelocatedPath> moved;
    const auto here = relocate_run_config(j, (root / "copy/runs/kd").string(), &moved);
    QCOMPARE(here["run_dir"], json((root / "copy/runs/kd").string()));
    QCOMPARE(here["teacher"]["path"], json((root / "copy/teacher").string()));
    QCOMPARE(here["data"]["path"], json((root / "copy/data.jsonl").string()));
    QCOMPARE(here["data"]["tokenizer"], json((root / "orig/tok.model").string()));  // nowhere: as recorded
    QCOMPARE(moved.size(), size_t(2));
    QCOMPARE(moved[0].field, std::string("teacher.path"));
    QCOMPARE(moved[0].recorded, (root / "orig/teacher").string());
    // A recorded path that still exists is kept, even when a copy sits beside the run.
    fs::create_directories(root / "orig/teacher");
    QCOMPARE(relocate_run_config(j, (root / "copy/runs/kd").string())["teacher"]["path"],
             json((root / "orig/teacher").string()));
    // Relative paths, recorded from another working directory, resolve the same way.
    auto rel = tiny_run("kd", "runs/kd");
    rel["teacher"] = {{"path", "runs/../teacher"}};
    QCOMPARE(relocate_run_config(rel, (root / "copy/runs/kd").string())["teacher"]["path"],
             json((root / "copy/teacher").string()));
  }

  // A folder replaced by replace_folder() while the process died is whole again: every moment of
  // the replacement leaves the old folder or the new one, never neither.
  // A folder's lock belongs to one process; a second is told who holds it, a listing sees it
  // without taking it, and a holder killed with SIGKILL leaves no stale lock: the kernel drops it.
  void folderLockHasOneHolder() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString() + "/run";
    int ready[2], go[2];
    QVERIFY(::pipe(ready) == 0 && ::pipe(go) == 0);
    const pid_t child = ::fork();
    if (child == 0) {
      auto lock = FolderLock::acquire(dir, "a training run");
      char c = 1;
      if (::write(ready[1], &c, 1) != 1) ::_exit(2);
      if (::read(go[0], &c, 1) < 0) ::_exit(3);  // until the parent kills this process
      ::_exit(0);
    }
    char c = 0;
    QCOMPARE(::read(ready[0], &c, 1), ssize_t{1});
    const std::string holder = FolderLock::holder(dir);
    QVERIFY2(holder.rfind("pid " + std::to_string(child) + ", a training run, since 20", 0) == 0, holder.c_str());
    QCOMPARE(error_of([&] { FolderLock::acquire(dir, "moekd compare"); }),
             QString::fromStdString(dir + ": in use by another process (" + holder + "); wait for it to end or stop it"));
    QVERIFY(!FolderLock::try_acquire(dir, "an export"));
    ::kill(child, SIGKILL);
    int status = 0;
    QCOMPARE(::waitpid(child, &status, 0), child);
    QVERIFY(FolderLock::holder(dir).empty());
    {
      auto mine = FolderLock::acquire(dir, "a training run");
      QVERIFY(mine != nullptr);
      QVERIFY(!FolderLock::try_acquire(dir, "an export"));  // another open of the same file, same process
    }
    QVERIFY(FolderLock::holder(dir).empty());
    QVERIFY(FolderLock::try_acquire(dir, "an export") != nullptr);
    // A folder nobody can lock (it is missing) is reported, not created, by try_acquire.
    QVERIFY(!FolderLock::try_acquire(dir + "/missing", "an export"));
    QVERIFY(!std::filesystem::exists(dir + "/missing"));
    for (int fd : {ready[0], ready[1], go[0], go[1]}) ::close(fd);
  }

  void killedReplacementsRecover() {
    QTemporaryDir tmp;
    namespace fs = std::filesystem;
    const fs::path dir = tmp.filePath("last").toStdString(), staging = dir.string() + ".tmp", old = dir.string() + ".old";
    auto make = [](const fs::path& p, const char* content) {
      fs::create_directories(p);
      std::ofstream(p / "state.json") << content;
    };
    auto content = [&]() {
      std::ifstream in(dir / "state.json");
      return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    };
    make(old, "old");  // between the two renames: the new folder is complete in .tmp
    make(staging, "new");
    recover_folder(dir);
    QCOMPARE(content(), std::string("new"));
    QVERIFY(!fs::exists(staging) && !fs::exists(old));
    fs::rename(dir, old);  // moved aside, the new one not yet written: the old one comes back
    recover_folder(dir);
    QCOMPARE(content(), std::string("new"));
    make(staging, "half");  // killed while writing: the unfinished one goes
    recover_folder(dir);
    QCOMPARE(content(), std::string("new"));
    QVERIFY(!fs::exists(staging));
    replace_folder(dir, [&](const fs::path& into) { std::ofstream(into / "state.json") << "newer"; });
    QCOMPARE(content(), std::string("newer"));
    QVERIFY(!fs::exists(staging) && !fs::exists(old));
  }
};

QTEST_APPLESS_MAIN(TestRun)
#include "test_run.moc"
