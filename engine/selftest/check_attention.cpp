// Causal self-attention as the decoder layers run it on this device (the BLAS kernel of
// model/causal_attention.h on a CPU with LibTorch 1.13, the fused kernel elsewhere) against the
// formula in float64: output and the gradients of q, k and v, with grouped-query heads, lengths
// that end inside a block of rows and inside a vector, and a forward without gradients.
#include "model/causal_attention.h"
#include "selftest/checks.h"

namespace moekd::selftest {

namespace {

// float32 products over 32-dimensional heads, relative to the largest value
constexpr double kAttentionTolerance = 1e-4;

torch::Tensor attention_formula(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  const auto T = q.size(2), groups = q.size(1) / k.size(1);
  const auto kk = k.repeat_interleave(groups, 1), vv = v.repeat_interleave(groups, 1);
  auto scores = torch::matmul(q, kk.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(-1)));
  const auto future = torch::ones({T, T}, torch::dtype(torch::kBool)).triu(1);
  return torch::matmul(torch::softmax(scores.masked_fill(future, -INFINITY), -1), vv);
}

}  // namespace

void check_attention(Context& ctx) {
  torch::manual_seed(ctx.seed + 11);
  const auto f32 = torch::TensorOptions().device(ctx.device).dtype(torch::kFloat);
  const bool kernel = ctx.device.is_cpu() && causal_attention_cpu_available();
  const std::string path = kernel ? "cpu kernel" : "fused/formula";
  for (const int64_t T : {45, 300}) {
    const int64_t B = 2, H = 4, Hkv = 2, D = 32;
    // Laid out [B, T, H, D] and viewed [B, H, T, D], as the layers' projections give them.
    auto make = [&](int64_t heads) { return torch::randn({B, T, heads, D}, torch::kDouble).transpose(1, 2); };
    const auto q64 = make(H).requires_grad_(true), k64 = make(Hkv).requires_grad_(true),
               v64 = make(Hkv).requires_grad_(true);
    const auto weights = torch::randn({B, H, T, D}, torch::kDouble);
    (attention_formula(q64, k64, v64) * weights).sum().backward();

    auto q = q64.detach().to(f32).requires_grad_(true), k = k64.detach().to(f32).requires_grad_(true),
         v = v64.detach().to(f32).requires_grad_(true);
    const auto out = self_attention(q, k, v, torch::Tensor());
    (out * weights.to(f32)).sum().backward();
    torch::Tensor frozen;
    {
      torch::NoGradGuard no_grad;
      frozen = self_attention(q, k, v, torch::Tensor());
    }
    const auto ref = attention_formula(q64.detach(), k64.detach(), v64.detach());
    const double error = std::max({relative_error(out, ref), relative_error(frozen, ref),
                                   relative_error(q.grad(), q64.grad()), relative_error(k.grad(), k64.grad()),
                                   relative_error(v.grad(), v64.grad())});
    ctx.report({"attention " + path + ", T = " + std::to_string(T) + ", 4 heads over 2", error, kAttentionTolerance,
                "max rel diff vs float64 formula: output with and without gradients, q, k, v gradients"});
  }
}

}  // namespace moekd::selftest
