// Two optimizer steps of KD, KA and SAR through the real trainer on the device, against the same
// steps on the CPU in float32 from the same weights and batches: the losses each step reports and
// the student's update. On the CPU in float32 the comparison is with a second identical run: the
// same seed must give the same numbers.
#include <map>

#include "backend/precision.h"
#include "data/random_tokens.h"
#include "distill/trainer.h"
#include "io/hf_model.h"
#include "model/samples.h"
#include "selftest/checks.h"
#include "selftest/scratch_dir.h"
#include "session/models.h"

namespace moekd::selftest {

namespace {

struct Tolerances {
  double losses, update;
};
// float32: reductions in another order (another device, another kernel) move the last bits.
// Half precisions: the teacher stored and every matmul computed in 8 (bfloat16) or 11 (float16)
// mantissa bits; the update direction still agrees to ~10%.
Tolerances tolerances_for(Precision p) {
  if (p == Precision::Float32) return {1e-4, 1e-3};
  return {5e-2, 0.3};
}

struct Steps {
  std::vector<StepMetrics> metrics;
  torch::Tensor update;  // the student's parameters after the steps minus before, flattened float64
};

torch::Tensor flat_parameters(CausalLM& model) {
  std::vector<torch::Tensor> parts;
  for (const auto& p : model->parameters()) parts.push_back(p.detach().to(torch::kCPU, torch::kDouble).reshape(-1));
  return torch::cat(parts);
}

Steps run_steps(Method method, const ScratchDir& dir, torch::Device device, Precision precision, double ka_lambda,
                uint64_t seed) {
  const RunConfig cfg = parse_run_config(
      {{"method", name_of(method)},
       {"teacher", {{"path", dir.path("teacher")}}},
       {"student", {{"path", dir.path("student")}}},
       {"train", {{"batch_size", 4}, {"steps", 10}, {"warmup_steps", 0}, {"lr", 1e-3}, {"seed", seed},
                  {"device", device.str()}, {"precision", name_of(precision)}}},
       {"data", {{"max_len", 16}}},
       {"ka", {{"m", 4}, {"lambda", ka_lambda}}},
       {"routing_every", 0}},
      "selftest");
  const auto compute = scalar_type_of(resolve_precision(cfg.train.precision, device));
  torch::manual_seed(seed);
  auto student = load_or_init_model(cfg.student, "student", device);
  auto teacher = load_or_init_model(cfg.teacher, "teacher", device, compute, method == Method::SAR);
  const auto vocab = student->config.vocab_size;
  Steps out;
  const auto before = flat_parameters(student);
  Trainer trainer(cfg, student, teacher, std::make_shared<IdsOnlyTokenizer>(vocab),
                  random_token_data(vocab, 16, 16, seed), device, compute);
  for (int i = 0; i < 2; ++i) out.metrics.push_back(*trainer.step(true));
  out.update = flat_parameters(student) - before;
  return out;
}

double loss_error(const Steps& a, const Steps& b) {
  double worst = 0;
  for (size_t i = 0; i < a.metrics.size(); ++i) {
    const auto &x = a.metrics[i], &y = b.metrics[i];
    for (auto [u, v] : {std::pair{x.loss, y.loss}, {x.divergence, y.divergence}, {x.router_loss, y.router_loss},
                        {x.grad_norm, y.grad_norm}})
      worst = std::max(worst, std::abs(u - v) / std::max(std::abs(v), 1e-12));
  }
  return worst;
}

}  // namespace

void check_steps(Context& ctx) {
  ScratchDir dir;
  auto teacher = sample_model(Family::Mixtral, ctx.seed + 21, 2);
  auto student = sample_model(Family::Llama, ctx.seed + 22, 1);
  save_pretrained(teacher, dir.path("teacher"));
  save_pretrained(student, dir.path("student"));

  std::vector<Precision> precisions = {Precision::Float32, Precision::BFloat16};
  if (ctx.device.is_cuda()) precisions.push_back(Precision::Float16);
  const bool same_device = ctx.device.is_cpu();
  for (const auto method : {Method::KD, Method::KA, Method::SAR}) {
    std::map<double, Steps> references;  // CPU float32, by KA's lambda
    for (const auto precision : precisions) {
      // KA's draws depend on the generator and on the logits' last bits: only a repeat on the same
      // device in float32 can compare them (lambda 0.1); elsewhere lambda 0 (every pass top-k),
      // and the draws themselves are checked by `ka sampling`.
      const bool repeat = same_device && precision == Precision::Float32;
      const double lambda = method == Method::KA && repeat ? 0.1 : 0.0;
      if (!references.count(lambda))
        references[lambda] = run_steps(method, dir, torch::kCPU, Precision::Float32, lambda, ctx.seed);
      const auto& reference = references[lambda];
      const auto run = run_steps(method, dir, ctx.device, precision, lambda, ctx.seed);
      const auto tol = tolerances_for(precision);
      std::string label = std::string("step ") + name_of(method);
      if (method == Method::KA) label += lambda > 0 ? " (lambda 0.1)" : " (lambda 0)";
      label += std::string(" ") + name_of(precision);
      const std::string against = repeat ? "a second run" : "cpu float32";
      ctx.report({label + ": losses", loss_error(run, reference), tol.losses,
                  "max rel diff of loss, divergence, router loss, grad norm over 2 steps vs " + against});
      ctx.report({label + ": update", norm_relative_error(run.update, reference.update), tol.update,
                  "||update - reference|| / ||reference|| vs " + against});
    }
  }
}

}  // namespace moekd::selftest
