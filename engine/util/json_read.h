#pragma once
// Reading fields of JSON that files we wrote hold, where a damaged or hand-edited file may hold
// anything: a value of the wrong type reads as absent (the field keeps its default) instead of
// throwing or, for a number too large for an integer, converting with undefined behaviour (both
// found by fuzzing metrics.jsonl).
#include <cmath>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace moekd {

inline bool read_value(const nlohmann::json& v, int64_t& out) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) return false;
    out = v.get<int64_t>();
    return true;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || d < -9.2e18 || d > 9.2e18) return false;
    out = static_cast<int64_t>(d);
    return true;
  }
  return false;
}
inline bool read_value(const nlohmann::json& v, double& out) {
  if (!v.is_number()) return false;
  out = v.get<double>();
  return true;
}
inline bool read_value(const nlohmann::json& v, bool& out) {
  if (!v.is_boolean()) return false;
  out = v.get<bool>();
  return true;
}
inline bool read_value(const nlohmann::json& v, std::string& out) {
  if (!v.is_string()) return false;
  out = v.get<std::string>();
  return true;
}
template <typename T>
bool read_value(const nlohmann::json& v, std::vector<T>& out) {
  if (!v.is_array()) return false;
  std::vector<T> values(v.size());
  for (size_t i = 0; i < values.size(); ++i)
    if (!read_value(v[i], values[i])) return false;
  out = std::move(values);
  return true;
}
template <typename T>
bool read_value(const nlohmann::json& v, std::map<std::string, T>& out) {
  if (!v.is_object()) return false;
  std::map<std::string, T> values;
  for (const auto& [key, item] : v.items())
    if (!read_value(item, values[key])) return false;
  out = std::move(values);
  return true;
}

// `j[key]` into `out` when `j` is an object holding it with the right type; else `out` stays.
template <typename T>
void read_field(const nlohmann::json& j, const char* key, T& out) {
  if (!j.is_object()) return;
  const auto it = j.find(key);
  if (it != j.end()) read_value(*it, out);
}

// The same, as a value: `fallback` when absent or of another type.
template <typename T>
T field_or(const nlohmann::json& j, const char* key, T fallback) {
  read_field(j, key, fallback);
  return fallback;
}

}  // namespace moekd
