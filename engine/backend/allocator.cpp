#include "backend/allocator.h"

#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace moekd {

bool configure_allocator() {
#if defined(__GLIBC__)
  for (const char* user : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES"})
    if (std::getenv(user)) return false;
  const bool mmap_set = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1;
  const bool trim_set = mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1;
  return mmap_set && trim_set;
#else
  return false;
#endif
}

}  // namespace moekd
