// SPDX-License-Identifier: MIT
#pragma once
// Several processes on PyTorch's c10d: the standard environment (as torchrun and Slurm set it),
// a TCPStore rendezvous, and ProcessGroupGloo on the CPU or ProcessGroupNCCL on CUDA. The
// collectives data parallelism needs, nothing more: sums in flat buckets, broadcast, gather of
// scalars, barrier. Every failure (a bad variable, a rank that died, a collective that timed out)
// becomes moekd::Error naming the rank and what went wrong.
#include <torch/torch.h>

#include "dist/dist_env.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace moekd {

class ProcessGroup {
 public:
  // Joins the group described by `env` (rank 0 serves the TCPStore at MASTER_ADDR:MASTER_PORT).
  // `device` picks the backend: Gloo for cpu, NCCL for cuda (the build must have CUDA). Every
  // collective, and the rendezvous itself, gives up after `timeout`.
  ProcessGroup(const DistEnv& env, const torch::Device& device, std::chrono::milliseconds timeout);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }
  std::string backend() const;

  // Sums each tensor over the ranks, in place. Tensors of one dtype are copied into flat buckets
  // of at most `bucket_bytes` (one collective each, fewer and larger messages than per tensor),
  // reduced, and copied back; undefined tensors are skipped (the same on every rank).
  void all_reduce_sum(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes = 25 << 20);
  // Rank `root`'s values into every rank's tensors, in place.
  void broadcast(const std::vector<torch::Tensor>& tensors, int root = 0);
  // Every rank's `value`, in rank order.
  std::vector<double> all_gather(double value);
  void barrier();

 private:
  struct Impl;
  DistEnv env_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace moekd
