#include <iostream>

#include "bench/bench_distill.h"
#include "bench/bench_moe.h"
#include "commands.h"
#include "format.h"
#include "backend/system_info.h"

namespace moekd::cli {

void add_bench(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "benchmarks (figures for notes and comparisons, never pass/fail)");
  bench->require_subcommand(1);
  struct Args {
    std::string device = "cpu";
    int64_t tokens = 2048;
    double seconds = 1.0;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto* moe = bench->add_subcommand("moe", "MoE layer: sparse grouped dispatch vs all experts; whole-model forward");
  moe->add_option("--device", a->device, "cpu, cuda, cuda:N")->capture_default_str();
  moe->add_option("--tokens", a->tokens, "tokens per layer call")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  moe->add_option("--seconds", a->seconds, "minimum timed seconds per case")->capture_default_str()->check(CLI::Range(0.01, 600.0));
  moe->add_flag("--json", a->json, "machine-readable output");
  moe->callback([a] {
    BenchOptions opt;
    opt.device = parse_device(a->device);
    opt.tokens = a->tokens;
    opt.seconds_per_case = a->seconds;
    const auto j = bench_moe(opt);
    if (a->json) {
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::printf("MoE layer on %s, %d threads, %lld tokens per call\n", j["device"].get<std::string>().c_str(),
                j["threads"].get<int>(), static_cast<long long>(a->tokens));
    std::printf("%8s %6s %7s %8s %16s %16s %8s\n", "experts", "top-k", "hidden", "ff", "sparse tok/s", "all tok/s",
                "ratio");
    for (const auto& l : j["layers"])
      std::printf("%8lld %6lld %7lld %8lld %16.0f %16.0f %7.2fx\n", l["experts"].get<long long>(),
                  l["top_k"].get<long long>(), l["hidden"].get<long long>(), l["expert_size"].get<long long>(),
                  l["sparse_tokens_per_s"].get<double>(), l["all_tokens_per_s"].get<double>(),
                  l["sparse_over_all"].get<double>());
    const auto& m = j["model"];
    std::printf("model forward: %s (%s params, %s active): %.0f tokens/s\n",
                m["description"].get<std::string>().c_str(), human_count(m["params_total"].get<double>()).c_str(),
                human_count(m["params_active"].get<double>()).c_str(), m["tokens_per_s"].get<double>());
  });

  auto d = std::make_shared<DistillBenchOptions>();
  auto d_json = std::make_shared<bool>(false);
  auto* distill = bench->add_subcommand("distill", "tokens/s of one training step: kd, ka (batched, sequential), sar");
  distill->add_option("--teacher", d->teacher_dir, "teacher folder (default: the demo teacher's shape)");
  distill->add_option("--student", d->student_dir, "student folder; a config.json alone gives a fresh model");
  distill->add_option("--device", d->device, "cpu, cuda, cuda:N")->capture_default_str();
  distill->add_option("--precision", d->precision, "auto, float32, bfloat16, float16 (train.precision)")->capture_default_str();
  distill->add_option("--batch", d->batch, "sequences per step")->capture_default_str()->check(CLI::Range(1, 1 << 14));
  distill->add_option("--seq-len", d->seq_len, "tokens per sequence")->capture_default_str()->check(CLI::Range(2, 1 << 16));
  distill->add_option("--ka-m", d->ka_m, "KA teacher passes")->capture_default_str()->check(CLI::Range(1, 256));
  distill->add_option("--ka-lambda", d->ka_lambda, "KA sampling probability")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  distill->add_option("--steps", d->steps, "timed steps per method")->capture_default_str()->check(CLI::Range(1, 100000));
  distill->add_flag("--json", *d_json, "machine-readable output");
  distill->callback([d, d_json] {
    const auto j = bench_distill(*d);
    if (*d_json) {
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::printf("distillation step on %s: batch %lld x %lld tokens; teacher %s params (%s active), student %s\n",
                j["device"].get<std::string>().c_str(), static_cast<long long>(d->batch),
                static_cast<long long>(d->seq_len), human_count(j["teacher_params"].get<double>()).c_str(),
                human_count(j["teacher_active_params"].get<double>()).c_str(),
                human_count(j["student_params"].get<double>()).c_str());
    const double kd = j["kd"].get<double>();
    for (const char* k : {"kd", "ka", "ka_sequential", "sar"})
      std::printf("  %-14s %10.0f tokens/s  (%.2fx kd)\n", k, j[k].get<double>(), j[k].get<double>() / kd);
    std::printf("  ka batched over sequential: %.2fx (M = %lld, lambda = %g)\n",
                j["ka"].get<double>() / j["ka_sequential"].get<double>(), static_cast<long long>(d->ka_m), d->ka_lambda);
  });
}

}  // namespace moekd::cli
