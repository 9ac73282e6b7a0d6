// A plain text data file, cut into chunks at whitespace (never inside a UTF-8 sequence).
#include "data/dataset.h"
#include "fuzz_input.h"

int moekd_fuzz_text(const uint8_t* data, size_t size) {
  return moekd::fuzz::refusals_allowed([&] {
    (void)moekd::load_text(moekd::fuzz::as_file(data, size, "data.txt"), 24, 0.2, 7);
  });
}
