#pragma once
// `moekd bench distill`: tokens/s of one training step of kd, ka (batched and sequential passes)
// and sar, through the real trainer, on the demo models or on any Hugging Face pair.
#include <nlohmann/json.hpp>
#include <string>

namespace moekd {

struct DistillBenchOptions {
  std::string teacher_dir, student_dir;  // empty: the demo's shapes, freshly initialised
  std::string device = "cpu";
  std::string precision = "auto";  // train.precision of every case
  int64_t batch = 16, seq_len = 64;
  int64_t ka_m = 4;
  double ka_lambda = 0.1;
  int64_t steps = 10;   // timed steps per method (after 2 warm-up steps)
  uint64_t seed = 0;
};

// Keys: kd, ka, ka_sequential, sar (tokens/s), plus shapes and parameter counts.
nlohmann::json bench_distill(const DistillBenchOptions& opt);

}  // namespace moekd
