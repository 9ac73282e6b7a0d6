#pragma once
// Where this process stands among several, from the standard environment (as torchrun and Slurm
// set it). Torch-free: the studio asks it too.
#include <functional>
#include <string>

namespace moekd {

struct DistEnv {
  int rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr;
  int master_port = 0;
  bool distributed() const { return world_size > 1; }
};

// Reads RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT from `get` (getenv by default).
// WORLD_SIZE unset or 1: one process, the rest ignored. Otherwise every one is required (LOCAL_RANK
// defaults to RANK) and must be in range: an Error names the variable, its value and the range.
DistEnv read_dist_env(const std::function<const char*(const char*)>& get = {});

// Whether this build can join a process group (built with MOEKD_WITH_DIST, against Gloo).
bool several_processes_available();

}  // namespace moekd
