#include "model/moe.h"

#include <cstdlib>

#include "backend/precision.h"
#include "backend/system_info.h"
#include "backend/torch_compat.h"

namespace moekd {

namespace nn = torch::nn;

RouterImpl::RouterImpl(const ModelConfig& c) {
  const auto d = c.hidden_size, E = c.moe.num_experts;
  if (c.family != Family::LlamaMoe) {
    weight = register_parameter("weight", torch::empty({E, d}));
    return;
  }
  if (c.moe.router == RouterKind::Mlp) {
    gate_network = register_module(
        "gate_network", nn::Sequential(nn::Linear(nn::LinearOptions(d, E).bias(false)), nn::Tanh(),
                                       nn::Linear(nn::LinearOptions(E, E).bias(false))));
  } else {
    gate_linear = register_module("gate_network", nn::Linear(nn::LinearOptions(d, E).bias(false)));
  }
  if (c.moe.noise_projection) {
    weight_noise = register_module("weight_noise", nn::Linear(nn::LinearOptions(d, E).bias(false)));
    noise_epsilon = c.moe.noise_epsilon;
  }
}

torch::Tensor RouterImpl::forward(const torch::Tensor& x_in, bool add_noise) {
  // The router may be float32 in a bfloat16 model (SAR trains it): the input takes its dtype.
  const auto& first = weight.defined() ? weight
                      : gate_network   ? gate_network->ptr(0)->as<torch::nn::LinearImpl>()->weight
                                       : gate_linear->weight;
  const auto x = x_in.to(first.scalar_type());
  torch::Tensor logits;
  if (weight.defined()) {
    logits = torch::linear(x, weight);
  } else {
    logits = gate_network ? gate_network->forward(x) : gate_linear(x);
  }
  if (add_noise && weight_noise) {
    // LLaMA-MoE's noisy gating: the noise scale is itself learned.
    auto scale = torch::softplus(weight_noise(x)) + noise_epsilon;
    logits = logits + torch::randn_like(logits) * scale;
  }
  return logits;
}

ExpertsImpl::ExpertsImpl(int64_t hidden, std::vector<int64_t> sizes_) : sizes(std::move(sizes_)) {
  const auto E = static_cast<int64_t>(sizes.size());
  const auto F = *std::max_element(sizes.begin(), sizes.end());
  for (auto s : sizes) equal_sizes = equal_sizes && s == F;
  gate_proj = register_parameter("gate_proj", torch::zeros({E, F, hidden}));
  up_proj = register_parameter("up_proj", torch::zeros({E, F, hidden}));
  down_proj = register_parameter("down_proj", torch::zeros({E, hidden, F}));
}

void ExpertsImpl::zero_padding() {
  torch::NoGradGuard no_grad;
  const auto F = gate_proj.size(1);
  for (size_t e = 0; e < sizes.size(); ++e) {
    const auto s = sizes[e];
    if (s == F) continue;
    gate_proj[e].narrow(0, s, F - s).zero_();
    up_proj[e].narrow(0, s, F - s).zero_();
    down_proj[e].narrow(1, s, F - s).zero_();
  }
}

namespace {
thread_local int forced_dispatch = -1;  // -1: none, else an ExpertDispatch
}  // namespace

ForceExpertDispatch::ForceExpertDispatch(ExpertDispatch d) : previous_(forced_dispatch) {
  forced_dispatch = static_cast<int>(d);
}
ForceExpertDispatch::~ForceExpertDispatch() { forced_dispatch = previous_; }

ExpertDispatch expert_dispatch(const torch::Tensor& x, int64_t hidden, int64_t widest_expert) {
  static const std::string env = [] {
    const char* v = std::getenv("MOEKD_MOE_DISPATCH");
    return std::string(v ? v : "");
  }();
  // The CUDA kernels want rows of 16 bytes: both dimensions a multiple of 8 (CPU: any shape).
  const bool aligned = hidden % 8 == 0 && widest_expert % 8 == 0;
  if (!compat::has_grouped_mm() || (x.is_cuda() && !aligned)) return ExpertDispatch::Looped;
  if (forced_dispatch >= 0) return static_cast<ExpertDispatch>(forced_dispatch);
  if (env == "looped") return ExpertDispatch::Looped;
  if (env == "grouped") return ExpertDispatch::Grouped;
  return x.is_cuda() && x.scalar_type() == torch::kBFloat16 && aligned && cuda_compute_capability(x.device()) >= 9
             ? ExpertDispatch::Grouped
             : ExpertDispatch::Looped;
}

const char* expert_dispatch_name(ExpertDispatch d) {
  return d == ExpertDispatch::Grouped ? "grouped GEMM" : "one GEMM per expert";
}

torch::Tensor ExpertsImpl::forward_sparse(const torch::Tensor& x, const Selection& sel) {
  return expert_dispatch(x, x.size(1), gate_proj.size(1)) == ExpertDispatch::Grouped ? forward_grouped(x, sel)
                                                                                       : forward_looped(x, sel);
}

torch::Tensor ExpertsImpl::forward_looped(const torch::Tensor& x, const Selection& sel) {
  const int64_t N = x.size(0), K = sel.ids.size(1), E = static_cast<int64_t>(sizes.size());
  auto ids = sel.ids.reshape(-1);
  auto weights = sel.weights.reshape(-1);
  auto tokens = torch::arange(N, ids.options()).repeat_interleave(K);
  if (sel.padded) {
    auto valid = ids.ge(0);
    ids = ids.masked_select(valid);
    weights = weights.masked_select(valid);
    tokens = tokens.masked_select(valid);
  }
  auto [sorted_ids, order] = compat::stable_sort(ids, /*descending=*/false);
  auto sorted_tokens = tokens.index_select(0, order);
  auto sorted_weights = weights.index_select(0, order).unsqueeze(1).to(x.scalar_type());
  // One host read per layer: how many slots each expert got (the loop bounds).
  auto counts = torch::bincount(sorted_ids, {}, E).to(torch::kCPU);
  const auto* count = counts.data_ptr<int64_t>();

  auto xs = x.index_select(0, sorted_tokens);
  // Each expert's output is added straight into its tokens' rows, its routing weights applied to
  // the [count, F] activations before the down projection: no [N K, d] concatenation of outputs
  // to weight and scatter.
  auto out = torch::zeros_like(x);
  int64_t start = 0;
  for (int64_t e = 0; e < E; ++e) {
    if (count[e] == 0) continue;
    auto xe = xs.narrow(0, start, count[e]);
    auto wg = gate_proj[e], wu = up_proj[e], wd = down_proj[e];
    if (!equal_sizes) {
      wg = wg.narrow(0, 0, sizes[e]);
      wu = wu.narrow(0, 0, sizes[e]);
      wd = wd.narrow(1, 0, sizes[e]);
    }
    auto h = torch::silu(torch::mm(xe, wg.t())) * torch::mm(xe, wu.t());
    h = h * sorted_weights.narrow(0, start, count[e]);
    out.index_add_(0, sorted_tokens.narrow(0, start, count[e]), torch::mm(h, wd.t()));
    start += count[e];
  }
  return out;
}

torch::Tensor ExpertsImpl::forward_grouped(const torch::Tensor& x, const Selection& sel) {
  const int64_t N = x.size(0), K = sel.ids.size(1), E = static_cast<int64_t>(sizes.size());
  // Padding slots (id -1) become expert E: they sort last, past every group's end, and the
  // kernel never computes them. Every shape here is known without reading the device.
  auto ids = sel.ids.reshape(-1);
  if (sel.padded) ids = torch::where(ids.ge(0), ids, torch::full_like(ids, E));
  auto [sorted_ids, order] = compat::stable_sort(ids, /*descending=*/false);
  const auto ends = torch::searchsorted(sorted_ids, torch::arange(E, ids.options()), /*out_int32=*/true,
                                        /*right=*/true);
  const auto type = x.scalar_type();
  // Padded rows of unequal experts are zero: silu(0) * 0 = 0 adds nothing.
  auto xs = x.index_select(0, torch::div(order, K, "floor"));
  // Padding slots lie past the last group: the kernels leave their rows unwritten, forward and
  // backward. masked_fill (not a multiply: 0 * NaN is NaN) stops whatever is there from reaching
  // the outputs here and the input's gradient through the backward of this line.
  const auto padding = sel.padded ? sorted_ids.eq(E).unsqueeze(1) : torch::Tensor();
  if (sel.padded) xs = xs.masked_fill(padding, 0.0);
  auto h = torch::silu(compat::grouped_mm(xs, gate_proj.to(type).transpose(1, 2), ends)) *
           compat::grouped_mm(xs, up_proj.to(type).transpose(1, 2), ends);
  auto ys = compat::grouped_mm(h, down_proj.to(type).transpose(1, 2), ends);
  if (sel.padded) ys = ys.masked_fill(padding, 0.0);
  ys = ys * sel.weights.reshape(-1).index_select(0, order).unsqueeze(1).to(type);
  // Back to slot order and summed over each token's K slots: no atomics, the same sum every run.
  return torch::zeros_like(ys).index_copy(0, order, ys).view({N, K, x.size(1)}).sum(1);
}

torch::Tensor ExpertsImpl::forward_all(const torch::Tensor& x, const torch::Tensor& weights) {
  // Every expert on every token is one wide MLP of intermediate size E * F whose activations are
  // scaled per expert: sum_e w_e down_e(h_e) = [w_1 h_1, ..., w_E h_E] . [down_1; ...; down_E].
  // Three plain GEMMs (the sum over experts is the last one's reduction) instead of E batched
  // products per projection and an [E, N, d] output to weight and sum; the mixing weights scale
  // [N, E, F] activations, not [E, N, d] outputs. Padding rows of unequal experts are zero:
  // silu(0) * 0 = 0 adds nothing.
  const int64_t N = x.size(0), E = gate_proj.size(0), F = gate_proj.size(1), d = x.size(1);
  auto h = torch::silu(torch::mm(x, gate_proj.reshape({E * F, d}).t())) *
           torch::mm(x, up_proj.reshape({E * F, d}).t());                                  // [N, E * F]
  h = (h.view({N, E, F}) * weights.unsqueeze(-1).to(x.scalar_type())).view({N, E * F});
  return torch::mm(h, down_proj.transpose(1, 2).reshape({E * F, d}));                     // [N, d]
}

MoEBlockImpl::MoEBlockImpl(const ModelConfig& c, const LayerSpec& layer) : spec(c.moe), score_scale(layer.score_scale) {
  gate = register_module("gate", Router(c));
  experts = register_module("experts", Experts(c.hidden_size, layer.expert_sizes));
  if (spec.shared_expert_size > 0) {
    shared_expert = register_module("shared_expert", DenseMLP(c.hidden_size, spec.shared_expert_size));
    shared_expert_gate =
        register_module("shared_expert_gate", nn::Linear(nn::LinearOptions(c.hidden_size, 1).bias(false)));
  }
}

torch::Tensor MoEBlockImpl::forward(const torch::Tensor& x, const RoutingPolicy& policy, RoutingRecord* record,
                                    bool router_noise) {
  auto logits = gate(x, router_noise);
  auto sel = select_experts(logits, spec, policy);
  torch::Tensor y;
  if (policy.kind == PolicyKind::All) {
    y = experts->forward_all(x, sel.weights);  // ids are arange(E): weights are already dense
  } else {
    y = experts->forward_sparse(x, sel);
  }
  if (score_scale != 1.0) y = y * score_scale;
  if (shared_expert) y = y + torch::sigmoid(shared_expert_gate(x)) * shared_expert(x);
  if (record) {
    record->logits = logits;
    record->probs = torch::softmax(at_least_float32(logits), -1);
    record->selection = std::move(sel);
  }
  return y;
}

torch::Tensor MoEBlockImpl::forward_reference(const torch::Tensor& x, const Selection& sel) {
  auto out = torch::zeros_like(x);
  auto ids = sel.ids.to(torch::kCPU);
  auto w = sel.weights.to(torch::kCPU);
  for (int64_t t = 0; t < x.size(0); ++t) {
    for (int64_t j = 0; j < ids.size(1); ++j) {
      const auto e = ids[t][j].item<int64_t>();
      if (e < 0) continue;
      const auto s = experts->sizes[e];
      auto xt = x[t];
      auto h = torch::silu(torch::mv(experts->gate_proj[e].narrow(0, 0, s), xt)) *
               torch::mv(experts->up_proj[e].narrow(0, 0, s), xt);
      out[t] += w[t][j].item<float>() * torch::mv(experts->down_proj[e].narrow(1, 0, s), h);
    }
  }
  if (score_scale != 1.0) out = out * score_scale;
  if (shared_expert) out = out + torch::sigmoid(shared_expert_gate(x)) * shared_expert(x);
  return out;
}

}  // namespace moekd
