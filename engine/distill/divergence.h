#pragma once
// Divergences between the teacher's and the student's next-token distributions (DESIGN.md 4).
// Inputs are per-token rows: the teacher as log-probabilities (already at temperature, possibly
// averaged over KA passes), the student as raw logits. Work happens in row chunks, forward and
// backward, so peak memory holds one [chunk, V] working set instead of several [tokens, V] copies.
#include <torch/torch.h>

#include <string>

namespace moekd {

enum class DivergenceKind { ForwardKL, ReverseKL, JSD, TotalVariation, SkewKL, SkewReverseKL };

struct DivergenceSpec {
  DivergenceKind kind = DivergenceKind::ForwardKL;
  double temperature = 1.0;
  double jsd_beta = 0.5;    // JSD(beta) = beta KL(p||m) + (1-beta) KL(q||m), m = beta p + (1-beta) q
  double skew_alpha = 0.1;  // DistiLLM: SKL = KL(p || a p + (1-a) q), SRKL = KL(q || a q + (1-a) p)
  int64_t chunk_rows = 512;
};

const char* divergence_name(DivergenceKind k);
DivergenceKind parse_divergence(const std::string& name);  // Error lists the allowed names

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
