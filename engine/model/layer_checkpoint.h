#pragma once
// Activation checkpointing, one decoder layer at a time: the layer's forward keeps none of its
// activations for backward; backward runs the layer again, under the autocast and random state of
// the first run, and takes the gradients from that second pass. The trade: one more forward per
// layer, for activation memory that no longer grows with the number of layers.
#include <torch/torch.h>

#include "model/layers.h"
#include "model/moe.h"

namespace moekd {

struct DecoderLayerImpl;
struct ForwardOptions;

// layer.forward(x, attn, opt, record), checkpointed. The routing record's probabilities and
// weights keep their gradient path (balance losses train through them).
torch::Tensor checkpointed_layer(DecoderLayerImpl& layer, const torch::Tensor& x, const AttentionInputs& attn,
                                 const ForwardOptions& opt, RoutingRecord* record);

}  // namespace moekd
