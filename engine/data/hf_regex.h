// SPDX-License-Identifier: MIT
#pragma once
// The patterns of tokenizer.json (Split, Replace): a regular expression run by PCRE2 with the
// meaning the `tokenizers` library gives it through Oniguruma, or a literal string.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace moekd {

class HfPattern {
 public:
  // `where` names the field for messages ("pre_tokenizer.pretokenizers[0].pattern").
  static HfPattern regex(const std::string& pattern, const std::string& where);
  static HfPattern literal(const std::string& text, const std::string& where);

  // Every non-overlapping match, left to right, as [begin, end) byte offsets.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;
  // Every match replaced by `content` (the Replace normalizer and decoder).
  std::string replace_all(std::string_view text, const std::string& content) const;

 private:
  struct Compiled;
  std::shared_ptr<const Compiled> regex_;
  std::string literal_;
};

// Oniguruma's \s is narrower than PCRE2's (no U+180E): rewrites \s and \S into explicit classes.
// Throws Error naming `where` for a \S inside a character class.
std::string onig_compatible(const std::string& pattern, const std::string& where);

}  // namespace moekd
