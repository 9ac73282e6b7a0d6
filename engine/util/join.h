#pragma once
// "a, b, c": parts of a message listed with a separator.
#include <string>
#include <vector>

namespace moekd {

inline std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : separator) + p;
  return out;
}

}  // namespace moekd
