// SPDX-License-Identifier: MIT
// The process group of a build without Gloo (MOEKD_WITH_DIST=OFF): one process only, and a clear
// refusal for more.
#include "dist/process_group.h"
#include "util/error.h"

namespace moekd {

bool several_processes_available() { return false; }

struct ProcessGroup::Impl {};

ProcessGroup::ProcessGroup(const DistEnv& env, const torch::Device&, std::chrono::milliseconds) : env_(env) {
  fail("rank ", env.rank, " of ", env.world_size, ": this build of moekd runs one process only (configured with "
       "MOEKD_WITH_DIST=OFF, without Gloo); unset WORLD_SIZE or use a build with libgloo-dev");
}
ProcessGroup::~ProcessGroup() = default;
std::string ProcessGroup::backend() const { return "none"; }
void ProcessGroup::all_reduce_sum(const std::vector<torch::Tensor>&, int64_t) {}
void ProcessGroup::broadcast(const std::vector<torch::Tensor>&, int) {}
std::vector<double> ProcessGroup::all_gather(double value) { return {value}; }
void ProcessGroup::barrier() {}

}  // namespace moekd
