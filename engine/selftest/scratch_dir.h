#pragma once
// A temporary folder for the self-checks' model files, removed with everything in it at scope exit.
#include <string>

namespace moekd::selftest {

class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string path(const std::string& name) const { return root_ + "/" + name; }

 private:
  std::string root_;
};

}  // namespace moekd::selftest
