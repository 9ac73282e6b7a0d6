// `moekd compare` and `moekd probe` end to end: a grid stopped and continued to the numbers of an
// uninterrupted one, refused grids named by their field, and the probe of the demo teacher. A
// suite of its own so that CTest runs it beside test_cli.
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "cli_util.h"
#include "util/folder_lock.h"

#include <unistd.h>

using namespace moekd;
using namespace moekd::test;

class TestCompare : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  // A grid of kd and ka over two seeds: run whole in one folder; in another, stopped (SIGTERM,
  // as the studio stops it) while ka's first seed trains, then continued. The finished run is not
  // run again, the stopped one resumes from its checkpoint, and every run ends with the numbers
  // of the uninterrupted grid, to the last digit.
  void compareResumesAGrid() {
    QTemporaryDir tmp;
    json base = tiny_run("", "kd", 100);
    base.erase("run_dir");
    base["teacher"] = {{"init", config_to_hf(tiny_config(Family::Mixtral))}};
    base["teacher"]["init"]["vocab_size"] = 99;
    base["eval"] = {{"every", 50}, {"samples", 4}, {"max_new_tokens", 4}};
    base["ka"] = {{"m", 2}};
    base["checkpoint_every"] = 5;
    base["log_every"] = 5;
    const json grid = {{"name", "kd-vs-ka"}, {"base", base}, {"axes", {{"method", {"kd", "ka"}}, {"ka.lambda", {0.5}}}},
                       {"seeds", {1, 2}}, {"baseline", "kd"}};
    write_json(tmp.path() + "/grid.json", grid);
    // Both grids run one run at a time, so that their runs compute with the same threads (cores /
    // jobs): on some CPUs 1 and 2 threads round differently (an AMD EPYC did, with OpenBLAS on one
    // thread either way), and the numbers compared below then differ in the 7th digit for that alone.
    const auto whole = moekd_cli({"compare", "--config", tmp.path() + "/grid.json", "--out", tmp.path() + "/whole", "--jobs", "1"});
    QVERIFY2(whole.code == 0, qPrintable(whole.err + whole.out));
    QVERIFY(whole.out.contains("4 of 4 runs finished"));
    std::ifstream wj((tmp.path() + "/whole/results.json").toStdString());
    const auto expected = json::parse(wj);
    QCOMPARE(expected["runs_finished"].get<int>(), 4);

    const QString out = tmp.path() + "/half";
    QProcess p;
    p.start(QStringLiteral(MOEKD_CLI), {"compare", "--config", tmp.path() + "/grid.json", "--out", out});
    QVERIFY(p.waitForStarted());
    QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(out + "/cells/ka_ka.lambda=0.5/seed-1/checkpoints/last/state.json"), 120000);
    ::kill(static_cast<pid_t>(p.processId()), SIGTERM);
    QVERIFY(p.waitForFinished(60000));
    QCOMPARE(p.exitCode(), 130);
    QVERIFY(QString::fromUtf8(p.readAllStandardOutput()).contains("continue with: moekd compare --out"));
    QFile kd1(out + "/cells/kd/seed-1/metrics.jsonl");
    QVERIFY(kd1.open(QIODevice::ReadOnly));
    const QByteArray kd1_before = kd1.readAll();
    kd1.close();

    const auto listed = moekd_cli({"compare", "--out", out, "--list"});
    QVERIFY2(listed.out.contains("1 finished, 1 to resume"), qPrintable(listed.out));
    const auto rest = moekd_cli({"compare", "--out", out});
    QVERIFY2(rest.code == 0, qPrintable(rest.err + rest.out));
    QVERIFY2(rest.out.contains("ka_ka.lambda=0.5 seed 1: resumed at step"), qPrintable(rest.out));
    QVERIFY(!rest.out.contains("kd seed 1: started"));
    QVERIFY(kd1.open(QIODevice::ReadOnly));
    QCOMPARE(kd1.readAll(), kd1_before);
    std::ifstream hj((out + "/results.json").toStdString());
    const auto got = json::parse(hj);
    QCOMPARE(got["runs_finished"].get<int>(), 4);
    for (size_t c = 0; c < 2; ++c)
      for (size_t s = 0; s < 2; ++s)
        QCOMPARE(got["cells"][c]["seeds"][s]["final"]["val_loss"].get<double>(),
                 expected["cells"][c]["seeds"][s]["final"]["val_loss"].get<double>());
    // The paired comparison of ka against kd, on both seeds.
    bool found = false;
    for (const auto& s : got["stats"])
      if (s["cell"] == "ka_ka.lambda=0.5" && s["at"] == "final" && s["category"] == "all" && s["metric"] == "val_loss") {
        QCOMPARE(s["vs_baseline"]["n"].get<int>(), 2);
        found = true;
      }
    QVERIFY(found);
    QVERIFY(QFile::exists(out + "/results.md") && QFile::exists(out + "/results.csv"));

    // The grid folder copied without its checkpoints (as a results page keeps it), given a chart
    // and one more seed: --report writes results and plots from the runs on disk and runs nothing,
    // and neither it nor --list clears a run that has started without a checkpoint yet.
    const QString archived = tmp.path() + "/archived";
    std::filesystem::copy((tmp.path() + "/whole").toStdString(), archived.toStdString(),
                          std::filesystem::copy_options::recursive);
    std::vector<std::filesystem::path> checkpoints;
    for (const auto& e : std::filesystem::recursive_directory_iterator(archived.toStdString()))
      if (e.is_directory() && e.path().filename() == "checkpoints") checkpoints.push_back(e.path());
    QCOMPARE(checkpoints.size(), size_t{4});
    for (const auto& c : checkpoints) std::filesystem::remove_all(c);
    const std::string started = archived.toStdString() + "/cells/kd/seed-3";
    std::filesystem::create_directories(started);
    std::filesystem::copy_file(archived.toStdString() + "/cells/kd/seed-1/config.json", started + "/config.json");
    {
      std::ifstream in(archived.toStdString() + "/cells/kd/seed-1/metrics.jsonl");
      std::ofstream m(started + "/metrics.jsonl");
      for (std::string line; std::getline(in, line);)
        if (line.find("\"type\":\"step\"") != std::string::npos) {
          m << line << "\n";
          break;
        }
    }
    json charted = grid;
    charted["seeds"] = {1, 2, 3};
    charted["plots"] = {{"pair", {"ka_ka.lambda=0.5", "kd"}}};
    write_json(tmp.path() + "/charted.json", charted);
    const auto report = moekd_cli({"compare", "--config", tmp.path() + "/charted.json", "--out", archived, "--report"});
    QVERIFY2(report.code == 0, qPrintable(report.err + report.out));
    QVERIFY2(!report.out.contains("started") && report.out.contains("4 of 6 runs finished"), qPrintable(report.out));
    QVERIFY(std::filesystem::exists(started + "/metrics.jsonl"));
    const auto relisted = moekd_cli({"compare", "--out", archived, "--list"});
    QVERIFY2(relisted.out.contains("4 finished, 0 to resume"), qPrintable(relisted.out));
    QVERIFY(std::filesystem::exists(started + "/metrics.jsonl"));
    std::ifstream aj((archived + "/results.json").toStdString());
    const auto reported = json::parse(aj);
    QCOMPARE(reported["cells"][1]["seeds"][1]["final"]["val_loss"].get<double>(),
             expected["cells"][1]["seeds"][1]["final"]["val_loss"].get<double>());
    // Runs are named inside the grid folder, so the file stays true in a copy of it.
    const auto archived_run = reported["cells"][1]["seeds"][1]["run_dir"].get<std::string>();
    QCOMPARE(archived_run, std::string("cells/") + reported["cells"][1]["id"].get<std::string>() + "/seed-2");
    QVERIFY(std::filesystem::exists(archived.toStdString() + "/" + archived_run + "/metrics.jsonl"));
    if (report.out.contains("PNG files")) {  // built with the studio's charts
      QVERIFY(QFile::exists(archived + "/plots/val_loss.png"));
      QVERIFY(QFile::exists(archived + "/plots/pair-exact_match.png"));
    }

    // One runner per grid, one writer per run: a second `moekd compare` on a grid another process
    // drives is refused by name, and a run folder another process holds is neither cleared nor run;
    // the grid then ends unfinished, saying which run and why. `--list` looks at either.
    {
      const auto runner = FolderLock::acquire(out.toStdString(), "moekd compare");
      const QString holder = QString::fromStdString(FolderLock::holder(out.toStdString()));
      QVERIFY2(holder.startsWith(QString("pid %1, moekd compare, since ").arg(::getpid())), qPrintable(holder));
      const auto second = moekd_cli({"compare", "--out", out});
      QCOMPARE(second.code, 1);
      QVERIFY2(second.err.contains(out + ": in use by another process (" + holder + "); wait for it to end or stop it"),
               qPrintable(second.err));
      const auto looking = moekd_cli({"compare", "--out", out, "--list"});
      QVERIFY2(looking.code == 0 && looking.out.contains("running now in another process (" + holder + ")"),
               qPrintable(looking.out + looking.err));
    }
    {
      const auto by_hand = FolderLock::acquire(started, "a training run");
      const auto listing = moekd_cli({"compare", "--out", archived, "--list"});
      QVERIFY2(listing.out.contains(QRegularExpression("kd +seed 3 +running \\(pid \\d+, a training run, since ")),
               qPrintable(listing.out));
      const auto rest3 = moekd_cli({"compare", "--out", archived});
      QCOMPARE(rest3.code, 1);
      QVERIFY2(rest3.out.contains("ka_ka.lambda=0.5 seed 3: started") && !rest3.out.contains("kd seed 3: started"),
               qPrintable(rest3.out));
      QVERIFY2(rest3.err.contains("kd seed 3: its folder is in use by another process (pid "), qPrintable(rest3.err));
      QVERIFY(std::filesystem::exists(started + "/metrics.jsonl"));
    }

    // One arithmetic per grid: the first run recorded this process's (LibTorch, BLAS kernels, ATen's
    // kernels, threads per run, device). A grid recorded with other BLAS kernels is not continued
    // here (exit code 3), the message saying what differs and how to match it; --mixed-arithmetic continues it,
    // and the record and results.md say that the runs mix arithmetics.
    {
      std::ifstream in((archived + "/arithmetic.json").toStdString());
      QVERIFY(in.good());
      json record = json::parse(in);
      const QString here = QString::fromStdString(record["blas"].get<std::string>());
      QVERIFY2(!record["libtorch"].get<std::string>().empty() && record["threads"].get<int>() >= 1 &&
                   record["device"] == "cpu",
               record.dump().c_str());
      QFile md(archived + "/results.md");
      QVERIFY(md.open(QIODevice::ReadOnly));
      QVERIFY(QString::fromUtf8(md.readAll()).contains(" Computed with LibTorch "));
      md.close();
      const QString there = here == "OpenBLAS Haswell" ? "OpenBLAS Sandybridge" : "OpenBLAS Haswell";
      record["blas"] = there.toStdString();
      write_json(archived + "/arithmetic.json", record);
      const auto refused = moekd_cli({"compare", "--out", archived});
      QCOMPARE(refused.code, 3);  // its own exit code, which the studio answers with a question
      QVERIFY2(!refused.out.contains("started"), qPrintable(refused.out));
      QVERIFY2(refused.err.contains(archived + "/arithmetic.json: this grid's runs were computed with LibTorch ") &&
                   refused.err.contains("(BLAS: " + there + " there, " + here + " here)") &&
                   refused.err.contains("or pass --mixed-arithmetic to continue anyway"),
               qPrintable(refused.err));
      if (here.startsWith("OpenBLAS "))
        QVERIFY2(refused.err.contains("Match it with OPENBLAS_CORETYPE=" + there.mid(9)), qPrintable(refused.err));
      const auto mixed = moekd_cli({"compare", "--out", archived, "--mixed-arithmetic"});
      QVERIFY2(mixed.code == 0, qPrintable(mixed.err + mixed.out));
      QVERIFY2(mixed.out.contains("arithmetic: continuing with LibTorch ") && mixed.out.contains("kd seed 3: started"),
               qPrintable(mixed.out));
      std::ifstream again((archived + "/arithmetic.json").toStdString());
      const json mixed_record = json::parse(again);
      QCOMPARE(mixed_record["blas"].get<std::string>(), there.toStdString());
      QCOMPARE(mixed_record["mixed_with"].size(), size_t{1});
      QCOMPARE(QString::fromStdString(mixed_record["mixed_with"][0]["blas"].get<std::string>()), here);
      QVERIFY(md.open(QIODevice::ReadOnly));
      QVERIFY(QString::fromUtf8(md.readAll()).contains("**The runs mix arithmetics** (`arithmetic.json`): LibTorch "));
    }

    // Another grid in the same folder is refused; a bad grid names its field.
    json other = grid;
    other["axes"]["ka.lambda"] = {0.3};
    write_json(tmp.path() + "/other.json", other);
    const auto refused = moekd_cli({"compare", "--config", tmp.path() + "/other.json", "--out", out});
    QCOMPARE(refused.code, 1);
    QVERIFY2(refused.err.contains("holds another grid"), qPrintable(refused.err));
    other["axes"]["ka.m"] = {0};
    other["axes"]["method"] = {"ka"};
    write_json(tmp.path() + "/other.json", other);
    const auto bad = moekd_cli({"compare", "--config", tmp.path() + "/other.json", "--out", tmp.path() + "/bad"});
    QCOMPARE(bad.code, 1);
    QVERIFY2(bad.err.contains("other.json: axes.ka.m[0]: `ka.m` must be in [1, 256], got 0"), qPrintable(bad.err));
  }

  // `moekd probe` on the demo teacher: the sweep's rows and probe.json.
  void probeTheDemoTeacher() {
    QTemporaryDir tmp;
    const auto r = moekd_cli({"probe", "--teacher", QStringLiteral(MOEKD_TEST_DATA "/../../resources/demo-teacher"), "--data",
                              "builtin", "--set", "data.validation_examples=8", "--set", "data.train_examples=8",
                              "--samples", "4", "--out", tmp.path()});
    QVERIFY2(r.code == 0, qPrintable(r.err + r.out));
    QVERIFY(r.out.contains("8 experts, top-2"));
    QVERIFY(r.out.contains("| top-2 (own) | 2.00 |"));
    QVERIFY(r.out.contains("| all | 8.00 |"));
    std::ifstream in((tmp.path() + "/probe.json").toStdString());
    const auto j = json::parse(in);
    QCOMPARE(j["policies"].size(), size_t(19));
    QCOMPARE(j["layers"].size(), size_t(4));
    QCOMPARE(j["policies"][1]["kl_from_topk"].get<double>(), 0.0);
  }

};

QTEST_GUILESS_MAIN(TestCompare)
#include "test_compare.moc"
