// SPDX-License-Identifier: MIT
// A Hugging Face tokenizer.json read, then used: text of many kinds encoded with and without
// special tokens and decoded back, and every id decoded on its own.
#include <algorithm>

#include "fuzz_input.h"

#ifdef MOEKD_WITH_TOKENIZER_JSON
#include "data/hf_tokenizer.h"
#endif

int moekd_fuzz_tokenizer_json(const uint8_t* data, size_t size) {
#ifdef MOEKD_WITH_TOKENIZER_JSON
  return moekd::fuzz::refusals_allowed([&] {
    const auto tok = moekd::HfTokenizer::load(moekd::fuzz::as_file(data, size, "tokenizer_json/tokenizer.json"));
    for (const char* text : {"", " ", "Hello  world!\r\n", "<s><|im_start|>x</s>", "naïve café 2026 \xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD",
                             "\t\t  \xE3\x80\x80 x", "a<tool>b cat cat."}) {
      const auto ids = tok->encode_with(text, true, false);
      (void)tok->decode_with(ids, false);
      (void)tok->decode(tok->encode(text));
    }
    const int64_t n = std::min<int64_t>(tok->vocab_size(), 4096);
    for (int64_t id = 0; id < n; ++id) (void)tok->decode({id});
  });
#else
  (void)data, (void)size;
  return 0;
#endif
}
