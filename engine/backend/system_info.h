#pragma once
// What `moekd doctor` reports: the LibTorch build, the BLAS actually loaded and its measured
// speed, threads, CUDA devices. Needed because Debian's LibTorch silently falls back to the
// reference BLAS (~30x slower) when no optimised one is installed.
#include <string>

#include <torch/torch.h>

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

// Parses "cpu", "cuda", "cuda:N"; throws Error naming the option and the allowed values.
torch::Device parse_device(const std::string& text);

// Sets LibTorch's intra-op (OpenMP) threads when `requested` > 0; returns the count in force.
// The default is left alone on purpose: with pthread OpenBLAS, which threads matmuls itself, two
// OpenMP threads on 2 cores made the sparse MoE layer 2-5x slower (measured, oversubscription).
int configure_threads(int requested);

// Waits for queued GPU work so that wall-clock timings are honest.
void synchronize(const torch::Device& device);

}  // namespace moekd
