// `moekd probe`: what a teacher's experts outside its top-k hold (engine/probe/teacher_probe.h),
// as a table, probe.json and probe.md.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "commands.h"
#include "probe/teacher_probe.h"
#include "ranges.h"
#include "run/run_config.h"
#include "util/error.h"
#include "util/json_file.h"

namespace moekd::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string probe_markdown(const TeacherProbe& p, const std::string& split) {
  std::string md;
  char b[512];
  std::snprintf(b, sizeof b, "# Teacher probe: %s\n\n%lld experts, top-%lld; the %s split, %lld tokens.\n\n",
                p.teacher.c_str(), static_cast<long long>(p.num_experts), static_cast<long long>(p.top_k), split.c_str(),
                static_cast<long long>(p.tokens));
  md += b;
  md += "| routing | experts per token | val loss | ROUGE-L | exact match | KL from top-k (nats) |\n|---|---|---|---|---|---|\n";
  for (const auto& s : p.policies) {
    std::snprintf(b, sizeof b, "| %s | %.2f | %.4f | %.1f | %.1f%% | %.4f |\n", s.policy.label.c_str(), s.experts_per_token,
                  s.eval.val_loss, 100 * s.eval.rouge_l, 100 * s.eval.exact_match, s.kl_from_topk);
    md += b;
  }
  std::snprintf(b, sizeof b,
                "\nPer MoE layer: the router probability outside the top-%lld (mean over tokens) and the router's "
                "entropy (nats, and as a fraction of log %lld).\n\n| layer | discarded mass | entropy | of log E |\n|---|---|---|---|\n",
                static_cast<long long>(p.top_k), static_cast<long long>(p.num_experts));
  md += b;
  for (const auto& l : p.layers) {
    std::snprintf(b, sizeof b, "| %lld | %.4f | %.4f | %.3f |\n", static_cast<long long>(l.layer), l.discarded_mass,
                  l.entropy, l.entropy_fraction);
    md += b;
  }
  if (!p.discarded_mass_by_category.empty()) {
    md += "\nDiscarded mass per category (every MoE layer):\n\n| category | discarded mass |";
    for (const auto& s : p.policies)
      if (s.policy.policy.kind == PolicyKind::TopK && s.policy.policy.k == p.top_k) md += " own top-k exact match |";
    md += "\n|---|---|";
    for (const auto& s : p.policies)
      if (s.policy.policy.kind == PolicyKind::TopK && s.policy.policy.k == p.top_k) md += "---|";
    md += "\n";
    for (const auto& [cat, mass] : p.discarded_mass_by_category) {
      std::snprintf(b, sizeof b, "| %s | %.4f |", cat.c_str(), mass);
      md += b;
      for (const auto& s : p.policies)
        if (s.policy.policy.kind == PolicyKind::TopK && s.policy.policy.k == p.top_k) {
          const auto it = s.eval.per_category.find(cat);
          std::snprintf(b, sizeof b, " %.1f%% |", it == s.eval.per_category.end() ? 0.0 : 100 * it->second.exact_match);
          md += b;
        }
      md += "\n";
    }
  }
  return md;
}

}  // namespace

void add_probe(CLI::App& app) {
  struct Args {
    std::string config, teacher, data, tokenizer, device = "cpu", split = "validation", out;
    std::vector<std::string> overrides;
    int64_t samples = -1, max_new_tokens = -1, batch_size = 16;
    uint64_t seed = 0;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "probe", "score a teacher under top-k with k = 1..E, KA sampling, all experts and top-p, and measure what top-k leaves out");
  cmd->add_option("--config", a->config,
                  "a run config (or a grid: its base) whose teacher and data to probe; --teacher and --data then override");
  cmd->add_option("--teacher", a->teacher, "the teacher's Hugging Face folder");
  cmd->add_option("--data", a->data, "builtin, or a .jsonl (Dolly format) or text file");
  cmd->add_option("--tokenizer", a->tokenizer, "builtin, a tokenizer.json / tokenizer.model, or a folder (default: the teacher's)");
  cmd->add_option("--set", a->overrides, "override one field of the run config, e.g. --set data.max_len=48 (repeatable)");
  cmd->add_option("--samples", a->samples,
                  "prompts generated per routing (ROUGE-L, exact match; default: the config's eval.samples); 0: loss only")
      ->check(CLI::Range(int64_t{0}, int64_t{100000}));
  cmd->add_option("--max-new-tokens", a->max_new_tokens, "tokens generated per prompt (default: the config's eval.max_new_tokens)")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}));
  cmd->add_option("--batch", a->batch_size, "sequences per forward")->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{4096}));
  cmd->add_option("--seed", a->seed, "KA's draws")->capture_default_str();
  cmd->add_option("--device", a->device, "cpu, cuda, cuda:N")->capture_default_str();
  cmd->add_option("--split", a->split, "validation or test")->capture_default_str();
  cmd->add_option("--out", a->out, "also write probe.json and probe.md into this folder");
  cmd->add_flag("--json", a->json, "print the probe as JSON");
  cmd->callback([a] {
    if (a->split != "validation" && a->split != "test") fail("--split must be validation or test, got `", a->split, "`");
    json j = json::object();
    std::string source = "command line";
    if (!a->config.empty()) {
      j = read_json_file(a->config);
      source = a->config;
      if (j.is_object() && j.contains("base") && j["base"].is_object()) j = j["base"];  // a grid
    }
    for (const auto& o : a->overrides) apply_override(j, o);
    if (!a->teacher.empty()) j["teacher"] = {{"path", a->teacher}};
    if (!a->data.empty()) {
      if (a->data == "builtin") {
        j["data"]["kind"] = "builtin";
      } else {
        j["data"]["kind"] = fs::path(a->data).extension() == ".jsonl" ? "jsonl" : "text";
        j["data"]["path"] = a->data;
        if (!j["data"].contains("tokenizer") && a->tokenizer.empty() && !a->teacher.empty()) j["data"]["tokenizer"] = a->teacher;
      }
    }
    if (!a->tokenizer.empty()) j["data"]["tokenizer"] = a->tokenizer;
    if (!j.contains("teacher")) fail(source, ": which teacher? give --teacher DIR (or --config with a teacher)");
    // Parsed as a kd run: the same checks and messages as any run's teacher and data.
    j["method"] = "kd";
    j["run_dir"] = "probe";
    if (!j.contains("student")) j["student"] = j["teacher"];
    const auto cfg = parse_run_config(j, source);

    ProbeSetup s;
    s.teacher = cfg.teacher;
    s.data = cfg.data;
    s.device = a->device;
    s.seed = a->seed;
    s.samples = a->samples >= 0 ? a->samples : cfg.eval.samples;
    s.max_new_tokens = a->max_new_tokens > 0 ? a->max_new_tokens : cfg.eval.max_new_tokens;
    s.batch_size = a->batch_size;
    s.test_split = a->split == "test";
    const auto p = probe_teacher(s, [&](const std::string& label) {
      if (!a->json) std::fprintf(stderr, "probing %s\n", label.c_str());
    });
    const auto md = probe_markdown(p, a->split);
    if (!a->out.empty()) {
      fs::create_directories(a->out);
      write_json_file((fs::path(a->out) / "probe.json").string(), to_json(p));
      std::ofstream(fs::path(a->out) / "probe.md") << md;
    }
    if (a->json) std::cout << to_json(p).dump(2) << "\n";
    else std::cout << md;
  });
}

}  // namespace moekd::cli
