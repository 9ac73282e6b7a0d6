#pragma once
// Exports a trained run as Hugging Face folders that transformers (and llama.cpp, vLLM, ...) load.
#include <functional>
#include <string>
#include <vector>

#include "run/settings.h"

namespace moekd {

struct ExportSummary {
  std::string dir;
  std::string architecture;
  int64_t params = 0;
  std::vector<std::pair<std::string, uint64_t>> files;  // name, bytes
};

// Called before each stage with (stages done, stages in all, what happens next), and with
// (total, total, "done") at the end; for progress bars. May be empty.
using ExportProgress = std::function<void(int done, int total, const std::string& stage)>;

// The student of checkpoint `which` of the run in `run_dir`: config.json,
// model.safetensors, generation_config.json, the run's tokenizer files and a model card
// (README.md: method, teacher, data, training, and the scores at that checkpoint). The weights
// are written in `dtype`; by default in the precision the run computed in (a bfloat16 run's
// student in bfloat16).
ExportSummary export_student(const std::string& run_dir, Checkpoint which, const std::string& out_dir,
                             const ExportProgress& progress = {}, Precision dtype = Precision::Auto);

// SAR: the teacher with its tuned routers, in its own architecture and tensor names.
ExportSummary export_tuned_teacher(const std::string& run_dir, Checkpoint which, const std::string& out_dir,
                                   const ExportProgress& progress = {}, Precision dtype = Precision::Auto);

}  // namespace moekd
