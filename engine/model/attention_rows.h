#pragma once
// The row loops of the CPU attention kernel (model/causal_attention.h): a softmax over each row's
// visible keys and its backward, in place. Compiled for SSE, AVX2 and AVX-512; the CPU's best is
// picked once, and every level gives the same results.
#include <cstdint>

namespace moekd {

struct AttentionRowKernels {
  // row[0, visible) <- its softmax, row[visible, width) <- 0 (the masked keys of a block).
  void (*softmax)(float* row, int64_t visible, int64_t width);
  // dp <- p * (dp - sum(p * dp)) over the visible keys, 0 past them: the gradient of the scores
  // from the gradient of the probabilities.
  void (*softmax_backward)(const float* p, float* dp, int64_t visible, int64_t width);
};

const AttentionRowKernels& attention_row_kernels();

}  // namespace moekd
