// SPDX-License-Identifier: MIT
#include <algorithm>
#include <chrono>
#include <iostream>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "bench/bench_distill.h"
#include "backend/openblas_core.h"
#include "dist/process_group.h"
#include "launch.h"
#include "bench/bench_moe.h"
#include "commands.h"
#include "jsonl_strings.h"
#include "ranges.h"
#include "format.h"
#include "backend/system_info.h"
#include "data/tokenizer.h"
#include "util/error.h"
#include "util/json_file.h"

namespace moekd::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// `moekd bench distill --nproc N`: the same benchmark three times, as child processes of this
// one: 1 process with T threads, 1 as moekd runs by default (OpenBLAS threading each product over
// every core), N processes with T each (T = cores / N), so that data parallelism is compared with
// threads on the same cores, in one run. Each child writes its JSON to a file; the table is their
// tokens/s over the first's.
void bench_scaling(int nproc, bool as_json, const std::string& output) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const int t = static_cast<int>(std::max(1u, cores / static_cast<unsigned>(nproc)));
  // This command's arguments without the ones each child gets its own of.
  std::vector<std::string> args = program_args();
  for (const char* o : {"--nproc", "--output", "--threads"}) args = without_option(args, o);
  args = without_option(args, "--json", false);
  const std::string program = args.front();
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  const fs::path dir = fs::temp_directory_path() / ("moekd-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  struct Layout {
    const char* key;
    int processes, threads;
  };
  // threads 0: no --threads, the default.
  const Layout layouts[] = {{"one_process", 1, t}, {"one_process_all_threads", 1, 0}, {"processes", nproc, t}};
  json results = json::object();
  for (const auto& l : layouts) {
    const std::string file = (dir / (std::string(l.key) + ".json")).string();
    std::vector<std::string> child = {program};
    if (l.threads > 0) child.insert(child.end(), {"--threads", std::to_string(l.threads)});
    child.insert(child.end(), rest.begin(), rest.end());
    child.insert(child.end(), {"--json", "--output", file});
    if (!as_json)
      std::fprintf(stderr, "bench distill: %d process%s, %s...\n", l.processes, l.processes > 1 ? "es" : "",
                   l.threads > 0 ? ("--threads " + std::to_string(l.threads)).c_str() : "default threads");
    // Their JSON goes to the file; stdout (the same JSON) is not wanted twice.
    std::fflush(stdout);
    const int saved = ::dup(1);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    const int code = l.processes > 1 ? launch_local_processes(l.processes, child, 30) : run_this_program(child);
    ::dup2(saved, 1);
    ::close(saved);
    ::close(null);
    if (code != 0) {
      fs::remove_all(dir);
      fail("bench distill --nproc: the ", l.processes, " x ", l.threads, " run ended with exit code ", code);
    }
    results[l.key] = read_json_file(file);
    results[l.key]["threads"] = l.threads > 0 ? json(l.threads) : json("default");
  }
  fs::remove_all(dir);
  json speedup = json::object();
  const json& base = results["one_process"];
  for (const char* k : {"kd", "ka", "ka_sequential", "sar"}) {
    if (!base.contains(k)) continue;
    const double b = base[k].get<double>();
    speedup[k] = {{"one_process_all_threads", results["one_process_all_threads"][k].get<double>() / b},
                  {"processes", results["processes"][k].get<double>() / b}};
  }
  results["speedup"] = speedup;
  results["nproc"] = nproc;
  results["threads_per_process"] = t;
  results["openblas_core"] = openblas_core().in_use;
  if (!output.empty()) write_json_file(output, results);
  if (as_json) {
    std::cout << results.dump(2) << "\n";
    return;
  }
  std::printf("data parallel scaling on %u cores (OpenBLAS core %s), global batch %lld x %lld tokens; tokens/s:\n",
              cores, results["openblas_core"].get<std::string>().c_str(),
              static_cast<long long>(base["batch"].get<int64_t>()), static_cast<long long>(base["seq_len"].get<int64_t>()));
  std::printf("  %-14s %16s %22s %24s\n", "case", ("1 x " + std::to_string(t) + " thr").c_str(),
              "1 x default thr",
              (std::to_string(nproc) + " proc x " + std::to_string(t) + " thr").c_str());
  for (const auto& [k, s] : speedup.items())
    std::printf("  %-14s %16.0f %14.0f (%4.2fx) %16.0f (%4.2fx)\n", k.c_str(), base[k].get<double>(),
                results["one_process_all_threads"][k].get<double>(), s["one_process_all_threads"].get<double>(),
                results["processes"][k].get<double>(), s["processes"].get<double>());
}

}  // namespace

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
  moe->add_option("--seconds", a->seconds, "minimum timed seconds per case")->capture_default_str()->check(finite_in(0.01, 600.0));
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
  auto d_output = std::make_shared<std::string>();
  auto d_nproc = std::make_shared<int>(1);
  auto* distill = bench->add_subcommand("distill", "tokens/s of one training step: kd, ka (batched, sequential), sar");
  distill->add_option("--teacher", d->teacher_dir, "teacher folder (default: the demo teacher's shape)");
  distill->add_option("--student", d->student_dir, "student folder; a config.json alone gives a fresh model");
  distill->add_option("--device", d->device, "cpu, cuda, cuda:N")->capture_default_str();
  distill->add_option("--precision", d->precision, "auto, float32, bfloat16, float16 (train.precision)")->capture_default_str();
  distill->add_option("--batch", d->batch, "sequences per step")->capture_default_str()->check(CLI::Range(1, 1 << 14));
  distill->add_option("--seq-len", d->seq_len, "tokens per sequence")->capture_default_str()->check(CLI::Range(2, 1 << 16));
  distill->add_option("--ka-m", d->ka_m, "KA teacher passes")->capture_default_str()->check(CLI::Range(1, 256));
  distill->add_option("--ka-lambda", d->ka_lambda, "KA sampling probability")->capture_default_str()->check(finite_in(0, 1));
  distill->add_option("--steps", d->steps, "timed steps per method")->capture_default_str()->check(CLI::Range(1, 100000));
  distill->add_option("--cases", d->cases, "cases to run (default: all)")
      ->delimiter(',')
      ->check(CLI::IsMember({"kd", "ka", "ka_sequential", "sar"}));
  distill->add_flag("--on-policy", d->on_policy,
                    "every case on the student's own answers: it writes the second half of each sequence");
  distill->add_flag("--checkpoint-activations", d->checkpoint_activations, "train.checkpoint_activations in every case");
  distill->add_option("--profile", d->profile_steps, "profile N more steps per case: where the time goes")
      ->check(CLI::Range(1, 100));
  distill->add_flag("--json", *d_json, "machine-readable output");
  distill->add_option("--output", *d_output, "also write the JSON to this file");
  distill->add_option("--nproc", *d_nproc,
                      "data parallel scaling: the cases as 1 process with T threads, 1 with the default threads (every "
                      "core), and N processes with T each (T = cores / N); --batch is the global batch")
      ->check(CLI::Range(2, 256));
  distill->callback([d, d_json, d_output, d_nproc] {
    if (*d_nproc > 1) return bench_scaling(*d_nproc, *d_json, *d_output);
    // A rank of `--nproc` (or of torchrun): the benchmark as one of the group.
    const DistEnv env = read_dist_env();
    std::unique_ptr<ProcessGroup> group;
    if (env.distributed()) {
      d->device = device_for_rank(d->device, env, static_cast<int>(torch::cuda::device_count()));
      group = std::make_unique<ProcessGroup>(env, parse_device(d->device), std::chrono::seconds(600));
      d->group = group.get();
    }
    const auto j = bench_distill(*d);
    if (env.rank != 0) return;  // rank 0 speaks for the group
    if (!d_output->empty()) write_json_file(*d_output, j);
    if (*d_json) {
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::printf("distillation step on %s in %s: batch %lld x %lld tokens; teacher %s params (%s active), student %s\n",
                j["device"].get<std::string>().c_str(), j["precision"].get<std::string>().c_str(),
                static_cast<long long>(d->batch), static_cast<long long>(d->seq_len),
                human_count(j["teacher_params"].get<double>()).c_str(),
                human_count(j["teacher_active_params"].get<double>()).c_str(),
                human_count(j["student_params"].get<double>()).c_str());
    const double kd = j.value("kd", 0.0);
    for (const char* k : {"kd", "ka", "ka_sequential", "sar"}) {
      if (!j.contains(k)) continue;
      const double v = j[k].get<double>();
      std::printf("  %-14s %10.0f tokens/s", k, v);
      if (kd > 0) std::printf("  (%.2fx kd)", v / kd);
      std::printf("  peak %s", human_bytes(j["peak_memory"][k].get<uint64_t>()).c_str());
      if (j.contains("mfu")) std::printf("  MFU %.1f%%", 100 * j["mfu"][k].get<double>());
      std::printf("\n");
    }
    if (j.contains("profile"))
      for (const auto& [name, p] : j["profile"].items()) {
        const double total = p["total_ms"].get<double>(), steps = p["steps"].get<double>();
        std::printf("  %s: %.1f ms of %s per step; the most expensive:\n", name.c_str(), total / steps,
                    p["unit"].get<std::string>().c_str());
        for (const auto& r : p["top"])
          std::printf("    %6.1f%%  %8.2f ms  %6lld x  %.90s\n", 100 * r["ms"].get<double>() / std::max(total, 1e-9),
                      r["ms"].get<double>() / steps, static_cast<long long>(r["calls"].get<int64_t>() / steps),
                      r["name"].get<std::string>().c_str());
      }
    if (j.contains("split"))
      for (const auto& [name, p] : j["split"].items())
        std::printf("  %s on-policy: sampling %.0f%%, teacher %.0f%%, student %.0f%% of the step; %.0f tokens "
                    "written per step, %.0f per second of sampling\n",
                    name.c_str(), 100 * p["sampling"].get<double>(), 100 * p["teacher"].get<double>(),
                    100 * p["student"].get<double>(), p["generated_tokens"].get<double>(),
                    p["generated_per_s"].get<double>());
    if (j.contains("ka") && j.contains("ka_sequential"))
      std::printf("  ka batched over sequential: %.2fx (M = %lld, lambda = %g)\n",
                  j["ka"].get<double>() / j["ka_sequential"].get<double>(), static_cast<long long>(d->ka_m), d->ka_lambda);
  });

  // Encoding speed of a tokenizer on a JSONL file of strings (as `moekd tokenize --input` reads),
  // one thread; bench/reference/tokenize_speed.py times the `tokenizers` library on the same file.
  struct TokenizeArgs {
    std::string tokenizer, input;
    double seconds = 2.0;
    bool json = false;
  };
  auto t = std::make_shared<TokenizeArgs>();
  auto* tokenize = bench->add_subcommand("tokenize", "encoding speed of a tokenizer (MB/s of UTF-8 text, tokens/s)");
  tokenize->add_option("--tokenizer", t->tokenizer, "a model folder, a tokenizer file, or builtin")->required();
  tokenize->add_option("--input", t->input, "a JSONL file of strings")->required();
  tokenize->add_option("--seconds", t->seconds, "minimum timed seconds")->capture_default_str()->check(finite_in(0.01, 600.0));
  tokenize->add_flag("--json", t->json, "machine-readable output");
  tokenize->callback([t] {
    std::vector<std::string> texts;
    size_t bytes = 0;
    for_each_jsonl_string(t->input, "--input", [&](const std::string& s) {
      texts.push_back(s);
      bytes += s.size();
    });
    if (texts.empty()) fail(t->input, ": holds no strings");
    const auto tok = load_tokenizer(t->tokenizer);
    using clock = std::chrono::steady_clock;
    size_t tokens = 0, passes = 0;
    const auto start = clock::now();
    double elapsed = 0;
    while (elapsed < t->seconds) {
      for (const auto& s : texts) tokens += tok->encode_with_special_tokens(s).size();
      ++passes;
      elapsed = std::chrono::duration<double>(clock::now() - start).count();
    }
    const double mb_s = static_cast<double>(bytes) * passes / elapsed / 1e6;
    const double tok_s = static_cast<double>(tokens) / elapsed;
    if (t->json) {
      std::cout << nlohmann::json{{"tokenizer", tok->describe()}, {"strings", texts.size()}, {"bytes", bytes},
                                  {"passes", passes}, {"seconds", elapsed}, {"mb_per_s", mb_s}, {"tokens_per_s", tok_s}}
                       .dump(2)
                << "\n";
      return;
    }
    std::printf("%s\n  %zu strings, %s of text, %zu passes in %.2f s: %.2f MB/s, %.0f tokens/s (one thread)\n",
                tok->describe().c_str(), texts.size(), human_bytes(bytes).c_str(), passes, elapsed, mb_s, tok_s);
  });
}

}  // namespace moekd::cli