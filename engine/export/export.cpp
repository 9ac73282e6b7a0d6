#include "export/export.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "backend/precision.h"
#include "io/hf_model.h"
#include "export/model_card.h"
#include "io/safetensors.h"
#include "run/run_config.h"
#include "run/run_folder.h"
#include "run/run_record.h"
#include "util/error.h"
#include "util/folder_lock.h"
#include "util/json_file.h"

namespace moekd {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

CheckpointFolder checkpoint(const std::string& run_dir, Checkpoint which) {
  // A run that is training in another process is left to its writer to repair.
  if (FolderLock::try_acquire(run_dir, "an export")) recover_checkpoints(RunFolder(run_dir));
  const auto ckpt = RunFolder(run_dir).checkpoint(which);
  if (!ckpt.exists())
    fail(run_dir, ": no `", name_of(which), "` checkpoint (", ckpt.dir.string(), " is missing or incomplete)");
  return ckpt;
}

// `auto`: the precision the run computed in, as its checkpoint recorded it (float32 before that).
torch::ScalarType export_dtype(const CheckpointFolder& ckpt, Precision requested) {
  if (requested != Precision::Auto) return scalar_type_of(requested);
  const json state = read_json_file(ckpt.state_json().string());
  return scalar_type_of(parse_name<Precision>(state.value("precision", std::string("float32"))));
}

void write_json(const fs::path& path, const json& j) { write_json_file(path.string(), j); }

// Generation settings and tokenizer files next to the weights.
void write_companions(CausalLM& model, const RunConfig& cfg, const fs::path& out) {
  const auto& c = model->config;
  json gen = {{"do_sample", false}, {"max_new_tokens", cfg.eval.max_new_tokens}};
  if (c.bos_token_id >= 0) gen["bos_token_id"] = c.bos_token_id;
  if (c.eos_token_id >= 0) gen["eos_token_id"] = c.eos_token_id;
  write_json(out / "generation_config.json", gen);
  const auto& spec = cfg.data.tokenizer;
  if (spec == "builtin") {
    // The demo's character tokenizer has no Hugging Face class; describe it for moekd and people.
    write_json(out / "moekd_tokenizer.json",
               {{"kind", "builtin"},
                {"description", "characters: <pad>=0 <bos>=1 <eos>=2 <unk>=3, printable ASCII 32..126 as 4..98"}});
    return;
  }
  fs::path model_file = fs::is_directory(spec) ? fs::path(spec) / "tokenizer.model" : fs::path(spec);
  fs::copy_file(model_file, out / "tokenizer.model", fs::copy_options::overwrite_existing);
  for (const char* extra : {"tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"}) {
    const auto src = model_file.parent_path() / extra;
    if (fs::exists(src)) fs::copy_file(src, out / extra, fs::copy_options::overwrite_existing);
  }
}

void write_model_card(CausalLM& model, const RunConfig& cfg, const std::string& run_dir, Checkpoint which,
                      const std::string& role, const fs::path& out) {
  const auto run = load_run(run_dir, RunDetail::Summary);
  const ExportedModel exported{role, family_architecture(model->config.family), model->num_parameters(),
                               model->num_active_parameters(), name_of(which)};
  write_file_whole((out / "README.md").string(), model_card(cfg, run, exported));
}

ExportSummary summarise(CausalLM& model, const fs::path& out) {
  ExportSummary s;
  s.dir = fs::absolute(out).string();
  s.architecture = family_architecture(model->config.family);
  s.params = model->num_parameters();
  for (const auto& e : fs::directory_iterator(out))
    if (e.is_regular_file()) s.files.emplace_back(e.path().filename().string(), e.file_size());
  std::sort(s.files.begin(), s.files.end());
  return s;
}

struct Stages {
  const ExportProgress& report;
  int total;
  Stages(const ExportProgress& r, int n) : report(r), total(n) {}
  void next(int done, const std::string& what) const {
    if (report) report(done, total, what);
  }
};

// Stages 1-4 of both exports: the weights, their companions and model card, the summary.
ExportSummary write_export(CausalLM& model, const RunConfig& cfg, const std::string& run_dir, Checkpoint which,
                           const std::string& role, const std::string& out_dir, torch::ScalarType dtype,
                           const Stages& stages) {
  stages.next(1, std::string("writing config.json and model.safetensors (") + name_of(precision_of(dtype)) + ")");
  save_pretrained(model, out_dir, dtype);
  stages.next(2, "writing generation_config.json, the tokenizer and README.md");
  write_companions(model, cfg, out_dir);
  write_model_card(model, cfg, run_dir, which, role, out_dir);
  stages.next(3, "listing the files");
  auto summary = summarise(model, out_dir);
  stages.next(4, "done");
  return summary;
}

}  // namespace

ExportSummary export_student(const std::string& run_dir, Checkpoint which, const std::string& out_dir,
                             const ExportProgress& progress, Precision dtype) {
  const Stages stages(progress, 4);
  stages.next(0, std::string("reading the run's config and its `") + name_of(which) + "` checkpoint");
  const auto cfg = load_run_folder_config(run_dir);
  const auto ckpt = checkpoint(run_dir, which);
  auto model = load_pretrained(ckpt.model().string());
  // A train-teacher run trained the MoE itself: its export is a teacher.
  const char* role = cfg.method == Method::TrainTeacher ? "teacher" : "student";
  return write_export(model, cfg, run_dir, which, role, out_dir, export_dtype(ckpt, dtype), stages);
}

ExportSummary export_tuned_teacher(const std::string& run_dir, Checkpoint which, const std::string& out_dir,
                                   const ExportProgress& progress, Precision dtype) {
  const Stages stages(progress, 4);
  stages.next(0, std::string("reading the teacher and the routers of the `") + name_of(which) + "` checkpoint");
  const auto cfg = load_run_folder_config(run_dir);
  if (cfg.method != Method::SAR) fail(run_dir, ": only `sar` runs tune the teacher (this run is `", name_of(cfg.method), "`)");
  if (cfg.teacher.path.empty()) fail(run_dir, ": the run's teacher has no path to export from");
  auto teacher = load_pretrained(cfg.teacher.path);
  const auto ckpt = checkpoint(run_dir, which);
  SafetensorsFile state(ckpt.state_tensors().string());
  {
    torch::NoGradGuard no_grad;
    int64_t replaced = 0;
    for (auto& p : teacher->named_parameters()) {
      const auto name = "router." + p.key();
      if (!state.contains(name)) continue;
      p.value().copy_(state.load(name));
      ++replaced;
    }
    if (replaced == 0) fail(run_dir, ": the checkpoint holds no router weights");
  }
  return write_export(teacher, cfg, run_dir, which, "teacher with SAR-tuned routers", out_dir,
                      export_dtype(ckpt, dtype), stages);
}

}  // namespace moekd
