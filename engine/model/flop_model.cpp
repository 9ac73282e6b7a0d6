#include "model/flop_model.h"

namespace moekd {

namespace {

double mean_expert_size(const LayerSpec& l) {
  double sum = 0;
  for (auto e : l.expert_sizes) sum += static_cast<double>(e);
  return l.expert_sizes.empty() ? 0.0 : sum / static_cast<double>(l.expert_sizes.size());
}

}  // namespace

double forward_flops_per_token(const ModelConfig& c, int64_t length, int64_t experts_per_token) {
  const double d = static_cast<double>(c.hidden_size), q = static_cast<double>(c.num_heads * c.head_dim),
               kv = static_cast<double>(c.num_kv_heads * c.head_dim);
  const double k = static_cast<double>(experts_per_token > 0 ? experts_per_token : c.moe.top_k);
  double macs = 0;  // multiply-adds per token
  for (const auto& l : c.layers) {
    macs += d * (q + 2 * kv) + q * d;                     // q, k, v, o projections
    macs += 2.0 * static_cast<double>(length) * q;        // scores q.k and the mix of v
    if (!l.moe) {
      macs += 3 * d * static_cast<double>(c.intermediate_size);
      continue;
    }
    macs += d * static_cast<double>(c.moe.num_experts);   // the router
    macs += k * 3 * d * mean_expert_size(l);              // gate, up, down of each expert run
    if (c.moe.shared_expert_size > 0) macs += 3 * d * static_cast<double>(c.moe.shared_expert_size) + d;
  }
  macs += d * static_cast<double>(c.vocab_size);           // the LM head
  return 2 * macs;
}

double step_flops_per_token(Method method, const ModelConfig& teacher, const ModelConfig& student, int64_t length,
                            int64_t ka_passes) {
  const double student_step = 3 * forward_flops_per_token(student, length);
  switch (method) {
    case Method::SFT:
    case Method::TrainTeacher:
      return student_step;
    case Method::KD:
      return student_step + forward_flops_per_token(teacher, length);
    case Method::KA:
      return student_step + static_cast<double>(ka_passes) * forward_flops_per_token(teacher, length);
    case Method::SAR: {
      const double all = forward_flops_per_token(teacher, length, teacher.moe.num_experts);
      // Backward to the routers needs the activations' gradients (one forward's worth), not the weights'.
      return student_step + 3 * all;
    }
  }
  return student_step;
}

}  // namespace moekd
