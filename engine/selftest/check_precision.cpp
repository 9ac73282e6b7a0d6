// bfloat16 (and on CUDA float16) forwards of every family, loaded from a float32 checkpoint
// straight into the half dtype on the device, against the float32 forward on the CPU.
#include "backend/precision.h"
#include "io/hf_model.h"
#include "model/samples.h"
#include "selftest/checks.h"
#include "selftest/scratch_dir.h"

namespace moekd::selftest {

namespace {

// Per-token KL(p_float32 || p_half): what the rounding costs the distribution a student sees.
// bfloat16 keeps 8 bits of mantissa; these models measure 1e-4 to 4e-4.
constexpr double kHalfKlTolerance = 2e-3;

}  // namespace

void check_precision(Context& ctx) {
  ScratchDir scratch;
  std::vector<torch::ScalarType> dtypes = {torch::kBFloat16};
  if (ctx.device.is_cuda()) dtypes.push_back(torch::kHalf);
  for (const auto& [family_name, family] : all_families()) {
    auto reference_model = sample_model(family, ctx.seed + 11, 2);
    const auto dir = scratch.path(family_name);
    save_pretrained(reference_model, dir);
    torch::manual_seed(ctx.seed + 12);
    const auto ids = torch::randint(0, reference_model->config.vocab_size, {2, 24}, torch::kLong);
    // Top-k routing is discrete: a near-tie of router probabilities flips a token's experts in any
    // half-precision MoE (OLMoE here: one token of 48 at KL 0.37, and through attention the tokens
    // after it), so top-k is judged by the median token. Every expert (`all`) is continuous and
    // judged by the 90th percentile. A broken cast or a half-precision softmax moves every token.
    struct Case {
      const char* what;
      RoutingPolicy policy;
      double quantile;
    };
    std::vector<Case> cases = {{"top-k", RoutingPolicy::topk(), 0.5}};
    if (reference_model->config.is_moe()) cases.push_back({"all experts", RoutingPolicy::all(), 0.9});
    for (const auto& c : cases) {
      ForwardOptions opt;
      opt.policy = c.policy;
      torch::Tensor reference;
      {
        torch::InferenceMode inference;
        reference = torch::log_softmax(reference_model->forward(ids, opt).logits.to(torch::kDouble), -1);
      }
      for (const auto dtype : dtypes) {
        LoadOptions load;
        load.dtype = dtype;
        load.device = ctx.device;
        auto model = load_pretrained(dir, load);
        torch::InferenceMode inference;
        const auto logq =
            torch::log_softmax(model->forward(ids.to(ctx.device), opt).logits.to(torch::kCPU, torch::kDouble), -1);
        const auto per_token = std::get<0>((reference.exp() * (reference - logq)).sum(-1).reshape(-1).sort());
        const double kl = per_token[static_cast<int64_t>(c.quantile * static_cast<double>(per_token.size(0) - 1))]
                              .item<double>();
        const std::string name = std::string(name_of(precision_of(dtype))) + " forward " + family_name +
                                 (reference_model->config.is_moe() ? std::string(", ") + c.what : std::string());
        ctx.report({name, kl, kHalfKlTolerance,
                    std::string(c.quantile == 0.5 ? "median" : "90th percentile") +
                        " per-token KL(float32 || half), loaded from float32"});
      }
    }
  }
}

}  // namespace moekd::selftest
