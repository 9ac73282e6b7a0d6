// SPDX-License-Identifier: MIT
#pragma once
// UTF-8 text as the Hugging Face `tokenizers` library (Rust) sees it: code points, Rust's lossy
// decoding, and the Unicode properties and normalisation forms its components use (ICU).
#include <cstddef>
#include <string>
#include <string_view>

namespace moekd::unicode {

// The code point starting at s[i] and its length in bytes. The text is valid UTF-8 (checked where
// it enters); an invalid byte reads as U+FFFD of length 1.
char32_t code_point_at(std::string_view s, size_t i, size_t* length);
void append_utf8(std::string& out, char32_t c);
size_t utf8_length(char32_t c);

// As Rust's String::from_utf8_lossy: each maximal invalid subsequence becomes one U+FFFD.
std::string lossy_utf8(std::string_view bytes);

// Rust's char::is_numeric (general categories Nd, Nl, No).
bool is_numeric(char32_t c);
// The White_Space property (Rust regex's \s and char::is_whitespace).
bool is_white_space(char32_t c);
// Rust regex's \w: Alphabetic, marks, decimal digits, connector punctuation, Join_Control.
bool is_word_char(char32_t c);

enum class Form { NFC, NFKC, NFD, NFKD };
std::string normalize(std::string_view text, Form form);

}  // namespace moekd::unicode
