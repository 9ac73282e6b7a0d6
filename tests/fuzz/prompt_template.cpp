// SPDX-License-Identifier: MIT
// A data.template string read, then used: examples with and without a context rendered and
// tokenized at several lengths. Whatever the template, the targets must be exactly the tokens
// from response_start on, and nothing may outgrow max_len.
#include <cstdlib>
#include <string>

#include "data/dataset.h"
#include "data/prompt_template.h"
#include "fuzz_input.h"

int moekd_fuzz_prompt_template(const uint8_t* data, size_t size) {
  return moekd::fuzz::refusals_allowed([&] {
    const std::string spec(reinterpret_cast<const char*>(data), size);
    const moekd::PromptTemplate t = moekd::parse_prompt_template(spec);
    const auto tok = moekd::make_builtin_tokenizer();
    moekd::check_template_tokens(t, *tok);
    const moekd::Example examples[] = {{"Name a colour.", "Red.", "x", ""},
                                       {"Summarise.", "Short.", "y", "A long passage with {braces} and <|im_end|>."}};
    for (const auto& ex : examples) {
      (void)moekd::prompt_text(t, ex);
      for (const int64_t max_len : {2, 7, 64, 4096}) {
        const auto te = moekd::tokenize_example(*tok, t, ex, max_len, 0);
        if (static_cast<int64_t>(te.ids.size()) > max_len || te.loss_mask.size() != te.ids.size()) std::abort();
        if (te.response_start < 0 || te.response_start > static_cast<int64_t>(te.ids.size())) std::abort();
        for (size_t i = 0; i < te.ids.size(); ++i)
          if (te.loss_mask[i] != (static_cast<int64_t>(i) >= te.response_start && i > 0)) std::abort();
      }
    }
  });
}
