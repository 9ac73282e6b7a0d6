#include "distill/finite_guard.h"

#include <algorithm>
#include <sstream>

#include "util/error.h"

namespace moekd {

FiniteGuard::FiniteGuard(const torch::Device& device) {
  const auto on = [&](torch::ScalarType t) { return torch::dtype(t).device(device); };
  ok_ = torch::ones({}, on(torch::kBool));
  first_step_ = torch::full({}, -1, on(torch::kLong));
  first_name_ = torch::full({}, -1, on(torch::kLong));
  first_value_ = torch::zeros({}, on(torch::kDouble));
}

void FiniteGuard::observe(int64_t step, const std::vector<const char*>& names, const std::vector<torch::Tensor>& values) {
  torch::NoGradGuard no_grad;
  // Each caller passes the same list of names every time: it is registered once, contiguously, so
  // that a name's index is the list's offset plus a position computed on the device.
  auto it = std::find(names_.begin(), names_.end(), names.front());
  if (it == names_.end()) it = names_.insert(names_.end(), names.begin(), names.end());
  const int64_t offset = it - names_.begin();
  std::vector<torch::Tensor> scalars;
  for (const auto& v : values) scalars.push_back(v.detach().reshape({}).to(torch::kDouble));
  const auto v = torch::stack(scalars);
  const auto finite = torch::isfinite(v);
  const auto first_bad = finite.logical_not().to(torch::kLong).argmax();  // 0 when all are finite
  const auto newly_bad = ok_.logical_and(finite.all().logical_not());
  first_step_ = torch::where(newly_bad, torch::full_like(first_step_, step), first_step_);
  first_name_ = torch::where(newly_bad, first_bad + offset, first_name_);
  first_value_ = torch::where(newly_bad, v.gather(0, first_bad.reshape({1})).reshape({}), first_value_);
  ok_ = ok_.logical_and(finite.all());
}

torch::Tensor FiniteGuard::packed() const {
  return torch::stack({ok_.to(torch::kDouble), first_step_.to(torch::kDouble), first_name_.to(torch::kDouble),
                       first_value_});
}

void FiniteGuard::raise_if_bad(const double* p) const {
  if (p[0] != 0) return;
  const auto id = static_cast<size_t>(p[2]);
  const std::string name = id < names_.size() ? names_[id] : "loss";
  std::ostringstream value;
  value << p[3];
  fail("step ", static_cast<int64_t>(p[1]), ": the ", name, " is not finite (", value.str(),
       "); the last good weights are kept");
}

void FiniteGuard::check() const {
  const auto host = packed().to(torch::kCPU).contiguous();
  raise_if_bad(host.data_ptr<double>());
}

}  // namespace moekd
