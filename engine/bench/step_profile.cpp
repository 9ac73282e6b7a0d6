#include "bench/step_profile.h"

#include <algorithm>
#include <map>

#include "backend/system_info.h"
#include "backend/torch_compat.h"
#include "util/error.h"

#if MOEKD_TORCH_AT_LEAST(2, 1)
#include <torch/csrc/autograd/profiler_kineto.h>
#endif

namespace moekd {

bool profile_available() { return MOEKD_TORCH_AT_LEAST(2, 1); }

StepProfile profile_steps(const std::function<void()>& step, int64_t steps, const torch::Device& device, size_t top) {
  StepProfile out;
  out.steps = steps;
#if MOEKD_TORCH_AT_LEAST(2, 1)
  namespace prof = torch::profiler::impl;
  const prof::ProfilerConfig config(prof::ProfilerState::KINETO);
  std::set<prof::ActivityType> activities{prof::ActivityType::CPU};
  if (device.is_cuda()) activities.insert(prof::ActivityType::CUDA);
  synchronize(device);
  torch::autograd::profiler::prepareProfiler(config, activities);
  torch::autograd::profiler::enableProfiler(config, activities);
  for (int64_t i = 0; i < steps; ++i) step();
  synchronize(device);
  const auto result = torch::autograd::profiler::disableProfiler();
  // On a GPU the kernels are the time (they do not nest); on the CPU operators nest, so only the
  // outermost aten:: calls are summed into the total and every operator is listed inclusively.
  const auto kind = device.is_cuda() ? c10::DeviceType::CUDA : c10::DeviceType::CPU;
  std::map<std::string, ProfileRow> by_name;
  for (const auto& e : result->events()) {
    if (e.deviceType() != kind) continue;
    const std::string name = e.name();
    if (!device.is_cuda() && name.rfind("aten::", 0) != 0) continue;
    auto& row = by_name[name];
    row.name = name;
    row.ms += static_cast<double>(e.durationNs()) * 1e-6;
    ++row.calls;
    if (device.is_cuda()) out.total_ms += static_cast<double>(e.durationNs()) * 1e-6;
  }
  if (!device.is_cuda()) {  // outermost operators: those no other operator's interval contains
    std::vector<std::pair<int64_t, int64_t>> spans;
    for (const auto& e : result->events())
      if (e.deviceType() == kind && e.name().rfind("aten::", 0) == 0)
        spans.emplace_back(static_cast<int64_t>(e.startNs()), static_cast<int64_t>(e.startNs() + e.durationNs()));
    std::sort(spans.begin(), spans.end());
    int64_t covered_until = -1;
    for (const auto& [start, end] : spans) {
      if (start >= covered_until) out.total_ms += static_cast<double>(end - start) * 1e-6;
      covered_until = std::max(covered_until, end);
    }
  }
  for (auto& [name, row] : by_name) out.rows.push_back(row);
  std::sort(out.rows.begin(), out.rows.end(), [](const auto& a, const auto& b) { return a.ms > b.ms; });
  if (out.rows.size() > top) out.rows.resize(top);
  out.unit = device.is_cuda() ? "CUDA kernels" : "CPU operators (inclusive)";
#else
  (void)step;
  (void)device;
  (void)top;
  fail("--profile needs LibTorch 2.1 or newer; this build has ", compat::torch_version());
#endif
  return out;
}

nlohmann::json to_json(const StepProfile& p) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : p.rows) rows.push_back({{"name", r.name}, {"ms", r.ms}, {"calls", r.calls}});
  return {{"unit", p.unit}, {"steps", p.steps}, {"total_ms", p.total_ms}, {"top", rows}};
}

}  // namespace moekd
