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
  // Sparse path: token slots sorted by expert, then either one grouped GEMM per projection over
  // all experts (forward_grouped: no host synchronisation; see expert_dispatch) or one matmul
  // per non-empty expert (forward_looped: reads the per-expert counts back once per layer).
  torch::Tensor forward_sparse(const torch::Tensor& x, const Selection& sel);
  torch::Tensor forward_looped(const torch::Tensor& x, const Selection& sel);
  torch::Tensor forward_grouped(const torch::Tensor& x, const Selection& sel);
  // Every expert on every token, mixed with dense weights [N, E]: one wide MLP (see the .cpp).
  torch::Tensor forward_all(const torch::Tensor& x, const torch::Tensor& weights);
  // Re-zeroes the padding of unequal experts (after a random initialisation).
  void zero_padding();
  torch::Tensor gate_proj, up_proj, down_proj;
  std::vector<int64_t> sizes;
  bool equal_sizes = true;
};
TORCH_MODULE(Experts);

// How the sparse path runs its experts. Grouped GEMM where the build has it (LibTorch >= 2.8) on a
// CUDA device of compute capability >= 9 computing in bfloat16 with 16-byte aligned expert shapes;
// a loop over experts elsewhere. MOEKD_MOE_DISPATCH=grouped|looped overrides the choice (grouped
// falls back to looped where the build lacks it or, on CUDA, the shapes are not aligned); `moekd
// selftest` checks both paths on any device.
enum class ExpertDispatch { Looped, Grouped };
ExpertDispatch expert_dispatch(const torch::Tensor& x, int64_t hidden, int64_t widest_expert);
const char* expert_dispatch_name(ExpertDispatch d);

// Forces one dispatch on this thread while alive (the selftest checks both paths on one device);
// Grouped still falls back to Looped where the build lacks grouped GEMM.
class ForceExpertDispatch {
 public:
  explicit ForceExpertDispatch(ExpertDispatch d);
  ~ForceExpertDispatch();
  ForceExpertDispatch(const ForceExpertDispatch&) = delete;
  ForceExpertDispatch& operator=(const ForceExpertDispatch&) = delete;

 private:
  int previous_;
};

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
