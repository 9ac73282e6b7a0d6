#pragma once
// Which vector kernels ATen's own CPU operators run with (elementwise arithmetic, exp and softmax,
// reductions, copies): ATen builds each for DEFAULT, AVX2 and AVX512 and picks one per process,
// once, at its first dispatch: ATEN_CPU_CAPABILITY when set, else its own rule. LibTorch 1.13
// (Debian 12) keeps AVX-512 opt-in and runs AVX2 on a CPU that has AVX-512, where softmax and exp
// then take twice as long; later LibTorch picks AVX-512 there. moekd chooses as later LibTorch
// does, since it already computes its products with AVX-512 OpenBLAS kernels on such a CPU.
#include <string>

#include "backend/openblas_core.h"

namespace moekd {

// "AVX512" where the CPU has AVX-512 F, BW, DQ and VL with FMA (ATen's condition), "AVX2" where it
// has AVX2 with FMA, else "DEFAULT".
std::string best_aten_kernels(const CpuFeatures& f);

// 0 DEFAULT, 1 AVX2, 2 AVX512; -1 for a name ATen may add later.
int aten_rank(const std::string& level);

// Call first in main(), before any tensor operation (ATen reads the variable once). Sets
// ATEN_CPU_CAPABILITY to the CPU's best level unless the user set it or MOEKD_ATEN_AUTO=0.
void choose_aten_kernels();

struct AtenKernels {
  std::string in_use;  // what ATen reports it runs: "AVX512", "AVX2", "DEFAULT"
  std::string source;  // "chosen by moekd", "set by ATEN_CPU_CAPABILITY", "ATen's own choice"
  std::string best;    // best_aten_kernels() of this CPU
};
// Reads ATen's build report (its "CPU capability usage" line); fixes ATen's choice if it was not
// made yet, so call it after choose_aten_kernels().
AtenKernels aten_kernels();

}  // namespace moekd
