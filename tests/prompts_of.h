#pragma once
// The prompts of a split, in order: what the dataset suites compare to check a split's content.
#include <string>
#include <vector>

#include "data/tasks.h"

namespace moekd::test {

inline std::vector<std::string> prompts_of(const std::vector<Example>& split) {
  std::vector<std::string> p;
  for (const auto& ex : split) p.push_back(ex.instruction);
  return p;
}

}  // namespace moekd::test
