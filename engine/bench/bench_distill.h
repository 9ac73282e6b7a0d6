#pragma once
// `moekd bench distill`: tokens/s of one training step of kd, ka (batched and sequential passes)
// and sar, through the real trainer, on the demo models or on any Hugging Face pair.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace moekd {

class ProcessGroup;

struct DistillBenchOptions {
  std::string teacher_dir, student_dir;  // empty: the demo's shapes, freshly initialised
  std::string device = "cpu";
  std::string precision = "auto";  // train.precision of every case
  int64_t batch = 16, seq_len = 64;
  int64_t ka_m = 4;
  double ka_lambda = 0.1;
  int64_t steps = 10;   // timed steps per method (after 2 warm-up steps)
  uint64_t seed = 0;
  bool checkpoint_activations = false;
  int64_t profile_steps = 0;  // > 0: profile that many more steps per case (bench/step_profile.h)
  std::vector<std::string> cases;  // of kd, ka, ka_sequential, sar; empty: all four
  // Every case on-policy (distill.on_policy = 1): the student writes the second half of each
  // sequence (seq_len / 2 new tokens from a prompt of seq_len / 2), the teacher scores it.
  bool on_policy = false;
  // Several processes (each running this benchmark): `batch` is the global batch, dealt across
  // the group's ranks as a run's sampler deals it; the figures are the whole group's tokens/s.
  ProcessGroup* group = nullptr;
};

// Keys: kd, ka, ka_sequential, sar (tokens/s of each case run), shapes, parameter counts, and per
// case flops_per_token (model/flop_model.h), peak_memory (bytes) and, where the device's peak is
// known (backend/system_info.h: peak_flops), mfu: model FLOPs utilisation; with profile_steps,
// profile: per case the most expensive kernels or operators. On-policy: per case `split`, the
// shares of a step spent sampling, scoring with the teacher and in the student's update (the rest),
// and generated_per_s, the tokens the student wrote per second of sampling.
nlohmann::json bench_distill(const DistillBenchOptions& opt);

}  // namespace moekd
