#pragma once
// JSON from the user's files: parsed with a nesting limit (a value nested 100,000 deep is refused
// before anything copies or prints it recursively), read only from regular files of a bounded
// size, and quoted in messages by a short prefix, never whole.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace moekd {

// Deeper than any config, run config, metrics line or safetensors header has a reason to be.
constexpr int kMaxJsonDepth = 64;
// A config, a run config, a state.json, an index: far below this.
constexpr uint64_t kMaxJsonFileBytes = uint64_t{64} << 20;

// The nesting depth of `text` (brackets outside strings), or -1 when it passes `limit`.
int json_depth(std::string_view text, int limit = kMaxJsonDepth);
// Parses `text`; syntax errors and nesting beyond kMaxJsonDepth throw Error naming `source`.
nlohmann::json parse_json(std::string_view text, const std::string& source);
// A regular file of at most kMaxJsonFileBytes, parsed as above.
nlohmann::json read_json_file(const std::string& path);
// Writes `j` (indented) to `path`, whole (write_file_whole); a file that cannot be written is
// named in the error.
void write_json_file(const std::string& path, const nlohmann::json& j);
// Writes `text` to `path` through `path`.tmp renamed into place: a reader (or a crash) never sees
// half a file. Errors name the file.
void write_file_whole(const std::string& path, const std::string& text);

// `v` for a message: a scalar as written, cut after 40 characters; a list or an object by kind.
std::string quote_json(const nlohmann::json& v);
// True when `s` is well-formed UTF-8 (JSON strings must be; nlohmann refuses to write others).
bool is_valid_utf8(std::string_view s);

}  // namespace moekd
