#include "distill/trainer.h"

#include <algorithm>
#include <chrono>

#include "backend/precision.h"
#include "backend/system_info.h"
#include "distill/balance.h"
#include "distill/evaluation.h"
#include "distill/on_policy.h"
#include "distill/teacher_targets.h"
#include "model/memory_model.h"
#include "run/run_folder.h"

namespace moekd {

namespace {
// The window's sums: the loss terms of every micro-batch, then the gradient norm of every step.
enum Sum { kLoss, kCe, kDivergence, kRouterLoss, kBalance, kTerms, kGradNorm = kTerms, kSums };
}  // namespace

Trainer::Trainer(const RunConfig& config, CausalLM student, CausalLM teacher, std::shared_ptr<const Tokenizer> tok,
                 std::shared_ptr<const RunData> data, torch::Device device, torch::ScalarType compute,
                 ProcessGroup* group)
    : cfg_(config),
      group_(group && group->world_size() > 1 ? group : nullptr),
      student_(std::move(student)),
      teacher_(std::move(teacher)),
      tok_(std::move(tok)),
      data_(std::move(data)),
      device_(device),
      compute_(compute),
      sampler_(static_cast<int64_t>(data_->train.size()), config.train.data_seed.value_or(config.train.seed)),
      guard_(device) {
  std::vector<torch::Tensor> params;
  std::vector<std::string> names;  // checkpoints name the optimizer's state after the parameters
  for (const auto& np : student_->named_parameters()) {
    params.push_back(np.value());
    names.push_back(np.key());
  }
  AdamWOptions o;
  o.lr = cfg_.train.lr;
  o.weight_decay = cfg_.train.weight_decay;
  opt_ = std::make_unique<AdamW>(params, names, o);

  const bool track = cfg_.routing_every > 0;
  // On-policy runs count the student's written tokens under a category of their own, "generated".
  const auto categories = static_cast<int64_t>(data_->dataset.categories.size()) + (cfg_.on_policy > 0 ? 1 : 0);
  auto accumulator = [&](const CausalLM& m) {
    return std::make_unique<RoutingAccumulator>(m->config.num_layers(), m->config.moe.num_experts, categories);
  };
  if (track && student_->config.is_moe()) student_routing_ = accumulator(student_);
  if (teacher_) {
    teacher_->eval();
    for (auto& p : teacher_->parameters()) p.set_requires_grad(false);
    if (track && teacher_->config.is_moe()) teacher_routing_ = accumulator(teacher_);
  }
  if (cfg_.method == Method::SAR) sar_ = std::make_unique<SarRouterUpdate>(teacher_, cfg_);
  if (cfg_.method == Method::KA && ka_batched(cfg_.ka, device_.str()) && cfg_.ka.max_teacher_batch == 0)
    cfg_.ka.max_teacher_batch = ka_sequences_in_memory();
  if (compute_ == torch::kHalf) {
    scaler_ = std::make_unique<LossScaler>(device_);
    if (sar_) router_scaler_ = std::make_unique<LossScaler>(device_);
  }
  window_sums_ = torch::zeros({kSums}, torch::dtype(torch::kFloat).device(device_));
  if (group_) {
    // Every replica starts from rank 0's student (and SAR's routers); the frozen teacher must
    // already be the same everywhere, which one checksum shows.
    std::vector<torch::Tensor> trainable = opt_->params();
    if (sar_) trainable.insert(trainable.end(), sar_->parameters().begin(), sar_->parameters().end());
    group_->broadcast(trainable, 0);
    if (teacher_) check_replicas_agree("the teacher's weights", teacher_->parameters());
  }
}

std::vector<double> Trainer::micro_batch_shares(const std::vector<Batch>& batches) {
  const auto accum = static_cast<int64_t>(batches.size());
  std::vector<double> shares(batches.size(), 1.0 / static_cast<double>(accum));
  if (!group_) return shares;
  // The global micro-batch i is every rank's micro-batch i: its loss is the mean over all of
  // their target tokens, so this rank's mean counts by its share of them.
  const int world = group_->world_size(), rank = group_->rank();
  auto counts = torch::zeros({world, accum}, torch::kDouble);
  for (int64_t i = 0; i < accum; ++i) counts[rank][i] = static_cast<double>(batches[i].target_tokens);
  group_->all_reduce_sum({counts});
  const auto total = counts.sum(0);
  for (int64_t i = 0; i < accum; ++i) {
    const double all = total[i].item<double>();
    shares[i] = all > 0 ? static_cast<double>(batches[i].target_tokens) / all / static_cast<double>(accum) : 0.0;
  }
  return shares;
}

void Trainer::sum_gradients_over_ranks(const std::vector<torch::Tensor>& params) {
  if (!group_) return;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  group_->all_reduce_sum(grads);
}

void Trainer::check_replicas_agree(const char* what, const std::vector<torch::Tensor>& tensors) {
  if (!group_) return;
  torch::NoGradGuard no_grad;
  double sum = 0;
  for (const auto& t : tensors) sum += t.to(torch::kDouble).sum().item<double>();
  const auto all = group_->all_gather(sum);
  for (size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0])
      fail(what, " differ between the processes (checksum ", all[0], " on rank 0, ", all[r], " on rank ", r,
           "); every rank must load the same checkpoint");
}

// One optimizer step. Every tensor below stays on the device; nothing waits for it unless the
// metrics are read at the end.
std::optional<StepMetrics> Trainer::step(bool read_metrics) {
  const auto start = std::chrono::steady_clock::now();
  const auto batches = next_batches();  // train.grad_accum micro-batches
  const auto accum = static_cast<int64_t>(batches.size());
  const auto shares = micro_batch_shares(batches);
  student_->train();
  opt_->zero_grad();

  // 1. SAR only: the teacher's routers learn from this step's batches and step once, so that
  //    the student learns from the updated teacher below.
  std::vector<SarRouterUpdate::Terms> router_terms;
  std::optional<StudentForward> first;
  if (sar_) first = sar_router_update(batches, shares, router_terms);

  // 2. The student: forward, the teacher's targets, the loss, backward. Gradients accumulate.
  for (int64_t i = 0; i < accum; ++i) {
    const Batch& b = batches[i];
    const auto student = i == 0 && first ? std::move(*first) : student_forward(b, /*track_routing=*/true);
    auto t = student_loss(b, student);
    if (sar_) std::tie(t.router_loss, t.balance) = std::tie(router_terms[i].router_loss, router_terms[i].balance);
    guard_.observe(step_ + 1, {"cross-entropy", "divergence", "balance loss"}, {t.ce, t.divergence, t.balance});
    const auto share = t.loss * shares[static_cast<size_t>(i)];
    (scaler_ ? scaler_->scale(share) : share).backward();
    window_sums_.narrow(0, 0, kTerms)
        .add_(torch::stack({t.loss.detach(), t.ce.detach(), t.divergence.detach(), t.router_loss, t.balance.detach()})
                  .to(torch::kFloat) /
              accum);
    window_tokens_ += b.tokens;
  }

  // 3. Several processes: the gradients summed over the ranks (each already weighted by its
  //    share), so every replica takes the same step.
  sum_gradients_over_ranks(opt_->params());

  // 4. Clip and step: a no-op once anything of this run was not finite. In float16 an overflow of
  //    the scaled gradients only skips the step (and halves the loss scale).
  const auto grads_finite = scaler_ ? scaler_->unscale_and_update(opt_->params()) : torch::Tensor();
  const auto norm = clip_gradients(opt_->params(), cfg_.train.clip_norm);
  if (!scaler_) guard_.observe(step_ + 1, {"gradient norm"}, {norm});
  const double lr = scheduled(cfg_.train.lr);
  opt_->step(lr, scaler_ ? guard_.all_finite().logical_and(grads_finite) : guard_.all_finite());
  ++step_;
  window_sums_.narrow(0, kGradNorm, 1).add_(torch::nan_to_num(norm, 0.0, 0.0, 0.0).reshape({1}));
  ++window_steps_;
  window_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!read_metrics) return std::nullopt;
  return read_window(lr);
}

// KA's M x B teacher sequences, batched, as many at a time as half the memory still available
// holds (model/memory_model.h): one forward where it fits, chunks where it does not.
int64_t Trainer::ka_sequences_in_memory() const {
  const auto length = cfg_.data.max_len;
  const auto one = forward_shape(1, length, static_cast<int64_t>(c10::elementSize(compute_)), device_.is_cuda());
  const int64_t per_sequence = frozen_forward_bytes(teacher_->config, one) + 2 * length * teacher_->config.vocab_size * 4;
  const int64_t budget = available_memory_bytes(device_) / 2;
  const int64_t all = cfg_.ka.m * cfg_.train.batch_size;
  if (per_sequence <= 0 || budget <= 0) return all;
  return std::max<int64_t>(cfg_.train.batch_size, std::min(all, budget / per_sequence));
}

// The step's micro-batches: the dataset's examples, or (distill.on_policy) their prompts with
// the student's own responses, written before anything of this step trains it.
std::vector<Batch> Trainer::next_batches() {
  std::vector<Batch> batches;
  for (int64_t i = 0; i < cfg_.train.grad_accum; ++i) {
    // The global batch of every rank, in the order one process with batch world x b would see it;
    // this rank takes its slice.
    const int world = group_ ? group_->world_size() : 1, rank = group_ ? group_->rank() : 0;
    const auto global = sampler_.next(cfg_.train.batch_size * world);
    std::vector<const TokenizedExample*> examples;
    for (int64_t k = 0; k < cfg_.train.batch_size; ++k)
      examples.push_back(&data_->train[global[static_cast<size_t>(rank * cfg_.train.batch_size + k)]]);
    if (!on_policy_micro_batch(cfg_, step_, i)) {
      batches.push_back(make_batch(examples, tok_->pad_id(), device_));
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    const ComputeIn precision(device_, compute_);
    const auto generated = static_cast<int64_t>(data_->dataset.categories.size());
    // Each rank samples from its own stream (rank 0's is the one-process stream).
    batches.push_back(student_written_batch(student_, examples, cfg_, step_, i + rank * cfg_.train.grad_accum,
                                            data_->stop_id, tok_->pad_id(), generated, device_));
    window_generated_ += batches.back().generated_tokens;
    const TokenizedExample& first = *examples[0];
    written_prompt_ = on_policy_prompt_length(first, cfg_);
    written_category_ = first.category;
    written_ids_ = batches.back().ids[0];
    written_mask_ = batches.back().attention_mask[0];
    window_sampling_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  if (teacher_)
    for (auto& b : batches) b.vocab = std::min(teacher_->config.vocab_size, student_->config.vocab_size);
  return batches;
}

Trainer::StudentForward Trainer::student_forward(const Batch& b, bool track_routing) {
  const bool track = track_routing && student_routing_;
  ForwardOptions opt;
  opt.record_routing = track || cfg_.method == Method::TrainTeacher;  // train-teacher: its balance loss
  opt.checkpoint_layers = cfg_.train.checkpoint_activations;
  const ComputeIn precision(device_, compute_);
  StudentForward s{student_->forward(b.ids, opt), {}};
  if (track) student_routing_->add(s.out.routing, b);
  s.rows = target_rows(s.out.logits, b);
  return s;
}

// SAR, update 1 (docs/DESIGN.md, "Student-Aware Router"): the router gradients of every
// micro-batch accumulate against the student's current distributions, then the routers step
// once. The first micro-batch's student forward keeps its graph for step 2; the others are only
// needed as distributions here.
Trainer::StudentForward Trainer::sar_router_update(const std::vector<Batch>& batches, const std::vector<double>& shares,
                                                   std::vector<SarRouterUpdate::Terms>& terms) {
  auto first = student_forward(batches[0], /*track_routing=*/true);
  sar_->zero_grad();
  for (size_t i = 0; i < batches.size(); ++i) {
    torch::Tensor student_rows = first.rows;
    if (i > 0) {
      torch::NoGradGuard no_grad;
      student_rows = student_forward(batches[i], /*track_routing=*/false).rows;
    }
    terms.push_back(sar_->accumulate(batches[i], student_rows, shares[i], teacher_routing_.get(), router_scaler_.get()));
    guard_.observe(step_ + 1, {"router loss", "balance loss"}, {terms.back().router_loss, terms.back().balance});
  }
  sum_gradients_over_ranks(sar_->parameters());  // every rank's teacher copy takes the same router step
  auto apply = guard_.all_finite();
  if (router_scaler_) apply = apply.logical_and(router_scaler_->unscale_and_update(sar_->parameters()));
  sar_->step(scheduled(cfg_.sar.router_lr), apply);
  return first;
}

Trainer::Terms Trainer::student_loss(const Batch& b, const StudentForward& s) {
  Terms t;
  const auto labels = b.targets.reshape(-1).index_select(0, b.target_index);
  t.ce = torch::cross_entropy_loss(s.rows.to(torch::kFloat), labels);
  t.divergence = t.router_loss = t.balance = torch::zeros({}, torch::dtype(torch::kFloat).device(device_));
  switch (cfg_.method) {
    case Method::SFT:
      t.loss = t.ce;
      break;
    case Method::TrainTeacher:
      t.balance = balance_loss(s.out.routing, cfg_.train.balance, b.real);
      t.loss = t.ce + cfg_.train.balance_weight * t.balance;
      break;
    case Method::KD:
    case Method::KA:
    case Method::SAR: {  // SAR: against the teacher as its routers were just updated
      const auto targets = teacher_targets(teacher_, b, cfg_, teacher_routing_.get());
      t.divergence = distillation_loss(targets, s.rows, cfg_.divergence);
      t.loss = cfg_.cross_entropy_weight() * t.ce + cfg_.alpha * t.divergence;
      break;
    }
  }
  return t;
}

double Trainer::scheduled(double peak) const {
  return learning_rate(cfg_.train.schedule, peak, step_, cfg_.train.steps, cfg_.train.warmup_steps,
                       cfg_.train.min_lr_ratio);
}

// The window's averages and the finite flag in one device-to-host transfer.
StepMetrics Trainer::read_window(double lr) {
  if (group_) {
    // The ranks' means of the loss terms (and their gradient norm, the same on every rank after
    // the gradient sum); tokens add up. SAR: every teacher copy must still be the same.
    group_->all_reduce_sum({window_sums_});
    window_sums_.div_(group_->world_size());
    double tokens = 0, generated = 0;
    for (const double t : group_->all_gather(static_cast<double>(window_tokens_))) tokens += t;
    for (const double g : group_->all_gather(static_cast<double>(window_generated_))) generated += g;
    window_tokens_ = static_cast<int64_t>(tokens);
    window_generated_ = static_cast<int64_t>(generated);
    if (sar_) check_replicas_agree("SAR's trained teacher routers", sar_->parameters());
  }
  const auto host = torch::cat({window_sums_.to(torch::kDouble), guard_.packed()}).to(torch::kCPU).contiguous();
  const double* v = host.data_ptr<double>();
  guard_.raise_if_bad(v + kSums);
  StepMetrics m;
  const double n = static_cast<double>(window_steps_);
  m.step = step_;
  m.loss = v[kLoss] / n;
  m.ce = v[kCe] / n;
  m.divergence = v[kDivergence] / n;
  m.router_loss = v[kRouterLoss] / n;
  m.balance_loss = v[kBalance] / n;
  m.grad_norm = v[kGradNorm] / n;
  m.lr = lr;
  m.router_lr = sar_ ? scheduled(cfg_.sar.router_lr) : 0.0;
  m.step_seconds = window_seconds_ / n;
  m.tokens = window_tokens_;
  m.tokens_per_s = window_tokens_ / std::max(1e-9, window_seconds_);
  m.peak_memory = peak_memory_bytes(device_);
  m.generated_tokens = static_cast<double>(window_generated_) / n;
  m.sampling_seconds = window_sampling_seconds_ / n;
  window_sums_.zero_();
  window_steps_ = window_tokens_ = window_generated_ = 0;
  window_seconds_ = window_sampling_seconds_ = 0;
  return m;
}

std::optional<GenerationSample> Trainer::take_generation() {
  if (!written_ids_.defined()) return std::nullopt;
  // KA's teacher samples its experts from the global generator: shown under its top-k routing
  // instead, so that looking does not change the run.
  const RoutingPolicy policy = cfg_.method == Method::KA ? RoutingPolicy{} : cfg_.teacher_policy;
  const ComputeIn precision(device_, compute_);
  // Real tokens only: the prompt, then what the student wrote (the rest of the row is padding).
  const auto real = written_ids_.narrow(0, 0, written_mask_.sum().item<int64_t>());
  auto g = score_generation(teacher_, policy, student_, real, written_prompt_, *tok_);
  g.step = step_;
  const auto& cats = data_->dataset.categories;
  if (written_category_ >= 0 && written_category_ < static_cast<int64_t>(cats.size())) g.category = cats[written_category_];
  written_ids_ = written_mask_ = torch::Tensor();
  return g;
}

std::vector<RoutingSnapshot> Trainer::take_routing() {
  std::vector<RoutingSnapshot> out;
  auto cats = data_->dataset.categories;
  if (cfg_.on_policy > 0) cats.push_back("generated");
  // Several processes: the counts of every rank.
  for (auto* acc : {teacher_routing_.get(), student_routing_.get()})
    if (group_ && acc) group_->all_reduce_sum(acc->tensors());
  if (teacher_routing_ && !teacher_routing_->empty()) {
    out.push_back(teacher_routing_->snapshot(step_, "teacher", cats, sar_ ? sar_->drift() : std::vector<double>{}));
    teacher_routing_->reset();
  }
  if (student_routing_ && !student_routing_->empty()) {
    const char* model = cfg_.method == Method::TrainTeacher ? "teacher" : "student";
    out.push_back(student_routing_->snapshot(step_, model, cats, {}));
    student_routing_->reset();
  }
  return out;
}

EvalResult Trainer::evaluate(int64_t max_samples, bool test_split) {
  check_finite();
  EvaluationSetup setup;
  setup.test_split = test_split;
  setup.samples = max_samples;
  setup.max_new_tokens = cfg_.eval.max_new_tokens;
  setup.batch_size = cfg_.train.batch_size;
  setup.step = step_;
  if (group_) {  // the split dealt across the ranks, the sums gathered: every rank sees the whole
    setup.rank = group_->rank();
    setup.world = group_->world_size();
    setup.sum_over_ranks = [this](std::vector<double>& sums) {
      auto t = torch::tensor(sums, torch::kDouble);
      group_->all_reduce_sum({t});
      std::copy(t.data_ptr<double>(), t.data_ptr<double>() + t.numel(), sums.begin());
    };
  }
  CausalLM* teacher = cfg_.eval.teacher && teacher_ ? &teacher_ : nullptr;
  const ComputeIn precision(device_, compute_);
  return evaluate_model(student_, teacher, *tok_, *data_, setup, device_);
}

bool Trainer::record_if_best(const EvalResult& r) {
  const double score = best_checkpoint_score(r);
  if (score <= best_score_) return false;
  best_score_ = score;
  best_step_ = r.step;
  return true;
}

}  // namespace moekd
