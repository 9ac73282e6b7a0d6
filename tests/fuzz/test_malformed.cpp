// Every fuzz target on its seed corpus (tests/fuzz/corpus/<target>/) and on every regression file
// (tests/data/malformed/<target>/, the inputs fuzzing once crashed on): each must be read or
// refused with moekd::Error, never crash or throw anything else. Under the sanitizer build
// (scripts/test.sh's second pass) a memory error in any of them fails too.
#include <QDir>
#include <QFile>
#include <QtTest>

#include "fuzz_input.h"

namespace {

using Target = int (*)(const uint8_t*, size_t);

// The files of `dir` (none when it does not exist).
QStringList files_in(const QString& dir) {
  QStringList out;
  for (const QFileInfo& f : QDir(dir).entryInfoList(QDir::Files, QDir::Name)) out << f.filePath();
  return out;
}

}  // namespace

class TestMalformed : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void everyInputIsReadOrRefused_data() {
    QTest::addColumn<QString>("target");
    QTest::addColumn<void*>("entry");
#define MOEKD_FUZZ_ROW(name) QTest::newRow(#name) << QString(#name) << reinterpret_cast<void*>(&moekd_fuzz_##name);
    MOEKD_FUZZ_TARGETS(MOEKD_FUZZ_ROW)
#undef MOEKD_FUZZ_ROW
  }
  void everyInputIsReadOrRefused() {
    QFETCH(QString, target);
    QFETCH(void*, entry);
    const auto run = reinterpret_cast<Target>(entry);
    const QStringList seeds = files_in(QStringLiteral(MOEKD_FUZZ_CORPUS "/") + target);
    const QStringList found = files_in(QStringLiteral(MOEKD_MALFORMED "/") + target);
    QVERIFY2(!seeds.isEmpty(), qPrintable("no seed corpus for " + target));
    for (const QString& path : seeds + found) {
      QFile f(path);
      QVERIFY(f.open(QIODevice::ReadOnly));
      const QByteArray bytes = f.readAll();
      try {
        QCOMPARE(run(reinterpret_cast<const uint8_t*>(bytes.constData()), static_cast<size_t>(bytes.size())), 0);
      } catch (const std::exception& e) {
        QFAIL(qPrintable(QString("%1: %2 escaped: %3").arg(path, typeid(e).name(), e.what())));
      }
    }
    qInfo("%s: %lld seed inputs, %lld regression files", qPrintable(target), static_cast<long long>(seeds.size()),
          static_cast<long long>(found.size()));
  }
};

QTEST_GUILESS_MAIN(TestMalformed)
#include "test_malformed.moc"
