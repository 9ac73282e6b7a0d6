// Trainer checkpoints: everything a resumed run needs to continue the same trajectory bit for bit
// (run/run_folder.h has the folder's layout). Written whole to a temporary folder and renamed
// into place, so a crash leaves the previous checkpoint intact.
#include <ATen/CPUGeneratorImpl.h>

#include <fstream>

#include "backend/precision.h"
#include "distill/trainer.h"
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

void Trainer::load_checkpoint(const std::string& dir) {
  const CheckpointFolder ckpt{dir};
  if (!fs::exists(ckpt.state_json())) fail(dir, ": no state.json (not a checkpoint folder)");
  const json state = read_json_file(ckpt.state_json().string());
  if (state.value("method", "") != std::string(name_of(cfg_.method)))
    fail(dir, ": checkpoint of method `", state.value("method", "?"), "`, but this run is `", name_of(cfg_.method), "`");
  auto saved = load_pretrained(ckpt.model().string());
  {
    torch::NoGradGuard no_grad;
    auto dst = student_->named_parameters();
    for (const auto& p : saved->named_parameters()) dst[p.key()].copy_(p.value());
  }
  SafetensorsFile st(ckpt.state_tensors().string());
  auto lookup = [&](const std::string& name) { return st.load(name).to(device_); };
  opt_->load_state("optim.", state.at("optimizer_steps").get<int64_t>(), lookup);
  if (sar_) sar_->load_state(state.at("router_optimizer_steps").get<int64_t>(), lookup);
  at::Generator cpu_rng = at::detail::getDefaultCPUGenerator();  // a handle to the global generator
  cpu_rng.set_state(st.load("rng.cpu"));
  // A checkpoint written on the CPU resumes on CUDA with a fresh device generator, and vice versa.
  if (device_.is_cuda() && st.contains("rng.cuda")) device_generator(device_).set_state(st.load("rng.cuda"));
  step_ = state.at("step").get<int64_t>();
  sampler_.restore(state.at("epoch").get<int64_t>(), state.at("position").get<int64_t>());
  best_score_ = state["best_score"].is_null() ? -std::numeric_limits<double>::infinity()
                                              : state["best_score"].get<double>();
  best_step_ = state.value("best_step", int64_t{-1});
}

}  // namespace moekd
