// SPDX-License-Identifier: MIT
#include "launch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <thread>

#include "util/error.h"

extern char** environ;

namespace moekd::cli {
namespace {

std::vector<std::string> g_args;

// A TCP port free on loopback now (bound to port 0 and released; rank 0 binds it next).
int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) fail("--nproc: cannot open a socket to find a free port");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t n = sizeof a;
  const bool ok = ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &n) == 0;
  ::close(s);
  if (!ok) fail("--nproc: no free port on 127.0.0.1 for the rendezvous");
  return ntohs(a.sin_port);
}

volatile std::sig_atomic_t g_interrupted = 0, g_terminated = 0;
extern "C" void note_interrupt(int) { g_interrupted = 1; }
extern "C" void note_terminate(int) { g_terminated = 1; }

}  // namespace

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

pid_t start_this_program(std::vector<std::string> args, std::vector<std::string>* env, bool die_with_parent,
                         const std::string& log_file) {
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (env) {
    for (auto& e : *env) envp.push_back(e.data());
    envp.push_back(nullptr);
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) return pid;  // -1: the caller says what could not start
  if (die_with_parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) std::_Exit(1);  // it died before the line above
  }
  if (!log_file.empty()) {
    const int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || ::dup2(fd, 1) < 0 || ::dup2(fd, 2) < 0) {
      std::perror(log_file.c_str());
      std::_Exit(127);
    }
  }
  if (env) ::execve("/proc/self/exe", argv.data(), envp.data());
  else ::execv("/proc/self/exe", argv.data());
  std::perror("moekd: exec");
  std::_Exit(127);
}

ChildrenSignals::ChildrenSignals() {
  g_interrupted = g_terminated = 0;
  struct sigaction on_int {}, on_term {};
  on_int.sa_handler = note_interrupt;
  sigemptyset(&on_int.sa_mask);
  sigaction(SIGINT, &on_int, &old_int_);
  on_term.sa_handler = note_terminate;
  sigemptyset(&on_term.sa_mask);
  sigaction(SIGTERM, &on_term, &old_term_);
}

ChildrenSignals::~ChildrenSignals() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
}

bool ChildrenSignals::interrupted() const { return g_interrupted != 0; }
bool ChildrenSignals::terminated() const { return g_terminated != 0; }

void ChildrenSignals::pass_on_terminate(const std::vector<pid_t>& pids) {
  if (!g_terminated || passed_on_) return;
  for (const pid_t pid : pids)
    if (pid > 0) ::kill(pid, SIGTERM);
  passed_on_ = true;
}

void set_program_args(int argc, char** argv) { g_args.assign(argv, argv + argc); }
const std::vector<std::string>& program_args() { return g_args; }

std::vector<std::string> without_option(const std::vector<std::string>& args, const std::string& name,
                                        bool takes_value) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == name) {
      if (takes_value) ++i;  // and its value
      continue;
    }
    if (takes_value && args[i].rfind(name + "=", 0) == 0) continue;
    out.push_back(args[i]);
  }
  return out;
}

int run_this_program(const std::vector<std::string>& args) {
  const pid_t pid = start_this_program(args, nullptr, false);
  if (pid < 0) fail("cannot start ", args.empty() ? "moekd" : args[0], " (fork failed)");
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return exit_code_of(status);
}

int launch_local_processes(int nproc, const std::vector<std::string>& args, int grace_s) {
  if (const char* w = std::getenv("WORLD_SIZE"); w && std::string(w) != "1")
    fail("--nproc starts the processes itself; under torchrun or srun (WORLD_SIZE=", w, ") leave it out");
  const int port = free_port();
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const std::string threads = std::to_string(std::max(1u, cores / static_cast<unsigned>(nproc)));
  std::vector<std::string> env_base;
  const char* const ours[] = {"RANK=", "WORLD_SIZE=", "LOCAL_RANK=", "LOCAL_WORLD_SIZE=", "MASTER_ADDR=", "MASTER_PORT="};
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    if (std::none_of(std::begin(ours), std::end(ours), [&](const char* v) { return kv.rfind(v, 0) == 0; }))
      env_base.push_back(kv);
  }
  // Each rank's share of the cores, unless the user chose (OMP_NUM_THREADS, or --threads in args).
  if (!std::getenv("OMP_NUM_THREADS")) env_base.push_back("OMP_NUM_THREADS=" + threads);
  if (!std::getenv("OPENBLAS_NUM_THREADS")) env_base.push_back("OPENBLAS_NUM_THREADS=" + threads);

  // Ctrl-C: the ranks stop after the same step with their checkpoint, the launcher waits for them.
  // SIGTERM (a scheduler, the studio going away): passed on, and the ranks stop as on Ctrl-C.
  ChildrenSignals signals;

  std::vector<pid_t> pids;
  for (int rank = 0; rank < nproc; ++rank) {
    std::vector<std::string> env = env_base;
    env.push_back("WORLD_SIZE=" + std::to_string(nproc));
    env.push_back("LOCAL_WORLD_SIZE=" + std::to_string(nproc));
    env.push_back("RANK=" + std::to_string(rank));
    env.push_back("LOCAL_RANK=" + std::to_string(rank));
    env.push_back("MASTER_ADDR=127.0.0.1");
    env.push_back("MASTER_PORT=" + std::to_string(port));
    const pid_t pid = start_this_program(args, &env, /*die_with_parent=*/true);
    if (pid < 0) fail("--nproc: cannot start rank ", rank, " (fork failed)");
    pids.push_back(pid);
  }

  int first_failure = 0, interrupted = 0;
  std::vector<bool> running(pids.size(), true);
  size_t alive = pids.size();
  auto deadline = std::chrono::steady_clock::time_point::max();
  while (alive > 0) {
    if (signals.terminated()) {
      std::vector<pid_t> live;  // a rank already reaped may have given its pid to another process
      for (size_t i = 0; i < pids.size(); ++i)
        if (running[i]) live.push_back(pids[i]);
      signals.pass_on_terminate(live);
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      const auto it = std::find(pids.begin(), pids.end(), pid);
      if (it == pids.end()) continue;
      const auto rank = it - pids.begin();
      running[static_cast<size_t>(rank)] = false;
      --alive;
      const int code = exit_code_of(status);
      if (WIFSIGNALED(status) && WTERMSIG(status) != SIGINT)
        std::fprintf(stderr, "moekd: rank %d of %d was killed by signal %d (%s)\n", static_cast<int>(rank), nproc,
                     WTERMSIG(status), strsignal(WTERMSIG(status)));
      else if (code != 0 && code != 130)
        std::fprintf(stderr, "moekd: rank %d of %d ended with exit code %d\n", static_cast<int>(rank), nproc, code);
      if (code == 130) interrupted = 130;
      if (code != 0 && code != 130 && first_failure == 0) {
        first_failure = code;
        deadline = std::chrono::steady_clock::now() + std::chrono::seconds(grace_s);
      }
      continue;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      for (size_t i = 0; i < pids.size(); ++i)
        if (running[i]) ::kill(pids[i], SIGKILL);  // the others did not notice in time
      deadline = std::chrono::steady_clock::time_point::max();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return first_failure != 0 ? first_failure : interrupted;
}

}  // namespace moekd::cli
