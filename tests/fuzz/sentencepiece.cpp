// A SentencePiece tokenizer.model, loaded and used on a short text.
#include "data/tokenizer.h"
#include "fuzz_input.h"

int moekd_fuzz_sentencepiece(const uint8_t* data, size_t size) {
  return moekd::fuzz::refusals_allowed([&] {
    const auto tok = moekd::load_sentencepiece(moekd::fuzz::as_file(data, size, "tokenizer.model"));
    (void)tok->decode(tok->encode("Hello, wörld: 12 + 3 = 15"));
  });
}
