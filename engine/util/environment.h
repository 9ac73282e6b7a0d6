#pragma once
// A process environment variable, "" when it is not set.
#include <cstdlib>
#include <string>

namespace moekd {

inline std::string environment_variable(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace moekd
