// SPDX-License-Identifier: MIT
#include <cerrno>
#include <cstdlib>

#include "dist/dist_env.h"
#include "util/error.h"

namespace moekd {

namespace {

// An integer environment variable in [lo, hi], or Error naming it.
int env_int(const std::function<const char*(const char*)>& get, const char* name, int lo, int hi, const char* why) {
  const char* v = get(name);
  if (!v || !*v) fail(name, " is not set (", why, ")");
  char* end = nullptr;
  errno = 0;
  const long x = std::strtol(v, &end, 10);
  if (errno != 0 || *end != '\0' || x < lo || x > hi)
    fail(name, "=", v, " is not an integer in [", lo, ", ", hi, "] (", why, ")");
  return static_cast<int>(x);
}

}  // namespace

DistEnv read_dist_env(const std::function<const char*(const char*)>& get_or_null) {
  const std::function<const char*(const char*)> get =
      get_or_null ? get_or_null : [](const char* name) -> const char* { return std::getenv(name); };
  DistEnv env;
  const char* world = get("WORLD_SIZE");
  if (!world || !*world || std::string(world) == "1") return env;
  env.world_size = env_int(get, "WORLD_SIZE", 1, 1 << 16, "the number of processes, as torchrun sets it");
  env.rank = env_int(get, "RANK", 0, env.world_size - 1, "this process's rank, 0 to WORLD_SIZE - 1");
  const char* local = get("LOCAL_RANK");
  env.local_rank = local && *local ? env_int(get, "LOCAL_RANK", 0, env.world_size - 1, "the rank on this machine")
                                   : env.rank;
  const char* addr = get("MASTER_ADDR");
  if (!addr || !*addr) fail("MASTER_ADDR is not set (the host of rank 0, which serves the rendezvous)");
  env.master_addr = addr;
  env.master_port = env_int(get, "MASTER_PORT", 1, 65535, "the rendezvous port on MASTER_ADDR");
  return env;
}

std::string device_for_rank(const std::string& device, const DistEnv& env, int cuda_devices) {
  if (!env.distributed() || device.rfind("cuda", 0) != 0) return device;
  const std::string who = "rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size);
  if (device != "cuda")
    fail(who, ": train.device `", device, "` would put every process on one GPU; with several processes set it to "
         "`cuda`, and each takes the device of its LOCAL_RANK");
  if (cuda_devices <= 0) return device;  // parse_device says there is none
  if (env.local_rank < cuda_devices) return "cuda:" + std::to_string(env.local_rank);
  if (cuda_devices == 1) return "cuda:0";  // this process sees its own device only
  fail(who, ": LOCAL_RANK ", env.local_rank, " needs a CUDA device of its own, and this machine shows ", cuda_devices,
       " (cuda:0 to cuda:", cuda_devices - 1, "); start at most ", cuda_devices, " processes per machine");
}

}  // namespace moekd
