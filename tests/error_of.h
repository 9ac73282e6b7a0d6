#pragma once
// The message of the moekd::Error that `fn` throws; empty when it throws none. Torch-free, for
// the text suites as well as the LibTorch ones.
#include <QString>
#include <functional>

#include "util/error.h"

namespace moekd::test {

inline QString error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const moekd::Error& e) {
    return QString::fromUtf8(e.what());
  }
  return QString();
}

}  // namespace moekd::test
