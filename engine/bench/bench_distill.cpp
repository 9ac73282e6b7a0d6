#include "bench/bench_distill.h"

#include <algorithm>
#include <chrono>

#include "backend/precision.h"
#include "backend/torch_compat.h"
#include "data/random_tokens.h"
#include "run/demo_recipe.h"
#include "distill/on_policy.h"
#include "distill/teacher_targets.h"
#include "distill/trainer.h"
#include "model/flop_model.h"
#include "session/models.h"
#include "session/plan.h"
#include "util/error.h"
#include "backend/system_info.h"
#include "bench/step_profile.h"
#include "dist/process_group.h"

namespace moekd {

using json = nlohmann::json;

json bench_distill(const DistillBenchOptions& opt) {
  const auto device = parse_device(opt.device);
  ModelSource teacher_src, student_src;
  teacher_src.path = opt.teacher_dir;
  student_src.path = opt.student_dir;
  if (opt.teacher_dir.empty()) teacher_src.init = demo_teacher_config();
  if (opt.student_dir.empty()) student_src.init = demo_student_config();

  // Shapes from the config files: the teacher is loaded once per case, in that case's precision.
  const auto teacher_shape = source_config(teacher_src, "teacher");
  const auto vocab = teacher_shape.vocab_size;
  const auto teacher_count = teacher_shape.parameter_count();
  const auto data = random_token_data(vocab, opt.batch * 4, opt.seq_len, opt.seed);
  if (opt.on_policy)  // the first half is the prompt, the student writes the rest
    for (auto& e : data->train) e.response_start = opt.seq_len / 2;
  auto tok = std::make_shared<IdsOnlyTokenizer>(vocab);

  const Precision precision = resolve_precision(parse_name<Precision>(opt.precision), device);
  json out = {{"device", device.str()},
              {"precision", name_of(precision)},
              {"batch", opt.batch},
              {"seq_len", opt.seq_len},
              {"ka_m", opt.ka_m},
              {"ka_lambda", opt.ka_lambda},
              {"on_policy", opt.on_policy},
              {"teacher_params", teacher_count.total},
              {"teacher_active_params", teacher_count.active}};
  struct Case {
    const char* key;
    const char* method;
    bool batched;
  };
  const auto student_shape = source_config(student_src, "student");
  const int world = opt.group ? opt.group->world_size() : 1;
  if (opt.batch % world != 0)
    fail("bench distill: --batch ", opt.batch, " is the batch of all ", world, " processes together; it must divide by ",
         world);
  out["processes"] = world;
  const double peak = peak_flops(device, scalar_type_of(precision));
  out["peak_flops"] = peak;
  json mfu = json::object(), flops = json::object(), memory = json::object(), profiles = json::object(),
       split = json::object();
  for (const auto& c : {Case{"kd", "kd", true}, Case{"ka", "ka", true}, Case{"ka_sequential", "ka", false},
                        Case{"sar", "sar", true}}) {
    if (!opt.cases.empty() && std::find(opt.cases.begin(), opt.cases.end(), c.key) == opt.cases.end()) continue;
    // Through the run-config parser, so that each method sets up its teacher as a real run does.
    auto source = [](const ModelSource& m) {
      return m.path.empty() ? json{{"init", m.init}} : json{{"path", m.path}};
    };
    const RunConfig cfg = parse_run_config(
        {{"method", c.method},
         {"teacher", source(teacher_src)},
         {"student", source(student_src)},
         {"train", {{"batch_size", opt.batch / world}, {"steps", 1000000}, {"warmup_steps", 0}, {"device", opt.device},
                    {"precision", opt.precision}, {"checkpoint_activations", opt.checkpoint_activations}}},
         {"data", {{"max_len", opt.seq_len}}},
         {"distill", {{"on_policy", opt.on_policy ? 1.0 : 0.0}, {"sampling", {{"max_new_tokens", opt.seq_len}}}}},
         {"ka", {{"m", opt.ka_m}, {"lambda", opt.ka_lambda}, {"batched", c.batched}}},
         {"routing_every", 0}},
        "bench distill");
    torch::manual_seed(opt.seed);
    reset_peak_memory(device);
    const auto compute = scalar_type_of(precision);
    auto student = load_or_init_model(student_src, "student", device);
    // Each case gets its own teacher copy: SAR trains the routers.
    auto t = load_or_init_model(teacher_src, "teacher", device, compute, cfg.method == Method::SAR);
    if (student->config.vocab_size != vocab)
      fail("bench distill: teacher and student vocabularies differ (", vocab, " and ", student->config.vocab_size, ")");
    Trainer trainer(cfg, student, t, tok, data, device, compute, opt.group);
    for (int i = 0; i < 2; ++i) trainer.step(false);
    trainer.step(true);  // also empties the metrics window: the timed steps' sampling alone below
    synchronize(device);
    if (opt.group) opt.group->barrier();  // every rank's clock starts together
    const auto start = std::chrono::steady_clock::now();
    std::optional<StepMetrics> window;
    for (int64_t i = 0; i < opt.steps; ++i) window = trainer.step(opt.on_policy && i + 1 == opt.steps);
    synchronize(device);
    if (opt.group) opt.group->barrier();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double tokens_per_s = static_cast<double>(opt.steps * opt.batch * opt.seq_len) / seconds;
    if (opt.on_policy && window) {
      // The teacher's share: its targets for one on-policy batch of this shape, timed alone.
      std::vector<const TokenizedExample*> examples;
      for (int64_t i = 0; i < opt.batch / world; ++i) examples.push_back(&data->train[i]);
      const auto b = student_written_batch(trainer.student(), examples, cfg, 0, 0, data->stop_id, tok->pad_id(),
                                           static_cast<int64_t>(data->dataset.categories.size()), device);
      const ComputeIn in(device, compute);
      synchronize(device);
      const auto t0 = std::chrono::steady_clock::now();
      for (int64_t i = 0; i < opt.steps; ++i) teacher_targets(trainer.teacher(), b, cfg, nullptr);
      synchronize(device);
      const double teacher_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / opt.steps;
      const double step_s = seconds / opt.steps, sampling_s = window->sampling_seconds;
      split[c.key] = {{"sampling", sampling_s / step_s},
                      {"teacher", teacher_s / step_s},
                      {"student", std::max(0.0, 1 - (sampling_s + teacher_s) / step_s)},
                      {"generated_tokens", window->generated_tokens},
                      {"generated_per_s", window->generated_tokens / std::max(sampling_s, 1e-9)}};
    }
    out[c.key] = tokens_per_s;
    flops[c.key] = step_flops_per_token(cfg.method, teacher_shape, student_shape, opt.seq_len, opt.ka_m);
    if (peak > 0) mfu[c.key] = flops[c.key].get<double>() * tokens_per_s / peak;
    memory[c.key] = peak_memory_bytes(device);
    if (opt.profile_steps > 0)
      profiles[c.key] = to_json(profile_steps([&] { trainer.step(false); }, opt.profile_steps, device, 12));
  }
  out["student_params"] = student_shape.parameter_count().total;
  out["flops_per_token"] = flops;
  out["peak_memory"] = memory;
  if (peak > 0) out["mfu"] = mfu;
  if (opt.profile_steps > 0) out["profile"] = profiles;
  if (opt.on_policy) out["split"] = split;
  return out;
}

}  // namespace moekd
