#pragma once
// The C library's allocator, set up for tensor workloads. glibc serves blocks above a (dynamic)
// threshold with fresh mmap()s and returns them with munmap(): a training step that allocates and
// frees the same large activations every step then pays page faults and page clearing for each,
// over and over. Measured on KA's batched teacher pass (CPU, M x B sequences at once): 2-5x slower
// than M sequential passes before, on par after.
namespace moekd {

// Call first in main(). Raises the mmap threshold to its maximum (32 MiB on 64-bit glibc) and the
// trim threshold to 256 MiB, so that freed blocks stay in the heap for the next step. A user's own
// MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ or GLIBC_TUNABLES is respected. Returns whether
// anything was changed.
bool configure_allocator();

}  // namespace moekd
