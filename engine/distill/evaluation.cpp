#include "distill/evaluation.h"

#include <cmath>

#include "distill/batch.h"
#include "eval/rouge.h"
#include "util/error.h"

namespace moekd {

namespace {

// Sums over a split that the ranks share: overall and per category, the loss and target tokens
// of the loss pass, then ROUGE-L, exact match and the count of the prompts generated.
struct SplitSums {
  explicit SplitSums(size_t categories)
      : loss(categories + 1), tokens(categories + 1), rouge(categories + 1), exact(categories + 1), n(categories + 1) {}
  std::vector<double> loss, tokens, rouge, exact, n;  // [c] a category's, [back()] the split's
  void add(std::vector<double>& v, size_t c, double x) {
    v[c] += x;
    v.back() += x;
  }
  // One vector for one collective, and back.
  std::vector<double> flat() const {
    std::vector<double> f;
    for (const auto* v : {&loss, &tokens, &rouge, &exact, &n}) f.insert(f.end(), v->begin(), v->end());
    return f;
  }
  void unflatten(const std::vector<double>& f) {
    size_t at = 0;
    for (auto* v : {&loss, &tokens, &rouge, &exact, &n})
      for (auto& x : *v) x = f[at++];
  }
};

// Token-weighted loss of this rank's batches (every world-th) of the split.
void split_loss(CausalLM& model, const std::vector<TokenizedExample>& split, const EvaluationSetup& setup,
                int64_t pad_id, const torch::Device& device, SplitSums& sums) {
  const auto batch_size = static_cast<size_t>(setup.batch_size);
  for (size_t start = batch_size * static_cast<size_t>(setup.rank); start < split.size();
       start += batch_size * static_cast<size_t>(setup.world)) {
    std::vector<const TokenizedExample*> ex;
    for (size_t i = start; i < std::min(split.size(), start + batch_size); ++i) ex.push_back(&split[i]);
    const auto b = make_batch(ex, pad_id, device);
    ForwardOptions opt;
    opt.policy = setup.policy;
    auto logits = model->forward(b.ids, opt).logits;
    const auto T = logits.size(1), V = logits.size(2);
    auto nll = torch::cross_entropy_loss(logits.narrow(1, 0, T - 1).reshape({-1, V}).to(torch::kFloat),
                                         b.targets.reshape(-1), {}, at::Reduction::None)
                   .view({-1, T - 1});
    auto per_seq = (nll * b.target_mask).sum(1).to(torch::kCPU, torch::kDouble);
    auto per_seq_tokens = b.target_mask.sum(1).to(torch::kCPU, torch::kDouble);
    const auto* loss = per_seq.data_ptr<double>();
    const auto* tokens = per_seq_tokens.data_ptr<double>();
    for (size_t i = 0; i < ex.size(); ++i) {
      const auto c = static_cast<size_t>(ex[i]->category);
      sums.add(sums.loss, c, loss[i]);
      sums.add(sums.tokens, c, tokens[i]);
    }
  }
}

// Up to `max_samples` examples, round-robin over the categories so that each is scored.
std::vector<size_t> choose_prompts(const std::vector<TokenizedExample>& split, size_t categories, int64_t max_samples) {
  std::vector<std::vector<size_t>> by_cat(categories);
  for (size_t i = 0; i < split.size(); ++i) by_cat[split[i].category].push_back(i);
  std::vector<size_t> chosen;
  for (size_t round = 0; static_cast<int64_t>(chosen.size()) < max_samples; ++round) {
    bool any = false;
    for (const auto& list : by_cat)
      if (round < list.size() && static_cast<int64_t>(chosen.size()) < max_samples) {
        chosen.push_back(list[round]);
        any = true;
      }
    if (!any) break;
  }
  return chosen;
}

// Greedy continuation of a prompt up to the token that ends a response, without it, as text.
std::string generate_text(CausalLM& model, const std::vector<int64_t>& prompt, int64_t max_new_tokens,
                          const Tokenizer& tok, int64_t stop_id, const RoutingPolicy& policy = {}) {
  auto ids = generate_greedy(model, prompt, max_new_tokens, policy, stop_id);
  if (!ids.empty() && ids.back() == stop_id) ids.pop_back();
  return tok.decode(ids);
}

}  // namespace

EvalResult evaluate_model(CausalLM& model, CausalLM* teacher, const Tokenizer& tok, const RunData& data,
                          const EvaluationSetup& setup, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  EvalResult r;
  r.step = setup.step;
  const auto& cats = data.dataset.categories;
  const auto& split = setup.test_split ? data.test : data.validation;
  const auto& examples = setup.test_split ? data.dataset.test : data.dataset.validation;
  if (split.empty()) fail("the ", setup.test_split ? "test" : "validation", " split is empty");
  SplitSums sums(cats.size());
  split_loss(model, split, setup, tok.pad_id(), device, sums);

  const auto chosen = choose_prompts(split, cats.size(), setup.samples);
  for (size_t j = static_cast<size_t>(setup.rank); j < chosen.size(); j += static_cast<size_t>(setup.world)) {
    const auto& tex = split[chosen[j]];
    const auto& ex = examples[chosen[j]];
    const std::vector<int64_t> prompt(tex.ids.begin(), tex.ids.begin() + tex.response_start);
    const auto text = generate_text(model, prompt, setup.max_new_tokens, tok, data.stop_id, setup.policy);
    const auto c = static_cast<size_t>(tex.category);
    sums.add(sums.rouge, c, rouge_l(ex.response, text).fmeasure);
    sums.add(sums.exact, c, exact_match(ex.response, text) ? 1.0 : 0.0);
    sums.add(sums.n, c, 1.0);
    if (r.samples.size() < 24) {
      Sample s{ex.category, prompt_text(data.prompt_template, ex), ex.response, text, ""};
      if (teacher) s.teacher = generate_text(*teacher, prompt, setup.max_new_tokens, tok, data.stop_id);
      r.samples.push_back(std::move(s));
    }
  }
  if (setup.world > 1 && setup.sum_over_ranks) {
    auto flat = sums.flat();
    setup.sum_over_ranks(flat);
    sums.unflatten(flat);
  }
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  r.val_loss = sums.loss.back() / std::max(1.0, sums.tokens.back());
  r.perplexity = std::exp(r.val_loss);
  r.rouge_l = ratio(sums.rouge.back(), sums.n.back());
  r.exact_match = ratio(sums.exact.back(), sums.n.back());
  for (size_t c = 0; c < cats.size(); ++c) {
    CategoryScores s;
    s.val_loss = ratio(sums.loss[c], sums.tokens[c]);
    s.examples = static_cast<int64_t>(sums.n[c]);
    s.rouge_l = ratio(sums.rouge[c], sums.n[c]);
    s.exact_match = ratio(sums.exact[c], sums.n[c]);
    r.per_category[cats[c]] = s;
  }
  if (was_training) model->train();
  return r;
}

}  // namespace moekd
