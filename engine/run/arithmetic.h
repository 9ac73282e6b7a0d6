#pragma once
// The arithmetic a run computes with: which LibTorch, which BLAS kernels, which of ATen's CPU
// kernels, how many threads, which device. Training here is chaotic enough that another rounding
// moves a single run by whole points, so two runs compare cleanly only when these agree: the same
// seed with the same arithmetic gives the same numbers to the last digit, and another kernel does
// not (measured: the demo grid's KD run leaves its record at step 80 under SkylakeX kernels where
// Cooperlake's reproduce it). A grid of runs records the arithmetic of its first run and refuses
// to mix in another (`moekd compare`). Needs no LibTorch: the probe of this process's arithmetic
// is current_arithmetic() in backend/system_info.h.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace moekd {

struct Arithmetic {
  std::string libtorch;        // "1.13.0"
  std::string blas;            // "OpenBLAS Cooperlake", or the BLAS's name where it has no kernel choice
  std::string cpu_kernels;     // ATen's CPU kernels: "AVX512", "AVX2" or "DEFAULT"
  int threads = 0;             // intra-op and BLAS threads of one run
  std::string device;          // "cpu", or "cuda (NVIDIA H200)"

  bool operator==(const Arithmetic& o) const;
  bool operator!=(const Arithmetic& o) const { return !(*this == o); }
};

// "LibTorch 1.13.0, OpenBLAS Cooperlake, ATen AVX512 kernels, 1 thread, cpu"
std::string describe(const Arithmetic& a);

// What differs, one phrase each ("BLAS: OpenBLAS Cooperlake here, OpenBLAS SkylakeX now"), with
// `before` and `now` naming the two sides; empty when they agree.
std::vector<std::string> arithmetic_differences(const Arithmetic& recorded, const Arithmetic& now,
                                                const std::string& before = "recorded", const std::string& after = "now");

// How to make this process compute like `recorded`, for what can be set from outside (the BLAS
// kernels through OPENBLAS_CORETYPE, ATen's through ATEN_CPU_CAPABILITY, the threads through
// --threads); empty when a difference needs another build or machine.
std::vector<std::string> arithmetic_remedies(const Arithmetic& recorded, const Arithmetic& now);

nlohmann::json to_json(const Arithmetic& a);
// Reads what to_json wrote; throws Error naming `file` and the field that is missing or mistyped.
Arithmetic arithmetic_from_json(const nlohmann::json& j, const std::string& file);

}  // namespace moekd
