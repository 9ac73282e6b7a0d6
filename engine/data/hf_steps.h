// SPDX-License-Identifier: MIT
#pragma once
// The text side of a tokenizer.json pipeline: normalizers and pre-tokenizers, with the meaning the
// `tokenizers` library gives each. A pre-tokenizer cuts the text into pieces; the model then
// tokenizes each piece on its own.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/hf_json.h"
#include "data/hf_regex.h"

namespace moekd::hf {

struct Piece {
  std::string text;
  bool at_origin = false;  // starts where the input starts (Metaspace's prepend_scheme "first")
  int64_t added_id = -1;   // an added token found in the text: later steps leave it as it is
};

// Text -> normalized text; empty when the spec is null (no normalizer).
using Normalizer = std::function<std::string(const std::string&)>;
Normalizer make_normalizer(const json& spec, const Where& where);

// Cuts and rewrites the pieces in place, leaving added tokens alone; empty for a null spec.
using PreTokenizer = std::function<void(std::vector<Piece>&)>;
PreTokenizer make_pre_tokenizer(const json& spec, const Where& where);

// A component's "pattern": {"Regex": ...} or {"String": ...}.
HfPattern pattern_field(const json& spec, const Where& where);

// A field holding exactly one character (Metaspace's replacement, Strip's content), as UTF-8.
std::string char_field(const json& spec, const std::string& key, const Where& where);

// Metaspace's prepend_scheme (pre-tokenizer and decoder); files written before it existed say
// add_prefix_space.
enum class Prepend { Always, First, Never };
Prepend prepend_scheme_field(const json& spec, const Where& where);

// GPT-2's reversible map from bytes to printable characters (ByteLevel), and back.
const std::string& byte_to_char(unsigned char byte);
// -1 when `c` is not one of the 256 characters.
int char_to_byte(char32_t c);

}  // namespace moekd::hf
