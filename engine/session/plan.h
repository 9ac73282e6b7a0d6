#pragma once
// `moekd plan`: the memory a run needs, from its config and the models' config.json files alone
// (no weights, no device): teacher and student weights, gradients, optimizer state and
// activations at the configured batch and length, and the largest batch that fits a given
// memory. The model of each term is in docs/DESIGN.md ("Memory").
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "model/config.h"
#include "run/run_config.h"

namespace moekd {

struct MemoryPlan {
  std::string device;        // what the plan is for: "cpu" or "cuda"
  Precision precision = Precision::Float32;  // train.precision as that device resolves it
  int64_t teacher_weights = 0, student_weights = 0, gradients = 0, optimizer = 0, activations = 0;
  int64_t runtime = 0;       // LibTorch's own resident memory on the CPU (CUDA: not in allocated bytes)
  int64_t total = 0;
  int64_t memory = 0;        // the memory given, bytes; 0 = none
  int64_t max_batch_size = -1;  // the largest train.batch_size whose total fits `memory`; -1 without one
  int64_t teacher_params = 0, student_params = 0;
};

// `device` is "cpu" or "cuda" (a CUDA device is assumed to compute bfloat16); `memory_bytes`
// 0 leaves max_batch_size at -1. Model shapes come from teacher/student `path`/config.json or
// `init`; throws naming the file or field when one is missing.
MemoryPlan plan_memory(const RunConfig& cfg, const std::string& device, int64_t memory_bytes = 0);

nlohmann::json to_json(const MemoryPlan& p);

// The model shape of a source: its folder's config.json, or its `init` object.
ModelConfig source_config(const ModelSource& source, const std::string& role);

}  // namespace moekd
