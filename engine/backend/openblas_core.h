#pragma once
// Which OpenBLAS kernels ("core type") this process computes with, and which the CPU could use.
// Debian 12's OpenBLAS 0.3.21 does not know recent processors and may fall back to its slowest
// kernels (Prescott) on a CPU with AVX-512, 4x below its SkylakeX kernels. OpenBLAS reads
// OPENBLAS_CORETYPE once, when it loads, before main() runs: choose_openblas_core() therefore
// re-executes the program with the variable set, after checking the chosen kernels' arithmetic in
// a child process (some kernels give wrong results or crash on some processors). A variable the
// user set is always respected.
#include <string>
#include <vector>

namespace moekd {

struct CpuFeatures {
  bool avx = false, avx2 = false, fma = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false;
};

CpuFeatures detect_cpu_features();
// "avx2", "avx512f", ...: the features above that the CPU has, for reports.
std::vector<std::string> feature_names(const CpuFeatures& f);

// How capable a core type's kernels are: 3 AVX-512, 2 AVX2, 1 AVX, 0 older; -1 for a name this
// program does not know (a newer OpenBLAS): then nothing is overridden.
int core_rank(const std::string& core);
// The best core type this OpenBLAS version has kernels for, on a CPU with these features.
std::string best_core(const CpuFeatures& f);
// The core type to switch to when OpenBLAS's own choice (`reported`) is below what the CPU
// supports; empty when the reported one should stay.
std::string better_core(const CpuFeatures& f, const std::string& reported);

// What a report (`moekd doctor`) says about the kernels in use.
struct OpenBlasCore {
  bool loaded = false;     // an OpenBLAS is mapped into this process
  std::string in_use;      // openblas_get_corename()
  std::string detected;    // what OpenBLAS chose by itself (differs when moekd chose)
  std::string source;      // "detected by OpenBLAS", "set by OPENBLAS_CORETYPE", "chosen by moekd"
  std::string best;        // best_core() of this CPU
  std::string rejected;    // a core moekd tried and refused, with the reason
  std::string config;      // openblas_get_config()
};
OpenBlasCore openblas_core();

// sgemm against a float64 reference at shapes that exercise the kernels' blocking and edges;
// false (with the worst error in `detail`) when any result is off.
bool blas_self_check(std::string* detail);

// Sets the threads OpenBLAS computes matrix products with (pthread builds thread themselves, apart
// from LibTorch's intra-op threads); false when no OpenBLAS is loaded.
bool set_openblas_threads(int threads);

// Call first in main(). Re-executes this program with OPENBLAS_CORETYPE set to a better core
// type when the CPU supports one, the user set none, and the chosen kernels pass
// blas_self_check() in a child process; otherwise returns and nothing changes. MOEKD_OPENBLAS_AUTO
// overrides the choice: 0 turns it off, a core type name ("Haswell") is tried instead (and
// checked too). The outcome of a check is cached per CPU and OpenBLAS build
// ($XDG_CACHE_HOME/moekd/openblas-cores).
void choose_openblas_core(char** argv);

}  // namespace moekd
