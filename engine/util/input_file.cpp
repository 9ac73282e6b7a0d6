#include "util/input_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "util/error.h"

namespace moekd {

namespace {

// What is at `path`, in words, for a refusal.
const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

struct stat stat_of(const std::string& path, const std::string& what) {
  struct stat st {};
  if (path.empty()) fail(what, ": no path given");
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) fail(what, " '", path, "' does not exist");
    fail(what, " '", path, "' cannot be read (", std::strerror(errno), ")");
  }
  return st;
}

}  // namespace

void expect_file(const std::string& path, const std::string& what) {
  const auto st = stat_of(path, what);
  if (!S_ISREG(st.st_mode)) fail(what, " '", path, "' is ", kind_of(st.st_mode), "; expected a file");
}

void expect_folder(const std::string& path, const std::string& what) {
  const auto st = stat_of(path, what);
  if (!S_ISDIR(st.st_mode))
    fail(what, " '", path, "' is ", S_ISREG(st.st_mode) ? "a file" : kind_of(st.st_mode), "; expected a folder");
}

uint64_t expect_file_size(const std::string& path, const std::string& what, uint64_t max_bytes) {
  const auto st = stat_of(path, what);
  if (!S_ISREG(st.st_mode)) fail(what, " '", path, "' is ", kind_of(st.st_mode), "; expected a file");
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes)
    fail(what, " '", path, "' has ", size, " bytes, more than the ", max_bytes, " such a file may have");
  return size;
}

std::string read_file_bytes(const std::string& path, const std::string& what, uint64_t max_bytes) {
  const uint64_t size = expect_file_size(path, what, max_bytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(what, " '", path, "' cannot be opened for reading");
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<uint64_t>(in.gcount()) != size) fail(what, " '", path, "': short read");
  return bytes;
}

}  // namespace moekd
