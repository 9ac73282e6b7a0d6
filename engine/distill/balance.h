#pragma once
// The auxiliary load-balance loss of a forward, over its real (non-padding) tokens and averaged
// over the MoE layers: what train-teacher adds to its loss and SAR to its router loss.
#include <torch/torch.h>

#include <optional>
#include <vector>

#include "model/moe.h"
#include "run/settings.h"

namespace moekd {

// `real` [N] bool marks the tokens that count. Zero when no layer recorded its routing.
torch::Tensor balance_loss(const std::vector<std::optional<RoutingRecord>>& routing, BalanceLoss kind,
                           const torch::Tensor& real);

}  // namespace moekd
