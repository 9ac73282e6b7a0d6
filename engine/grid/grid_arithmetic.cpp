#include "grid/grid_arithmetic.h"

#include <filesystem>

#include "util/error.h"
#include "util/join.h"
#include "util/json_file.h"

namespace moekd {

using json = nlohmann::json;

namespace {

std::string record_path(const GridFolder& folder) { return folder.dir() + "/arithmetic.json"; }

void write_record(const GridFolder& folder, const GridArithmetic& g) {
  json j = to_json(g.first);
  if (!g.mixed_with.empty()) {
    j["mixed_with"] = json::array();
    for (const auto& a : g.mixed_with) j["mixed_with"].push_back(to_json(a));
  }
  write_json_file(record_path(folder), j);
}

}  // namespace

std::optional<GridArithmetic> read_grid_arithmetic(const GridFolder& folder) {
  const auto path = record_path(folder);
  if (!std::filesystem::exists(path)) return std::nullopt;
  const json j = read_json_file(path);
  GridArithmetic g;
  g.first = arithmetic_from_json(j, path);
  if (j.contains("mixed_with")) {
    if (!j["mixed_with"].is_array()) fail(path, ": `mixed_with` must be an array of arithmetics");
    for (const auto& a : j["mixed_with"]) g.mixed_with.push_back(arithmetic_from_json(a, path + " (mixed_with)"));
  }
  return g;
}

std::string settle_grid_arithmetic(const GridFolder& folder, const Arithmetic& now, bool allow_mixed,
                                   int64_t finished_runs) {
  auto record = read_grid_arithmetic(folder);
  if (!record) {
    write_record(folder, GridArithmetic{now, {}});
    if (finished_runs == 0) return "";
    return "arithmetic: the " + std::to_string(finished_runs) +
           " finished runs came with no record of theirs; recorded this process's (" + describe(now) + ")";
  }
  if (record->first == now) return "";
  for (const auto& a : record->mixed_with)
    if (a == now) return "arithmetic: this grid mixes arithmetics (" + record_path(folder) + "); continuing with " + describe(now);
  if (!allow_mixed) {
    const auto remedies = arithmetic_remedies(record->first, now);
    throw ArithmeticMismatch(
        record_path(folder) + ": this grid's runs were computed with " + describe(record->first) +
        "; this process would compute with " + describe(now) + " (" +
        join(arithmetic_differences(record->first, now, "there", "here"), "; ") +
        "). Runs of one grid must round alike, or a paired difference mixes the method with the rounding. " +
        (remedies.empty() ? std::string("Continue it where it was run") : "Match it with " + join(remedies, " and ")) +
        ", or pass --mixed-arithmetic to continue anyway (results.md will say the grid mixes them)");
  }
  record->mixed_with.push_back(now);
  write_record(folder, *record);
  return "arithmetic: continuing with " + describe(now) + ", unlike this grid's " + describe(record->first) +
         " (--mixed-arithmetic; recorded in " + record_path(folder) + ")";
}

std::vector<std::string> describe(const GridArithmetic& g) {
  std::vector<std::string> out{describe(g.first)};
  for (const auto& a : g.mixed_with) out.push_back(describe(a));
  return out;
}

}  // namespace moekd
