#include "model/sampling.h"

#include <algorithm>
#include <limits>

#include "util/error.h"

namespace moekd {

namespace {
// Logits with every token outside the top-k and nucleus cuts at -inf, float32, divided by T.
torch::Tensor cut_logits(const torch::Tensor& logits, const SamplingConfig& spec) {
  auto x = logits.to(torch::kFloat) / spec.temperature;
  const int64_t V = x.size(-1);
  const float minus_inf = -std::numeric_limits<float>::infinity();
  if (spec.top_k > 0 && spec.top_k < V) {
    const auto kth = std::get<0>(x.topk(spec.top_k, -1)).narrow(-1, spec.top_k - 1, 1);
    x = x.masked_fill(x < kth, minus_inf);
  }
  if (spec.top_p < 1.0) {
    auto [sorted, order] = x.sort(-1, /*descending=*/true);
    const auto probs = torch::softmax(sorted, -1);
    // Mass before each token in descending order: a token stays while that is below top_p, so
    // the smallest set reaching top_p stays, and the first token always does.
    const auto before = probs.cumsum(-1) - probs;
    const auto drop_sorted = before >= spec.top_p;
    x = x.masked_fill(torch::zeros_like(drop_sorted).scatter(-1, order, drop_sorted), minus_inf);
  }
  return x;
}
}  // namespace

torch::Tensor sampling_distribution(const torch::Tensor& logits, const SamplingConfig& spec) {
  return torch::softmax(cut_logits(logits, spec), -1);
}

torch::Tensor sample_tokens(const torch::Tensor& logits, const SamplingConfig& spec, at::Generator& gen) {
  if (!(spec.temperature > 0)) fail("sampling: temperature must be above 0, got ", spec.temperature);
  return torch::multinomial(sampling_distribution(logits, spec), 1, /*replacement=*/false, gen).squeeze(-1);
}

at::Generator seeded_generator(const torch::Device& device, uint64_t seed) {
  auto gen = at::globalContext().defaultGenerator(device).clone();
  gen.set_current_seed(seed);
  return gen;
}

SampledResponses sample_responses(CausalLM& model, const std::vector<std::vector<int64_t>>& prompts,
                                  const std::vector<int64_t>& limits, const SamplingConfig& spec, int64_t eos,
                                  int64_t pad, at::Generator& gen) {
  torch::NoGradGuard no_grad;
  const auto B = static_cast<int64_t>(prompts.size());
  if (B == 0 || limits.size() != prompts.size()) fail("sample_responses: ", B, " prompts and ", limits.size(), " limits");
  int64_t P = 0, most = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (prompts[i].empty()) fail("sample_responses: prompt ", i, " is empty");
    P = std::max<int64_t>(P, static_cast<int64_t>(prompts[i].size()));
    most = std::max(most, limits[i]);
  }
  // Left padding: every prompt ends at column P - 1, so each step appends one column for all rows.
  auto ids = torch::full({B, P}, pad, torch::kLong);
  auto keep = torch::zeros({B, P}, torch::kLong);
  for (int64_t i = 0; i < B; ++i) {
    const auto n = static_cast<int64_t>(prompts[i].size());
    ids[i].narrow(0, P - n, n).copy_(torch::tensor(prompts[i], torch::kLong));
    keep[i].narrow(0, P - n, n).fill_(1);
  }
  const auto device = model->head_weight().device();
  ids = ids.to(device);
  keep = keep.to(device);
  const auto limit = torch::tensor(limits, torch::kLong).to(device);

  KVCache cache;
  ForwardOptions opt;
  opt.cache = &cache;
  opt.last_logits_only = true;
  opt.attention_mask = keep;
  auto logits = model->forward(ids, opt).logits;
  auto done = limit.le(0);
  std::vector<torch::Tensor> columns;
  for (int64_t n = 0; n < most; ++n) {
    auto next = sample_tokens(logits.select(1, 0), spec, gen).masked_fill(done, pad);
    columns.push_back(next);
    const auto was_done = done;
    done = done.logical_or(next.eq(eos)).logical_or(limit.le(n + 1));
    if (n + 1 == most || done.all().item<bool>()) break;
    keep = torch::cat({keep, was_done.logical_not().to(torch::kLong).unsqueeze(1)}, 1);
    opt.attention_mask = keep;
    logits = model->forward(next.unsqueeze(1), opt).logits;
  }

  SampledResponses out;
  out.tokens.resize(prompts.size());
  const auto written = torch::stack(columns, 1).to(torch::kCPU);
  const auto acc = written.accessor<int64_t, 2>();
  for (int64_t i = 0; i < B; ++i) {
    for (int64_t n = 0; n < std::min<int64_t>(limits[i], written.size(1)); ++n) {
      out.tokens[i].push_back(acc[i][n]);
      if (acc[i][n] == eos) break;
    }
    out.total += static_cast<int64_t>(out.tokens[i].size());
  }
  return out;
}

}  // namespace moekd
