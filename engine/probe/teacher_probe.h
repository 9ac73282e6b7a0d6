#pragma once
// `moekd probe`: the paper's motivation measured on one teacher. The same validation split is
// scored with the teacher routed in several ways (top-k with k = 1 .. E, KA's sampling at
// several lambda and k', all experts, top-p), each compared with the teacher's own top-k
// distribution; and per MoE layer, how much router probability top-k leaves out and how spread
// the router is. When the experts top-k leaves out carry little mass and routing them in does
// not move the teacher's predictions, KA and SAR have little to offer that student.
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "run/events.h"
#include "run/run_config.h"
#include "run/settings.h"

namespace moekd {

struct ProbePolicy {
  std::string label;  // "top-2", "ka lambda=0.1 k'=2", "all", "top-p 0.9"
  RoutingPolicy policy;
};
// The sweep `moekd probe` runs by default for a model with E experts of which it uses k.
std::vector<ProbePolicy> default_probe_policies(int64_t num_experts, int64_t top_k);

struct ProbeSetup {
  ModelSource teacher;
  DataConfig data;
  std::string device = "cpu";
  uint64_t seed = 0;           // KA's draws: each policy starts from this seed
  int64_t samples = 64;        // prompts generated per policy (ROUGE-L, exact match); 0: loss only
  int64_t max_new_tokens = 16;
  int64_t batch_size = 16;
  bool test_split = false;
  std::vector<ProbePolicy> policies;  // empty: default_probe_policies
};

struct PolicyScores {
  ProbePolicy policy;
  EvalResult eval;             // validation loss, ROUGE-L, exact match, per category (no samples)
  // Mean over the split's response tokens of KL(p_topk || p_policy), nats: how far this routing
  // moves the teacher's next-token distribution from its own top-k's.
  double kl_from_topk = 0;
  double experts_per_token = 0;  // mean over tokens and MoE layers
};

struct LayerRouterStats {
  int64_t layer = 0;
  double discarded_mass = 0;       // mean over tokens of the router probability outside the top-k
  double entropy = 0;              // mean over tokens of H(router probabilities), nats
  double entropy_fraction = 0;     // entropy / log E: 0 = one expert, 1 = uniform
  std::vector<double> mean_prob;   // per expert
};

struct TeacherProbe {
  std::string teacher;
  int64_t num_experts = 0, top_k = 0;
  int64_t tokens = 0;  // real tokens the router statistics cover
  std::vector<PolicyScores> policies;
  std::vector<LayerRouterStats> layers;
  std::map<std::string, double> discarded_mass_by_category;  // over every MoE layer
};

// `progress` hears each routing's label as its evaluation starts (after one pass over the split
// has measured every routing's KL and experts per token).
TeacherProbe probe_teacher(const ProbeSetup& setup, const std::function<void(const std::string&)>& progress = {});

nlohmann::json to_json(const TeacherProbe& p);
TeacherProbe teacher_probe_from_json(const nlohmann::json& j);

}  // namespace moekd
