// SPDX-License-Identifier: MIT
// The installed tree, as the .deb lays it out: `cmake --install` into a temporary prefix, then the
// installed programs run from a folder of their own and must find their files (presets, the demo
// teacher, the SentencePiece plugin) beside themselves, not in the source or build tree. Also the
// package's documentation: the copyright file, the changelog and manual pages that list every
// subcommand. Needs no LibTorch: it only runs programs.
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

namespace {

struct Ran {
  int code = -1;
  QString out, err;
};

// Runs `program` in `cwd`; `unset` names variables the child must not see.
Ran run(const QString& program, const QStringList& args, const QString& cwd, const QStringList& unset = {},
        int timeout_ms = 300000) {
  QProcess p;
  QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
  for (const QString& name : unset) env.remove(name);
  env.remove(QStringLiteral("MOEKD_RESOURCES"));    // the installed tree must find its own files
  env.remove(QStringLiteral("MOEKD_SPM_LIBRARY"));
  p.setProcessEnvironment(env);
  p.setWorkingDirectory(cwd);
  p.start(program, args);
  if (!p.waitForFinished(timeout_ms)) {
    p.kill();
    p.waitForFinished();
    return {-1, {}, QStringLiteral("%1 did not finish").arg(program)};
  }
  return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromUtf8(p.readAllStandardOutput()),
          QString::fromUtf8(p.readAllStandardError())};
}

QString gunzip(const QString& path) {
  const Ran r = run(QStringLiteral("gzip"), {QStringLiteral("-dc"), path}, QDir::tempPath());
  return r.code == 0 ? r.out : QString();
}

QJsonObject read_json(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return {};
  return QJsonDocument::fromJson(f.readAll()).object();
}

// The subcommands `moekd --help` lists (CLI11: an indented name per line under SUBCOMMANDS:).
QStringList subcommands_in_help(const QString& help) {
  const int at = help.indexOf(QRegularExpression(QStringLiteral("^subcommands:$"),
                                                 QRegularExpression::CaseInsensitiveOption |
                                                     QRegularExpression::MultilineOption));
  QStringList names;
  if (at < 0) return names;
  const QRegularExpression line(QStringLiteral("^  ([a-z][a-z0-9-]*)\\s"), QRegularExpression::MultilineOption);
  auto it = line.globalMatch(help.mid(at));
  while (it.hasNext()) names << it.next().captured(1);
  return names;
}

}  // namespace

class TestInstall : public QObject {
  Q_OBJECT
  QTemporaryDir prefix_, elsewhere_;  // the install prefix; a working folder outside every tree
  QString bin(const char* name) const { return prefix_.filePath(QStringLiteral("bin/") + name); }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(prefix_.isValid() && elsewhere_.isValid());
    const Ran r = run(QStringLiteral(MOEKD_CMAKE),
                      {QStringLiteral("--install"), QStringLiteral(MOEKD_BUILD_DIR), QStringLiteral("--prefix"),
                       prefix_.path()},
                      elsewhere_.path());
    QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
  }

  // The layout packaging/packaging.cmake documents; the plugin one folder below lib/moekd, where
  // CPack adds no ldconfig calls to the package's scripts.
  void layout() {
    QStringList expected = {QStringLiteral("bin/moekd"),
                            QStringLiteral("share/moekd/demo-teacher/config.json"),
                            QStringLiteral("share/moekd/demo-teacher/model.safetensors"),
                            QStringLiteral("share/moekd/presets/demo-teacher.json"),
                            QStringLiteral("share/moekd/presets/paper-ka-sgo.json"),
                            QStringLiteral("share/doc/moekd-studio/copyright"),
                            QStringLiteral("share/doc/moekd-studio/changelog.gz")};
#ifdef MOEKD_WITH_SENTENCEPIECE
    expected << QStringLiteral("lib/moekd/plugins/libmoekd_spm.so");
#endif
#ifdef MOEKD_WITH_STUDIO
    expected << QStringLiteral("bin/moekd-studio") << QStringLiteral("share/applications/org.moekd.Studio.desktop")
             << QStringLiteral("share/metainfo/org.moekd.Studio.metainfo.xml")
             << QStringLiteral("share/icons/hicolor/scalable/apps/org.moekd.Studio.svg");
#endif
#ifdef MOEKD_MAN_PAGES
    expected << QStringLiteral("share/man/man1/moekd.1.gz");
#ifdef MOEKD_WITH_STUDIO
    expected << QStringLiteral("share/man/man1/moekd-studio.1.gz");
#endif
#endif
    for (const QString& path : expected) QVERIFY2(QFile::exists(prefix_.filePath(path)), qPrintable(path));
    QVERIFY(QDir(prefix_.filePath(QStringLiteral("lib/moekd"))).entryList({QStringLiteral("*.so*")}, QDir::Files).isEmpty());
  }

  void copyrightAndChangelog() {
    QFile f(prefix_.filePath(QStringLiteral("share/doc/moekd-studio/copyright")));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QString copyright = QString::fromUtf8(f.readAll());
    QVERIFY(copyright.startsWith(
        QStringLiteral("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n")));
    QVERIFY(copyright.contains(QStringLiteral("\nFiles: *\nCopyright: 2026 MoE-KD Studio team\nLicense: Expat\n")));
    QVERIFY(copyright.contains(QStringLiteral("\nLicense: GPL-3+\n")));  // the studio binary as distributed
    QVERIFY(copyright.contains(QStringLiteral("/usr/share/common-licenses/GPL-3")));
    for (const QString& line : copyright.split('\n')) QVERIFY2(line.size() <= 80, qPrintable(line));

    const QString changelog = gunzip(prefix_.filePath(QStringLiteral("share/doc/moekd-studio/changelog.gz")));
    QVERIFY2(changelog.startsWith(QStringLiteral("moekd-studio (" MOEKD_VERSION ") unstable; urgency=")),
             qPrintable(changelog.left(80)));
    QVERIFY(changelog.contains(QStringLiteral("\n -- MoE-KD Studio team <team@moekd.org>  ")));
  }

  // --version works without a display (a server, help2man at build time) and names this release.
  void versions() {
    const QStringList no_display = {QStringLiteral("DISPLAY"), QStringLiteral("WAYLAND_DISPLAY"),
                                    QStringLiteral("QT_QPA_PLATFORM")};
    const Ran cli = run(bin("moekd"), {QStringLiteral("--version")}, elsewhere_.path(), no_display);
    QCOMPARE(cli.code, 0);
    QCOMPARE(cli.out.section('\n', 0, 0), QStringLiteral("moekd " MOEKD_VERSION));
#ifdef MOEKD_WITH_STUDIO
    const Ran studio = run(bin("moekd-studio"), {QStringLiteral("--version")}, elsewhere_.path(), no_display);
    QVERIFY2(studio.code == 0, qPrintable(studio.err));
    QCOMPARE(studio.out.trimmed(), QStringLiteral("moekd-studio " MOEKD_VERSION));
    const Ran help = run(bin("moekd-studio"), {QStringLiteral("--help")}, elsewhere_.path(), no_display);
    QCOMPARE(help.code, 0);
    QVERIFY(help.out.contains(QStringLiteral("--screenshot <png>")));
#endif
  }

#ifdef MOEKD_MAN_PAGES
  // moekd.1 holds a section for every subcommand the installed program lists, with its options.
  void manPagesListEverySubcommand() {
    const Ran help = run(bin("moekd"), {QStringLiteral("--help")}, elsewhere_.path());
    QCOMPARE(help.code, 0);
    const QStringList subs = subcommands_in_help(help.out);
    QVERIFY2(subs.size() >= 10, qPrintable(subs.join(' ')));
    QVERIFY(subs.contains(QStringLiteral("distill")) && subs.contains(QStringLiteral("demo")));
    const QString page = gunzip(prefix_.filePath(QStringLiteral("share/man/man1/moekd.1.gz")));
    QVERIFY(page.startsWith(QStringLiteral(".\\\" DO NOT MODIFY THIS FILE!")));  // help2man's own header
    QVERIFY(page.contains(QStringLiteral(".TH MOEKD \"1\"")));
    for (const QString& sub : subs) {
      const QString heading = QStringLiteral(".SS \"moekd %1\"").arg(sub);
      QVERIFY2(page.contains(heading), qPrintable(heading));
      const Ran sub_help = run(bin("moekd"), {sub, QStringLiteral("--help")}, elsewhere_.path());
      for (const QString& nested : subcommands_in_help(sub_help.out)) {  // bench forward, bench distill, ...
        const QString nested_heading = QStringLiteral(".SS \"moekd %1 %2\"").arg(sub, nested);
        QVERIFY2(page.contains(nested_heading), qPrintable(nested_heading));
      }
      // Each option of the subcommand appears in its section (roff writes - as \-).
      const QRegularExpression option(QStringLiteral("^\\s+(--[a-z][a-z0-9-]*)"), QRegularExpression::MultilineOption);
      auto it = option.globalMatch(sub_help.out);
      while (it.hasNext()) {
        const QString flag = it.next().captured(1);
        QVERIFY2(page.contains(QString(flag).replace('-', QStringLiteral("\\-"))) || page.contains(flag),
                 qPrintable(sub + " " + flag));
      }
    }
#ifdef MOEKD_WITH_STUDIO
    const QString studio = gunzip(prefix_.filePath(QStringLiteral("share/man/man1/moekd-studio.1.gz")));
    QVERIFY(studio.contains(QStringLiteral(".TH MOEKD-STUDIO \"1\"")));
    QVERIFY(studio.contains(QStringLiteral("screenshot")));
    QVERIFY(studio.contains(QStringLiteral("GNU GPL version 3 or")));
#endif
  }
#endif

  // The installed programs read their own share/moekd and lib/moekd/plugins.
  void doctorFindsTheInstalledFiles() {
    const Ran r = run(bin("moekd"), {QStringLiteral("doctor"), QStringLiteral("--json")}, elsewhere_.path());
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const QJsonObject j = QJsonDocument::fromJson(r.out.toUtf8()).object();
    QCOMPARE(j.value(QStringLiteral("resources")).toString(), QDir(prefix_.filePath(QStringLiteral("share/moekd"))).canonicalPath());
#ifdef MOEKD_WITH_SENTENCEPIECE
    QVERIFY2(j.value(QStringLiteral("sentencepiece_ok")).toBool(), qPrintable(j.value(QStringLiteral("sentencepiece")).toString()));
    QCOMPARE(QFileInfo(j.value(QStringLiteral("sentencepiece")).toString()).canonicalFilePath(),
             QFileInfo(prefix_.filePath(QStringLiteral("lib/moekd/plugins/libmoekd_spm.so"))).canonicalFilePath());
#endif
  }

  void inspectTheInstalledTeacher() {
    const QString teacher = prefix_.filePath(QStringLiteral("share/moekd/demo-teacher"));
    const Ran r = run(bin("moekd"), {QStringLiteral("inspect"), teacher, QStringLiteral("--json")}, elsewhere_.path());
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const QJsonObject j = QJsonDocument::fromJson(r.out.toUtf8()).object();
    const QJsonObject config = read_json(teacher + QStringLiteral("/config.json"));
    QVERIFY(!j.isEmpty() && !config.isEmpty());
    QCOMPARE(j.value(QStringLiteral("model_type")).toString(), QStringLiteral("mixtral"));
    QCOMPARE(j.value(QStringLiteral("path")).toString(), teacher);
    QCOMPARE(j.value(QStringLiteral("num_experts")).toInt(), config.value(QStringLiteral("num_local_experts")).toInt());
    QCOMPARE(j.value(QStringLiteral("num_layers")).toInt(), config.value(QStringLiteral("num_hidden_layers")).toInt());
    QCOMPARE(j.value(QStringLiteral("top_k")).toInt(), config.value(QStringLiteral("num_experts_per_tok")).toInt());
    QCOMPARE(j.value(QStringLiteral("vocab_size")).toInt(), config.value(QStringLiteral("vocab_size")).toInt());
    // A Mixtral's parameters from its config: embeddings and head, and per layer attention, the
    // router, every expert's three matrices and two norms; then the final norm.
    const qint64 h = config.value(QStringLiteral("hidden_size")).toInt(), v = config.value(QStringLiteral("vocab_size")).toInt(),
                 f = config.value(QStringLiteral("intermediate_size")).toInt(), e = j.value(QStringLiteral("num_experts")).toInt(),
                 d = config.value(QStringLiteral("head_dim")).toInt(), heads = config.value(QStringLiteral("num_attention_heads")).toInt(),
                 kv = config.value(QStringLiteral("num_key_value_heads")).toInt(), layers = j.value(QStringLiteral("num_layers")).toInt();
    const qint64 per_layer = h * heads * d + 2 * h * kv * d + heads * d * h + h * e + e * 3 * h * f + 2 * h;
    QCOMPARE(static_cast<qint64>(j.value(QStringLiteral("params_total")).toDouble()), 2 * v * h + layers * per_layer + h);
  }

  // `moekd demo` from a folder of the user's: its runs land there and distil the installed teacher.
  void demoRunsFromAnyFolder() {
    const Ran r = run(bin("moekd"), {QStringLiteral("demo"), QStringLiteral("--scale"), QStringLiteral("0.01"),
                                     QStringLiteral("--quiet")},
                      elsewhere_.path(), {}, 600000);
    QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
    const QJsonObject results = read_json(elsewhere_.filePath(QStringLiteral("moekd-demo/results.json")));
    const QJsonArray runs = results.value(QStringLiteral("runs")).toArray();
    QCOMPARE(runs.size(), 7);  // the teacher's evaluation, then sft, kd, ka, sar and the two on-policy runs
    const QString teacher_dir = QDir(prefix_.filePath(QStringLiteral("share/moekd/demo-teacher"))).canonicalPath();
    const QJsonObject teacher_row = runs.at(0).toObject();
    QCOMPARE(teacher_row.value(QStringLiteral("method")).toString(), QStringLiteral("teacher"));
    QCOMPARE(QDir(teacher_row.value(QStringLiteral("run_dir")).toString()).canonicalPath(), teacher_dir);
    // The shipped teacher is trained: it answers the demo's tasks (98.3 ROUGE-L when it was made).
    QVERIFY2(teacher_row.value(QStringLiteral("rouge_l")).toDouble() > 0.9, qPrintable(r.out));
    for (int i = 1; i < runs.size(); ++i) {
      const QJsonObject o = runs.at(i).toObject();
      const QString dir = elsewhere_.filePath(o.value(QStringLiteral("run_dir")).toString());
      QVERIFY2(QFile::exists(dir + QStringLiteral("/metrics.jsonl")), qPrintable(dir));
      QCOMPARE(o.value(QStringLiteral("step")).toInt(), 8);  // every run, at --scale 0.01
      const double loss = o.value(QStringLiteral("val_loss")).toDouble();
      QVERIFY2(loss > 0 && loss < 10, qPrintable(QString::number(loss)));
    }
    const QJsonObject kd = read_json(elsewhere_.filePath(QStringLiteral("moekd-demo/kd/config.json")));
    const QString teacher = kd.value(QStringLiteral("teacher")).toObject().value(QStringLiteral("path")).toString();
    QCOMPARE(QDir(teacher).canonicalPath(), teacher_dir);
  }
};

QTEST_GUILESS_MAIN(TestInstall)
#include "test_install.moc"
