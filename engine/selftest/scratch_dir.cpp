#include "selftest/scratch_dir.h"

#include <stdlib.h>

#include <filesystem>

#include "util/error.h"

namespace moekd::selftest {

ScratchDir::ScratchDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "moekd-selftest-XXXXXX").string();
  if (!mkdtemp(pattern.data())) fail("selftest: cannot create a temporary folder under ", std::filesystem::temp_directory_path().string());
  root_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(root_, ignored);
}

}  // namespace moekd::selftest
