// SPDX-License-Identifier: MIT
#pragma once
// The decoders of tokenizer.json: token strings back to text, step by step as the `tokenizers`
// library chains them (ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence).
#include <functional>
#include <string>
#include <vector>

#include "data/hf_json.h"

namespace moekd::hf {

// One step of the chain: tokens in, tokens out. Empty for a null spec.
using Decoder = std::function<std::vector<std::string>(std::vector<std::string>)>;
Decoder make_decoder(const json& spec, const Where& where);

// The whole decode: the chain, then the pieces joined; without a decoder, tokens joined by spaces.
std::string run_decoder(const Decoder& decoder, std::vector<std::string> tokens);

}  // namespace moekd::hf
