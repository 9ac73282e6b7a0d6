#pragma once
// What the student learns from in kd, ka and sar: the teacher's next-token distributions at the
// batch's target positions, and the divergence of the student's rows from them (docs/DESIGN.md,
// "Objectives" and "Knowledge Augmentation").
#include <torch/torch.h>

#include <vector>

#include "distill/batch.h"
#include "distill/routing_stats.h"
#include "model/causal_lm.h"
#include "run/run_config.h"

namespace moekd {

struct TeacherTargets {
  torch::Tensor log_probs;                    // [N, V] at temperature T: one teacher distribution
  torch::Tensor pass_logits;                  // KA, forward KL: the M passes' logits [M, N, V]
  std::vector<torch::Tensor> pass_log_probs;  // KA, other divergences: M x [N, V]
};

// The teacher's targets for `b` under the run's teacher policy, without gradients. KA with
// sampling (lambda > 0, M > 1) runs its M passes as one forward of M x B sequences (chunked to
// ka.max_teacher_batch), or as M forwards when ka.batched is off. `routing`, when given, records
// every pass.
TeacherTargets teacher_targets(CausalLM& teacher, const Batch& b, const RunConfig& cfg, RoutingAccumulator* routing);

// The divergence of `student_rows` [N, V] (logits) from the targets, averaged over tokens and
// KA's passes, times T^2 (Hinton et al.: gradient magnitudes independent of T). With forward KL
// the M passes take one exact divergence against their mean distribution.
torch::Tensor distillation_loss(const TeacherTargets& targets, const torch::Tensor& student_rows,
                                const DivergenceSpec& spec);

}  // namespace moekd
