// SPDX-License-Identifier: MIT
// The c10d process group behind data parallelism: ProcessGroupGloo for CPU ranks, built against
// Debian's libgloo-dev (MOEKD_DIST_GLOO), and ProcessGroupNCCL for CUDA ranks, built where the
// LibTorch has CUDA and NCCL (MOEKD_DIST_NCCL). Collectives run on the backend's device: tensors
// that live elsewhere (the CPU's token counts on a CUDA rank) travel there in the flat bucket.
#include "dist/process_group.h"

#ifdef MOEKD_DIST_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef MOEKD_DIST_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <csignal>
#include <map>

#include "util/error.h"

namespace moekd {
struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
#ifdef MOEKD_DIST_GLOO
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#endif
#ifdef MOEKD_DIST_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  std::chrono::milliseconds timeout{0};
  torch::Device device{torch::kCPU};  // where the collectives' tensors live

  // Starts one collective on whichever backend this group has and waits for it. Gloo blocks
  // this thread up to the timeout. NCCL's wait only makes the current CUDA stream wait (no host
  // synchronisation inside a step); its watchdog ends a collective that outlives the timeout.
  template <typename Start>
  void run(Start&& start) {
#ifdef MOEKD_DIST_NCCL
    if (nccl) {
      start(*nccl)->wait();
      return;
    }
#endif
#ifdef MOEKD_DIST_GLOO
    if (gloo) {
      start(*gloo)->wait(timeout);
      return;
    }
#endif
    fail("no process group backend was set up");
  }
};

namespace {

// Runs one collective, turning c10d's, Gloo's and NCCL's exceptions into an Error that names
// this rank, the collective and the usual causes.
template <typename Body>
void collective(const DistEnv& env, const char* what, Body&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    std::string detail = e.what();
    if (const auto cut = detail.find("\nException raised from"); cut != std::string::npos) detail.resize(cut);
    fail("rank ", env.rank, " of ", env.world_size, ": ", what, " failed: ", detail,
         " (another rank stopped or hung: its own message names why; train.dist_timeout_s bounds the wait)");
  }
}

}  // namespace

ProcessGroup::ProcessGroup(const DistEnv& env, const torch::Device& device, std::chrono::milliseconds timeout)
    : env_(env), impl_(std::make_unique<Impl>()) {
  impl_->timeout = timeout;
  impl_->device = device;
#ifndef MOEKD_DIST_NCCL
  if (device.is_cuda())
    fail("rank ", env.rank, ": several processes on CUDA need NCCL, which this build of moekd does not have (its "
         "LibTorch has no CUDA, or NCCL's headers were not found); use train.device cpu (Gloo) or a CUDA build");
#endif
#ifndef MOEKD_DIST_GLOO
  if (!device.is_cuda())
    fail("rank ", env.rank, ": several processes on the CPU need Gloo, which this build of moekd does not have "
         "(configured without libgloo-dev); use train.device cuda (NCCL) or a build with Gloo");
#endif
  // Gloo writes with writev(), which raises SIGPIPE when a dead peer has reset the connection:
  // by default a silent death of this rank, instead of the collective's error naming the peer.
  // Python ignores SIGPIPE, which is why PyTorch never sees this; a C++ program must say so.
  std::signal(SIGPIPE, SIG_IGN);
  collective(env_, "the rendezvous", [&] {
    c10d::TCPStoreOptions o;
    o.port = static_cast<std::uint16_t>(env.master_port);
    o.isServer = env.rank == 0;
    o.numWorkers = static_cast<std::size_t>(env.world_size);
    o.waitWorkers = true;
    o.timeout = timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, o);
#ifdef MOEKD_DIST_NCCL
    if (device.is_cuda()) {
      // NCCL's communicator belongs to the current device: make it this rank's before the first
      // collective creates it.
      c10::cuda::set_device(device.index());
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      impl_->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, env.rank, env.world_size, options);
      return;
    }
#endif
#ifdef MOEKD_DIST_GLOO
    auto options = c10d::ProcessGroupGloo::Options::create();
    options->timeout = timeout;
    // This group runs one collective at a time and waits for it: one worker thread is enough (the
    // default two compete with training for the cores a rank is given).
    options->threads = 1;
    // One machine (the rendezvous on loopback): loopback; else the interface of this host's name.
    const bool local = env.master_addr == "127.0.0.1" || env.master_addr == "localhost";
    options->devices.push_back(local ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                     : c10d::ProcessGroupGloo::createDefaultDevice());
    impl_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env.rank, env.world_size, options);
#endif
  });
}

ProcessGroup::~ProcessGroup() = default;

bool several_processes_available() { return true; }

std::string ProcessGroup::backend() const { return impl_->device.is_cuda() ? "nccl" : "gloo"; }

void ProcessGroup::all_reduce_sum(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes) {
  // Buckets of one dtype, in the tensors' order (the same on every rank, so buckets line up).
  std::map<c10::ScalarType, std::vector<torch::Tensor>> by_dtype;
  for (const auto& t : tensors)
    if (t.defined() && t.numel() > 0) by_dtype[t.scalar_type()].push_back(t);
  for (auto& [dtype, list] : by_dtype) {
    size_t i = 0;
    while (i < list.size()) {
      std::vector<torch::Tensor> bucket;
      int64_t bytes = 0;
      while (i < list.size() && (bucket.empty() || bytes + static_cast<int64_t>(list[i].nbytes()) <= bucket_bytes)) {
        bytes += static_cast<int64_t>(list[i].nbytes());
        bucket.push_back(list[i++]);
      }
      std::vector<torch::Tensor> flat_views;
      for (const auto& t : bucket) flat_views.push_back(t.detach().reshape(-1).to(impl_->device));
      std::vector<torch::Tensor> flat{torch::cat(flat_views).contiguous()};
      collective(env_, "a gradient all-reduce", [&] {
        c10d::AllreduceOptions o;
        o.reduceOp = c10d::ReduceOp::SUM;
        impl_->run([&](auto& pg) { return pg.allreduce(flat, o); });
      });
      int64_t at = 0;
      torch::NoGradGuard no_grad;
      for (auto& t : bucket) {
        t.detach().copy_(flat[0].narrow(0, at, t.numel()).view_as(t));
        at += t.numel();
      }
    }
  }
}

void ProcessGroup::broadcast(const std::vector<torch::Tensor>& tensors, int root) {
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    if (!t.defined() || t.numel() == 0) continue;
    std::vector<torch::Tensor> one{t.detach().contiguous().to(impl_->device)};
    collective(env_, "a broadcast", [&] {
      c10d::BroadcastOptions o;
      o.rootRank = root;
      impl_->run([&](auto& pg) { return pg.broadcast(one, o); });
    });
    if (one[0].data_ptr() != t.data_ptr()) t.detach().copy_(one[0]);
  }
}

std::vector<double> ProcessGroup::all_gather(double value) {
  // Each rank writes its slot of a zero vector; the sum is every slot (no allgather API needed,
  // which differs between LibTorch versions).
  auto slots = torch::zeros({env_.world_size}, torch::kDouble);
  slots[env_.rank] = value;
  all_reduce_sum({slots});
  return std::vector<double>(slots.data_ptr<double>(), slots.data_ptr<double>() + env_.world_size);
}

void ProcessGroup::barrier() { all_gather(0.0); }

}  // namespace moekd
