#include "run/metrics_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "util/error.h"
#include "util/input_file.h"
#include "util/json_file.h"

namespace moekd {

using json = nlohmann::json;

MetricsFileObserver::MetricsFileObserver(const std::string& path, bool append) {
  bool torn = false;  // a killed run may have left half a line: the next event starts a new one
  if (append) {
    if (std::FILE* in = std::fopen(path.c_str(), "rb")) {
      torn = std::fseek(in, -1, SEEK_END) == 0 && std::fgetc(in) != '\n';
      std::fclose(in);
    }
  }
  file_ = std::fopen(path.c_str(), append ? "a" : "w");
  if (!file_) fail(path, ": cannot open for writing (", std::strerror(errno), ")");
  if (torn) std::fputc('\n', file_);
}

MetricsFileObserver::~MetricsFileObserver() {
  if (file_) std::fclose(file_);
}

void MetricsFileObserver::write(const json& j) {
  // Generated text may hold invalid UTF-8 (byte-fallback pieces): replace it rather than throw.
  const auto line = j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

std::vector<json> read_metrics(const std::string& path, const std::function<bool(const std::string&)>& keep_line) {
  expect_file(path, "metrics file");
  std::ifstream in(path);
  if (!in) fail(path, ": cannot open");
  std::vector<json> out;
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || (keep_line && !keep_line(line))) continue;
    if (json_depth(line) < 0) fail(path, ": line ", number, " is nested deeper than ", kMaxJsonDepth, " levels");
    try {
      out.push_back(json::parse(line));
    } catch (const json::parse_error& e) {
      // A run killed mid-write leaves a torn line (its input ends early): the last line, or one in
      // the middle once the run was resumed. Anything else is damage.
      const bool torn = e.byte >= line.size();  // the parser ran out of input
      if (torn || in.peek() == EOF) continue;
      fail(path, ": line ", number, " is not valid JSON");
    } catch (const json::exception&) {
      // Well-formed but unreadable, e.g. a number past double's range (found by fuzzing).
      fail(path, ": line ", number, " holds a value that cannot be read (a number out of range?)");
    }
  }
  return out;
}

bool is_routing_line(const std::string& line) {
  // The writer's compact JSON names a routing event exactly so; inside a string the quotes would
  // be escaped, so no other line contains it.
  return line.find("\"type\":\"routing\"") != std::string::npos;
}

}  // namespace moekd
