#pragma once
// One run, as the JSON that the CLI reads (`--config run.json`), the studio's forms write, and
// every run folder keeps as `config.json`. Parsing validates every field and names the bad one
// with the allowed values; unknown keys are refused (a typo must not silently fall back).
// Plain C++17 and nlohmann/json: no LibTorch.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "run/settings.h"

namespace moekd {

struct ModelSource {
  std::string path;             // Hugging Face folder; empty with `init` = a fresh model
  nlohmann::json init;          // a Hugging Face config.json object for a fresh initialisation
  double init_std = 0.02;
  // An MoE routes through this many experts per token (its top-k); 0: as its config.json says.
  // A teacher trained with top-4 can be distilled at top-2, so that its other experts hold
  // something top-k leaves out.
  int64_t top_k = 0;
};

struct DataConfig {
  DataKind kind = DataKind::Builtin;
  std::string path;
  uint64_t seed = 1234;
  int64_t train_examples = 6000, validation_examples = 240, test_examples = 240;  // builtin
  double validation_fraction = 0.05, test_fraction = 0.05;                       // jsonl / text
  int64_t text_chunk_chars = 512;
  int64_t max_len = 64;
  std::string tokenizer = "builtin";  // builtin | a tokenizer.json or tokenizer.model | a folder holding one
  // jsonl: a built-in template name or a custom string with {instruction}, {context} and
  // {response} (data/prompt_template.h reads it). Builtin tasks and text chunks are used as they are.
  std::string prompt_template = "dolly";
};

struct KAConfig {
  int64_t m = 4;
  double lambda = 0.05;
  int64_t k_prime = 0;
  // The M passes as one forward of M x B sequences (true) or M forwards (false); unset ("auto"):
  // the faster on the run's device, measured: batched on CUDA, one after another on the CPU.
  std::optional<bool> batched;
  int64_t max_teacher_batch = 0;   // sequences per teacher forward; 0 = no limit
};

// Whether KA's passes run batched on `device` ("cpu", "cuda", "cuda:N").
inline bool ka_batched(const KAConfig& ka, const std::string& device) {
  return ka.batched.value_or(device.rfind("cuda", 0) == 0);
}

struct SARConfig {
  double router_lr = 1e-4;
  RouterLoss direction = RouterLoss::Forward;
  PolicyKind policy = PolicyKind::All;  // all | topp
  double top_p = 0.9;
  // cv2 by default: under the `all` policy every expert is chosen, so the Switch loss
  // E * sum f_e P_e is the constant E (no gradient); cv^2 of the summed weights still balances.
  BalanceLoss balance = BalanceLoss::CV2;
  double balance_weight = 0.01;
};

struct TrainConfig {
  int64_t steps = 1000;
  int64_t batch_size = 16;
  int64_t grad_accum = 1;
  double lr = 1e-3;
  double min_lr_ratio = 0.1;
  Schedule schedule = Schedule::Cosine;
  int64_t warmup_steps = 50;
  double weight_decay = 0.01;
  double clip_norm = 1.0;
  double balance_weight = 0.01;  // train-teacher: weight of the auxiliary balance loss
  BalanceLoss balance = BalanceLoss::Switch;
  uint64_t seed = 0;  // the student's initial weights, dropout-free sampling, KA's draws
  // The order of the training examples; unset: `seed`. A grid of seeds can hold it fixed, so
  // that its seeds differ only in initialisation and sampling (`moekd compare`, data_order).
  std::optional<uint64_t> data_seed;
  std::string device = "cpu";
  // The frozen teacher is stored and run in this dtype; the student keeps float32 master weights
  // and optimizer state and computes in it (docs/DESIGN.md, "Precision").
  Precision precision = Precision::Auto;
  bool checkpoint_activations = false;  // recompute each student layer in backward: less memory
  // Several processes: the longest a collective (or the rendezvous) waits for the other ranks.
  int64_t dist_timeout_s = 600;
};

struct EvalConfig {
  int64_t every = 200;       // steps; 0 = only at the end
  int64_t samples = 64;      // validation prompts generated per evaluation
  int64_t max_new_tokens = 16;
  bool teacher = false;      // also generate with the teacher (side-by-side samples)
};

// How the student writes its own responses in on-policy batches (distill.sampling). The defaults
// are those of the paper authors' scripts: plain sampling from the full distribution.
struct SamplingConfig {
  double temperature = 1.0;
  int64_t top_k = 0;              // 0 = every token
  double top_p = 1.0;             // 1 = no nucleus cut
  int64_t max_new_tokens = 256;   // also bounded by data.max_len
};

struct RunConfig {
  std::string name = "run";
  std::string run_dir;       // where config.json, metrics.jsonl and checkpoints go (run/run_folder.h)
  Method method = Method::KD;
  ModelSource teacher, student;
  RoutingPolicy teacher_policy;  // kd: usually topk; ka and sar set their own
  DataConfig data;
  DivergenceSpec divergence;
  double alpha = 0.5;        // L = ce_weight CE + alpha D
  std::optional<double> ce_weight;  // unset: 1 - alpha
  // The probability that a micro-batch's responses are written by the student (GKD's mixing):
  // 0 = always the dataset's, 1 = always the student's own (the authors' KA-with-SGO and SAR runs).
  double on_policy = 0;
  SamplingConfig sampling;
  KAConfig ka;
  SARConfig sar;
  TrainConfig train;
  EvalConfig eval;
  int64_t log_every = 10;
  int64_t routing_every = 50;
  int64_t checkpoint_every = 200;

  double cross_entropy_weight() const { return ce_weight.value_or(1 - alpha); }
  bool needs_teacher() const { return method != Method::SFT && method != Method::TrainTeacher; }
};

// `source` names the file (or "command line") in messages. Throws Error at the first problem.
RunConfig parse_run_config(const nlohmann::json& j, const std::string& source);

// One thing wrong with a run config: the field (`train.lr`; empty for the whole config), the
// engine's message as parse_run_config throws it, and the same in words without the field's
// name, for a form that shows it beside the field ("must be above 0 and at most 10; it is -1").
struct ConfigProblem {
  std::string field;
  std::string message;
  std::string need;
};
// Every problem at once, in the order of the fields; empty when parse_run_config accepts `j`.
// `parsed` receives what could be read (a field with a problem keeps its default).
std::vector<ConfigProblem> check_run_config(const nlohmann::json& j, const std::string& source,
                                            RunConfig* parsed = nullptr);
nlohmann::json to_json(const RunConfig& c);
RunConfig load_run_config(const std::string& path);
// The `data` section alone, validated as parse_run_config does (the studio previews the data
// before the rest of the form is valid).
DataConfig parse_data_config(const nlohmann::json& data, const std::string& source);
// Applies "a.b.c=value" overrides (value parsed as JSON, else taken as a string) before parsing.
void apply_override(nlohmann::json& j, const std::string& assignment);

}  // namespace moekd
