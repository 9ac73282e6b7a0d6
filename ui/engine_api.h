#pragma once
// The run-config functions the forms need, without LibTorch headers: run_config.h pulls in
// LibTorch, so these are implemented in engine_worker.cpp, the studio's one LibTorch unit.
#include <nlohmann/json.hpp>
#include <string>

namespace moekd::ui {

// to_json(parse_run_config(j, source)): the config exactly as the CLI reads and writes it.
// Throws moekd::Error with the engine's message (naming the field) when `j` is not a valid run.
nlohmann::json normalize_run_config(const nlohmann::json& j, const std::string& source);

// to_json of a default RunConfig: every field with its default value.
nlohmann::json default_run_config();

// The engine's names for the enumerations the forms offer.
inline const char* const kMethods[] = {"sft", "kd", "ka", "sar", "train-teacher"};
inline const char* const kDivergences[] = {"forward_kl", "reverse_kl", "jsd", "tv", "skew_kl", "skew_reverse_kl"};
inline const char* const kSchedules[] = {"constant", "linear", "cosine"};

}  // namespace moekd::ui
