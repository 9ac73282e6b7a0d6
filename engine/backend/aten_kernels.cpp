#include "backend/aten_kernels.h"

#include <ATen/Version.h>

#include <cctype>
#include <cstdlib>

#include "util/environment.h"

namespace moekd {

std::string best_aten_kernels(const CpuFeatures& f) {
  if (f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl && f.fma) return "AVX512";
  if (f.avx2 && f.fma) return "AVX2";
  return "DEFAULT";
}

int aten_rank(const std::string& level) {
  if (level == "DEFAULT") return 0;
  if (level == "AVX2") return 1;
  if (level == "AVX512") return 2;
  return -1;
}

void choose_aten_kernels() {
  // The levels are x86's; elsewhere (ARM's SVE, POWER's VSX) ATen's own choice stands.
#if defined(__x86_64__)
  if (!environment_variable("ATEN_CPU_CAPABILITY").empty() || environment_variable("MOEKD_ATEN_AUTO") == "0") return;
  std::string level = best_aten_kernels(detect_cpu_features());
  for (auto& c : level) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  setenv("ATEN_CPU_CAPABILITY", level.c_str(), 1);
  // Children (a grid's runs, data-parallel ranks) inherit both: they report the same source,
  // unless the level was changed after the choice (as MOEKD_OPENBLAS_CHOSEN does for OpenBLAS).
  setenv("MOEKD_ATEN_CHOSEN", level.c_str(), 1);
#endif
}

AtenKernels aten_kernels() {
  AtenKernels k;
  k.best = best_aten_kernels(detect_cpu_features());
  const std::string report = at::show_config();
  const std::string key = "CPU capability usage: ";
  if (const auto at = report.find(key); at != std::string::npos) {
    const auto start = at + key.size();
    k.in_use = report.substr(start, report.find('\n', start) - start);
  }
  if (k.in_use == "NO AVX") k.in_use = "DEFAULT";  // the report's name for the plain kernels
  if (k.in_use.empty()) k.in_use = "unknown";
  const std::string set = environment_variable("ATEN_CPU_CAPABILITY");
  k.source = set.empty()                                        ? "ATen's own choice"
             : set == environment_variable("MOEKD_ATEN_CHOSEN") ? "chosen by moekd"
                                                                : "set by ATEN_CPU_CAPABILITY";
  return k;
}

}  // namespace moekd
