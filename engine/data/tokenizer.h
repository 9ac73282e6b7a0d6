#pragma once
// Text <-> token ids. Three kinds: a fixed character vocabulary for the built-in tasks (no files
// needed, tiny embedding tables), SentencePiece models (the tokenizer.model of Llama, Mixtral and
// LLaMA-MoE checkpoints) and Hugging Face tokenizer.json files (Qwen2, OLMoE, Llama 3, and most
// folders beside their tokenizer.model; data/hf_tokenizer.h). Plain C++17: no LibTorch, no Qt.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace moekd {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Text to ids. Never adds BOS/EOS: tokenize_example() places them.
  virtual std::vector<int64_t> encode(const std::string& text) const = 0;
  // Ids to text. Control tokens (pad, bos, eos) and ids outside [0, vocab_size) have no text and
  // are skipped; <unk> is shown ("?" for builtin, SentencePiece's own " ⁇ ") so that lost text
  // stays visible instead of silently vanishing.
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
  virtual int64_t vocab_size() const = 0;
  // -1 when the vocabulary has no such token (possible for SentencePiece models).
  virtual int64_t bos_id() const = 0;
  virtual int64_t eos_id() const = 0;
  // Never -1 when the model has an eos: Llama models define no pad, and eos is the customary pad.
  virtual int64_t pad_id() const = 0;
  virtual std::string kind() const = 0;      // "builtin", "sentencepiece" or "tokenizer.json"
  virtual std::string describe() const = 0;  // one line for logs and the UI

  // As a model sees text on its own (Hugging Face's encode(text, add_special_tokens=True)): the
  // tokenizer's template, BOS here, around the ids. moekd tokenize shows this.
  virtual std::vector<int64_t> encode_with_special_tokens(const std::string& text) const {
    std::vector<int64_t> ids = encode(text);
    if (bos_id() >= 0) ids.insert(ids.begin(), bos_id());
    return ids;
  }
  // The vocabulary's own text of one token, for tables ("Ġthe", "▁the"); by default its decoding.
  virtual std::string token_text(int64_t id) const { return decode({id}); }
};

// Character tokenizer for the built-in tasks: <pad>=0, <bos>=1, <eos>=2, <unk>=3, then the 95
// printable ASCII characters 32..126 as ids 4..98; vocab_size 99. Every other byte (newline, tab,
// UTF-8 sequences) encodes to <unk>, one <unk> per byte.
std::unique_ptr<Tokenizer> make_builtin_tokenizer();

// A SentencePiece model file. Missing, empty or corrupt file -> Error naming the path.
std::unique_ptr<Tokenizer> load_sentencepiece(const std::string& model_path);

// "builtin" -> the character tokenizer; a folder -> its tokenizer.json, else its tokenizer.model;
// a .json file -> tokenizer.json; any other path -> a SentencePiece model file. Anything else ->
// Error naming the spec and what was expected.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& spec);

// Distillation compares the two models' distributions token by token, so teacher and student must
// share one vocabulary. Throws naming both sizes when they differ (or are not positive).
void check_same_vocabulary(int64_t teacher_vocab, int64_t student_vocab);

}  // namespace moekd
