#pragma once
// Reading a JSON file the user gave us: a missing file or a syntax error names the file.
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

}  // namespace moekd
