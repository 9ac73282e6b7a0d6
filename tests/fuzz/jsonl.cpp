// A Dolly-format JSONL data file (rows skipped and counted, or the whole file refused).
#include "data/dataset.h"
#include "fuzz_input.h"

int moekd_fuzz_jsonl(const uint8_t* data, size_t size) {
  return moekd::fuzz::refusals_allowed([&] {
    (void)moekd::load_dolly_jsonl(moekd::fuzz::as_file(data, size, "data.jsonl"), 0.2, 0.1, 7);
  });
}
