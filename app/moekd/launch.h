// SPDX-License-Identifier: MIT
#pragma once
// `moekd distill --nproc N`: N copies of this command on this machine, each with the environment
// torchrun would give it (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR=127.0.0.1, a free
// MASTER_PORT) and its share of the cores, so that a single machine needs no torchrun.
#include <signal.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace moekd::cli {

// This program's arguments as main() received them (set once, at start).
void set_program_args(int argc, char** argv);
const std::vector<std::string>& program_args();

// Runs `nproc` processes of this program with `args` (program_args() without --nproc) and
// waits for all of them. When one fails, the others get `grace_s` seconds to notice it in their
// next collective and end on their own, then are killed. Returns 0 when every rank succeeded,
// 130 when the run was interrupted (Ctrl-C reaches every rank), else the first failing rank's
// exit code.
int launch_local_processes(int nproc, const std::vector<std::string>& args, int grace_s);

// `args` without the option `name` ("--nproc N" and "--nproc=N"; a flag, when `takes_value` is
// false, alone).
std::vector<std::string> without_option(const std::vector<std::string>& args, const std::string& name,
                                        bool takes_value = true);
inline std::vector<std::string> without_nproc(const std::vector<std::string>& args) {
  return without_option(args, "--nproc");
}

// Starts this program again with `args` (args[0] its name) and, when given, the environment
// `env` instead of this one's; -1 when it could not. `die_with_parent`: the child gets SIGTERM
// when this process ends (a launcher killed outright, with no chance to pass anything on, still
// ends its ranks). `log_file`, when given, takes the child's stdout and stderr (appended).
pid_t start_this_program(std::vector<std::string> args, std::vector<std::string>* env, bool die_with_parent,
                         const std::string& log_file = "");
// A waitpid() status as a shell shows it: the exit code, or 128 + the signal.
int exit_code_of(int status);

// While it lives, this process stands between a terminal (or a scheduler) and the children it
// started. Ctrl-C goes to the whole process group, so the children stop on it by themselves: here
// it is only noted, rather than ending this process. SIGTERM reaches this process alone: it is
// noted, and pass_on_terminate() sends it to the children. A handler rather than SIG_IGN, which
// exec would hand down to them. The previous handlers come back at the end.
class ChildrenSignals {
 public:
  ChildrenSignals();
  ~ChildrenSignals();
  ChildrenSignals(const ChildrenSignals&) = delete;
  ChildrenSignals& operator=(const ChildrenSignals&) = delete;
  bool interrupted() const;  // Ctrl-C came
  bool terminated() const;   // SIGTERM came
  // After a SIGTERM, sends it once to each of `pids` (entries <= 0 skipped).
  void pass_on_terminate(const std::vector<pid_t>& pids);

 private:
  struct sigaction old_int_ {}, old_term_ {};
  bool passed_on_ = false;
};

// Runs this program once more with `args` (args[0] is its name) and waits: its exit code.
int run_this_program(const std::vector<std::string>& args);

}  // namespace moekd::cli
