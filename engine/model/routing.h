#pragma once
// Routing policies at work: which experts each token uses and with what weights (the policy itself
// is a run setting, run/settings.h). A policy changes the choice, never the weights of the model.
#include <torch/torch.h>

#include <string>

#include "model/config.h"
#include "run/settings.h"

namespace moekd {

// The chosen experts of every token. Rows are padded with id -1 / weight 0 where a token chose
// fewer than K experts (topp, or KA with k' != k).
struct Selection {
  torch::Tensor ids;      // [N, K] int64
  torch::Tensor weights;  // [N, K] float, differentiable w.r.t. the router logits
  torch::Tensor sampled;  // [N] bool: KA drew this token's experts by sampling
  bool padded = false;    // some rows hold -1 entries
};

// `logits` are the router's [N, E] outputs. Sampling draws from torch's default generator, so a
// run's seed (torch::manual_seed) fixes it.
Selection select_experts(const torch::Tensor& logits, const MoeSpec& spec, const RoutingPolicy& policy);

// Auxiliary balance losses of one MoE layer, from its router probabilities and selection.
// Switch/Mixtral: E * sum_e f_e * P_e, f_e = routed token slots of e / N, P_e = mean probability.
torch::Tensor switch_balance_loss(const torch::Tensor& router_probs, const Selection& sel);
// LLaMA-MoE: cv^2(importance) + cv^2(load); importance = summed weights, load = routed slots.
torch::Tensor cv2_balance_loss(const Selection& sel, int64_t num_experts);

}  // namespace moekd
