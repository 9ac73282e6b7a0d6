#pragma once
// Paths the user gives, checked before anything opens them: open() on a FIFO blocks forever, a
// device such as /dev/zero streams without end, and a folder read as a file fails with the C++
// library's words. Every refusal names the path, what it should have been and what it is.
#include <cstdint>
#include <string>

namespace moekd {

// Throws Error unless `path` is a regular file (symbolic links followed). `what` names the
// role in the message: "run config", "dataset", "model.safetensors".
void expect_file(const std::string& path, const std::string& what);
// Throws Error unless `path` is a folder.
void expect_folder(const std::string& path, const std::string& what);
// The size of a regular file (expect_file first), refused above `max_bytes`.
uint64_t expect_file_size(const std::string& path, const std::string& what, uint64_t max_bytes);
// The whole of a regular file of at most `max_bytes`.
std::string read_file_bytes(const std::string& path, const std::string& what, uint64_t max_bytes);

}  // namespace moekd
