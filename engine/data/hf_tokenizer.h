// SPDX-License-Identifier: MIT
#pragma once
// A Hugging Face tokenizer.json (BPE models: Qwen2, Llama 3, GPT-2 byte-level; Llama 2, Mistral
// SentencePiece-style with byte fallback), encoding and decoding exactly as the `tokenizers`
// library does, id for id and byte for byte. Unsupported components are refused by name.
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/tokenizer.h"

namespace moekd {

class HfTokenizer : public Tokenizer {
 public:
  // `path`: a tokenizer.json file; a tokenizer_config.json beside it names bos, eos and pad.
  static std::unique_ptr<HfTokenizer> load(const std::string& path);
  ~HfTokenizer() override;

  // As the library's Tokenizer.encode(text, add_special_tokens): added tokens found in the text,
  // the post-processor's template (BOS, EOS) when add_special_tokens. With split_special_tokens,
  // special-token markup in the text stays text (the library's encode_special_tokens).
  std::vector<int64_t> encode_with(const std::string& text, bool add_special_tokens, bool split_special_tokens) const;
  // As the library's Tokenizer.decode(ids, skip_special_tokens).
  std::string decode_with(const std::vector<int64_t>& ids, bool skip_special_tokens) const;

  // Training text: markup such as "<|im_start|>" in user text is never a control token, and no
  // template is added (tokenize_example places BOS and EOS).
  std::vector<int64_t> encode(const std::string& text) const override { return encode_with(text, false, true); }
  std::string decode(const std::vector<int64_t>& ids) const override { return decode_with(ids, true); }
  int64_t vocab_size() const override;
  int64_t bos_id() const override;
  int64_t eos_id() const override;
  int64_t pad_id() const override;
  std::string kind() const override { return "tokenizer.json"; }
  std::string describe() const override;
  // Markup parts are read as encode_with(.., split_special_tokens = false) reads text, user parts as
  // encode() does; neighbouring text of both kinds is encoded as one string (data/prompt_template.h).
  std::vector<int64_t> encode_parts(const std::vector<TextPart>& parts) const override;
  std::vector<int64_t> encode_with_special_tokens(const std::string& text) const override {
    return encode_with(text, true, false);
  }
  // The token's text as the vocabulary holds it ("" for an id it lacks).
  std::string token_text(int64_t id) const override;
  bool is_special(int64_t id) const;

  struct Impl;

 private:
  explicit HfTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace moekd
