#include "distill/balance.h"

namespace moekd {

torch::Tensor balance_loss(const std::vector<std::optional<RoutingRecord>>& routing, BalanceLoss kind,
                           const torch::Tensor& real) {
  auto rows = real.nonzero().squeeze(1);
  std::vector<torch::Tensor> per_layer;
  for (const auto& r : routing) {
    if (!r) continue;
    Selection sel;
    sel.ids = r->selection.ids.index_select(0, rows);
    sel.weights = r->selection.weights.index_select(0, rows);
    sel.padded = r->selection.padded;
    per_layer.push_back(kind == BalanceLoss::CV2 ? cv2_balance_loss(sel, r->probs.size(1))
                                                 : switch_balance_loss(r->probs.index_select(0, rows), sel));
  }
  if (per_layer.empty()) return torch::zeros({}, torch::dtype(torch::kFloat).device(real.device()));
  return torch::stack(per_layer).mean();
}

}  // namespace moekd
