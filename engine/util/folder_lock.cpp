#include "util/folder_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "util/error.h"

namespace moekd {

namespace fs = std::filesystem;

namespace {

std::string lock_path(const std::string& dir) { return (fs::path(dir) / ".moekd.lock").string(); }

// The holder's own words, written into the lock file once it holds the lock.
std::string read_holder(int fd) {
  char text[256];
  const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
  if (n <= 0) return "another process, starting";  // between its flock() and its write
  std::string s(text, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s;
}

enum class Outcome { Locked, Held, Unlockable };

// Opens `dir`'s lock file and takes an exclusive lock; `fd` stays open when it is locked (Locked)
// or for reading its holder (Held). A lister's probe (holder()) holds a shared lock for a moment,
// so a lock that is busy is asked for again for a fifth of a second before it counts as held.
Outcome try_lock(const std::string& dir, bool create_dir, int& fd, std::string& why) {
  fd = -1;
  if (create_dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      why = "cannot create the folder (" + ec.message() + ")";
      return Outcome::Unlockable;
    }
  }
  fd = ::open(lock_path(dir).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    why = "cannot open " + lock_path(dir) + " (" + std::strerror(errno) + ")";
    return Outcome::Unlockable;
  }
  for (int attempt = 0;; ++attempt) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return Outcome::Locked;
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) break;
    if (attempt == 20) return Outcome::Held;
    ::usleep(10000);
  }
  why = "cannot lock " + lock_path(dir) + " (" + std::strerror(errno) + ")";
  ::close(fd);
  fd = -1;
  return Outcome::Unlockable;
}

std::string describe_self(const std::string& role) {
  char when[32] = "";
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  if (::gmtime_r(&now, &utc)) std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &utc);
  return "pid " + std::to_string(::getpid()) + ", " + role + ", since " + when;
}

[[noreturn]] void fail_held(const std::string& dir, int fd) {
  const std::string who = read_holder(fd);
  ::close(fd);
  fail(dir, ": in use by another process (", who, "); wait for it to end or stop it");
}

}  // namespace

FolderLock::~FolderLock() {
  // Emptied first, so that the file left behind names nobody; the lock goes with the descriptor.
  if (::ftruncate(fd_, 0) != 0) {
  }
  ::close(fd_);
}

std::unique_ptr<FolderLock> FolderLock::hold(int fd, const std::string& role) {
  std::unique_ptr<FolderLock> lock(new FolderLock(fd));
  const std::string me = describe_self(role) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, me.data(), me.size(), 0) < 0) {
    // The lock holds without the words; a second process then reads "another process, starting".
  }
  return lock;
}

std::unique_ptr<FolderLock> FolderLock::try_acquire(const std::string& dir, const std::string& role) {
  int fd = -1;
  std::string why;
  if (try_lock(dir, /*create_dir=*/false, fd, why) == Outcome::Locked) return hold(fd, role);
  if (fd >= 0) ::close(fd);
  return nullptr;
}

std::unique_ptr<FolderLock> FolderLock::acquire(const std::string& dir, const std::string& role) {
  int fd = -1;
  std::string why;
  switch (try_lock(dir, /*create_dir=*/true, fd, why)) {
    case Outcome::Locked:
      return hold(fd, role);
    case Outcome::Held:
      fail_held(dir, fd);
    case Outcome::Unlockable:
      break;
  }
  fail(dir, ": ", why);
}

std::string FolderLock::holder(const std::string& dir) {
  const int fd = ::open(lock_path(dir).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string who;
  // A shared lock granted at once means nobody holds the exclusive one.
  if (::flock(fd, LOCK_SH | LOCK_NB) == 0) ::flock(fd, LOCK_UN);
  else if (errno == EWOULDBLOCK) who = read_holder(fd);
  ::close(fd);
  return who;
}

}  // namespace moekd
