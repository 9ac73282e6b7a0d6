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

// The device this process trains on. One process: `device` as configured. Several on CUDA: each
// takes its own, `cuda` becoming cuda:LOCAL_RANK as torchrun's convention has it, or cuda:0 where
// the process sees one device only (Slurm's --gpus-per-task); an explicit cuda:N is refused (every
// rank would share it), as is a LOCAL_RANK beyond the `cuda_devices` this machine shows.
std::string device_for_rank(const std::string& device, const DistEnv& env, int cuda_devices);

// Whether this build can join a process group (built with MOEKD_WITH_DIST: Gloo, NCCL or both).
bool several_processes_available();

}  // namespace moekd
