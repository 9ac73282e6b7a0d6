#pragma once
// The MoE feed-forward block: a router, E experts stored stacked, optionally a gated shared expert.
#include <torch/torch.h>

#include "model/config.h"
#include "model/layers.h"
#include "model/routing.h"

namespace moekd {

// What one MoE layer decided for every token of a forward: enough for metrics and auxiliary
// losses without recomputing the model. Tensors keep their autograd history.
struct RoutingRecord {
  torch::Tensor logits;  // [N, E] router logits (after noise, when noise was added)
  torch::Tensor probs;   // [N, E] softmax over all experts
  Selection selection;
};

// The router: LLaMA-MoE's gate_network (linear, or linear -> tanh -> linear) with its noise
// projection, or the plain linear `weight` of the Hugging Face families.
struct RouterImpl : torch::nn::Module {
  RouterImpl(const ModelConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x, bool add_noise);
  torch::Tensor weight;                        // [E, d] plain linear router
  torch::nn::Sequential gate_network{nullptr};  // LLaMA-MoE (mlp: indices 0 and 2 hold weights)
  torch::nn::Linear gate_linear{nullptr};       // LLaMA-MoE with gate_network = "linear"
  torch::nn::Linear weight_noise{nullptr};
  double noise_epsilon = 0.0;
};
TORCH_MODULE(Router);

// E experts of (possibly unequal) intermediate sizes, stored stacked and zero-padded to the
// largest: gate/up [E, F, d], down [E, d, F]. Padding rows stay zero under training (their
// gradients are exactly zero) and are never written out.
struct ExpertsImpl : torch::nn::Module {
  ExpertsImpl(int64_t hidden, std::vector<int64_t> sizes);
  // Sparse path: tokens sorted by expert, one matmul per non-empty expert, index_add back.
  torch::Tensor forward_sparse(const torch::Tensor& x, const Selection& sel);
  // Every expert on every token (batched over E), mixed with dense weights [N, E].
  torch::Tensor forward_all(const torch::Tensor& x, const torch::Tensor& weights);
  // Re-zeroes the padding of unequal experts (after a random initialisation).
  void zero_padding();
  torch::Tensor gate_proj, up_proj, down_proj;
  std::vector<int64_t> sizes;
  bool equal_sizes = true;
};
TORCH_MODULE(Experts);

struct MoEBlockImpl : torch::nn::Module {
  MoEBlockImpl(const ModelConfig& cfg, const LayerSpec& layer);
  // x: [N, d]. Fills `record` when given.
  torch::Tensor forward(const torch::Tensor& x, const RoutingPolicy& policy, RoutingRecord* record,
                        bool router_noise = false);
  // The per-token reference of the same computation (tests only: a loop over tokens).
  torch::Tensor forward_reference(const torch::Tensor& x, const Selection& sel);

  Router gate{nullptr};
  Experts experts{nullptr};
  DenseMLP shared_expert{nullptr};
  torch::nn::Linear shared_expert_gate{nullptr};
  MoeSpec spec;
  double score_scale = 1.0;
};
TORCH_MODULE(MoEBlock);

}  // namespace moekd
