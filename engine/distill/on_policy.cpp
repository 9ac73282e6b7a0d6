#include "distill/on_policy.h"

#include <algorithm>
#include <random>

#include "data/tasks.h"
#include "model/sampling.h"

namespace moekd {

namespace {
// Streams of the run's seed, apart from every other use of it.
constexpr uint64_t kCoinStream = 0x6f6e2d706f6c6963ull, kSamplingStream = 0x73616d706c696e67ull;

uint64_t micro_batch_seed(uint64_t seed, uint64_t stream, int64_t step, int64_t micro) {
  return mix_seed(mix_seed(mix_seed(seed, stream), static_cast<uint64_t>(step)), static_cast<uint64_t>(micro));
}
}  // namespace

bool on_policy_micro_batch(const RunConfig& cfg, int64_t step, int64_t micro) {
  if (cfg.on_policy <= 0) return false;
  if (cfg.on_policy >= 1) return true;
  std::mt19937_64 rng(micro_batch_seed(cfg.train.seed, kCoinStream, step, micro));
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // the same on every standard library
  return u < cfg.on_policy;
}

int64_t on_policy_prompt_length(const TokenizedExample& e, const RunConfig& cfg) {
  return std::clamp<int64_t>(e.response_start, 1, std::min<int64_t>(cfg.data.max_len - 1, e.ids.size()));
}

Batch student_written_batch(CausalLM& student, const std::vector<const TokenizedExample*>& examples,
                            const RunConfig& cfg, int64_t step, int64_t micro, int64_t stop_id, int64_t pad,
                            int64_t generated_category, const torch::Device& device) {
  const int64_t max_len = cfg.data.max_len;
  std::vector<std::vector<int64_t>> prompts;
  std::vector<int64_t> limits;
  for (const auto* e : examples) {
    const auto n = on_policy_prompt_length(*e, cfg);
    prompts.emplace_back(e->ids.begin(), e->ids.begin() + n);
    limits.push_back(std::min(cfg.sampling.max_new_tokens, max_len - n));
  }
  auto gen = seeded_generator(device, micro_batch_seed(cfg.train.seed, kSamplingStream, step, micro));
  const auto written = sample_responses(student, prompts, limits, cfg.sampling, stop_id, pad, gen);

  std::vector<TokenizedExample> rows(examples.size());
  std::vector<const TokenizedExample*> pointers;
  for (size_t i = 0; i < examples.size(); ++i) {
    auto& r = rows[i];
    r.ids = prompts[i];
    r.ids.insert(r.ids.end(), written.tokens[i].begin(), written.tokens[i].end());
    r.loss_mask.assign(r.ids.size(), 0);
    std::fill(r.loss_mask.begin() + static_cast<int64_t>(prompts[i].size()), r.loss_mask.end(), 1);
    r.response_start = static_cast<int64_t>(prompts[i].size());
    r.category = examples[i]->category;
    pointers.push_back(&r);
  }
  auto b = make_batch(pointers, pad, device, generated_category);
  b.generated_tokens = written.total;
  return b;
}

namespace {
// log p(ids[t + 1] | ids[..t]) for the written tokens t + 1 >= prompt_length, as doubles.
// Over the first `vocab` rows: the ones teacher and student share (Batch::vocab).
std::vector<double> written_logprobs(CausalLM& model, const RoutingPolicy& policy, const torch::Tensor& ids,
                                     int64_t prompt_length, int64_t vocab) {
  ForwardOptions opt;
  opt.policy = policy;
  const auto device = model->head_weight().device();
  const auto row = ids.to(device).unsqueeze(0);
  const auto logits = model->forward(row, opt).logits[0].narrow(-1, 0, vocab).to(torch::kFloat);
  const auto T = ids.size(0);
  const auto predicted = logits.narrow(0, prompt_length - 1, T - prompt_length);
  const auto tokens = row[0].narrow(0, prompt_length, T - prompt_length).unsqueeze(1);
  const auto lp = torch::log_softmax(predicted, -1).gather(1, tokens).squeeze(1).to(torch::kDouble).to(torch::kCPU);
  return std::vector<double>(lp.data_ptr<double>(), lp.data_ptr<double>() + lp.numel());
}
}  // namespace

GenerationSample score_generation(CausalLM& teacher, const RoutingPolicy& teacher_policy, CausalLM& student,
                                  const torch::Tensor& ids, int64_t prompt_length, const Tokenizer& tok) {
  torch::NoGradGuard no_grad;
  GenerationSample g;
  const auto host = ids.to(torch::kCPU).contiguous();
  const std::vector<int64_t> all(host.data_ptr<int64_t>(), host.data_ptr<int64_t>() + host.numel());
  if (prompt_length < 1 || prompt_length >= static_cast<int64_t>(all.size())) return g;
  g.prompt = tok.decode({all.begin(), all.begin() + prompt_length});
  // Each piece is what its token adds to the decoded response so far: spaces and characters of
  // several tokens come out as they read, not as each token alone would decode.
  std::string before;
  for (size_t t = prompt_length; t < all.size(); ++t) {
    const std::string now = tok.decode({all.begin() + prompt_length, all.begin() + t + 1});
    g.pieces.push_back(now.compare(0, before.size(), before) == 0 ? now.substr(before.size()) : tok.decode({all[t]}));
    before = now;
  }
  const int64_t vocab = std::min(teacher->config.vocab_size, student->config.vocab_size);
  g.teacher_logprob = written_logprobs(teacher, teacher_policy, host, prompt_length, vocab);
  g.student_logprob = written_logprobs(student, RoutingPolicy{}, host, prompt_length, vocab);
  return g;
}

}  // namespace moekd
