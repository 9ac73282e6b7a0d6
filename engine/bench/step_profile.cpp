#include "bench/step_profile.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "backend/system_info.h"
#include "backend/torch_compat.h"
#include "util/error.h"

#if MOEKD_TORCH_AT_LEAST(2, 1)
#include <torch/csrc/autograd/profiler_kineto.h>
#else
#include <torch/csrc/autograd/profiler_legacy.h>
#endif

namespace moekd {

namespace {

struct Span {
  std::string name;
  int64_t start, end;  // ns
  int64_t children = 0;
};

#if MOEKD_TORCH_AT_LEAST(2, 1)
// Kineto: CPU operators and, on a GPU, the kernels with their device times.
std::vector<Span> record(const std::function<void()>& run, const torch::Device& device) {
  namespace prof = torch::profiler::impl;
  const prof::ProfilerConfig config(prof::ProfilerState::KINETO);
  std::set<prof::ActivityType> activities{prof::ActivityType::CPU};
  if (device.is_cuda()) activities.insert(prof::ActivityType::CUDA);
  torch::autograd::profiler::prepareProfiler(config, activities);
  torch::autograd::profiler::enableProfiler(config, activities);
  run();
  const auto result = torch::autograd::profiler::disableProfiler();
  const auto kind = device.is_cuda() ? c10::DeviceType::CUDA : c10::DeviceType::CPU;
  std::vector<Span> spans;
  for (const auto& e : result->events()) {
    if (e.deviceType() != kind) continue;
    const auto start = static_cast<int64_t>(e.startNs());
    spans.push_back({e.name(), start, start + static_cast<int64_t>(e.durationNs())});
  }
  return spans;
}
#else
// LibTorch 1.13 (Debian): the legacy profiler's Chrome trace of CPU operators, read back.
std::vector<Span> record(const std::function<void()>& run, const torch::Device& device) {
  if (device.is_cuda()) fail("--profile on CUDA needs LibTorch 2.1 or newer; this build has ", compat::torch_version());
  std::ostringstream trace;
  {
    torch::autograd::profiler::RecordProfile guard(trace);
    run();
  }
  std::vector<Span> spans;
  for (const auto& e : nlohmann::json::parse(trace.str())) {
    if (e.value("ph", "") != "X") continue;
    const auto start = static_cast<int64_t>(e.at("ts").get<double>() * 1e3);
    spans.push_back({e.at("name").get<std::string>(), start, start + static_cast<int64_t>(e.at("dur").get<double>() * 1e3)});
  }
  return spans;
}
#endif

}  // namespace

StepProfile profile_steps(const std::function<void()>& step, int64_t steps, const torch::Device& device, size_t top) {
  StepProfile out;
  out.steps = steps;
  synchronize(device);
  auto spans = record(
      [&] {
        for (int64_t i = 0; i < steps; ++i) step();
        synchronize(device);
      },
      device);
  // On a GPU the kernels are the time (they do not nest). On the CPU operators nest (linear calls
  // matmul calls mm): each operator is charged its self time, its duration minus its direct
  // children's, so that the rows add up to the step.
  if (!device.is_cuda()) {
    spans.erase(std::remove_if(spans.begin(), spans.end(), [](const Span& sp) { return sp.name.rfind("aten::", 0) != 0; }),
                spans.end());
    std::sort(spans.begin(), spans.end(),
              [](const Span& a, const Span& b) { return a.start != b.start ? a.start < b.start : a.end > b.end; });
    std::vector<size_t> open;  // the operators enclosing the current one, innermost last
    for (size_t i = 0; i < spans.size(); ++i) {
      while (!open.empty() && spans[open.back()].end <= spans[i].start) open.pop_back();
      if (!open.empty()) spans[open.back()].children += spans[i].end - spans[i].start;
      open.push_back(i);
    }
  }
  std::map<std::string, ProfileRow> by_name;
  for (const auto& sp : spans) {
    const double ms = static_cast<double>(sp.end - sp.start - sp.children) * 1e-6;
    auto& row = by_name[sp.name];
    row.name = sp.name;
    row.ms += ms;
    ++row.calls;
    out.total_ms += ms;
  }
  for (auto& [name, row] : by_name) out.rows.push_back(row);
  std::sort(out.rows.begin(), out.rows.end(), [](const auto& a, const auto& b) { return a.ms > b.ms; });
  if (out.rows.size() > top) out.rows.resize(top);
  out.unit = device.is_cuda() ? "CUDA kernels" : "CPU operators (self time)";
  return out;
}

nlohmann::json to_json(const StepProfile& p) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : p.rows) rows.push_back({{"name", r.name}, {"ms", r.ms}, {"calls", r.calls}});
  return {{"unit", p.unit}, {"steps", p.steps}, {"total_ms", p.total_ms}, {"top", rows}};
}

}  // namespace moekd
