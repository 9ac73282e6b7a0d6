#pragma once
// Divergences between the teacher's and the student's next-token distributions (docs/DESIGN.md, Objectives).
// Inputs are per-token rows: the teacher as log-probabilities (already at temperature, possibly
// averaged over KA passes), the student as raw logits. Work happens in row chunks, forward and
// backward, so peak memory holds one [chunk, V] working set instead of several [tokens, V] copies.
#include <torch/torch.h>

#include <string>

#include "run/settings.h"

namespace moekd {

// log softmax(teacher_logits / T): the teacher side of every divergence.
torch::Tensor teacher_log_probs(const torch::Tensor& teacher_logits, double temperature);
// KA with forward KL: per-row mean over M teacher passes of KL(p_m || q), from [M, N, V] teacher
// logits. KL(p||q) is linear in p up to p's own entropy, so one divergence against the mean
// distribution carries the exact student gradient; the entropy gap (no gradient) is added back so
// the value equals the mean of the M divergences too.
torch::Tensor ka_forward_kl_per_token(const torch::Tensor& teacher_logits_m, const torch::Tensor& student_logits,
                                      const DivergenceSpec& spec);

// Per-row divergence [N] between teacher log-probs [N, V] and student logits [N, V] (divided by T
// inside). Differentiable w.r.t. both inputs. Not scaled by T^2: callers decide.
torch::Tensor divergence_per_token(const torch::Tensor& teacher_logp, const torch::Tensor& student_logits,
                                   const DivergenceSpec& spec);

}  // namespace moekd
