#pragma once
// What the distillation and session suites share: a tiny run of each method on the built-in tasks,
// a trainer built the way a session builds it, and a parameter comparison.
#include <QTemporaryDir>

#include <memory>
#include <nlohmann/json.hpp>

#include "data/run_data.h"
#include "data/tokenizer.h"
#include "distill/trainer.h"
#include "io/hf_config.h"
#include "run/run_config.h"
#include "session/models.h"
#include "test_util.h"

namespace moekd::test {

using json = nlohmann::json;

inline json tiny_run(const std::string& method, const std::string& run_dir) {
  json teacher_cfg = config_to_hf(tiny_config(Family::Mixtral));
  teacher_cfg["vocab_size"] = 99;
  json student_cfg = config_to_hf(tiny_config(Family::Llama, 1));
  student_cfg["vocab_size"] = 99;
  json j = {{"name", method},
            {"run_dir", run_dir},
            {"method", method},
            {"student", {{"init", student_cfg}, {"init_std", 0.1}}},
            {"data", {{"kind", "builtin"}, {"train_examples", 200}, {"validation_examples", 24}, {"test_examples", 12},
                      {"max_len", 32}}},
            {"train", {{"steps", 6}, {"batch_size", 4}, {"lr", 1e-2}, {"warmup_steps", 2}, {"seed", 3}}},
            {"eval", {{"every", 0}, {"samples", 6}, {"max_new_tokens", 6}}},
            {"ka", {{"m", 3}, {"lambda", 0.5}}},
            {"sar", {{"router_lr", 1e-2}}},
            {"log_every", 1},
            {"routing_every", 2},
            {"checkpoint_every", 0}};
  if (method != "sft" && method != "train-teacher") j["teacher"] = {{"init", teacher_cfg}, {"init_std", 0.2}};
  if (method == "train-teacher") j["student"] = {{"init", teacher_cfg}, {"init_std", 0.1}};
  return j;
}

// A trainer built the way a session builds it, without a run directory.
struct Rig {
  RunConfig cfg;
  std::shared_ptr<const Tokenizer> tok;
  std::shared_ptr<const RunData> data;
  std::unique_ptr<Trainer> trainer;
  explicit Rig(const json& j) : cfg(parse_run_config(j, "test")) {
    torch::manual_seed(cfg.train.seed);
    tok = std::shared_ptr<const Tokenizer>(make_builtin_tokenizer());
    data = std::make_shared<RunData>(build_run_data(cfg.data, *tok));
    auto student = load_or_init_model(cfg.student, "student", torch::kCPU);
    CausalLM teacher{nullptr};
    if (cfg.needs_teacher()) teacher = load_or_init_model(cfg.teacher, "teacher", torch::kCPU);
    trainer = std::make_unique<Trainer>(cfg, student, teacher, tok, data, torch::kCPU);
  }
  void steps(int n) {
    for (int i = 0; i < n; ++i) trainer->step(true);
  }
};

inline bool same_parameters(CausalLM& a, CausalLM& b) {
  auto pb = b->named_parameters();
  for (const auto& p : a->named_parameters())
    if (!torch::equal(p.value(), pb[p.key()])) return false;
  return true;
}


}  // namespace moekd::test
