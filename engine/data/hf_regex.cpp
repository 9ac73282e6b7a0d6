// SPDX-License-Identifier: MIT
#define PCRE2_CODE_UNIT_WIDTH 8
#include "data/hf_regex.h"

#include <pcre2.h>

#include "util/error.h"

namespace moekd {

namespace {

// Oniguruma's Unicode \s: U+0009-000D, U+0085 and the separators Zs, Zl, Zp.
constexpr const char* kSpaceClassBody =
    "\\x{9}-\\x{d}\\x{20}\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}";

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

}  // namespace

std::string onig_compatible(const std::string& pattern, const std::string& where) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[i + 1];
      if (next == 's') {
        out += in_class ? std::string(kSpaceClassBody) : "[" + std::string(kSpaceClassBody) + "]";
      } else if (next == 'S') {
        if (in_class) fail(where, ": \\S inside a character class is not supported");
        out += "[^" + std::string(kSpaceClassBody) + "]";
      } else {
        out += c;
        out += next;
      }
      ++i;
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      // A ']' first in the class (after an optional '^') is a literal.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (in_class && c == '[' && i + 1 < pattern.size() && pattern[i + 1] == ':') {
      const auto end = pattern.find(":]", i + 2);  // a POSIX class such as [:alpha:]
      if (end != std::string::npos) {
        out.append(pattern, i, end + 2 - i);
        i = end + 1;
        continue;
      }
    }
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  return out;
}

struct HfPattern::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() { pcre2_code_free(code); }
};

HfPattern HfPattern::regex(const std::string& pattern, const std::string& where) {
  const std::string translated = onig_compatible(pattern, where);
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                                   PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (!code) fail(where, ": the regular expression `", pattern, "` does not compile: ", pcre2_message(error));
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // without a JIT it still matches, only slower
  auto compiled = std::make_shared<Compiled>();
  compiled->code = code;
  HfPattern p;
  p.regex_ = std::move(compiled);
  return p;
}

HfPattern HfPattern::literal(const std::string& text, const std::string& where) {
  if (text.empty()) fail(where, ": an empty string matches nowhere (expected a non-empty pattern)");
  HfPattern p;
  p.literal_ = text;
  return p;
}

std::vector<std::pair<size_t, size_t>> HfPattern::find_all(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> out;
  if (!regex_) {
    for (size_t at = text.find(literal_); at != std::string_view::npos; at = text.find(literal_, at + literal_.size()))
      out.emplace_back(at, at + literal_.size());
    return out;
  }
  pcre2_match_data* data = pcre2_match_data_create_from_pattern(regex_->code, nullptr);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t start = 0;
  uint32_t options = 0;  // the text was checked as UTF-8 once, where it entered
  while (start <= text.size()) {
    const int rc = pcre2_match(regex_->code, subject, text.size(), start, options | PCRE2_NO_UTF_CHECK, data, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      pcre2_match_data_free(data);
      fail("regular expression match failed: ", pcre2_message(rc));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data);
    const size_t b = ov[0], e = ov[1];
    out.emplace_back(b, e);
    if (e > b) {
      start = e;
    } else {  // an empty match: step over one code point, as Oniguruma's iterator does
      if (e >= text.size()) break;
      size_t step = 1;
      while (e + step < text.size() && (static_cast<unsigned char>(text[e + step]) & 0xC0) == 0x80) ++step;
      start = e + step;
    }
  }
  pcre2_match_data_free(data);
  return out;
}

std::string HfPattern::replace_all(std::string_view text, const std::string& content) const {
  std::string out;
  size_t prev = 0;
  for (const auto& [b, e] : find_all(text)) {
    out.append(text.substr(prev, b - prev));
    out += content;
    prev = e;
  }
  out.append(text.substr(prev));
  return out;
}

}  // namespace moekd
