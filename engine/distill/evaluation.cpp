#include "distill/evaluation.h"

#include <cmath>

#include "distill/batch.h"
#include "eval/rouge.h"
#include "util/error.h"

namespace moekd {

namespace {

// Token-weighted loss over the split, overall and per category: {sum of losses, target tokens}.
void split_loss(CausalLM& model, const std::vector<TokenizedExample>& split, int64_t batch_size, int64_t pad_id,
                const torch::Device& device, EvalResult& r, std::vector<double>& cat_loss,
                std::vector<double>& cat_tokens) {
  double loss_sum = 0, tokens = 0;
  for (size_t start = 0; start < split.size(); start += batch_size) {
    std::vector<const TokenizedExample*> ex;
    for (size_t i = start; i < std::min(split.size(), start + batch_size); ++i) ex.push_back(&split[i]);
    const auto b = make_batch(ex, pad_id, device);
    auto logits = model->forward(b.ids).logits;
    const auto T = logits.size(1), V = logits.size(2);
    auto nll = torch::cross_entropy_loss(logits.narrow(1, 0, T - 1).reshape({-1, V}).to(torch::kFloat),
                                         b.targets.reshape(-1), {}, at::Reduction::None)
                   .view({-1, T - 1});
    auto per_seq = (nll * b.target_mask).sum(1).to(torch::kCPU);
    auto per_seq_tokens = b.target_mask.sum(1).to(torch::kCPU);
    for (size_t i = 0; i < ex.size(); ++i) {
      const auto c = static_cast<size_t>(ex[i]->category);
      cat_loss[c] += per_seq[i].item<double>();
      cat_tokens[c] += per_seq_tokens[i].item<double>();
      loss_sum += per_seq[i].item<double>();
      tokens += per_seq_tokens[i].item<double>();
    }
  }
  r.val_loss = loss_sum / std::max(1.0, tokens);
  r.perplexity = std::exp(r.val_loss);
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
                          const Tokenizer& tok, int64_t stop_id) {
  auto ids = generate_greedy(model, prompt, max_new_tokens, {}, stop_id);
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
  std::vector<double> cat_loss(cats.size(), 0.0), cat_tokens(cats.size(), 0.0);
  split_loss(model, split, setup.batch_size, tok.pad_id(), device, r, cat_loss, cat_tokens);

  const auto chosen = choose_prompts(split, cats.size(), setup.samples);
  std::vector<double> cat_rouge(cats.size(), 0.0), cat_em(cats.size(), 0.0), cat_n(cats.size(), 0.0);
  for (const size_t i : chosen) {
    const auto& tex = split[i];
    const auto& ex = examples[i];
    const std::vector<int64_t> prompt(tex.ids.begin(), tex.ids.begin() + tex.response_start);
    const auto text = generate_text(model, prompt, setup.max_new_tokens, tok, data.stop_id);
    const double rl = rouge_l(ex.response, text).fmeasure;
    const double em = exact_match(ex.response, text) ? 1.0 : 0.0;
    const auto c = static_cast<size_t>(tex.category);
    cat_rouge[c] += rl;
    cat_em[c] += em;
    cat_n[c] += 1;
    r.rouge_l += rl;
    r.exact_match += em;
    if (r.samples.size() < 24) {
      Sample s{ex.category, prompt_text(data.prompt_template, ex), ex.response, text, ""};
      if (teacher) s.teacher = generate_text(*teacher, prompt, setup.max_new_tokens, tok, data.stop_id);
      r.samples.push_back(std::move(s));
    }
  }
  if (!chosen.empty()) {
    r.rouge_l /= static_cast<double>(chosen.size());
    r.exact_match /= static_cast<double>(chosen.size());
  }
  for (size_t c = 0; c < cats.size(); ++c) {
    CategoryScores s;
    s.val_loss = cat_tokens[c] > 0 ? cat_loss[c] / cat_tokens[c] : 0.0;
    s.examples = static_cast<int64_t>(cat_n[c]);
    if (cat_n[c] > 0) {
      s.rouge_l = cat_rouge[c] / cat_n[c];
      s.exact_match = cat_em[c] / cat_n[c];
    }
    r.per_category[cats[c]] = s;
  }
  if (was_training) model->train();
  return r;
}

}  // namespace moekd
