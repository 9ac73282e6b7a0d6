// SPDX-License-Identifier: MIT
#pragma once
// Reading tokenizer.json fields with messages that name the file and the field's path
// ("tokenizer.json: pre_tokenizer.pretokenizers[1].behavior must be a string").
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "util/error.h"

namespace moekd::hf {

using json = nlohmann::json;

// Where a value sits: the file and the path inside it.
struct Where {
  std::string file, path;
  Where at(const std::string& key) const { return {file, path.empty() ? key : path + "." + key}; }
  Where at(size_t index) const { return {file, path + "[" + std::to_string(index) + "]"}; }
  std::string name() const { return file + ": " + (path.empty() ? "the top level" : path); }
};

[[noreturn]] inline void refuse(const Where& w, const std::string& what) { fail(w.name(), " ", what); }

inline const json& member(const json& object, const std::string& key, const Where& w) {
  if (!object.is_object()) refuse(w, "must be an object");
  const auto it = object.find(key);
  if (it == object.end()) refuse(w.at(key), "is missing");
  return *it;
}

inline std::string string_field(const json& object, const std::string& key, const Where& w) {
  const json& v = member(object, key, w);
  if (!v.is_string()) refuse(w.at(key), "must be a string");
  return v.get<std::string>();
}

inline bool bool_field(const json& object, const std::string& key, bool fallback, const Where& w) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) refuse(w.at(key), "must be true or false");
  return it->get<bool>();
}

inline int64_t int_field(const json& object, const std::string& key, int64_t lo, int64_t hi, const Where& w) {
  const json& v = member(object, key, w);
  if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi)) ||
      v.get<int64_t>() < lo || v.get<int64_t>() > hi)
    refuse(w.at(key), "must be a whole number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return v.get<int64_t>();
}

inline const json& array_field(const json& object, const std::string& key, const Where& w) {
  const json& v = member(object, key, w);
  if (!v.is_array()) refuse(w.at(key), "must be a list");
  return v;
}

// The component's "type", checked to be a string.
inline std::string type_of(const json& component, const Where& w) { return string_field(component, "type", w); }

}  // namespace moekd::hf
