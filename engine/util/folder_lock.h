#pragma once
// Who may write a folder: a training run's folder, a grid's folder. The writer holds an exclusive
// flock(2) on `<folder>/.moekd.lock` from before it first touches the folder until it ends; the
// kernel drops the lock when the process dies, however it dies, so a killed run never leaves a
// stale lock behind. Without it two processes on one run (a second `moekd distill --resume`, an
// `evaluate` repairing checkpoints the trainer is writing, two `moekd compare` on one grid) would
// overwrite each other's files.
#include <memory>
#include <string>

namespace moekd {

class FolderLock {
 public:
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

  // Takes the lock on `dir` (created if missing) for `role` ("a training run", "moekd compare"),
  // or throws Error naming the folder and its holder: "<dir>: in use by another process (pid 4242,
  // a training run, since 23:40:01 UTC); wait for it to end or stop it".
  static std::unique_ptr<FolderLock> acquire(const std::string& dir, const std::string& role);
  // The same without throwing: null when another process holds the lock, or when `dir` cannot be
  // locked at all (missing, read-only: an archived run, which nobody writes either).
  static std::unique_ptr<FolderLock> try_acquire(const std::string& dir, const std::string& role);
  // Who holds `dir`'s lock ("pid 4242, a training run, since 23:40:01 UTC"), or empty when nobody
  // does. Takes nothing: a probe for listings.
  static std::string holder(const std::string& dir);

 private:
  explicit FolderLock(int fd) : fd_(fd) {}
  // Wraps a descriptor that holds the lock and writes the holder's words into it.
  static std::unique_ptr<FolderLock> hold(int fd, const std::string& role);
  int fd_;
};

}  // namespace moekd
