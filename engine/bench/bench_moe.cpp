#include "bench/bench_moe.h"

#include <chrono>

#include "model/causal_lm.h"
#include "backend/system_info.h"

namespace moekd {

namespace {

// Calls `fn` until `seconds` have passed (after one warm-up call); returns calls per second.
template <typename Fn>
double rate(const torch::Device& device, double seconds, Fn&& fn) {
  fn();
  synchronize(device);
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  int64_t calls = 0;
  double elapsed = 0;
  do {
    fn();
    ++calls;
    synchronize(device);
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
  } while (elapsed < seconds);
  return calls / elapsed;
}

ModelConfig bench_layer_config(int64_t E, int64_t k, int64_t d, int64_t F) {
  ModelConfig c;
  c.family = Family::Mixtral;
  c.vocab_size = 256;
  c.hidden_size = d;
  c.num_heads = 8;
  c.num_kv_heads = 8;
  c.head_dim = d / 8;
  c.moe.num_experts = E;
  c.moe.top_k = k;
  c.layers.assign(1, LayerSpec{true, std::vector<int64_t>(E, F)});
  return c;
}

}  // namespace

nlohmann::json bench_moe(const BenchOptions& opt) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(opt.seed);
  nlohmann::json out;
  out["device"] = opt.device.str();
  out["threads"] = at::get_num_threads();
  out["layers"] = nlohmann::json::array();
  struct Shape {
    int64_t E, k, d, F;
  };
  for (const auto& s : {Shape{8, 2, 512, 1024}, Shape{64, 6, 512, 256}}) {
    const auto cfg = bench_layer_config(s.E, s.k, s.d, s.F);
    MoEBlock block(cfg, cfg.layers[0]);
    for (auto& p : block->parameters()) p.normal_(0.0, 0.02);
    block->to(opt.device);
    auto x = torch::randn({opt.tokens, s.d}, torch::dtype(torch::kFloat).device(opt.device));
    const double sparse = rate(opt.device, opt.seconds_per_case, [&] { block(x, RoutingPolicy::topk(), nullptr); });
    const double all = rate(opt.device, opt.seconds_per_case, [&] { block(x, RoutingPolicy::all(), nullptr); });
    out["layers"].push_back({{"experts", s.E},
                             {"top_k", s.k},
                             {"hidden", s.d},
                             {"expert_size", s.F},
                             {"tokens", opt.tokens},
                             {"sparse_tokens_per_s", sparse * opt.tokens},
                             {"all_tokens_per_s", all * opt.tokens},
                             {"sparse_over_all", sparse / all}});
  }

  // A small Mixtral-shaped model: 4 layers, d 512, 8 experts top-2, vocabulary 8192.
  ModelConfig m;
  m.family = Family::Mixtral;
  m.vocab_size = 8192;
  m.hidden_size = 512;
  m.num_heads = 8;
  m.num_kv_heads = 4;
  m.head_dim = 64;
  m.moe.num_experts = 8;
  m.moe.top_k = 2;
  m.layers.assign(4, LayerSpec{true, std::vector<int64_t>(8, 1024)});
  CausalLM model(m);
  model->init_weights(0.02);
  model->to(opt.device);
  const int64_t batch = 4, seq = 256;
  auto ids = torch::randint(m.vocab_size, {batch, seq}, torch::dtype(torch::kLong).device(opt.device));
  const double fwd = rate(opt.device, opt.seconds_per_case, [&] { model->forward(ids); });
  out["model"] = {{"description", "Mixtral-shaped, 4 layers, d=512, 8 experts top-2, V=8192, batch 4 x 256"},
                  {"params_total", model->num_parameters()},
                  {"params_active", model->num_active_parameters()},
                  {"tokens_per_s", fwd * batch * seq}};
  return out;
}

}  // namespace moekd
