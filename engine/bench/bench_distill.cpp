#include "bench/bench_distill.h"

#include <chrono>
#include <random>

#include "backend/precision.h"
#include "data/tokenizer.h"
#include "run/demo_recipe.h"
#include "distill/trainer.h"
#include "session/models.h"
#include "util/error.h"
#include "backend/system_info.h"

namespace moekd {

using json = nlohmann::json;

namespace {

// A tokenizer stand-in: benchmarks feed ids directly and never decode.
class IdsOnly final : public Tokenizer {
 public:
  explicit IdsOnly(int64_t vocab) : vocab_(vocab) {}
  std::vector<int64_t> encode(const std::string&) const override { return {}; }
  std::string decode(const std::vector<int64_t>&) const override { return {}; }
  int64_t vocab_size() const override { return vocab_; }
  int64_t bos_id() const override { return 1; }
  int64_t eos_id() const override { return 2; }
  int64_t pad_id() const override { return 0; }
  std::string kind() const override { return "ids"; }
  std::string describe() const override { return "benchmark ids"; }

 private:
  int64_t vocab_;
};

}  // namespace

json bench_distill(const DistillBenchOptions& opt) {
  const auto device = parse_device(opt.device);
  ModelSource teacher_src, student_src;
  teacher_src.path = opt.teacher_dir;
  student_src.path = opt.student_dir;
  if (opt.teacher_dir.empty()) teacher_src.init = demo_teacher_config();
  if (opt.student_dir.empty()) student_src.init = demo_student_config();

  torch::manual_seed(opt.seed);
  auto teacher = load_or_init_model(teacher_src, "teacher", device);
  const auto vocab = teacher->config.vocab_size;
  // Random sequences whose every token after the first is a target: the step's full cost.
  auto data = std::make_shared<RunData>();
  data->dataset.categories = {"bench"};
  std::mt19937_64 rng(opt.seed);
  for (int64_t i = 0; i < opt.batch * 4; ++i) {
    TokenizedExample ex;
    for (int64_t t = 0; t < opt.seq_len; ++t) {
      ex.ids.push_back(static_cast<int64_t>(rng() % static_cast<uint64_t>(vocab)));
      ex.loss_mask.push_back(t > 0 ? 1 : 0);
    }
    data->train.push_back(ex);
  }
  data->validation = data->train;
  auto tok = std::make_shared<IdsOnly>(vocab);

  json out = {{"device", device.str()},
              {"precision", name_of(resolve_precision(parse_name<Precision>(opt.precision), device))},     {"batch", opt.batch},          {"seq_len", opt.seq_len},
              {"ka_m", opt.ka_m},           {"ka_lambda", opt.ka_lambda},   {"teacher_params", teacher->num_parameters()},
              {"teacher_active_params", teacher->num_active_parameters()}};
  struct Case {
    const char* key;
    const char* method;
    bool batched;
  };
  for (const auto& c : {Case{"kd", "kd", true}, Case{"ka", "ka", true}, Case{"ka_sequential", "ka", false},
                        Case{"sar", "sar", true}}) {
    // Through the run-config parser, so that each method sets up its teacher as a real run does.
    auto source = [](const ModelSource& m) {
      return m.path.empty() ? json{{"init", m.init}} : json{{"path", m.path}};
    };
    const RunConfig cfg = parse_run_config(
        {{"method", c.method},
         {"teacher", source(teacher_src)},
         {"student", source(student_src)},
         {"train", {{"batch_size", opt.batch}, {"steps", 1000000}, {"warmup_steps", 0}, {"device", opt.device},
                    {"precision", opt.precision}}},
         {"ka", {{"m", opt.ka_m}, {"lambda", opt.ka_lambda}, {"batched", c.batched}}},
         {"routing_every", 0}},
        "bench distill");
    torch::manual_seed(opt.seed);
    const auto compute = scalar_type_of(resolve_precision(cfg.train.precision, device));
    auto student = load_or_init_model(student_src, "student", device);
    // Each case gets its own teacher copy: SAR trains the routers.
    auto t = load_or_init_model(teacher_src, "teacher", device, compute, cfg.method == Method::SAR);
    if (student->config.vocab_size != vocab)
      fail("bench distill: teacher and student vocabularies differ (", vocab, " and ", student->config.vocab_size, ")");
    Trainer trainer(cfg, student, t, tok, data, device, compute);
    for (int i = 0; i < 2; ++i) trainer.step(false);
    synchronize(device);
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < opt.steps; ++i) trainer.step(false);
    synchronize(device);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    out[c.key] = static_cast<double>(opt.steps * opt.batch * opt.seq_len) / seconds;
    if (std::string(c.key) == "kd") out["student_params"] = student->num_parameters();
  }
  return out;
}

}  // namespace moekd
