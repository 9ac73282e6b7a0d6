#pragma once
// Accumulates what the routers did over a window of steps (on the device, no host syncs) and
// turns it into a RoutingSnapshot event.
#include <torch/torch.h>

#include <optional>

#include "distill/batch.h"
#include "model/moe.h"
#include "run/events.h"

namespace moekd {

class RoutingAccumulator {
 public:
  RoutingAccumulator(int64_t num_layers, int64_t num_experts, int64_t num_categories);
  // `real` [N] bool marks non-padding tokens; `category` [N] int64 each token's category.
  void add(const std::vector<std::optional<RoutingRecord>>& routing, const torch::Tensor& real,
           const torch::Tensor& category);
  // The routing of one forward over `b.ids` repeated `repeats` times along the batch (KA's passes).
  void add(const std::vector<std::optional<RoutingRecord>>& routing, const Batch& b, int64_t repeats = 1);
  bool empty() const { return tokens_seen_ == 0; }
  // Every count it holds, in a fixed order (several processes sum them before a snapshot).
  std::vector<torch::Tensor> tensors() const;
  RoutingSnapshot snapshot(int64_t step, const std::string& model, const std::vector<std::string>& categories,
                           const std::vector<double>& drift);
  void reset();

 private:
  struct Layer {
    torch::Tensor slots, sampled_slots, prob_sum, by_category;  // [E], [E], [E], [C, E]
    torch::Tensor tokens, sampled;               // scalars
    bool seen = false;
  };
  std::vector<Layer> layers_;
  int64_t experts_, categories_;
  int64_t tokens_seen_ = 0;
};

}  // namespace moekd
