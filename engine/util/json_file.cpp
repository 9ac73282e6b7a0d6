#include "util/json_file.h"

#include <filesystem>

#include <fstream>

#include "util/error.h"
#include "util/input_file.h"

namespace moekd {

using json = nlohmann::json;

int json_depth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return -1;
      if (depth > deepest) deepest = depth;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

json parse_json(std::string_view text, const std::string& source) {
  if (json_depth(text) < 0)
    fail(source, ": JSON nested deeper than ", kMaxJsonDepth, " levels (is this the right file?)");
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    fail(source, ": not valid JSON (", e.what(), ")");
  }
}

json read_json_file(const std::string& path) {
  return parse_json(read_file_bytes(path, "JSON file", kMaxJsonFileBytes), path);
}

void write_json_file(const std::string& path, const json& j) {
  std::string text;
  try {
    text = j.dump(2);
  } catch (const json::exception& e) {  // text that is not UTF-8
    fail(path, ": cannot be written (", e.what(), ")");
  }
  write_file_whole(path, text + "\n");
}

void write_file_whole(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  std::error_code ec;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) {
      out.close();
      std::filesystem::remove(tmp, ec);
      fail(tmp, ": cannot be written (disk full?)");
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    fail(path, ": cannot rename the temporary file into place");
  }
}

std::string quote_json(const json& v) {
  if (v.is_array()) return "a list";
  if (v.is_object()) return "an object";
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 40) s = s.substr(0, 40) + "...";
  return s;
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;  // continuation bytes
    uint32_t cp = 0;
    if ((c >> 5) == 0x6) n = 1, cp = c & 0x1F;
    else if ((c >> 4) == 0xE) n = 2, cp = c & 0x0F;
    else if ((c >> 3) == 0x1E) n = 3, cp = c & 0x07;
    else return false;
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

}  // namespace moekd
