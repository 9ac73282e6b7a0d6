#include "session/plan.h"

#include <algorithm>
#include <filesystem>

#include "io/hf_config.h"
#include "model/memory_model.h"
#include "util/error.h"

namespace moekd {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kFloat32 = 4;
// LibTorch's own resident memory on the CPU (libraries, allocator pools, the BLAS threads'
// buffers), measured at startup with a tiny model.
constexpr int64_t kCpuRuntime = 260ll << 20;

int64_t activations_at(const RunConfig& cfg, const ModelConfig* teacher, const ModelConfig& student, int64_t batch,
                       int64_t s, bool cuda) {
  ForwardShape x = forward_shape(batch, cfg.data.max_len, s, cuda);
  const bool ckpt = cfg.train.checkpoint_activations;
  const bool ka = cfg.method == Method::KA && cfg.ka.lambda > 0 && cfg.ka.m > 1;
  int64_t student_side = training_activation_bytes(student, x, ckpt, 0);
  if (!teacher) return student_side + loss_row_bytes(student.vocab_size, x, 0);
  // The teacher's targets: one forward, or KA's M passes in chunks of max_teacher_batch sequences.
  ForwardShape t = x;
  int64_t passes = 1;
  if (ka) {
    passes = cfg.ka.m;
    int64_t per_call = ka_batched(cfg.ka, cuda ? "cuda" : "cpu") ? cfg.ka.m * batch : batch;
    if (cfg.ka.max_teacher_batch > 0) per_call = std::min(per_call, std::max(batch, cfg.ka.max_teacher_batch / batch * batch));
    t.batch = per_call;
  }
  int64_t teacher_side = frozen_forward_bytes(*teacher, t);
  const int64_t distributions = ka ? (cfg.divergence.kind == DivergenceKind::ForwardKL ? 2 * passes : passes) : 1;
  // SAR's router update: the teacher's forward with gradients under all experts (or top-p),
  // before the targets; its activations are gone by the time the targets are computed.
  if (cfg.method == Method::SAR) {
    const int64_t experts = cfg.sar.policy == PolicyKind::All ? teacher->moe.num_experts : teacher->moe.top_k;
    teacher_side = std::max(teacher_side, training_activation_bytes(*teacher, x, ckpt, experts) +
                                              x.tokens() * teacher->vocab_size * (x.bytes + 2 * kFloat32));
  }
  return student_side + teacher_side + loss_row_bytes(student.vocab_size, x, distributions);
}

int64_t bytes_per(Precision p) { return p == Precision::Float32 ? 4 : 2; }

}  // namespace

ModelConfig source_config(const ModelSource& source, const std::string& role) {
  if (!source.path.empty()) {
    const auto path = fs::path(source.path) / "config.json";
    if (!fs::exists(path)) fail(role, ".path = ", source.path, ": no config.json there");
    return load_hf_config(path.string());
  }
  if (source.init.is_null()) fail("`", role, ".path` or `", role, ".init` is needed to plan the memory");
  return config_from_hf(source.init, role + ".init");
}

MemoryPlan plan_memory(const RunConfig& cfg, const std::string& device, int64_t memory_bytes) {
  if (device != "cpu" && device.rfind("cuda", 0) != 0)
    fail("plan: device `", device, "` is not understood; expected cpu or cuda");
  MemoryPlan p;
  const bool cuda = device != "cpu";
  p.device = cuda ? "cuda" : "cpu";
  p.memory = memory_bytes;
  p.precision = cfg.train.precision != Precision::Auto ? cfg.train.precision
                                                        : (cuda ? Precision::BFloat16 : Precision::Float32);
  const int64_t s = bytes_per(p.precision);
  const ModelConfig student = source_config(cfg.student, "student");
  student.validate();
  const auto sc = student.parameter_count();
  p.student_params = sc.total;
  // float32 master weights; under autocast also each weight's lower-precision copy, which the
  // matmuls keep for backward.
  p.student_weights = sc.total * kFloat32 + (s < kFloat32 ? sc.total * s : 0);
  p.gradients = sc.total * kFloat32;
  p.optimizer = 2 * sc.total * kFloat32;  // AdamW's two moments
  ModelConfig teacher;
  const bool has_teacher = cfg.needs_teacher();
  if (has_teacher) {
    teacher = source_config(cfg.teacher, "teacher");
    teacher.validate();
    const auto tc = teacher.parameter_count();
    p.teacher_params = tc.total;
    p.teacher_weights = tc.total * s;
    if (cfg.method == Method::SAR) {  // float32 routers with their gradients and moments
      p.teacher_weights += tc.routers * (kFloat32 - s);
      p.gradients += tc.routers * kFloat32;
      p.optimizer += 2 * tc.routers * kFloat32;
    }
  }
  const ModelConfig* t = has_teacher ? &teacher : nullptr;
  p.activations = activations_at(cfg, t, student, cfg.train.batch_size, s, cuda);
  p.runtime = cuda ? 0 : kCpuRuntime;
  const int64_t fixed = p.teacher_weights + p.student_weights + p.gradients + p.optimizer + p.runtime;
  p.total = fixed + p.activations;
  if (memory_bytes > 0) {
    int64_t lo = 0, hi = 1 << 16;  // the largest batch with fixed + activations <= memory
    while (lo < hi) {
      const int64_t mid = (lo + hi + 1) / 2;
      if (fixed + activations_at(cfg, t, student, mid, s, cuda) <= memory_bytes) lo = mid;
      else hi = mid - 1;
    }
    p.max_batch_size = lo;
  }
  return p;
}

nlohmann::json to_json(const MemoryPlan& p) {
  return {{"device", p.device},
          {"precision", name_of(p.precision)},
          {"teacher_params", p.teacher_params},
          {"student_params", p.student_params},
          {"teacher_weights_bytes", p.teacher_weights},
          {"student_weights_bytes", p.student_weights},
          {"gradients_bytes", p.gradients},
          {"optimizer_bytes", p.optimizer},
          {"activations_bytes", p.activations},
          {"runtime_bytes", p.runtime},
          {"total_bytes", p.total},
          {"memory_bytes", p.memory},
          {"max_batch_size", p.max_batch_size}};
}

}  // namespace moekd
