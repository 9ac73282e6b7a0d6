// SPDX-License-Identifier: MIT
// The process group of a build without Gloo and NCCL (MOEKD_WITH_DIST=OFF, or neither found): one
// process only, and a clear refusal for more.
#include "dist/process_group.h"
#include "util/error.h"

namespace moekd {

bool several_processes_available() { return false; }

struct ProcessGroup::Impl {};

ProcessGroup::ProcessGroup(const DistEnv& env, const torch::Device&, std::chrono::milliseconds) : env_(env) {
  fail("rank ", env.rank, " of ", env.world_size, ": this build of moekd runs one process only (built without Gloo "
       "and NCCL, or with MOEKD_WITH_DIST=OFF); unset WORLD_SIZE, or use a build with libgloo-dev (CPU) or a CUDA "
       "LibTorch with NCCL");
}
ProcessGroup::~ProcessGroup() = default;
std::string ProcessGroup::backend() const { return "none"; }
void ProcessGroup::all_reduce_sum(const std::vector<torch::Tensor>&, int64_t) {}
void ProcessGroup::broadcast(const std::vector<torch::Tensor>&, int) {}
std::vector<double> ProcessGroup::all_gather(double value) { return {value}; }
void ProcessGroup::barrier() {}

}  // namespace moekd
