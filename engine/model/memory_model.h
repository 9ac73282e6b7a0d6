#pragma once
// What a forward of a given shape holds in memory, from the model's config alone: with
// gradients (every layer's activations kept for backward, or with checkpointed layers only their
// inputs and one layer at a time) and without (a frozen teacher: one layer's working set and the
// logits). The plan (`moekd plan`) and KA's choice of chunk size read these; the counts follow
// this engine's own layers (docs/DESIGN.md, "Memory").
#include <cstdint>

#include "model/config.h"

namespace moekd {

struct ForwardShape {
  int64_t batch = 1, length = 1;
  int64_t bytes = 4;             // per element of the compute dtype
  bool fused_attention = false;       // CUDA's fused kernels keep no [T, T] attention scores
  bool cpu_attention_kernel = false;  // model/causal_attention.h: probabilities only, none when frozen
  int64_t tokens() const { return batch * length; }
};

// A forward of `batch` x `length` tokens computing in `bytes` per element, on a CUDA device or the
// CPU, with what that device's attention keeps (the CPU kernel where this build runs it).
ForwardShape forward_shape(int64_t batch, int64_t length, int64_t bytes, bool cuda);

// A forward with gradients. `experts_per_token` 0 = the model's k (the `all` policy: E).
int64_t training_activation_bytes(const ModelConfig& c, const ForwardShape& x, bool checkpointed,
                                  int64_t experts_per_token);
// A forward in inference mode: its peak, not a sum.
int64_t frozen_forward_bytes(const ModelConfig& c, const ForwardShape& x);
// The loss's rows: the student's logits in the compute dtype, and in float32 the target rows, the
// cross-entropy's softmax and `teacher_distributions` teacher log-probability rows.
int64_t loss_row_bytes(int64_t vocab, const ForwardShape& x, int64_t teacher_distributions);

}  // namespace moekd
