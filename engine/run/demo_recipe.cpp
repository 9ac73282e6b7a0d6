#include "run/demo_recipe.h"

#include <algorithm>

#include "run/resources.h"

namespace moekd {

using json = nlohmann::json;

json demo_teacher_config() {
  return {{"architectures", {"MixtralForCausalLM"}},
          {"vocab_size", 99},
          {"hidden_size", 128},
          {"intermediate_size", 128},
          {"num_hidden_layers", 4},
          {"num_attention_heads", 4},
          {"num_key_value_heads", 2},
          {"num_local_experts", 8},
          {"num_experts_per_tok", 2},
          {"max_position_embeddings", 128},
          {"rms_norm_eps", 1e-6},
          {"rope_theta", 10000.0},
          {"tie_word_embeddings", false},
          {"bos_token_id", 1},
          {"eos_token_id", 2}};
}

json demo_student_config() {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"vocab_size", 99},
          {"hidden_size", 96},
          {"intermediate_size", 256},
          {"num_hidden_layers", 3},
          {"num_attention_heads", 4},
          {"num_key_value_heads", 2},
          {"max_position_embeddings", 128},
          {"rms_norm_eps", 1e-6},
          {"rope_theta", 10000.0},
          {"tie_word_embeddings", true},
          {"bos_token_id", 1},
          {"eos_token_id", 2}};
}

namespace {

// What every demo run shares: the data, the optimiser and its schedule, evaluation and logging.
// 48,000 training examples: the teacher sees 6,000 of the 10,000 `add` prompts, enough to learn
// two-digit addition rather than memorise it (12,000 left it at 13-63% exact match on `add`).
json demo_run(const std::string& name, const std::string& run_dir, int64_t steps, const std::string& device) {
  return {{"name", name},
          {"run_dir", run_dir},
          {"data", {{"kind", "builtin"}, {"seed", 1234}, {"train_examples", 48000}, {"validation_examples", 240},
                    {"test_examples", 240}, {"max_len", 48}, {"tokenizer", "builtin"}}},
          {"train", {{"steps", steps}, {"batch_size", 32}, {"lr", 3e-3}, {"warmup_steps", steps / 20},
                     {"schedule", "cosine"}, {"min_lr_ratio", 0.05}, {"weight_decay", 0.01}, {"clip_norm", 1.0},
                     {"seed", 7}, {"device", device}}},
          {"eval", {{"every", std::max<int64_t>(1, steps / 4)}, {"samples", 120}, {"max_new_tokens", 16}}},
          {"log_every", std::max<int64_t>(1, steps / 50)},
          {"routing_every", std::max<int64_t>(1, steps / 20)},
          {"checkpoint_every", 0}};
}

int64_t scaled(int64_t steps, double scale) { return std::max<int64_t>(2, static_cast<int64_t>(steps * scale)); }

}  // namespace

json demo_teacher_run(const std::string& run_dir, double scale, const std::string& device) {
  json j = demo_run("demo-teacher", run_dir, scaled(8000, scale), device);
  j["method"] = "train-teacher";
  j["student"] = {{"init", demo_teacher_config()}, {"init_std", 0.02}};
  j["train"]["lr"] = 2e-3;
  j["train"]["balance_weight"] = 0.01;
  j["log_every"] = 10;  // the studio draws the teacher's curves from these
  j["routing_every"] = 50;
  return j;
}

const std::vector<std::string>& demo_methods() {
  static const std::vector<std::string> methods = {"sft", "kd", "ka", "sar", "kd-on-policy", "ka-on-policy"};
  return methods;
}

namespace {
const std::string kOnPolicySuffix = "-on-policy";
}  // namespace

bool demo_run_is_on_policy(const std::string& name) {
  const auto& s = kOnPolicySuffix;
  return name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
}

json demo_student_run(const std::string& name, const std::string& run_dir, const std::string& teacher_dir,
                      double scale, const std::string& device, const std::string& student_dir) {
  const bool on_policy = demo_run_is_on_policy(name);
  const std::string method = on_policy ? name.substr(0, name.size() - kOnPolicySuffix.size()) : name;
  json j = demo_run(name, run_dir, scaled(800, scale), device);
  j["method"] = method;
  j["student"] = {{"init", demo_student_config()}, {"init_std", 0.02}};
  if (!student_dir.empty()) j["student"] = {{"path", student_dir}};
  if (method != "sft") j["teacher"] = {{"path", teacher_dir}};
  j["distill"] = {{"divergence", "forward_kl"}, {"alpha", 0.5}, {"temperature", 1.0}};
  if (on_policy)  // the answers are short: 16 new tokens, as evaluation writes
    j["distill"] = {{"divergence", "reverse_kl"}, {"alpha", 1.0}, {"ce_weight", 0.0}, {"temperature", 1.0},
                    {"on_policy", 1.0}, {"sampling", {{"max_new_tokens", 16}}}};
  if (method == "ka") j["ka"] = {{"m", 2}, {"lambda", 0.1}};
  if (method == "sar") j["sar"] = {{"router_lr", 1e-3}, {"direction", "forward"}, {"balance_weight", 0.01}};
  return j;
}

std::string shipped_demo_teacher() { return find_resource("demo-teacher"); }

}  // namespace moekd
