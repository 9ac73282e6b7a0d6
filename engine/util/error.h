#pragma once
// Errors the user can act on: every message names the file, field or tensor and what was expected.
#include <sstream>
#include <stdexcept>
#include <string>

namespace moekd {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  throw Error(out.str());
}

}  // namespace moekd
