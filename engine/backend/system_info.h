#pragma once
// What `moekd doctor` reports: the LibTorch build, the BLAS actually loaded and its measured
// speed, threads, CUDA devices. Needed because Debian's LibTorch silently falls back to the
// reference BLAS (~30x slower) when no optimised one is installed.
#include <string>

#include <torch/torch.h>

#include "backend/devices.h"
#include "run/arithmetic.h"

namespace moekd {

struct SystemInfo {
  std::string torch_version;
  std::string blas;       // e.g. "OpenBLAS (pthread)"; "reference BLAS" is a problem
  std::string blas_path;  // the shared object mapped into this process
  bool blas_optimised = false;
  double gflops = 0.0;    // float32 matmul of `matmul_size`^3 on `device`
  int64_t matmul_size = 1024;
  int threads = 0;
  int cuda_devices = 0;
  std::string device;
};

// Runs a timed matmul on `device` (also to make sure BLAS is loaded before looking at the maps).
SystemInfo probe_system(const torch::Device& device, int64_t matmul_size = 1024);

// The arithmetic this process computes with on `device` when a run uses `threads` threads
// (run/arithmetic.h): the LibTorch version, the BLAS kernels in use (cuBLAS on a CUDA device), the
// CPU kernels ATen dispatches to (ATEN_CPU_CAPABILITY respected, as ATen does), and the device.
Arithmetic current_arithmetic(const torch::Device& device, int threads);

// Parses "cpu", "cuda", "cuda:N"; throws Error naming the option and the allowed values.
torch::Device parse_device(const std::string& text);

// Sets LibTorch's intra-op (OpenMP) threads and OpenBLAS's when `requested` > 0; returns the count in force.
// The default is left alone on purpose: with pthread OpenBLAS, which threads matmuls itself, two
// OpenMP threads on 2 cores made the sparse MoE layer 2-5x slower (measured, oversubscription).
int configure_threads(int requested);

// Waits for queued GPU work so that wall-clock timings are honest.
void synchronize(const torch::Device& device);

// The CUDA device's compute capability as major version (8 for A100, 9 for H100/H200); 0 for the
// CPU or a build without CUDA.
int cuda_compute_capability(const torch::Device& device);

// The CUDA device's name ("NVIDIA H200"); empty for the CPU or a build without CUDA.
std::string cuda_device_name(const torch::Device& device);

// Dense tensor-core peak FLOP/s of a CUDA device computing in `compute` (bfloat16/float16; float32
// without TF32 otherwise), from a table of known GPUs, or MOEKD_PEAK_TFLOPS when set; 0 when
// unknown (the CPU included): model FLOPs utilisation is then not reported.
double peak_flops(const torch::Device& device, torch::ScalarType compute);

// The most memory this process has held since the last reset_peak_memory(): on a CUDA device the
// caching allocator's peak of allocated bytes, on the CPU the peak resident set. Reads no tensor.
int64_t peak_memory_bytes(const torch::Device& device);
void reset_peak_memory(const torch::Device& device);

// Memory a new allocation could still take: on a CUDA device the driver's free bytes plus what the
// caching allocator holds unused; on the CPU the kernel's MemAvailable.
int64_t available_memory_bytes(const torch::Device& device);

// The device's whole memory: a CUDA device's total bytes, the CPU's MemTotal; 0 when unknown.
int64_t total_memory_bytes(const torch::Device& device);

}  // namespace moekd
