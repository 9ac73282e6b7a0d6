#pragma once
// JSON files: reading one the user gave us (a missing file or a syntax error names the file),
// writing one that a failure names.
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "util/error.h"

namespace moekd {

inline nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(path, ": cannot open");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": not valid JSON (", e.what(), ")");
  }
}

// Writes `j` (indented) to `path`; a file that cannot be written is named in the error.
inline void write_json_file(const std::string& path, const nlohmann::json& j) {
  std::ofstream out(path);
  if (!out) fail(path, ": cannot write");
  out << j.dump(2) << "\n";
  if (!out) fail(path, ": write failed (disk full?)");
}

}  // namespace moekd
