#include "run/arithmetic.h"

#include <algorithm>
#include <cctype>

#include "util/error.h"

namespace moekd {

using json = nlohmann::json;

namespace {

const std::string kOpenBlas = "OpenBLAS ";

// The kernel name of an "OpenBLAS <core>" entry; empty for another BLAS.
std::string openblas_core_of(const std::string& blas) {
  return blas.rfind(kOpenBlas, 0) == 0 ? blas.substr(kOpenBlas.size()) : std::string();
}

std::string threads_text(int n) { return std::to_string(n) + (n == 1 ? " thread" : " threads"); }

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

bool Arithmetic::operator==(const Arithmetic& o) const {
  return libtorch == o.libtorch && blas == o.blas && cpu_kernels == o.cpu_kernels && threads == o.threads &&
         device == o.device;
}

std::string describe(const Arithmetic& a) {
  return "LibTorch " + a.libtorch + ", " + a.blas + ", ATen " + a.cpu_kernels + " kernels, " + threads_text(a.threads) +
         ", " + a.device;
}

std::vector<std::string> arithmetic_differences(const Arithmetic& r, const Arithmetic& n, const std::string& before,
                                                const std::string& after) {
  std::vector<std::string> out;
  auto differ = [&](const char* what, const std::string& x, const std::string& y) {
    if (x != y) out.push_back(std::string(what) + ": " + x + " " + before + ", " + y + " " + after);
  };
  differ("LibTorch", r.libtorch, n.libtorch);
  differ("BLAS", r.blas, n.blas);
  differ("ATen's CPU kernels", r.cpu_kernels, n.cpu_kernels);
  differ("threads per run", std::to_string(r.threads), std::to_string(n.threads));
  differ("device", r.device, n.device);
  return out;
}

std::vector<std::string> arithmetic_remedies(const Arithmetic& r, const Arithmetic& n) {
  std::vector<std::string> out;
  const auto core = openblas_core_of(r.blas);
  if (r.blas != n.blas && !core.empty() && !openblas_core_of(n.blas).empty())
    out.push_back("OPENBLAS_CORETYPE=" + core + " in the environment (where this CPU runs those kernels)");
  if (r.cpu_kernels != n.cpu_kernels)
    out.push_back("ATEN_CPU_CAPABILITY=" + lower(r.cpu_kernels) + " in the environment (where this CPU has them)");
  if (r.threads != n.threads)
    out.push_back(threads_text(r.threads) + " per run (`moekd --threads " + std::to_string(r.threads) + "`)");
  return out;
}

json to_json(const Arithmetic& a) {
  return {{"libtorch", a.libtorch}, {"blas", a.blas}, {"cpu_kernels", a.cpu_kernels}, {"threads", a.threads},
          {"device", a.device}};
}

Arithmetic arithmetic_from_json(const json& j, const std::string& file) {
  if (!j.is_object()) fail(file, ": expected an object with libtorch, blas, cpu_kernels, threads and device");
  Arithmetic a;
  auto text = [&](const char* key, std::string& out) {
    if (!j.contains(key) || !j[key].is_string() || j[key].get<std::string>().empty())
      fail(file, ": `", key, "` must be a non-empty string");
    out = j[key].get<std::string>();
  };
  text("libtorch", a.libtorch);
  text("blas", a.blas);
  text("cpu_kernels", a.cpu_kernels);
  text("device", a.device);
  if (!j.contains("threads") || !j["threads"].is_number_integer() || j["threads"].get<int64_t>() < 1 ||
      j["threads"].get<int64_t>() > 4096)
    fail(file, ": `threads` must be a whole number from 1 to 4096");
  a.threads = static_cast<int>(j["threads"].get<int64_t>());
  return a;
}

}  // namespace moekd
