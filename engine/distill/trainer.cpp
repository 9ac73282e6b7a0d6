#include "distill/trainer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "distill/divergence.h"
#include "eval/rouge.h"
#include "io/hf_model.h"
#include "io/safetensors.h"
#include "util/error.h"
#include "util/json_file.h"

namespace moekd {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Logit rows [N, V] at the target positions of a [B, T, V] output (position t predicts t + 1).
torch::Tensor target_rows(const torch::Tensor& logits, const torch::Tensor& index) {
  const auto T = logits.size(1), V = logits.size(2);
  return logits.narrow(1, 0, T - 1).reshape({-1, V}).index_select(0, index);
}

torch::Tensor zero_like_scalar(const torch::Device& d) { return torch::zeros({}, torch::dtype(torch::kFloat).device(d)); }

std::vector<std::string> parameter_names(CausalLM& m, const std::vector<torch::Tensor>& params) {
  std::vector<std::string> names;
  for (const auto& p : params)
    for (const auto& np : m->named_parameters())
      if (np.value().is_same(p)) names.push_back(np.key());
  return names;
}

}  // namespace

Trainer::Trainer(const RunConfig& config, CausalLM student, CausalLM teacher, std::shared_ptr<const Tokenizer> tok,
                 std::shared_ptr<const TrainingData> data, torch::Device device)
    : cfg_(config),
      student_(std::move(student)),
      teacher_(std::move(teacher)),
      tok_(std::move(tok)),
      data_(std::move(data)),
      device_(device),
      sampler_(static_cast<int64_t>(data_->train.size()), config.train.seed) {
  auto params = student_->parameters();
  AdamWOptions o;
  o.lr = cfg_.train.lr;
  o.weight_decay = cfg_.train.weight_decay;
  std::vector<std::string> names;
  for (const auto& np : student_->named_parameters()) names.push_back(np.key());
  opt_ = std::make_unique<AdamW>(params, names, o);

  const auto categories = static_cast<int64_t>(data_->dataset.categories.size());
  if (student_->config.is_moe())
    student_routing_ = std::make_unique<RoutingAccumulator>(student_->config.num_layers(),
                                                            student_->config.moe.num_experts, categories);
  if (teacher_) {
    teacher_->eval();
    for (auto& p : teacher_->parameters()) p.set_requires_grad(false);
    if (teacher_->config.is_moe())
      teacher_routing_ = std::make_unique<RoutingAccumulator>(teacher_->config.num_layers(),
                                                              teacher_->config.moe.num_experts, categories);
  }
  if (cfg_.method == Method::SAR) {
    if (!teacher_->config.is_moe()) fail("method `sar` needs an MoE teacher; this teacher has no MoE layers");
    router_params_ = teacher_->router_parameters();
    for (auto& p : router_params_) {
      p.set_requires_grad(true);
      router_start_.push_back(p.detach().clone());
    }
    router_names_ = parameter_names(teacher_, router_params_);
    AdamWOptions ro;
    ro.lr = cfg_.sar.router_lr;
    router_opt_ = std::make_unique<AdamW>(router_params_, router_names_, ro);
  }
  reset_window();
}

void Trainer::reset_window() {
  // Separate tensors: the sums are updated in place, so they must not share storage.
  for (auto* t : {&sum_loss_, &sum_ce_, &sum_div_, &sum_router_, &sum_balance_, &sum_grad_norm_})
    *t = zero_like_scalar(device_);
  window_steps_ = window_tokens_ = 0;
  window_seconds_ = 0;
}

double Trainer::scheduled(double peak) const {
  return learning_rate(cfg_.train.schedule, peak, step_, cfg_.train.steps, cfg_.train.warmup_steps,
                       cfg_.train.min_lr_ratio);
}

torch::Tensor Trainer::balance_loss(const std::vector<std::optional<RoutingRecord>>& routing, const std::string& kind,
                                    const torch::Tensor& real) const {
  auto rows = real.nonzero().squeeze(1);
  std::vector<torch::Tensor> per_layer;
  for (const auto& r : routing) {
    if (!r) continue;
    Selection sel;
    sel.ids = r->selection.ids.index_select(0, rows);
    sel.weights = r->selection.weights.index_select(0, rows);
    sel.padded = r->selection.padded;
    per_layer.push_back(kind == "cv2" ? cv2_balance_loss(sel, r->probs.size(1))
                                      : switch_balance_loss(r->probs.index_select(0, rows), sel));
  }
  if (per_layer.empty()) return zero_like_scalar(device_);
  return torch::stack(per_layer).mean();
}

void Trainer::track_routing(RoutingAccumulator& acc, const ForwardOutput& out, const Batch& b, int64_t repeats) {
  if (cfg_.routing_every <= 0) return;
  auto real = repeats == 1 ? b.real : b.real.repeat({repeats});
  auto cats = repeats == 1 ? b.token_category : b.token_category.repeat({repeats});
  acc.add(out.routing, real, cats);
}

// Teacher side of kd and ka, then the student's loss against it.
Trainer::Terms Trainer::kd_terms(const Batch& b, const torch::Tensor& srows, const torch::Tensor& index) {
  Terms t;
  const double T = cfg_.divergence.temperature;
  const bool ka = cfg_.method == Method::KA && cfg_.ka.lambda > 0 && cfg_.ka.m > 1;
  torch::Tensor tlogp;             // one teacher distribution (kd; ka with the forward-KL shortcut)
  std::vector<torch::Tensor> many;  // M teacher distributions (ka with other divergences)
  torch::Tensor ka_rows;            // [M, N, V] teacher logits (ka with forward KL)
  {
    torch::NoGradGuard no_grad;
    ForwardOptions opt;
    opt.policy = cfg_.method == Method::KA ? RoutingPolicy::ka(cfg_.ka.lambda, cfg_.ka.k_prime) : cfg_.teacher_policy;
    opt.record_routing = teacher_routing_ != nullptr;
    if (!ka) {
      auto out = teacher_->forward(b.ids, opt);
      if (teacher_routing_) track_routing(*teacher_routing_, out, b, 1);
      tlogp = teacher_log_probs(target_rows(out.logits, index), T);
    } else {
      const int64_t M = cfg_.ka.m, B = b.ids.size(0);
      // The M passes as one batched forward of M x B sequences (chunked to max_teacher_batch),
      // or M separate forwards (`batched: false`, the baseline the benchmark compares against).
      int64_t per_call = cfg_.ka.batched ? M * B : B;
      if (cfg_.ka.max_teacher_batch > 0) per_call = std::min(per_call, std::max(B, cfg_.ka.max_teacher_batch / B * B));
      auto all_ids = b.ids.repeat({M, 1});
      std::vector<torch::Tensor> rows;
      for (int64_t start = 0; start < M * B; start += per_call) {
        const auto n = std::min(per_call, M * B - start);
        auto out = teacher_->forward(all_ids.narrow(0, start, n), opt);
        if (teacher_routing_) track_routing(*teacher_routing_, out, b, n / B);
        for (int64_t m = 0; m < n / B; ++m) rows.push_back(target_rows(out.logits.narrow(0, m * B, B), index));
      }
      if (cfg_.divergence.kind == DivergenceKind::ForwardKL) {
        ka_rows = torch::stack(rows);  // one divergence against the mean distribution (exact)
      } else {
        for (auto& r : rows) many.push_back(teacher_log_probs(r, T));
      }
    }
  }
  const double scale = T * T;  // Hinton et al.: keeps gradient magnitudes independent of T
  if (ka_rows.defined()) {
    t.divergence = ka_forward_kl_per_token(ka_rows, srows, cfg_.divergence).mean() * scale;
  } else if (many.empty()) {
    t.divergence = divergence_per_token(tlogp, srows, cfg_.divergence).mean() * scale;
  } else {
    std::vector<torch::Tensor> terms;
    for (auto& lp : many) terms.push_back(divergence_per_token(lp, srows, cfg_.divergence).mean());
    t.divergence = torch::stack(terms).mean() * scale;
  }
  return t;
}

// SAR, update 1: the teacher's routers learn to produce the distribution most useful to this
// student (the student's distribution is a fixed target here).
torch::Tensor Trainer::sar_router_step(const Batch& b, const torch::Tensor& srows, const torch::Tensor& index,
                                       torch::Tensor* balance) {
  ForwardOptions opt;
  opt.policy = cfg_.teacher_policy;
  opt.record_routing = true;
  opt.router_noise = true;  // trains LLaMA-MoE's noise projection too (no-op for other families)
  auto out = teacher_->forward(b.ids, opt);
  if (teacher_routing_) track_routing(*teacher_routing_, out, b, 1);
  const double T = cfg_.divergence.temperature;
  auto tlogp = teacher_log_probs(target_rows(out.logits, index), T);
  auto q_logits = srows.detach();
  torch::Tensor loss;
  if (cfg_.sar.direction == "forward") {
    loss = -(torch::softmax(q_logits.to(tlogp.scalar_type()) / T, -1) * tlogp).sum(-1).mean();
  } else {
    DivergenceSpec fkl = cfg_.divergence;
    fkl.kind = DivergenceKind::ForwardKL;
    loss = divergence_per_token(tlogp, q_logits, fkl).mean();
  }
  *balance = balance_loss(out.routing, cfg_.sar.balance, b.real);
  router_opt_->zero_grad();
  (loss + cfg_.sar.balance_weight * *balance).backward();
  router_opt_->step(scheduled(cfg_.sar.router_lr));
  return loss.detach();
}

Trainer::Terms Trainer::micro_step(const Batch& b) {
  Terms t;
  ForwardOptions sopt;
  const bool train_teacher = cfg_.method == Method::TrainTeacher;
  sopt.record_routing = train_teacher || student_routing_ != nullptr;
  auto sout = student_->forward(b.ids, sopt);
  if (student_routing_) track_routing(*student_routing_, sout, b, 1);
  auto srows = target_rows(sout.logits, b.target_index);
  auto targets = b.targets.reshape(-1).index_select(0, b.target_index);
  t.ce = torch::cross_entropy_loss(srows.to(torch::kFloat), targets);
  t.divergence = t.router_loss = t.balance = zero_like_scalar(device_);
  if (train_teacher) {
    t.balance = balance_loss(sout.routing, cfg_.train.balance, b.real);
    t.loss = t.ce + cfg_.train.balance_weight * t.balance;
    return t;
  }
  if (cfg_.method == Method::SFT) {
    t.loss = t.ce;
    return t;
  }
  if (cfg_.method == Method::SAR) t.router_loss = sar_router_step(b, srows, b.target_index, &t.balance);
  t.divergence = kd_terms(b, srows, b.target_index).divergence;  // against the updated teacher for SAR
  t.loss = (1 - cfg_.alpha) * t.ce + cfg_.alpha * t.divergence;
  return t;
}

std::optional<StepMetrics> Trainer::step(bool read_metrics) {
  const auto start = std::chrono::steady_clock::now();
  student_->train();
  opt_->zero_grad();
  const int64_t accum = cfg_.train.grad_accum;
  for (int64_t micro = 0; micro < accum; ++micro) {
    std::vector<const TokenizedExample*> examples;
    for (auto i : sampler_.next(cfg_.train.batch_size)) examples.push_back(&data_->train[i]);
    const auto b = make_batch(examples, tok_->pad_id(), device_);
    auto t = micro_step(b);
    // NaN or Inf: stop before the update touches the weights, and say where it came from.
    {
      for (auto& [name, v] : {std::pair<const char*, torch::Tensor*>{"cross-entropy", &t.ce},
                              {"divergence", &t.divergence},
                              {"router loss", &t.router_loss},
                              {"balance loss", &t.balance}})
        if (!torch::isfinite(*v).item<bool>())
          fail("step ", step_ + 1, ": the ", name, " is not finite (", v->item<double>(),
               "); the last good weights are kept");
    }
    (t.loss / static_cast<double>(accum)).backward();
    sum_loss_ += t.loss.detach() / accum;
    sum_ce_ += t.ce.detach() / accum;
    sum_div_ += t.divergence.detach() / accum;
    sum_router_ += t.router_loss.detach() / accum;
    sum_balance_ += t.balance.detach() / accum;
    window_tokens_ += b.tokens;
  }
  const double norm = clip_gradients(opt_->params(), cfg_.train.clip_norm);
  if (!std::isfinite(norm)) fail("step ", step_ + 1, ": the gradient norm is not finite; the last good weights are kept");
  const double lr = scheduled(cfg_.train.lr);
  opt_->step(lr);
  ++step_;
  sum_grad_norm_ += norm;
  ++window_steps_;
  window_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!read_metrics) return std::nullopt;

  StepMetrics m;
  const double n = static_cast<double>(window_steps_);
  m.step = step_;
  m.loss = sum_loss_.item<double>() / n;
  m.ce = sum_ce_.item<double>() / n;
  m.divergence = sum_div_.item<double>() / n;
  m.router_loss = sum_router_.item<double>() / n;
  m.balance_loss = sum_balance_.item<double>() / n;
  m.grad_norm = sum_grad_norm_.item<double>() / n;
  m.lr = lr;
  m.router_lr = cfg_.method == Method::SAR ? scheduled(cfg_.sar.router_lr) : 0.0;
  m.step_seconds = window_seconds_ / n;
  m.tokens = window_tokens_;
  m.tokens_per_s = window_tokens_ / std::max(1e-9, window_seconds_);
  reset_window();
  return m;
}

std::vector<double> Trainer::router_drift() const {
  std::vector<double> drift;
  if (router_params_.empty()) return drift;
  // Router parameters are listed layer by layer; sum squares per layer.
  std::vector<double> num(teacher_->config.num_layers(), 0.0), den(teacher_->config.num_layers(), 0.0);
  for (size_t i = 0; i < router_params_.size(); ++i) {
    const auto& name = router_names_[i];
    const auto pos = name.find("layers.");
    if (pos == std::string::npos) continue;
    const auto layer = std::stoll(name.substr(pos + 7));
    num[layer] += (router_params_[i].detach() - router_start_[i]).pow(2).sum().item<double>();
    den[layer] += router_start_[i].pow(2).sum().item<double>();
  }
  for (size_t L = 0; L < num.size(); ++L) drift.push_back(den[L] > 0 ? std::sqrt(num[L] / den[L]) : 0.0);
  return drift;
}

std::vector<RoutingSnapshot> Trainer::take_routing() {
  std::vector<RoutingSnapshot> out;
  const auto& cats = data_->dataset.categories;
  if (teacher_routing_ && !teacher_routing_->empty()) {
    out.push_back(teacher_routing_->snapshot(step_, "teacher", cats, router_drift()));
    teacher_routing_->reset();
  }
  if (student_routing_ && !student_routing_->empty()) {
    out.push_back(student_routing_->snapshot(step_, cfg_.method == Method::TrainTeacher ? "teacher" : "student", cats, {}));
    student_routing_->reset();
  }
  return out;
}

EvalResult Trainer::evaluate(int64_t max_samples, bool test_split) {
  torch::NoGradGuard no_grad;
  student_->eval();
  EvalResult r;
  r.step = step_;
  const auto& cats = data_->dataset.categories;
  const auto& val = test_split ? data_->test : data_->validation;
  const auto& val_examples = test_split ? data_->dataset.test : data_->dataset.validation;
  if (val.empty()) fail("the ", test_split ? "test" : "validation", " split is empty");
  std::vector<double> cat_loss(cats.size(), 0.0), cat_tokens(cats.size(), 0.0);
  double loss_sum = 0, tokens = 0;
  for (size_t start = 0; start < val.size(); start += cfg_.train.batch_size) {
    std::vector<const TokenizedExample*> ex;
    for (size_t i = start; i < std::min(val.size(), start + cfg_.train.batch_size); ++i) ex.push_back(&val[i]);
    const auto b = make_batch(ex, tok_->pad_id(), device_);
    auto logits = student_->forward(b.ids).logits;
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

  // Greedy generations on validation prompts, round-robin over categories so each is scored.
  std::vector<std::vector<size_t>> by_cat(cats.size());
  for (size_t i = 0; i < val.size(); ++i) by_cat[val[i].category].push_back(i);
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
  std::vector<double> cat_rouge(cats.size(), 0.0), cat_em(cats.size(), 0.0), cat_n(cats.size(), 0.0);
  for (size_t k = 0; k < chosen.size(); ++k) {
    const auto& tex = val[chosen[k]];
    const auto& ex = val_examples[chosen[k]];
    std::vector<int64_t> prompt(tex.ids.begin(), tex.ids.begin() + tex.response_start);
    auto ids = generate_greedy(student_, prompt, cfg_.eval.max_new_tokens);
    if (!ids.empty() && ids.back() == tok_->eos_id()) ids.pop_back();
    const auto text = tok_->decode(ids);
    const double rl = rouge_l(ex.response, text).fmeasure;
    const double em = exact_match(ex.response, text) ? 1.0 : 0.0;
    const auto c = static_cast<size_t>(tex.category);
    cat_rouge[c] += rl;
    cat_em[c] += em;
    cat_n[c] += 1;
    r.rouge_l += rl;
    r.exact_match += em;
    if (r.samples.size() < 24) {
      Sample s{ex.category, ex.prompt, ex.response, text, ""};
      if (cfg_.eval.teacher && teacher_) {
        auto t_ids = generate_greedy(teacher_, prompt, cfg_.eval.max_new_tokens);
        if (!t_ids.empty() && t_ids.back() == tok_->eos_id()) t_ids.pop_back();
        s.teacher = tok_->decode(t_ids);
      }
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
  student_->train();
  return r;
}

bool Trainer::record_if_best(const EvalResult& r) {
  const double score = r.samples.empty() ? -r.val_loss : r.rouge_l;
  if (score <= best_score_) return false;
  best_score_ = score;
  best_step_ = r.step;
  return true;
}

void Trainer::save_checkpoint(const std::string& dir) const {
  // Everything goes to `dir.tmp`, then replaces `dir` by renames: a crash leaves the old one whole.
  const fs::path final_dir(dir), tmp(dir + ".tmp"), old(dir + ".old");
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  auto student = student_;
  save_pretrained(student, (tmp / "model").string());
  auto tensors = opt_->state("optim.");
  if (router_opt_) {
    for (size_t i = 0; i < router_params_.size(); ++i) {
      tensors.emplace_back("router." + router_names_[i], router_params_[i].detach());
      tensors.emplace_back("router_start." + router_names_[i], router_start_[i]);
    }
    auto rs = router_opt_->state("router_optim.");
    tensors.insert(tensors.end(), rs.begin(), rs.end());
  }
  tensors.emplace_back("rng.cpu", at::detail::getDefaultCPUGenerator().get_state());
  save_safetensors((tmp / "state.safetensors").string(), tensors);
  json state = {{"step", step_},
                {"epoch", sampler_.epoch()},
                {"position", sampler_.position()},
                {"optimizer_steps", opt_->steps_taken()},
                {"router_optimizer_steps", router_opt_ ? router_opt_->steps_taken() : 0},
                {"best_score", std::isfinite(best_score_) ? json(best_score_) : json(nullptr)},
                {"best_step", best_step_},
                {"method", method_name(cfg_.method)}};
  std::ofstream(tmp / "state.json") << state.dump(2) << "\n";
  fs::remove_all(old);
  if (fs::exists(final_dir)) fs::rename(final_dir, old);
  fs::rename(tmp, final_dir);
  fs::remove_all(old);
}

void Trainer::load_checkpoint(const std::string& dir) {
  const fs::path root(dir);
  if (!fs::exists(root / "state.json")) fail(dir, ": no state.json (not a checkpoint folder)");
  const json state = read_json_file((root / "state.json").string());
  if (state.value("method", "") != std::string(method_name(cfg_.method)))
    fail(dir, ": checkpoint of method `", state.value("method", "?"), "`, but this run is `", method_name(cfg_.method), "`");
  auto saved = load_pretrained((root / "model").string());
  {
    torch::NoGradGuard no_grad;
    auto dst = student_->named_parameters();
    for (const auto& p : saved->named_parameters()) dst[p.key()].copy_(p.value());
  }
  SafetensorsFile st((root / "state.safetensors").string());
  auto lookup = [&](const std::string& name) { return st.load(name).to(device_); };
  opt_->load_state("optim.", state.at("optimizer_steps").get<int64_t>(), lookup);
  if (router_opt_) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < router_params_.size(); ++i) {
      router_params_[i].copy_(lookup("router." + router_names_[i]));
      router_start_[i].copy_(lookup("router_start." + router_names_[i]));
    }
    router_opt_->load_state("router_optim.", state.at("router_optimizer_steps").get<int64_t>(), lookup);
  }
  at::Generator cpu_rng = at::detail::getDefaultCPUGenerator();  // a handle to the global generator
  cpu_rng.set_state(st.load("rng.cpu"));
  step_ = state.at("step").get<int64_t>();
  sampler_.restore(state.at("epoch").get<int64_t>(), state.at("position").get<int64_t>());
  best_score_ = state["best_score"].is_null() ? -std::numeric_limits<double>::infinity()
                                              : state["best_score"].get<double>();
  best_step_ = state.value("best_step", int64_t{-1});
}

}  // namespace moekd
