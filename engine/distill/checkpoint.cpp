// Trainer checkpoints: everything a resumed run needs to continue the same trajectory bit for bit
// (run/run_folder.h has the folder's layout). Written whole to a temporary folder and renamed
// into place, so a crash leaves the previous checkpoint intact.
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <fstream>
#include <limits>

#include "backend/precision.h"
#include "distill/trainer.h"
#include "io/hf_config.h"
#include "io/hf_model.h"
#include "io/safetensors.h"
#include "run/run_folder.h"
#include "util/error.h"
#include "util/json_file.h"

namespace moekd {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
// The device's own generator (KA's expert sampling and dropout draw from it on CUDA): part of the
// trajectory, so a resumed CUDA run continues bit for bit too. Reached through ATen's context, so
// this file needs no CUDA headers.
at::Generator device_generator(const torch::Device& device) {
  const auto index = device.has_index() ? device.index() : static_cast<c10::DeviceIndex>(0);
  return at::globalContext().defaultGenerator(torch::Device(device.type(), index));
}
}  // namespace

void Trainer::save_checkpoint(const std::string& dir) const {
  check_finite();  // a checkpoint holds only weights that every loss so far left finite
  replace_folder(dir, [&](const fs::path& staging) {
    const CheckpointFolder ckpt{staging};
    auto student = student_;
    save_pretrained(student, ckpt.model().string());
    auto tensors = opt_->state("optim.");
    if (sar_) {
      auto routers = sar_->state();
      tensors.insert(tensors.end(), routers.begin(), routers.end());
    }
    tensors.emplace_back("rng.cpu", at::detail::getDefaultCPUGenerator().get_state());
    if (device_.is_cuda()) tensors.emplace_back("rng.cuda", device_generator(device_).get_state());
    save_safetensors(ckpt.state_tensors().string(), tensors);
    const json state = {{"step", step_},
                        {"epoch", sampler_.epoch()},
                        {"position", sampler_.position()},
                        {"optimizer_steps", opt_->steps_taken()},
                        {"router_optimizer_steps", sar_ ? sar_->optimizer_steps() : 0},
                        {"best_score", std::isfinite(best_score_) ? json(best_score_) : json(nullptr)},
                        {"best_step", best_step_},
                        {"method", name_of(cfg_.method)},
                        {"precision", name_of(precision_of(compute_))}};  // what exports write by default
    std::ofstream(ckpt.state_json()) << state.dump(2) << "\n";
  });
}

CheckpointState read_checkpoint_state(const std::string& path, int64_t total_steps) {
  const json j = read_json_file(path);
  if (!j.is_object()) fail(path, ": expected a JSON object, got ", quote_json(j));
  auto integer = [&](const char* key, int64_t lo, int64_t hi, int64_t missing) -> int64_t {
    const auto it = j.find(key);
    if (it == j.end()) {
      if (missing < lo) fail(path, ": `", key, "` is missing");
      return missing;
    }
    if (!it->is_number_integer()) fail(path, ": `", key, "` must be an integer, got ", quote_json(*it));
    if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(hi))
      fail(path, ": `", key, "` must be in [", lo, ", ", hi, "], got ", quote_json(*it));
    const auto v = it->get<int64_t>();
    if (v < lo || v > hi) fail(path, ": `", key, "` must be in [", lo, ", ", hi, "], got ", v);
    return v;
  };
  CheckpointState s;
  s.step = integer("step", 0, total_steps, -1);
  s.epoch = integer("epoch", 0, int64_t{1} << 40, -1);
  s.position = integer("position", 0, int64_t{1} << 40, -1);
  s.optimizer_steps = integer("optimizer_steps", 0, s.step, -1);
  s.router_optimizer_steps = integer("router_optimizer_steps", 0, s.step, 0);
  s.best_step = integer("best_step", -1, s.step, -1);
  const auto best = j.find("best_score");
  if (best != j.end() && !best->is_null()) {
    if (!best->is_number() || !std::isfinite(best->get<double>()))
      fail(path, ": `best_score` must be a number or null, got ", quote_json(*best));
    s.best_score = best->get<double>();
  }
  const auto method = j.find("method");
  if (method == j.end() || !method->is_string()) fail(path, ": `method` must be a string");
  s.method = method->get<std::string>();
  return s;
}

namespace {

// The checkpoint's model has the run's student shape: a run whose config.json was edited after
// the checkpoint was written is refused by field, not by a tensor size inside LibTorch.
void check_same_shape(const ModelConfig& run, const ModelConfig& saved, const std::string& student_path,
                      const std::string& saved_config) {
  // The field as the run spells it: in its own init, or in the student folder's config.json.
  auto field = [&](const char* key) {
    return student_path.empty() ? "`student.init." + std::string(key) + "`"
                                : "student (" + student_path + "/config.json) `" + key + "`";
  };
  auto same = [&](const char* key, int64_t a, int64_t b) {
    if (a != b)
      fail(saved_config, ": the run's ", field(key), " is ", a, ", but the checkpoint's model has ", b,
           " (the run's settings changed after this checkpoint was written; resume with the settings it was made with, "
           "or start a new run)");
  };
  if (run.family != saved.family)
    fail(saved_config, ": the checkpoint's model is a ", family_architecture(saved.family), ", but the run's student is a ",
         family_architecture(run.family));
  same("vocab_size", run.vocab_size, saved.vocab_size);
  same("hidden_size", run.hidden_size, saved.hidden_size);
  same("num_hidden_layers", run.num_layers(), saved.num_layers());
  same("num_attention_heads", run.num_heads, saved.num_heads);
  same("num_key_value_heads", run.num_kv_heads, saved.num_kv_heads);
  same("head_dim", run.head_dim, saved.head_dim);
  same("intermediate_size", run.intermediate_size, saved.intermediate_size);
  same("num_experts", run.moe.num_experts, saved.moe.num_experts);
  same("num_experts_per_tok", run.moe.top_k, saved.moe.top_k);
  same("tie_word_embeddings", run.tie_word_embeddings, saved.tie_word_embeddings);
}

}  // namespace

void Trainer::load_checkpoint(const std::string& dir) {
  const CheckpointFolder ckpt{dir};
  if (!fs::exists(ckpt.state_json())) fail(dir, ": no state.json (not a checkpoint folder)");
  const CheckpointState state = read_checkpoint_state(ckpt.state_json().string(), cfg_.train.steps);
  if (state.method != std::string(name_of(cfg_.method)))
    fail(dir, ": checkpoint of method `", state.method, "`, but this run is `", name_of(cfg_.method), "`");
  const auto saved_config = (ckpt.model() / "config.json").string();
  check_same_shape(student_->config, load_hf_config(saved_config), cfg_.student.path, saved_config);
  auto saved = load_pretrained(ckpt.model().string());
  {
    torch::NoGradGuard no_grad;
    auto dst = student_->named_parameters();
    for (const auto& p : saved->named_parameters()) {
      auto* into = dst.find(p.key());
      if (!into) fail(ckpt.model().string(), ": tensor `", p.key(), "` is not a parameter of the run's student");
      restore_state(*into, p.value(), p.key());
    }
  }
  SafetensorsFile st(ckpt.state_tensors().string());
  auto lookup = [&](const std::string& name) { return st.load(name).to(device_); };
  opt_->load_state("optim.", state.optimizer_steps, lookup);
  if (sar_) sar_->load_state(state.router_optimizer_steps, lookup);
  at::Generator cpu_rng = at::detail::getDefaultCPUGenerator();  // a handle to the global generator
  cpu_rng.set_state(st.load("rng.cpu"));
  // A checkpoint written on the CPU resumes on CUDA with a fresh device generator, and vice versa.
  if (device_.is_cuda() && st.contains("rng.cuda")) device_generator(device_).set_state(st.load("rng.cuda"));
  step_ = state.step;
  sampler_.restore(state.epoch, state.position);
  best_score_ = state.best_score;
  best_step_ = state.best_step;
}

}  // namespace moekd
