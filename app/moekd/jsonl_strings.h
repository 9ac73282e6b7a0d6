// SPDX-License-Identifier: MIT
#pragma once
// A JSONL file of strings, one per line (moekd tokenize --input, moekd bench tokenize): each string
// handed to `use` in order; blank lines are skipped, anything else that is not a JSON string is
// refused with the file and line.
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "util/error.h"
#include "util/input_file.h"

namespace moekd::cli {

template <typename Use>
void for_each_jsonl_string(const std::string& path, const char* flag, Use use) {
  expect_file(path, flag);
  std::ifstream in(path, std::ios::binary);
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    nlohmann::json s;
    try {
      s = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      fail(path, ":", n, ": not JSON (", e.what(), ")");
    }
    if (!s.is_string()) fail(path, ":", n, ": expected a JSON string, found ", s.type_name());
    use(s.get<std::string>());
  }
}

}  // namespace moekd::cli
