#include "export/model_card.h"

#include <cstdio>
#include <sstream>

namespace moekd {

using json = nlohmann::json;

namespace {

std::string count(int64_t n) {
  char buf[32];
  if (n >= 1'000'000'000) std::snprintf(buf, sizeof buf, "%.2fB", n / 1e9);
  else if (n >= 1'000'000) std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  else if (n >= 10'000) std::snprintf(buf, sizeof buf, "%.1fK", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
  return buf;
}

std::string num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string percent(double v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f", 100 * v);
  return buf;
}

// The settings that define the method, as the config spells them.
std::string method_settings(const RunConfig& cfg, const json& j) {
  const auto& d = j["distill"];
  std::string s = "`" + std::string(name_of(cfg.method)) + "`";
  if (cfg.method == Method::SFT) return s + ": cross-entropy on the references only";
  if (cfg.method == Method::TrainTeacher) return s + ": the MoE itself, trained with its balance loss";
  s += ": " + d["divergence"].get<std::string>() + ", alpha " + num(d["alpha"]) + ", temperature " +
       num(d["temperature"]);
  if (cfg.method == Method::KA)
    s += "; knowledge augmentation M " + num(j["ka"]["m"]) + ", lambda " + num(j["ka"]["lambda"]) + ", k' " +
         num(j["ka"]["k_prime"]);
  if (cfg.method == Method::SAR)
    s += "; student-aware router: router lr " + num(j["sar"]["router_lr"]) + ", " +
         j["sar"]["direction"].get<std::string>() + " direction, policy " + j["sar"]["policy"].get<std::string>();
  return s;
}

std::string data_description(const json& d) {
  const auto kind = d["kind"].get<std::string>();
  std::string s = kind == "builtin" ? "the built-in synthetic tasks (" + num(d["train_examples"]) + " training examples)"
                                    : kind + " file `" + d["path"].get<std::string>() + "`";
  return s + ", max length " + num(d["max_len"]) + ", tokenizer `" + d["tokenizer"].get<std::string>() + "`";
}

}  // namespace

std::string model_card(const RunConfig& cfg, const RunRecord& run, const ExportedModel& model) {
  const json j = to_json(cfg);
  // The step this checkpoint holds, and its evaluation when there was one at that step.
  int64_t step = -1;
  for (const auto& c : run.checkpoints)
    if (c.best == (model.checkpoint == "best")) step = c.step;
  const EvalResult* eval = nullptr;
  for (const auto& e : run.evals)
    if (e.step == step) eval = &e;

  std::ostringstream md;
  md << "---\nlibrary_name: transformers\ntags:\n- knowledge-distillation\n- mixture-of-experts\n- moekd-studio\n---\n\n";
  md << "# " << cfg.name << ": " << model.role << "\n\n";
  md << "Made with MoE-KD Studio (`moekd`) from the run `" << cfg.name << "`, checkpoint `" << model.checkpoint << "`"
     << (step >= 0 ? " (step " + std::to_string(step) + ")" : std::string()) << ".\n\n";
  md << "| | |\n|---|---|\n";
  md << "| architecture | " << model.architecture << ", " << count(model.params) << " parameters";
  if (model.active_params > 0 && model.active_params < model.params) md << " (" << count(model.active_params) << " active per token)";
  md << " |\n";
  md << "| method | " << method_settings(cfg, j) << " |\n";
  if (cfg.needs_teacher()) md << "| teacher | `" << (cfg.teacher.path.empty() ? "freshly initialised" : cfg.teacher.path) << "` |\n";
  md << "| data | " << data_description(j["data"]) << " |\n";
  const auto& t = j["train"];
  md << "| training | " << num(t["steps"]) << " steps, batch " << num(t["batch_size"]) << ", lr " << num(t["lr"]) << " ("
     << t["schedule"].get<std::string>() << "), seed " << num(t["seed"]) << ", " << t["device"].get<std::string>() << " |\n\n";

  if (eval) {
    md << "## Evaluation at step " << eval->step << "\n\n";
    md << "Validation split; ROUGE-L and exact match over " << cfg.eval.samples << " greedy generations of up to "
       << cfg.eval.max_new_tokens << " tokens.\n\n";
    md << "| category | val loss | ROUGE-L | exact match |\n|---|---|---|---|\n";
    md << "| all | " << num(eval->val_loss) << " | " << percent(eval->rouge_l) << " | " << percent(eval->exact_match) << "% |\n";
    for (const auto& [name, c] : eval->per_category)
      md << "| " << name << " | " << num(c.val_loss) << " | " << percent(c.rouge_l) << " | " << percent(c.exact_match) << "% |\n";
    md << "\n";
  } else {
    md << "No evaluation ran at this checkpoint's step.\n\n";
  }
  if (cfg.data.tokenizer == "builtin")
    md << "The model uses moekd's built-in character tokenizer (`moekd_tokenizer.json`); `transformers` loads the "
          "weights but has no tokenizer class for it.\n";
  return md.str();
}

}  // namespace moekd
