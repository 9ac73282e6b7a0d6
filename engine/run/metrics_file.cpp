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

bool replay_event(const json& e, RunObserver& o) {
  const auto type = e.value("type", std::string());
  if (type == "step") o.on_step(step_metrics_from_json(e));
  else if (type == "eval") o.on_eval(eval_result_from_json(e));
  else if (type == "routing") o.on_routing(routing_snapshot_from_json(e));
  else if (type == "generation") o.on_generation(generation_sample_from_json(e));
  else if (type == "checkpoint") o.on_checkpoint(checkpoint_saved_from_json(e));
  else if (type == "finished") o.on_finished(run_finished_from_json(e));
  else if (type == "failed") o.on_failed(run_failed_from_json(e));
  else if (type == "arithmetic") o.on_arithmetic(arithmetic_used_from_json(e));
  else if (type == "message") o.on_message(e.value("text", std::string()));
  else return false;
  return true;
}

int MetricsTail::poll(RunObserver& o) {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return 0;  // not created yet
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < offset_) offset_ = 0;  // replaced by a new file: read it from its start
  if (size == offset_) return 0;
  in.seekg(offset_);
  std::string chunk(static_cast<size_t>(size - offset_), '\0');
  in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  chunk.resize(static_cast<size_t>(in.gcount()));
  int sent = 0;
  size_t begin = 0;
  for (size_t nl; (nl = chunk.find('\n', begin)) != std::string::npos; begin = nl + 1) {
    const std::string line = chunk.substr(begin, nl - begin);
    if (line.empty()) continue;
    try {
      if (json_depth(line) < 0) ++skipped_;
      else if (replay_event(json::parse(line), o)) ++sent;
    } catch (const json::exception&) {
      ++skipped_;  // torn by a killed writer, or damaged: the lines after it still count
    }
  }
  offset_ += static_cast<std::streamoff>(begin);  // a partial last line is read again next time
  return sent;
}

bool is_routing_line(const std::string& line) {
  // The writer's compact JSON names a routing event exactly so; inside a string the quotes would
  // be escaped, so no other line contains it.
  return line.find("\"type\":\"routing\"") != std::string::npos;
}

}  // namespace moekd
