// The MoE block on the device against a dense float64 formula on the CPU: every family, every
// routing policy, outputs and (for the deterministic policies) gradients of the input and of every
// parameter, the router's included.
#include <algorithm>

#include "backend/torch_compat.h"
#include "model/moe.h"
#include "model/samples.h"
#include "selftest/checks.h"

namespace moekd::selftest {

namespace {

constexpr double kFloat32Tolerance = 1e-4;  // relative to the largest value; float32 sums of ~100 terms
constexpr double kBFloat16Tolerance = 5e-2;  // bfloat16 weights and activations: 8 bits of mantissa

// The dispatch paths this build has on this device, each in the dtype it serves: one GEMM per
// expert in float32; grouped GEMM (LibTorch >= 2.8) in bfloat16 on CUDA, float32 on the CPU.
struct Variant {
  ExpertDispatch dispatch;
  torch::ScalarType dtype;
  double tolerance;
  std::string suffix;
};

std::vector<Variant> variants(const torch::Device& device, const ModelConfig& cfg) {
  std::vector<Variant> out{{ExpertDispatch::Looped, torch::kFloat, kFloat32Tolerance, ""}};
  const auto widest = *std::max_element(cfg.layers[0].expert_sizes.begin(), cfg.layers[0].expert_sizes.end());
  const bool aligned = cfg.hidden_size % 8 == 0 && widest % 8 == 0;  // what CUDA's kernels need
  if (compat::has_grouped_mm() && (aligned || !device.is_cuda())) {
    if (device.is_cuda())
      out.push_back({ExpertDispatch::Grouped, torch::kBFloat16, kBFloat16Tolerance, " [grouped GEMM, bfloat16]"});
    else
      out.push_back({ExpertDispatch::Grouped, torch::kFloat, kFloat32Tolerance, " [grouped GEMM]"});
  }
  return out;
}

MoEBlock make_block(const ModelConfig& cfg, torch::Device device, torch::ScalarType dtype) {
  MoEBlock block(cfg, cfg.layers[0]);
  block->to(device, dtype);
  return block;
}

// y = sum_e w[:, e] * expert_e(x) with the selection's weights scattered into a dense [N, E]
// matrix: no sorting, no grouping, no index_add, so it shares nothing with the dispatch it checks
// but the parameters. Differentiable in every input.
torch::Tensor dense_reference(MoEBlock& block, const torch::Tensor& x, const torch::Tensor& ids,
                              const torch::Tensor& weights) {
  const int64_t E = static_cast<int64_t>(block->experts->sizes.size());
  const auto valid = ids.ge(0);
  auto dense = torch::zeros({x.size(0), E}, x.options())
                   .scatter_add(1, ids.clamp_min(0), weights.to(x.scalar_type()) * valid.to(x.scalar_type()));
  auto y = torch::zeros_like(x);
  for (int64_t e = 0; e < E; ++e) {
    const auto s = block->experts->sizes[static_cast<size_t>(e)];
    const auto gate = block->experts->gate_proj[e].narrow(0, 0, s), up = block->experts->up_proj[e].narrow(0, 0, s),
               down = block->experts->down_proj[e].narrow(1, 0, s);
    const auto h = torch::silu(x.matmul(gate.t())) * x.matmul(up.t());
    y = y + dense.select(1, e).unsqueeze(1) * h.matmul(down.t());
  }
  y = y * block->score_scale;
  if (block->shared_expert) y = y + torch::sigmoid(block->shared_expert_gate(x)) * block->shared_expert(x);
  return y;
}

RoutingPolicy policy_named(const std::string& name, int64_t k) {
  if (name == "topk") return RoutingPolicy::topk();
  if (name == "all") return RoutingPolicy::all();
  if (name == "topp") return RoutingPolicy::topp(0.7);
  return RoutingPolicy::ka(0.5, k + 1);  // "ka": half the tokens sample k+1 experts (rows of two widths)
}

}  // namespace

void check_moe(Context& ctx) {
  for (const auto& [family_name, family] : all_families()) {
    const auto cfg = sample_config(family, 1);
    if (!cfg.is_moe()) continue;
    torch::manual_seed(ctx.seed + 3);
    auto cpu = make_block(cfg, torch::kCPU, torch::kDouble);
    {
      torch::NoGradGuard no_grad;
      for (auto& p : cpu->parameters()) p.normal_(0.0, 0.2);
      cpu->experts->zero_padding();
    }
    const auto x = torch::randn({96, cfg.hidden_size}, torch::kDouble);
    const auto g = torch::randn_like(x);  // the upstream gradient of the backward check
    for (const auto& v : variants(ctx.device, cfg)) {
      const ForceExpertDispatch force(v.dispatch);
      auto dev = make_block(cfg, ctx.device, v.dtype);
      copy_state(*cpu, *dev);
      for (const std::string name : {"topk", "ka", "topp", "all"}) {
        if (v.dispatch == ExpertDispatch::Grouped && name == "all") continue;  // dense: no dispatch
        const auto policy = policy_named(name, cfg.moe.top_k);
        const std::string label = "moe " + std::string(family_name) + "/" + name;
        {  // the output, under the selection the device made (KA's draws are the device's own)
          torch::NoGradGuard no_grad;
          RoutingRecord rec;
          const auto y = dev->forward(x.to(ctx.device, v.dtype), policy, &rec);
          const auto ref = dense_reference(cpu, x, rec.selection.ids.to(torch::kCPU),
                                           rec.selection.weights.to(torch::kCPU, torch::kDouble));
          ctx.report({label + " forward" + v.suffix, relative_error(y, ref), v.tolerance,
                      "max rel diff vs dense float64"});
        }
        if (name == "ka") continue;  // sampled: the CPU cannot redraw the device's choice for a gradient
        // Gradients of the input and of every parameter through the router's weights too.
        dev->zero_grad();
        cpu->zero_grad();
        auto xd = x.to(ctx.device, v.dtype).requires_grad_(true);
        (dev->forward(xd, policy, nullptr) * g.to(ctx.device, v.dtype)).sum().backward();
        auto xc = x.clone().requires_grad_(true);
        const auto sel = select_experts(cpu->gate(xc, false), cfg.moe, policy);
        (dense_reference(cpu, xc, sel.ids, sel.weights) * g).sum().backward();
        double worst = relative_error(xd.grad(), xc.grad());
        auto reference = cpu->named_parameters();
        for (const auto& p : dev->named_parameters()) {
          const auto& r = reference[p.key()];
          if (!r.grad().defined() || !p.value().grad().defined()) continue;  // the noise projection (no noise here)
          worst = std::max(worst, relative_error(p.value().grad(), r.grad()));
        }
        ctx.report({label + " gradients" + v.suffix, worst, v.tolerance,
                    "max rel diff vs dense float64, input and every parameter"});
      }
    }
  }
}

}  // namespace moekd::selftest
