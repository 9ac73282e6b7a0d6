#include "distill/routing_stats.h"

namespace moekd {

RoutingAccumulator::RoutingAccumulator(int64_t num_layers, int64_t num_experts, int64_t num_categories)
    : layers_(num_layers), experts_(num_experts), categories_(std::max<int64_t>(1, num_categories)) {}

void RoutingAccumulator::add(const std::vector<std::optional<RoutingRecord>>& routing, const torch::Tensor& real,
                             const torch::Tensor& category) {
  torch::NoGradGuard no_grad;
  auto rows = real.nonzero().squeeze(1);
  const auto cats = category.index_select(0, rows);
  for (size_t L = 0; L < routing.size() && L < layers_.size(); ++L) {
    if (!routing[L]) continue;
    const auto& r = *routing[L];
    auto& acc = layers_[L];
    auto ids = r.selection.ids.index_select(0, rows);  // [n, K], -1 = padding
    auto valid = ids.ge(0);
    auto flat_ids = ids.clamp_min(0).reshape(-1);
    auto weight = valid.reshape(-1).to(torch::kDouble);
    auto flat_cats = cats.unsqueeze(1).expand_as(ids).reshape(-1);
    auto opts = torch::dtype(torch::kDouble).device(ids.device());
    if (!acc.seen) {
      acc.slots = torch::zeros({experts_}, opts);
      acc.sampled_slots = torch::zeros({experts_}, opts);
      acc.prob_sum = torch::zeros({experts_}, opts);
      acc.by_category = torch::zeros({categories_ * experts_}, opts);
      acc.tokens = torch::zeros({}, opts);
      acc.sampled = torch::zeros({}, opts);
      acc.seen = true;
    }
    acc.slots.index_add_(0, flat_ids, weight);
    const auto sampled = r.selection.sampled.index_select(0, rows);  // [n] bool
    acc.sampled_slots.index_add_(0, flat_ids, weight * sampled.unsqueeze(1).expand_as(ids).reshape(-1).to(torch::kDouble));
    acc.by_category.index_add_(0, flat_cats * experts_ + flat_ids, weight);
    acc.prob_sum += r.probs.detach().index_select(0, rows).to(torch::kDouble).sum(0);
    acc.tokens += static_cast<double>(rows.size(0));
    acc.sampled += r.selection.sampled.index_select(0, rows).to(torch::kDouble).sum();
  }
  tokens_seen_ += rows.size(0);
}

void RoutingAccumulator::add(const std::vector<std::optional<RoutingRecord>>& routing, const Batch& b, int64_t repeats) {
  if (repeats == 1) return add(routing, b.real, b.token_category);
  add(routing, b.real.repeat({repeats}), b.token_category.repeat({repeats}));
}

RoutingSnapshot RoutingAccumulator::snapshot(int64_t step, const std::string& model,
                                             const std::vector<std::string>& categories,
                                             const std::vector<double>& drift) {
  RoutingSnapshot snap;
  snap.step = step;
  snap.model = model;
  auto to_vec = [](const torch::Tensor& t) {
    auto c = t.to(torch::kCPU).contiguous();
    return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  };
  for (size_t L = 0; L < layers_.size(); ++L) {
    const auto& acc = layers_[L];
    if (!acc.seen) continue;
    LayerRouting lr;
    lr.layer = static_cast<int64_t>(L);
    lr.tokens = to_vec(acc.slots);
    const double total_slots = acc.slots.sum().item<double>();
    const double tokens = acc.tokens.item<double>();
    lr.usage = to_vec(acc.slots / std::max(1.0, total_slots));
    lr.mean_prob = to_vec(acc.prob_sum / std::max(1.0, tokens));
    lr.sampled_share = acc.sampled.item<double>() / std::max(1.0, tokens);
    // KA: the slots of sampled tokens and of top-k routed ones, each as shares of their own total.
    const double sampled_slots = acc.sampled_slots.sum().item<double>();
    if (sampled_slots > 0) {
      lr.usage_sampled = to_vec(acc.sampled_slots / sampled_slots);
      const double topk_slots = total_slots - sampled_slots;
      if (topk_slots > 0) lr.usage_topk = to_vec((acc.slots - acc.sampled_slots) / topk_slots);
    }
    lr.router_drift = L < drift.size() ? drift[L] : 0.0;
    auto by_cat = acc.by_category.view({categories_, experts_});
    for (int64_t c = 0; c < categories_ && c < static_cast<int64_t>(categories.size()); ++c) {
      auto row = by_cat[c];
      const double n = row.sum().item<double>();
      if (n == 0) continue;
      auto& grid = snap.usage_by_category[categories[c]];
      if (grid.empty()) grid.resize(layers_.size());
      grid[L] = to_vec(row / n);
    }
    snap.layers.push_back(std::move(lr));
  }
  return snap;
}

std::vector<torch::Tensor> RoutingAccumulator::tensors() const {
  std::vector<torch::Tensor> out;
  for (const auto& l : layers_)
    for (const auto* t : {&l.slots, &l.sampled_slots, &l.prob_sum, &l.by_category, &l.tokens, &l.sampled})
      if (t->defined()) out.push_back(*t);
  return out;
}

void RoutingAccumulator::reset() {
  for (auto& l : layers_) l = Layer{};
  tokens_seen_ = 0;
}

}  // namespace moekd
