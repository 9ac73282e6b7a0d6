#pragma once
// The README.md that goes with an exported model (a Hugging Face model card): how it was made
// (method and its settings, teacher, data, training) and how it scored at the exported checkpoint.
#include <cstdint>
#include <string>

#include "run/run_config.h"
#include "run/run_record.h"

namespace moekd {

struct ExportedModel {
  std::string role;          // "student" or "teacher with SAR-tuned routers"
  std::string architecture;  // e.g. "LlamaForCausalLM"
  int64_t params = 0, active_params = 0;
  std::string checkpoint;    // "best" or "last"
};

std::string model_card(const RunConfig& cfg, const RunRecord& run, const ExportedModel& model);

}  // namespace moekd
