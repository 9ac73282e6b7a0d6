#include "model/routing.h"

#include "util/error.h"
#include "backend/precision.h"
#include "backend/torch_compat.h"

namespace moekd {

namespace {

// Top-k in the family's own ordering: LLaMA-MoE ranks logits, the others rank probabilities
// (identical sets; this also reproduces each implementation's tie order).
torch::Tensor topk_ids(const torch::Tensor& logits, const torch::Tensor& probs, const MoeSpec& spec, int64_t k) {
  const auto& ranked = spec.weight_rule == WeightRule::SoftmaxChosen ? logits : probs;
  return std::get<1>(ranked.topk(k, -1));
}

// k experts per row without replacement, each draw proportional to softmax(logits) over the
// experts not yet drawn: the Gumbel-top-k trick gives exactly that distribution in one pass.
torch::Tensor sample_without_replacement(const torch::Tensor& logits, int64_t k) {
  auto u = torch::rand_like(logits).clamp_(std::numeric_limits<float>::min(), 1.0);
  auto gumbel = -torch::log(-torch::log(u));
  return std::get<1>((logits.detach() + gumbel).topk(k, -1));
}

torch::Tensor pad_columns(const torch::Tensor& ids, int64_t K) {
  if (ids.size(1) == K) return ids;
  return torch::cat({ids, torch::full({ids.size(0), K - ids.size(1)}, -1, ids.options())}, 1);
}

// The family's weight rule applied to the chosen set (padding entries get weight 0).
torch::Tensor chosen_weights(const torch::Tensor& logits, const torch::Tensor& probs, const torch::Tensor& ids,
                             const MoeSpec& spec) {
  auto valid = ids.ge(0);
  auto safe = ids.clamp_min(0);
  if (spec.weight_rule == WeightRule::SoftmaxChosen) {
    auto chosen = logits.gather(1, safe).masked_fill(valid.logical_not(), -std::numeric_limits<float>::infinity());
    return torch::softmax(chosen, -1);
  }
  auto w = probs.gather(1, safe) * valid;
  if (spec.weight_rule == WeightRule::SoftmaxAllRenormalised) w = w / w.sum(-1, true);
  return w;
}

}  // namespace

Selection select_experts(const torch::Tensor& logits_in, const MoeSpec& spec, const RoutingPolicy& policy) {
  auto logits = at_least_float32(logits_in);
  auto probs = torch::softmax(logits, -1);
  const int64_t N = logits.size(0), E = logits.size(1), k = spec.top_k;
  Selection sel;
  sel.sampled = torch::zeros({N}, torch::dtype(torch::kBool).device(logits.device()));
  switch (policy.kind) {
    case PolicyKind::TopK: {
      const int64_t kk = policy.k > 0 ? policy.k : k;
      if (kk > E) fail("top-k routing: k = ", kk, " exceeds the number of experts (", E, ")");
      sel.ids = topk_ids(logits, probs, spec, kk);
      break;
    }
    case PolicyKind::All:
      sel.ids = torch::arange(E, torch::dtype(torch::kLong).device(logits.device())).expand({N, E});
      break;
    case PolicyKind::KA: {
      if (policy.ka_lambda < 0 || policy.ka_lambda > 1)
        fail("KA routing: lambda must be in [0, 1], got ", policy.ka_lambda);
      const int64_t kp = policy.ka_k > 0 ? policy.ka_k : k;
      if (kp > E) fail("KA routing: k' = ", kp, " exceeds the number of experts (", E, ")");
      auto top = topk_ids(logits, probs, spec, k);
      if (policy.ka_lambda == 0.0) {  // plain KD, bit for bit, and no random numbers consumed
        sel.ids = top;
        break;
      }
      auto drawn = sample_without_replacement(logits, kp);
      sel.sampled = torch::rand({N}, logits.options()).lt(policy.ka_lambda);
      const int64_t K = std::max(k, kp);
      sel.ids = torch::where(sel.sampled.unsqueeze(1), pad_columns(drawn, K), pad_columns(top, K));
      sel.padded = kp != k;
      break;
    }
    case PolicyKind::TopP: {
      if (!(policy.top_p > 0 && policy.top_p <= 1)) fail("top-p routing: p must be in (0, 1], got ", policy.top_p);
      auto [sorted, order] = compat::stable_sort(probs.detach(), /*descending=*/true);
      // Keep expert i while the mass before it is still short of p: the minimal prefix reaching p.
      auto keep = (sorted.cumsum(-1) - sorted).lt(policy.top_p);
      const int64_t K = keep.sum(-1).max().item<int64_t>();
      sel.ids = order.narrow(1, 0, K).masked_fill(keep.narrow(1, 0, K).logical_not(), -1);
      sel.padded = keep.narrow(1, 0, K).logical_not().any().item<bool>();
      break;
    }
  }
  sel.weights = chosen_weights(logits, probs, sel.ids, spec);
  return sel;
}

namespace {
torch::Tensor routed_slots(const Selection& sel, int64_t E) {
  auto ids = sel.ids.reshape(-1);
  if (sel.padded) ids = ids.masked_select(ids.ge(0));
  return torch::bincount(ids, /*weights=*/{}, E).to(sel.weights.scalar_type());
}

torch::Tensor cv_squared(const torch::Tensor& x) {
  const double eps = 1e-10;
  if (x.numel() <= 1) return torch::zeros({}, x.options());
  return x.var() / (x.mean().pow(2) + eps);
}
}  // namespace

torch::Tensor switch_balance_loss(const torch::Tensor& router_probs, const Selection& sel) {
  const int64_t N = router_probs.size(0), E = router_probs.size(1);
  auto f = routed_slots(sel, E) / static_cast<double>(N);
  auto P = router_probs.mean(0);
  return (f * P).sum() * static_cast<double>(E);
}

torch::Tensor cv2_balance_loss(const Selection& sel, int64_t num_experts) {
  auto importance = torch::zeros({num_experts}, sel.weights.options())
                        .index_add(0, sel.ids.clamp_min(0).reshape(-1), sel.weights.reshape(-1));
  auto load = routed_slots(sel, num_experts);
  return cv_squared(importance) + cv_squared(load);
}

}  // namespace moekd
