// A checkpoint's state.json, checked field by field before a resume uses it.
#include "distill/trainer.h"
#include "fuzz_input.h"

int moekd_fuzz_state(const uint8_t* data, size_t size) {
  return moekd::fuzz::refusals_allowed([&] {
    (void)moekd::read_checkpoint_state(moekd::fuzz::as_file(data, size, "state.json"), 1000);
  });
}
