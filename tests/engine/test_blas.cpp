// The choice of OpenBLAS kernels: from the CPU's features and the core type OpenBLAS reported, which
// one moekd switches to (or none). Plain C++: the decision needs no LibTorch and no BLAS.
#include <QtTest>

#include "backend/openblas_core.h"

using namespace moekd;

namespace {
CpuFeatures avx512() { return {true, true, true, true, true, true, true}; }
CpuFeatures avx2() { return {true, true, true, false, false, false, false}; }
}  // namespace

class TestBlas : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void chooseCoreFromFeaturesAndReport_data() {
    QTest::addColumn<int>("cpu");  // 0 none, 1 AVX, 2 AVX2 + FMA, 3 AVX-512 (F, BW, DQ, VL)
    QTest::addColumn<QString>("reported");
    QTest::addColumn<QString>("chosen");
    // OpenBLAS 0.3.21 does not know the CPU and falls back to its oldest kernels: switch.
    QTest::newRow("avx-512 cpu, prescott") << 3 << "Prescott" << "SkylakeX";
    QTest::newRow("avx2 cpu, prescott") << 2 << "Prescott" << "Haswell";
    QTest::newRow("avx cpu, nehalem") << 1 << "Nehalem" << "Sandybridge";
    QTest::newRow("avx-512 cpu, haswell") << 3 << "Haswell" << "SkylakeX";
    QTest::newRow("case does not matter") << 3 << "PRESCOTT" << "SkylakeX";
    // Already the best kind of kernels, or better than this program knows: keep them.
    QTest::newRow("avx-512 cpu, cooperlake") << 3 << "Cooperlake" << "";
    QTest::newRow("avx-512 cpu, skylakex") << 3 << "SkylakeX" << "";
    QTest::newRow("avx2 cpu, zen") << 2 << "Zen" << "";
    QTest::newRow("avx2 cpu, haswell") << 2 << "Haswell" << "";
    QTest::newRow("avx2 cpu, skylakex") << 2 << "SkylakeX" << "";
    QTest::newRow("unknown core name") << 3 << "Granite" << "";
    QTest::newRow("no avx") << 0 << "Prescott" << "";
  }
  void chooseCoreFromFeaturesAndReport() {
    QFETCH(int, cpu);
    QFETCH(QString, reported);
    QFETCH(QString, chosen);
    CpuFeatures f;
    if (cpu == 3) f = avx512();
    if (cpu == 2) f = avx2();
    if (cpu == 1) f.avx = true;
    QCOMPARE(QString::fromStdString(better_core(f, reported.toStdString())), chosen);
  }

  void partialAvx512IsNotEnough() {
    CpuFeatures f = avx512();
    f.avx512bw = false;  // SkylakeX kernels use BW, DQ and VL too
    QCOMPARE(best_core(f), std::string("Haswell"));
    QCOMPARE(feature_names(avx2()), (std::vector<std::string>{"avx", "avx2", "fma"}));
  }

  void ranksOrderTheKernels() {
    QVERIFY(core_rank("Prescott") < core_rank("Sandybridge"));
    QVERIFY(core_rank("Sandybridge") < core_rank("Haswell"));
    QCOMPARE(core_rank("Haswell"), core_rank("Zen"));
    QVERIFY(core_rank("Haswell") < core_rank("SkylakeX"));
    QCOMPARE(core_rank("SkylakeX"), core_rank("cooperlake"));
    QCOMPARE(core_rank("NotACore"), -1);
  }

  // Without a BLAS in the process the self-check says so instead of passing.
  void selfCheckNeedsABlas() {
    std::string detail;
    QVERIFY(!blas_self_check(&detail));
    QVERIFY2(detail.find("cblas_sgemm") != std::string::npos, detail.c_str());
  }
};

QTEST_APPLESS_MAIN(TestBlas)
#include "test_blas.moc"
