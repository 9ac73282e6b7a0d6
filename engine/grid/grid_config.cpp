#include "grid/grid_config.h"

#include <algorithm>
#include <map>
#include <set>

#include "run/run_config.h"
#include "util/error.h"
#include "util/join.h"
#include "util/json_file.h"

namespace moekd {

using json = nlohmann::json;

const char* data_order_name(DataOrder d) { return d == DataOrder::Seed ? "seed" : "fixed"; }

const GridCell* Grid::cell(const std::string& id) const {
  for (const auto& c : cells)
    if (c.id == id) return &c;
  return nullptr;
}

bool Grid::compares() const {
  return std::any_of(cells.begin(), cells.end(), [](const GridCell& c) { return !c.baseline.empty(); });
}

std::string Grid::cell_title(const GridCell& c) const {
  if (c.id == baseline) return c.label + " (baseline)";
  if (!c.baseline.empty() && c.baseline != baseline) return c.label + " (vs " + c.baseline + ")";
  return c.label;
}

bool setting_applies(const std::string& key, const std::string& method) {
  auto under = [&](const char* section) { return key.rfind(std::string(section) + ".", 0) == 0 || key == section; };
  const bool has_teacher = method == "kd" || method == "ka" || method == "sar";
  if (under("ka")) return method == "ka";
  if (under("sar")) return method == "sar";
  if (under("teacher_policy")) return method == "kd";
  if (under("distill") || under("teacher")) return has_teacher;
  return true;
}

namespace {

const std::vector<std::string> kGridMethods = {"sft", "kd", "ka", "sar"};
const std::vector<std::string> kGridKeys = {"name", "base", "axes", "cells", "seeds", "data_order", "baseline", "plots"};

std::string joined(const std::vector<std::string>& v) { return join(v, ", "); }

// "kd, ka_ka.lambda=0.1, ...": for messages that say which cells there are.
std::string cell_ids(const Grid& g) {
  std::vector<std::string> ids;
  for (const auto& c : g.cells) ids.push_back(c.id);
  return joined(ids);
}

bool is_id(const std::string& s) {
  return !s.empty() && s.size() <= 120 && s != "." && s != ".." &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '=';
         });
}

// A value as a cell's name shows it: strings bare, numbers as JSON writes them.
std::string value_text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string folder_safe(std::string s) {
  for (auto& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '=')) c = '-';
  return s;
}

// Sets the dotted field `key` of `j`, making the objects on the way; `what` names the grid field.
void set_field(json& j, const std::string& key, const json& value, const std::string& what) {
  json* at = &j;
  size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) fail(what, ": `", key, "` is not a config field (empty part between dots)");
    if (at->is_null()) *at = json::object();
    if (!at->is_object()) fail(what, ": `", key, "` goes through a value that is not an object");
    if (dot == std::string::npos) {
      (*at)[part] = value;
      return;
    }
    at = &(*at)[part];
    start = dot + 1;
  }
}

const json* get_field(const json& j, const std::string& key) {
  const json* at = &j;
  size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!at->is_object()) return nullptr;
    auto it = at->find(part);
    if (it == at->end()) return nullptr;
    if (dot == std::string::npos) return &*it;
    at = &*it;
    start = dot + 1;
  }
}

// Fields the grid itself sets in every cell.
void refuse_grid_owned(const std::string& key, const std::string& what) {
  if (key == "run_dir" || key == "name")
    fail(what, ": `", key, "` is set by the grid (cells/<cell>/seed-<s> in its folder); leave it out");
  if (key == "train.seed") fail(what, ": `train.seed` is set by the grid's `seeds`; leave it out");
  if (key == "train.data_seed")
    fail(what, ": `train.data_seed` is set by the grid's `data_order`; choose \"seed\" or \"fixed\" there");
}

std::vector<uint64_t> read_seeds(const json& v, const std::string& src) {
  std::vector<uint64_t> seeds;
  if (v.is_number_integer()) {
    const auto n = v.get<int64_t>();
    if (n < 1 || n > 1000) fail(src, ": `seeds` as a count must be in [1, 1000], got ", n);
    for (int64_t i = 1; i <= n; ++i) seeds.push_back(static_cast<uint64_t>(i));
    return seeds;
  }
  if (!v.is_array() || v.empty() || v.size() > 1000)
    fail(src, ": `seeds` must be a list of 1 to 1000 seeds (e.g. [1, 2, 3]) or a count (5 = 1..5), got ", quote_json(v));
  std::set<uint64_t> seen;
  for (size_t i = 0; i < v.size(); ++i) {
    const auto& s = v[i];
    if (!s.is_number_integer() || (!s.is_number_unsigned() && s.get<int64_t>() < 0))
      fail(src, ": `seeds[", i, "]` must be a non-negative integer, got ", quote_json(s));
    if (!seen.insert(s.get<uint64_t>()).second) fail(src, ": `seeds[", i, "]` = ", s.dump(), " is listed twice");
    seeds.push_back(s.get<uint64_t>());
  }
  return seeds;
}

// Parses a cell's run config; `what` starts the message (the grid field the cell came from).
void check_run(const json& config, const std::string& what) { (void)parse_run_config(config, what); }

}  // namespace

std::string GridFolder::relative_run_dir(const std::string& cell, uint64_t seed) {
  return "cells/" + cell + "/seed-" + std::to_string(seed);
}
std::string GridFolder::run_dir(const std::string& cell, uint64_t seed) const {
  return dir_ + "/" + relative_run_dir(cell, seed);
}
std::string GridFolder::run_config(const std::string& cell, uint64_t seed) const {
  return dir_ + "/configs/" + cell + "-seed-" + std::to_string(seed) + ".json";
}
std::string GridFolder::student_dir(const std::string& cell, uint64_t seed) const {
  return run_dir(cell, seed) + ".student";
}
std::string GridFolder::log_file(const std::string& cell, uint64_t seed) const {
  return dir_ + "/logs/" + cell + "-seed-" + std::to_string(seed) + ".log";
}

json cell_run_config(const Grid& grid, const GridCell& cell, uint64_t seed, const GridFolder& folder) {
  json j = grid.base;
  for (const auto& [key, value] : cell.settings) set_field(j, key, value, "cell " + cell.id);
  j["train"]["seed"] = seed;
  if (grid.data_order == DataOrder::Seed) j["train"]["data_seed"] = seed;
  else if (!j["train"].contains("data_seed") || j["train"]["data_seed"].is_null()) j["train"]["data_seed"] = 0;
  j["run_dir"] = folder.run_dir(cell.id, seed);
  j["name"] = grid.name + "/" + cell.id + "/seed-" + std::to_string(seed);
  if (!cell.from.empty()) j["student"] = {{"path", folder.student_dir(cell.from, seed)}};
  return j;
}

Grid parse_grid(const json& j, const std::string& src) {
  if (!j.is_object()) fail(src, ": a grid must be a JSON object with `base`, `axes` or `cells`, and `seeds`");
  for (const auto& [key, _] : j.items())
    if (std::find(kGridKeys.begin(), kGridKeys.end(), key) == kGridKeys.end())
      fail(src, ": unknown field `", key, "`; allowed: ", joined(kGridKeys));
  Grid g;
  g.file = j;
  if (j.contains("name")) {
    if (!j["name"].is_string() || !is_id(j["name"].get<std::string>()))
      fail(src, ": `name` must be a short name of letters, digits, . _ - or =, got ", quote_json(j["name"]));
    g.name = j["name"].get<std::string>();
  }

  // The base: a run config of its own, less what the grid sets.
  if (!j.contains("base") || !j["base"].is_object()) fail(src, ": `base` (a run config object) is required");
  g.base = j["base"];
  for (const char* owned : {"run_dir", "name", "train.seed", "train.data_seed"})
    if (get_field(g.base, owned) && !(std::string(owned) == "train.data_seed" && j.value("data_order", "seed") == "fixed"))
      refuse_grid_owned(owned, src + ": `base." + owned + "`");
  if (g.base.contains("method")) {
    const auto& m = g.base["method"];
    if (!m.is_string() || std::find(kGridMethods.begin(), kGridMethods.end(), m.get<std::string>()) == kGridMethods.end())
      fail(src, ": `base.method` must be one of ", joined(kGridMethods), ", got ", quote_json(m));
  }
  const std::string base_method = g.base.value("method", std::string("kd"));
  {
    json probe = g.base;
    probe["run_dir"] = "grid-check";
    check_run(probe, src + ": base");
  }

  if (j.contains("data_order")) {
    const auto& d = j["data_order"];
    if (d == "seed") g.data_order = DataOrder::Seed;
    else if (d == "fixed") g.data_order = DataOrder::Fixed;
    else fail(src, ": `data_order` must be \"seed\" (each seed its own order) or \"fixed\" (one order), got ", quote_json(d));
  }
  if (!j.contains("seeds")) fail(src, ": `seeds` is required (e.g. [1, 2, 3], or 5 for 1..5)");
  g.seeds = read_seeds(j["seeds"], src);

  // The axes: `method` first, then the fields by name (JSON objects keep their keys sorted).
  std::vector<std::string> methods = {base_method};
  std::vector<std::pair<std::string, std::vector<json>>> axes;
  if (j.contains("axes")) {
    if (!j["axes"].is_object()) fail(src, ": `axes` must be an object of field -> list of values");
    for (const auto& [key, values] : j["axes"].items()) {
      const std::string what = src + ": `axes." + key + "`";
      if (!values.is_array() || values.empty()) fail(what, " must be a non-empty list of values");
      for (size_t i = 0; i < values.size(); ++i)
        for (size_t k = 0; k < i; ++k)
          if (values[i] == values[k]) fail(what, " lists ", values[i].dump(), " twice");
      if (key == "method") {
        methods.clear();
        for (size_t i = 0; i < values.size(); ++i) {
          const auto& m = values[i];
          if (!m.is_string() || std::find(kGridMethods.begin(), kGridMethods.end(), m.get<std::string>()) == kGridMethods.end())
            fail(src, ": `axes.method[", i, "]` must be one of ", joined(kGridMethods), ", got ", quote_json(m));
          methods.push_back(m.get<std::string>());
        }
        continue;
      }
      refuse_grid_owned(key, what);
      axes.push_back({key, values.get<std::vector<json>>()});
    }
    if (j["axes"].contains("method")) g.axes.push_back("method");
  }
  for (const auto& [key, values] : axes) {
    g.axes.push_back(key);
    // Each value alone, against the first method it changes: a bad one is named by its place.
    const auto m = std::find_if(methods.begin(), methods.end(), [&](const std::string& x) { return setting_applies(key, x); });
    if (m == methods.end())
      fail(src, ": `axes.", key, "` changes no run of this grid's methods (", joined(methods),
           "): ka.* changes only ka, sar.* only sar, distill.* and teacher.* only methods with a teacher, "
           "teacher_policy.* only kd");
    for (size_t i = 0; i < values.size(); ++i) {
      const std::string what = src + ": axes." + key + "[" + std::to_string(i) + "]";
      json probe = g.base;
      probe["method"] = *m;
      probe["run_dir"] = "grid-check";
      set_field(probe, key, values[i], what);
      check_run(probe, what);
    }
  }

  // The product, odometer order (the last axis turns fastest); collapsed duplicates dropped.
  std::set<std::string> ids;
  const bool method_axis = j.contains("axes") && j["axes"].contains("method");
  if (method_axis || !axes.empty()) {
    std::vector<size_t> at(axes.size(), 0);
    for (const auto& method : methods) {
      std::fill(at.begin(), at.end(), 0);
      while (true) {
        GridCell c;
        c.method = method;
        std::vector<std::string> parts;
        if (method_axis) {
          c.settings.push_back({"method", method});
          parts.push_back(method);
        }
        for (size_t a = 0; a < axes.size(); ++a)
          if (setting_applies(axes[a].first, method)) {
            c.settings.push_back({axes[a].first, axes[a].second[at[a]]});
            parts.push_back(axes[a].first + "=" + value_text(axes[a].second[at[a]]));
          }
        std::string id, label;
        for (const auto& p : parts) {
          id += (id.empty() ? "" : "_") + folder_safe(p);
          label += (label.empty() ? "" : " ") + p;
        }
        if (id.empty()) id = label = method;
        if (id.size() > 120) fail(src, ": the cell name `", id.substr(0, 60), "...` is too long for a folder; use shorter values or explicit `cells`");
        c.id = id;
        c.label = label;
        if (ids.insert(id).second) g.cells.push_back(std::move(c));
        // The next combination: the last axis turns fastest; past the end of the first, done.
        bool carry = true;
        for (size_t a = axes.size(); carry && a > 0; --a) {
          if (++at[a - 1] < axes[a - 1].second.size()) carry = false;
          else at[a - 1] = 0;
        }
        if (carry) break;
      }
    }
  }

  // Explicit cells: a name and the fields they set, optionally starting from another's student.
  if (j.contains("cells")) {
    const auto& list = j["cells"];
    if (!list.is_array()) fail(src, ": `cells` must be a list of {\"name\": ..., \"set\": {...}, \"from\": ...}");
    for (size_t i = 0; i < list.size(); ++i) {
      const auto& e = list[i];
      const std::string what = src + ": cells[" + std::to_string(i) + "]";
      if (!e.is_object()) fail(what, " must be an object with `name` and `set`");
      for (const auto& [key, _] : e.items())
        if (key != "name" && key != "set" && key != "from" && key != "baseline")
          fail(what, ": unknown field `", key, "`; allowed: name, set, from, baseline");
      if (!e.contains("name") || !e["name"].is_string() || !is_id(e["name"].get<std::string>()))
        fail(what, ".name must be a folder name of letters, digits, . _ - or =, got ",
             e.contains("name") ? quote_json(e["name"]) : std::string("nothing"));
      GridCell c;
      c.id = c.label = e["name"].get<std::string>();
      if (!ids.insert(c.id).second) fail(what, ".name `", c.id, "` is the name of another cell");
      c.method = base_method;
      if (e.contains("set")) {
        if (!e["set"].is_object()) fail(what, ".set must be an object of field -> value");
        if (e["set"].contains("method")) c.settings.push_back({"method", e["set"]["method"]});
        for (const auto& [key, value] : e["set"].items()) {
          if (key == "method") {
            if (!value.is_string() || std::find(kGridMethods.begin(), kGridMethods.end(), value.get<std::string>()) == kGridMethods.end())
              fail(what, ".set.method must be one of ", joined(kGridMethods), ", got ", quote_json(value));
            c.method = value.get<std::string>();
            continue;
          }
          refuse_grid_owned(key, what + ".set");
          c.settings.push_back({key, value});
        }
      }
      if (e.contains("from")) {
        if (!e["from"].is_string()) fail(what, ".from must be the name of another cell, got ", quote_json(e["from"]));
        c.from = e["from"].get<std::string>();
      }
      if (e.contains("baseline")) {
        if (!e["baseline"].is_string()) fail(what, ".baseline must be the name of another cell, got ", quote_json(e["baseline"]));
        c.baseline = e["baseline"].get<std::string>();
        if (c.baseline == c.id) fail(what, ".baseline names the cell itself; name another cell to compare it with");
      }
      g.cells.push_back(std::move(c));
    }
  }
  if (g.cells.empty()) fail(src, ": the grid has no cells: give `axes` (e.g. {\"method\": [\"kd\", \"ka\"]}) or `cells`");

  // Dependencies: an existing other cell, and no circle.
  for (size_t i = 0; i < g.cells.size(); ++i) {
    const auto& c = g.cells[i];
    if (!c.baseline.empty() && !g.cell(c.baseline))
      fail(src, ": cell `", c.id, "`: `baseline` names `", c.baseline, "`, which is not a cell of this grid");
    if (c.from.empty()) continue;
    if (!g.cell(c.from)) fail(src, ": cell `", c.id, "`: `from` names `", c.from, "`, which is not a cell of this grid");
    std::set<std::string> chain = {c.id};
    for (const GridCell* d = g.cell(c.from); d; d = d->from.empty() ? nullptr : g.cell(d->from))
      if (!chain.insert(d->id).second) fail(src, ": cell `", c.id, "`: its `from` chain comes back to `", d->id, "`");
  }

  // Every cell as it will run (the first seed stands for all: only train.seed differs).
  const GridFolder scratch("grid-check");
  std::vector<json> resolved;
  for (const auto& c : g.cells) {
    const std::string what = src + ": cell `" + c.id + "`";
    resolved.push_back(to_json(parse_run_config(cell_run_config(g, c, g.seeds.front(), scratch), what)));
  }

  if (j.contains("baseline")) {
    const auto& b = j["baseline"];
    if (b.is_string()) {
      if (!g.cell(b.get<std::string>())) {
        fail(src, ": `baseline` `", b.get<std::string>(), "` is not a cell; the cells are ", cell_ids(g));
      }
      g.baseline = b.get<std::string>();
    } else if (b.is_object() && !b.empty()) {
      std::vector<std::string> matches;
      for (size_t i = 0; i < g.cells.size(); ++i) {
        bool all = true;
        for (const auto& [key, value] : b.items()) {
          const json* v = get_field(resolved[i], key);
          if (!v) fail(src, ": `baseline.", key, "` is not a config field");
          all = all && *v == value;
        }
        if (all) matches.push_back(g.cells[i].id);
      }
      if (matches.size() != 1)
        fail(src, ": `baseline` ", b.dump(), " must match exactly one cell; it matches ",
             matches.empty() ? std::string("none") : joined(matches));
      g.baseline = matches.front();
    } else {
      fail(src, ": `baseline` must be a cell's name or an object of fields that picks one cell (e.g. {\"method\": \"kd\"})");
    }
  }
  for (auto& c : g.cells)
    if (c.baseline.empty() && c.id != g.baseline) c.baseline = g.baseline;

  if (j.contains("plots")) {
    const auto& p = j["plots"];
    if (!p.is_object()) fail(src, ": `plots` must be an object of chart name -> list of cells, e.g. {\"ka\": [\"kd\", \"ka\"]}");
    for (const auto& [name, list] : p.items()) {
      const std::string what = src + ": `plots." + name + "`";
      if (!is_id(name)) fail(what, ": a chart's name must be a file name of letters, digits, . _ - or =");
      if (!list.is_array() || list.empty()) fail(what, " must be a non-empty list of cell names");
      GridPlot plot{name, {}};
      for (size_t i = 0; i < list.size(); ++i) {
        const auto& id = list[i];
        if (!id.is_string() || !g.cell(id.get<std::string>()))
          fail(src, ": `plots.", name, "[", i, "]` must name a cell, got ", quote_json(id), "; the cells are ", cell_ids(g));
        if (std::find(plot.cells.begin(), plot.cells.end(), id.get<std::string>()) != plot.cells.end())
          fail(src, ": `plots.", name, "[", i, "]` lists `", id.get<std::string>(), "` twice");
        plot.cells.push_back(id.get<std::string>());
      }
      g.plots.push_back(std::move(plot));
    }
  }
  return g;
}

Grid load_grid(const std::string& path) { return parse_grid(read_json_file(path), path); }

bool same_cells(const json& a, const json& b) {
  auto runs_only = [](json g) {
    if (!g.is_object()) return g;
    for (const char* key : {"seeds", "plots", "baseline"}) g.erase(key);
    if (g.contains("cells") && g["cells"].is_array())
      for (auto& c : g["cells"])
        if (c.is_object()) c.erase("baseline");
    return g;
  };
  return runs_only(a) == runs_only(b);
}

}  // namespace moekd
