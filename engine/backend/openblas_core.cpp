#include "backend/openblas_core.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "util/environment.h"

namespace moekd {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// OpenBLAS 0.3.21's x86-64 core types (its DYNAMIC_ARCH list), by the instructions their kernels use.
const std::vector<std::pair<int, std::vector<const char*>>> kRanks = {
    {3, {"SkylakeX", "Cooperlake", "SapphireRapids"}},
    {2, {"Haswell", "Zen"}},
    {1, {"Sandybridge", "Bulldozer", "Piledriver", "Steamroller", "Excavator"}},
    {0, {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Opteron", "Opteron_SSE3", "Barcelona",
         "Nano", "Bobcat", "Katmai", "Coppermine", "Northwood", "Banias", "Athlon"}},
};

using CoreName = const char* (*)();
using Sgemm = void (*)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                       const float* b, int ldb, float beta, float* c, int ldc);

template <typename Fn>
Fn find_symbol(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

// One line that identifies this CPU and this OpenBLAS build, for the cache of self-checks.
std::string machine_key(const OpenBlasCore& c, const CpuFeatures& f) {
  std::string model;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 1);
      break;
    }
  std::string key = model + "|" + c.config + "|";
  for (const auto& n : feature_names(f)) key += n + ",";
  std::replace(key.begin(), key.end(), '\t', ' ');
  return key;
}

std::filesystem::path cache_file() {
  const std::string xdg = environment_variable("XDG_CACHE_HOME"), home = environment_variable("HOME");
  if (!xdg.empty()) return std::filesystem::path(xdg) / "moekd" / "openblas-cores";
  if (!home.empty()) return std::filesystem::path(home) / ".cache" / "moekd" / "openblas-cores";
  return {};
}

// A cached verdict for `core` on this machine: "ok", or the reason it was refused; empty if none.
std::string cached_verdict(const std::string& key, const std::string& core) {
  const auto path = cache_file();
  if (path.empty()) return {};
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string k, c, verdict;
    if (std::getline(fields, k, '\t') && std::getline(fields, c, '\t') && std::getline(fields, verdict) && k == key &&
        c == core)
      return verdict;
  }
  return {};
}

void remember_verdict(const std::string& key, const std::string& core, const std::string& verdict) {
  const auto path = cache_file();
  if (path.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  std::ofstream(path, std::ios::app) << key << '\t' << core << '\t' << verdict << '\n';
}

// Runs this program as a child with `core`'s kernels, where it only runs blas_self_check().
// "ok", or why the core is refused.
std::string check_in_child(char** argv, const std::string& core) {
  const pid_t pid = fork();
  if (pid < 0) return "the check could not start";
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
      dup2(null, STDOUT_FILENO);
      dup2(null, STDERR_FILENO);
    }
    setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
    setenv("MOEKD_OPENBLAS_SELF_CHECK", "1", 1);
    execv("/proc/self/exe", argv);
    _exit(127);
  }
  int status = 0;
  for (int waited_ms = 0;; waited_ms += 20) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0) return "the check was lost";
    if (waited_ms > 20000) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return "the check did not finish in 20 s";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (WIFSIGNALED(status)) return "the check crashed (signal " + std::to_string(WTERMSIG(status)) + ")";
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "ok";
  if (WIFEXITED(status) && WEXITSTATUS(status) == 3) return "its sgemm results were wrong";
  return "the check failed (exit " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")";
}

}  // namespace

CpuFeatures detect_cpu_features() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.avx = __builtin_cpu_supports("avx");
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512dq = __builtin_cpu_supports("avx512dq");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
#endif
  return f;
}

std::vector<std::string> feature_names(const CpuFeatures& f) {
  std::vector<std::string> out;
  const std::pair<bool, const char*> all[] = {{f.avx, "avx"},         {f.avx2, "avx2"},         {f.fma, "fma"},
                                              {f.avx512f, "avx512f"}, {f.avx512bw, "avx512bw"}, {f.avx512dq, "avx512dq"},
                                              {f.avx512vl, "avx512vl"}};
  for (const auto& [has, name] : all)
    if (has) out.emplace_back(name);
  return out;
}

int core_rank(const std::string& core) {
  const auto want = lower(core);
  for (const auto& [rank, names] : kRanks)
    for (const char* n : names)
      if (lower(n) == want) return rank;
  return -1;
}

std::string best_core(const CpuFeatures& f) {
  if (f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl) return "SkylakeX";
  if (f.avx2 && f.fma) return "Haswell";
  if (f.avx) return "Sandybridge";
  return {};
}

std::string better_core(const CpuFeatures& f, const std::string& reported) {
  const int rank = core_rank(reported);
  const std::string best = best_core(f);
  if (rank < 0 || best.empty() || core_rank(best) <= rank) return {};
  return best;
}

bool set_openblas_threads(int threads) {
  using SetThreads = void (*)(int);
  const auto set = find_symbol<SetThreads>("openblas_set_num_threads");
  if (!set) return false;
  set(threads);
  return true;
}

OpenBlasCore openblas_core() {
  OpenBlasCore c;
  c.best = best_core(detect_cpu_features());
  const auto corename = find_symbol<CoreName>("openblas_get_corename");
  const auto config = find_symbol<CoreName>("openblas_get_config");
  if (!corename) return c;
  c.loaded = true;
  c.in_use = corename();
  if (config) c.config = config();
  c.rejected = environment_variable("MOEKD_OPENBLAS_REJECTED");
  const std::string set = environment_variable("OPENBLAS_CORETYPE");
  if (set.empty()) {
    c.source = "detected by OpenBLAS";
    c.detected = c.in_use;
  } else if (set == environment_variable("MOEKD_OPENBLAS_CHOSEN")) {
    c.source = "chosen by moekd";
    c.detected = environment_variable("MOEKD_OPENBLAS_DETECTED");
  } else {
    c.source = "set by OPENBLAS_CORETYPE";
  }
  return c;
}

bool blas_self_check(std::string* detail) {
  const auto sgemm = find_symbol<Sgemm>("cblas_sgemm");
  if (!sgemm) {
    if (detail) *detail = "no cblas_sgemm in this process";
    return false;
  }
  constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
  struct Case {
    int m, n, k;
    bool ta, tb;
  };
  const Case cases[] = {{1, 1, 1, false, false},    {7, 13, 5, false, true},      {64, 64, 64, true, false},
                        {129, 67, 257, false, false}, {300, 200, 150, true, true}, {33, 517, 96, false, true}};
  uint64_t state = 88172645463325252ull;  // xorshift: the same matrices on every machine
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return static_cast<float>(static_cast<double>(state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
  };
  double worst = 0;
  for (const auto& c : cases) {
    std::vector<float> a(static_cast<size_t>(c.m) * c.k), b(static_cast<size_t>(c.k) * c.n), out(static_cast<size_t>(c.m) * c.n);
    for (auto& x : a) x = next();
    for (auto& x : b) x = next();
    // Stored as the transpose flags say; element (i, p) of op(A) and (p, j) of op(B).
    const int lda = c.ta ? c.m : c.k, ldb = c.tb ? c.k : c.n;
    auto A = [&](int i, int p) { return c.ta ? a[static_cast<size_t>(p) * c.m + i] : a[static_cast<size_t>(i) * c.k + p]; };
    auto B = [&](int p, int j) { return c.tb ? b[static_cast<size_t>(j) * c.k + p] : b[static_cast<size_t>(p) * c.n + j]; };
    sgemm(kRowMajor, c.ta ? kTrans : kNoTrans, c.tb ? kTrans : kNoTrans, c.m, c.n, c.k, 1.0f, a.data(), lda, b.data(),
          ldb, 0.0f, out.data(), c.n);
    for (int i = 0; i < c.m; ++i)
      for (int j = 0; j < c.n; ++j) {
        double exact = 0, scale = 1e-30;
        for (int p = 0; p < c.k; ++p) {
          exact += static_cast<double>(A(i, p)) * B(p, j);
          scale += std::abs(static_cast<double>(A(i, p)) * B(p, j));
        }
        const double err = std::abs(out[static_cast<size_t>(i) * c.n + j] - exact) / scale;
        if (!(err <= 1e-4)) {  // also NaN
          if (detail) {
            char text[96];
            std::snprintf(text, sizeof text, "sgemm %dx%dx%d: relative error %.1e", c.m, c.n, c.k, err);
            *detail = text;
          }
          return false;
        }
        worst = std::max(worst, err);
      }
  }
  if (detail) {
    char text[64];
    std::snprintf(text, sizeof text, "worst relative error %.1e", worst);
    *detail = text;
  }
  return true;
}

void choose_openblas_core(char** argv) {
  if (!environment_variable("MOEKD_OPENBLAS_SELF_CHECK").empty()) _exit(blas_self_check(nullptr) ? 0 : 3);  // the child
  const std::string mode = environment_variable("MOEKD_OPENBLAS_AUTO");
  if (!environment_variable("OPENBLAS_CORETYPE").empty() || mode == "0") return;
  const auto features = detect_cpu_features();
  const auto current = openblas_core();
  if (!current.loaded) return;
  const std::string target = mode.empty() || mode == "1" ? better_core(features, current.in_use) : mode;
  if (target.empty() || lower(target) == lower(current.in_use)) return;
  if (core_rank(target) < 0) {
    setenv("MOEKD_OPENBLAS_REJECTED", (target + ": not a core type of OpenBLAS 0.3.21").c_str(), 1);
    return;
  }
  const std::string key = machine_key(current, features);
  std::string verdict = cached_verdict(key, target);
  if (verdict.empty()) {
    verdict = check_in_child(argv, target);
    remember_verdict(key, target, verdict);
  }
  if (verdict != "ok") {
    setenv("MOEKD_OPENBLAS_REJECTED", (target + ": " + verdict).c_str(), 1);
    return;
  }
  setenv("OPENBLAS_CORETYPE", target.c_str(), 1);
  setenv("MOEKD_OPENBLAS_CHOSEN", target.c_str(), 1);
  setenv("MOEKD_OPENBLAS_DETECTED", current.in_use.c_str(), 1);
  execv("/proc/self/exe", argv);
  // Could not re-execute: carry on with the kernels OpenBLAS chose.
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv("MOEKD_OPENBLAS_CHOSEN");
  unsetenv("MOEKD_OPENBLAS_DETECTED");
}

}  // namespace moekd
