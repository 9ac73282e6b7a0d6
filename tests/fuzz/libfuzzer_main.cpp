// The libFuzzer entry of one target: compiled once per target with MOEKD_FUZZ_ENTRY naming its
// function (scripts/fuzz.sh, -DMOEKD_BUILD_FUZZ=ON with clang).
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { return MOEKD_FUZZ_ENTRY(data, size); }
