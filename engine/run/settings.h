#pragma once
// The enumerated settings of a run, each with the one spelling that run configs, the CLI and the
// studio use, and the two small value types built from them (a routing policy, a divergence).
// Plain C++17: no LibTorch, so the studio's forms and the run readers see the same names as the
// engine without linking it.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "util/error.h"

namespace moekd {

enum class Method { SFT, KD, KA, SAR, TrainTeacher };
enum class PolicyKind { TopK, KA, All, TopP };
enum class DivergenceKind { ForwardKL, ReverseKL, JSD, TotalVariation, SkewKL, SkewReverseKL };
enum class Schedule { Constant, Linear, Cosine };
enum class BalanceLoss { Switch, CV2 };        // E * sum f_e P_e (Switch/Mixtral) | cv^2 (LLaMA-MoE)
enum class RouterLoss { Forward, Reverse };    // SAR: -sum q log p | KL(p || q)
enum class DataKind { Builtin, Jsonl, Text };
enum class Checkpoint { Best, Last };          // the two checkpoints a run folder keeps
// What the models compute in: auto = bfloat16 on a CUDA device that supports it, else float32.
enum class Precision { Auto, Float32, BFloat16, Float16 };

// Each enumeration's spellings, in the order the forms offer them. `what` names the setting in
// messages ("divergence `kl` is not known").
template <typename E>
struct Names;
template <>
struct Names<Method> {
  static constexpr const char* what = "method";
  static constexpr std::pair<Method, const char*> table[] = {
      {Method::SFT, "sft"}, {Method::KD, "kd"}, {Method::KA, "ka"}, {Method::SAR, "sar"},
      {Method::TrainTeacher, "train-teacher"}};
};
template <>
struct Names<PolicyKind> {
  static constexpr const char* what = "routing policy";
  static constexpr std::pair<PolicyKind, const char*> table[] = {
      {PolicyKind::TopK, "topk"}, {PolicyKind::KA, "ka"}, {PolicyKind::All, "all"}, {PolicyKind::TopP, "topp"}};
};
template <>
struct Names<DivergenceKind> {
  static constexpr const char* what = "divergence";
  static constexpr std::pair<DivergenceKind, const char*> table[] = {
      {DivergenceKind::ForwardKL, "forward_kl"}, {DivergenceKind::ReverseKL, "reverse_kl"},
      {DivergenceKind::JSD, "jsd"},              {DivergenceKind::TotalVariation, "tv"},
      {DivergenceKind::SkewKL, "skew_kl"},       {DivergenceKind::SkewReverseKL, "skew_reverse_kl"}};
};
template <>
struct Names<Schedule> {
  static constexpr const char* what = "schedule";
  static constexpr std::pair<Schedule, const char*> table[] = {
      {Schedule::Constant, "constant"}, {Schedule::Linear, "linear"}, {Schedule::Cosine, "cosine"}};
};
template <>
struct Names<BalanceLoss> {
  static constexpr const char* what = "balance loss";
  static constexpr std::pair<BalanceLoss, const char*> table[] = {{BalanceLoss::Switch, "switch"},
                                                                  {BalanceLoss::CV2, "cv2"}};
};
template <>
struct Names<RouterLoss> {
  static constexpr const char* what = "router loss direction";
  static constexpr std::pair<RouterLoss, const char*> table[] = {{RouterLoss::Forward, "forward"},
                                                                 {RouterLoss::Reverse, "reverse"}};
};
template <>
struct Names<DataKind> {
  static constexpr const char* what = "data kind";
  static constexpr std::pair<DataKind, const char*> table[] = {
      {DataKind::Builtin, "builtin"}, {DataKind::Jsonl, "jsonl"}, {DataKind::Text, "text"}};
};
template <>
struct Names<Checkpoint> {
  static constexpr const char* what = "checkpoint";
  static constexpr std::pair<Checkpoint, const char*> table[] = {{Checkpoint::Best, "best"},
                                                                 {Checkpoint::Last, "last"}};
};

template <>
struct Names<Precision> {
  static constexpr const char* what = "precision";
  static constexpr std::pair<Precision, const char*> table[] = {{Precision::Auto, "auto"},
                                                                {Precision::Float32, "float32"},
                                                                {Precision::BFloat16, "bfloat16"},
                                                                {Precision::Float16, "float16"}};
};

template <typename E>
const char* name_of(E value) {
  for (const auto& [v, n] : Names<E>::table)
    if (v == value) return n;
  return "?";
}

template <typename E>
std::vector<std::string> all_names() {
  std::vector<std::string> out;
  for (const auto& entry : Names<E>::table) out.emplace_back(entry.second);
  return out;
}

// "a, b, c": the allowed spellings for messages.
inline std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Throws Error "<what> `text` is not known; expected one of: ..." for anything else.
template <typename E>
E parse_name(const std::string& text) {
  for (const auto& [v, n] : Names<E>::table)
    if (text == n) return v;
  fail(Names<E>::what, " `", text, "` is not known; expected one of: ", join_names(all_names<E>()));
}

// Which experts each token uses and with what weights. A policy changes the choice, never the
// weights of the model (docs/DESIGN.md, Routing policies).
struct RoutingPolicy {
  PolicyKind kind = PolicyKind::TopK;
  double ka_lambda = 0.0;  // KA: per-token probability of sampling instead of top-k
  int64_t ka_k = 0;        // KA: experts per sampled token (k'); 0 = the model's k
  double top_p = 0.9;      // TopP: smallest set whose softmax mass reaches p
  int64_t k = 0;           // TopK: experts per token; 0 = the model's own k (a probe sweeps it)

  static RoutingPolicy topk(int64_t k = 0) { return {PolicyKind::TopK, 0.0, 0, 0.9, k}; }
  static RoutingPolicy all() { return {PolicyKind::All}; }
  static RoutingPolicy ka(double lambda, int64_t k_prime = 0) { return {PolicyKind::KA, lambda, k_prime}; }
  static RoutingPolicy topp(double p) { return {PolicyKind::TopP, 0.0, 0, p}; }
};

// A divergence between the teacher's and the student's next-token distributions.
struct DivergenceSpec {
  DivergenceKind kind = DivergenceKind::ForwardKL;
  double temperature = 1.0;
  double jsd_beta = 0.5;    // JSD(beta) = beta KL(p||m) + (1-beta) KL(q||m), m = beta p + (1-beta) q
  double skew_alpha = 0.1;  // DistiLLM: SKL = KL(p || a p + (1-a) q), SRKL = KL(q || a q + (1-a) p)
  int64_t chunk_rows = 512;
};

}  // namespace moekd
