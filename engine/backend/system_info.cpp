#include "backend/system_info.h"

#include "backend/aten_kernels.h"
#include "backend/openblas_core.h"

#include <sys/resource.h>
#include <torch/cuda.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>

#ifdef MOEKD_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
// The allocator statistics' StatType::AGGREGATE: index 0 in every version, while the enum moved
// from c10::cuda::CUDACachingAllocator (LibTorch 2.0-2.5) to c10::CachingAllocator.
constexpr size_t kAggregateStat = 0;
#endif

#include "util/error.h"
#include "backend/torch_compat.h"

namespace moekd {

torch::Device parse_device(const std::string& text) {
  if (text == "cpu") return torch::kCPU;
  if (text.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available())
      fail("device `", text, "`: this LibTorch build sees no CUDA device (use --device cpu)");
    int index = 0;
    if (text.size() > 4) {
      if (text[4] != ':') fail("device `", text, "` is not understood; expected cpu, cuda or cuda:N");
      try {
        index = std::stoi(text.substr(5));
      } catch (...) {
        fail("device `", text, "` is not understood; expected cpu, cuda or cuda:N");
      }
    }
    if (index < 0 || index >= static_cast<int>(torch::cuda::device_count()))
      fail("device `", text, "`: there are ", torch::cuda::device_count(), " CUDA devices");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  fail("device `", text, "` is not understood; expected cpu, cuda or cuda:N");
}

std::vector<std::string> device_choices() {
  std::vector<std::string> out{"cpu"};
  const int n = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
  for (int i = 0; i < n; ++i) out.push_back("cuda:" + std::to_string(i));
  if (n == 0) out.push_back("cuda");  // a config written here for a GPU machine
  return out;
}

int configure_threads(int requested) {
  if (requested > 0) {
    at::set_num_threads(requested);
    // OpenBLAS (pthread) threads its products itself: the same count there, or "--threads 1"
    // would still compute on every core.
    set_openblas_threads(requested);
  }
  return at::get_num_threads();
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

int cuda_compute_capability(const torch::Device& device) {
#ifdef MOEKD_CUDA
  if (device.is_cuda()) return at::cuda::getDeviceProperties(device.has_index() ? device.index() : 0)->major;
#endif
  return 0;
}

std::string cuda_device_name(const torch::Device& device) {
#ifdef MOEKD_CUDA
  if (device.is_cuda()) return at::cuda::getDeviceProperties(device.has_index() ? device.index() : 0)->name;
#endif
  return {};
}

double peak_flops(const torch::Device& device, torch::ScalarType compute) {
  if (const char* env = std::getenv("MOEKD_PEAK_TFLOPS"); env && *env) return std::atof(env) * 1e12;
  const auto name = cuda_device_name(device);
  if (name.empty()) return 0;
  // Vendor data sheets, dense (no sparsity): {name fragment, 16-bit tensor-core TFLOP/s, float32 TFLOP/s}.
  struct Peak {
    const char* fragment;
    double half, single;
  };
  static const Peak peaks[] = {{"H200", 989.4, 66.9},     {"H100 PCIe", 756.0, 51.2}, {"H100", 989.4, 66.9},
                               {"GH200", 989.4, 66.9},    {"B200", 2250.0, 80.0},     {"A100", 312.0, 19.5},
                               {"A800", 312.0, 19.5},     {"L40S", 362.1, 91.6},      {"L40", 181.0, 90.5},
                               {"L4", 121.0, 30.3},       {"A10G", 70.0, 31.2},       {"A10", 125.0, 31.2},
                               {"RTX 4090", 165.2, 82.6}, {"V100", 125.0, 15.7},      {"T4", 65.0, 8.1}};
  const bool half = compute == torch::kBFloat16 || compute == torch::kHalf;
  for (const auto& p : peaks)
    if (name.find(p.fragment) != std::string::npos) return (half ? p.half : p.single) * 1e12;
  return 0;
}

int64_t peak_memory_bytes(const torch::Device& device) {
#ifdef MOEKD_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.has_index() ? device.index() : 0);
    return stats.allocated_bytes[kAggregateStat].peak;
  }
#endif
  // VmHWM: the resident set's high-water mark, which reset_peak_memory() can lower (ru_maxrss cannot).
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "VmHWM:  123 kB"
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports kilobytes
}

namespace {
// A /proc/meminfo field ("MemAvailable:"), in bytes; 0 when absent.
int64_t meminfo_bytes(const std::string& field) {
  std::ifstream meminfo("/proc/meminfo");
  for (std::string line; std::getline(meminfo, line);)
    if (line.rfind(field, 0) == 0) return std::stoll(line.substr(field.size())) * 1024;
  return 0;
}

#ifdef MOEKD_CUDA
// The driver's free and total bytes of a CUDA device; false when it cannot tell.
bool cuda_memory(const torch::Device& device, size_t& free, size_t& total) {
  const c10::cuda::CUDAGuard guard(device.has_index() ? device.index() : 0);
  return cudaMemGetInfo(&free, &total) == cudaSuccess;
}
#endif
}  // namespace

int64_t available_memory_bytes(const torch::Device& device) {
#ifdef MOEKD_CUDA
  if (device.is_cuda()) {
    size_t free = 0, total = 0;
    if (!cuda_memory(device, free, total)) return 0;
    // What the caching allocator holds unused is available to this process too.
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.has_index() ? device.index() : 0);
    const auto all = kAggregateStat;
    return static_cast<int64_t>(free) + stats.reserved_bytes[all].current - stats.allocated_bytes[all].current;
  }
#endif
  return meminfo_bytes("MemAvailable:");
}

int64_t total_memory_bytes(const torch::Device& device) {
#ifdef MOEKD_CUDA
  if (device.is_cuda()) {
    size_t free = 0, total = 0;
    return cuda_memory(device, free, total) ? static_cast<int64_t>(total) : 0;
  }
#endif
  return meminfo_bytes("MemTotal:");
}

void reset_peak_memory(const torch::Device& device) {
#ifdef MOEKD_CUDA
  if (device.is_cuda()) {
    c10::cuda::CUDACachingAllocator::resetPeakStats(device.has_index() ? device.index() : 0);
    return;
  }
#endif
  std::ofstream("/proc/self/clear_refs") << "5";  // Linux >= 4.0: VmHWM restarts from the current RSS
}

namespace {

// The BLAS shared object this process has mapped (Debian switches it with update-alternatives).
void find_blas(SystemInfo& info) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const auto path = line.substr(slash);
    const auto file = path.substr(path.rfind('/') + 1);
    const bool blas_like = file.find("blas") != std::string::npos || file.find("mkl_") != std::string::npos ||
                           file.find("libblis") != std::string::npos;
    if (!blas_like || file.find("cublas") != std::string::npos) continue;
    info.blas_path = path;
    if (path.find("openblas") != std::string::npos) {
      info.blas = path.find("pthread") != std::string::npos ? "OpenBLAS (pthread)"
                  : path.find("openmp") != std::string::npos ? "OpenBLAS (OpenMP)"
                                                              : "OpenBLAS";
      info.blas_optimised = true;
      return;
    }
    if (file.find("mkl") != std::string::npos) {
      info.blas = "Intel MKL";
      info.blas_optimised = true;
      return;
    }
    if (file.find("blis") != std::string::npos) {
      info.blas = "BLIS";
      info.blas_optimised = true;
      return;
    }
    if (path.find("atlas") != std::string::npos) {
      info.blas = "ATLAS";
      info.blas_optimised = true;
      return;
    }
    info.blas = "reference BLAS";  // keep looking: an optimised library may be mapped as well
  }
  if (info.blas.empty()) info.blas = "built into LibTorch";  // e.g. MKL linked statically (PyPI builds)
}

// The reference BLAS runs a 1024^3 float32 matmul at ~6 GFLOP/s on the CI machine, any optimised
// one at well over 100; a library we cannot name is judged by its speed.
constexpr double kOptimisedGflops = 30.0;

}  // namespace

Arithmetic current_arithmetic(const torch::Device& device, int threads) {
  Arithmetic a;
  a.libtorch = compat::torch_version();
  a.threads = threads;
  a.device = device.is_cuda() ? "cuda (" + cuda_device_name(device) + ")" : device.str();
  if (device.is_cuda()) {
    a.blas = "cuBLAS";
  } else if (const auto core = openblas_core(); core.loaded) {
    a.blas = "OpenBLAS " + core.in_use;
  } else {
    SystemInfo info;
    find_blas(info);
    a.blas = info.blas;
  }
  // What ATen reports, not what the CPU could do: LibTorch 1.13 runs AVX2 on an AVX-512 CPU
  // unless told otherwise (backend/aten_kernels.h).
  a.cpu_kernels = aten_kernels().in_use;
  return a;
}

SystemInfo probe_system(const torch::Device& device, int64_t n) {
  SystemInfo info;
  info.torch_version = compat::torch_version();
  info.threads = at::get_num_threads();
  info.cuda_devices = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
  info.device = device.str();
  info.matmul_size = n;
  torch::NoGradGuard no_grad;
  auto a = torch::randn({n, n}, torch::dtype(torch::kFloat).device(device));
  auto b = torch::randn({n, n}, torch::dtype(torch::kFloat).device(device));
  auto c = torch::mm(a, b);  // warm-up; also loads the BLAS library
  synchronize(device);
  using clock = std::chrono::steady_clock;
  int reps = 0;
  const auto start = clock::now();
  double seconds = 0;
  do {
    c = torch::mm(a, b);
    ++reps;
    synchronize(device);
    seconds = std::chrono::duration<double>(clock::now() - start).count();
  } while (seconds < 0.5 && reps < 1000);
  info.gflops = 2.0 * n * n * n * reps / seconds / 1e9;
  find_blas(info);
  if (info.blas == "built into LibTorch") info.blas_optimised = info.gflops >= kOptimisedGflops;
  return info;
}

}  // namespace moekd
