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

// A piece of text to encode: a template's markup (special tokens such as "<|im_start|>" are
// matched in it) or user text (never: what a user typed stays text).
struct TextPart {
  std::string text;
  bool markup = false;
};

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
  // Parts of one text, encoded as the whole would be. Only tokenizer.json files match markup to
  // special tokens; the others (SentencePiece, builtin) never turn text into control tokens, so
  // by default this is encode() of the joined text.
  virtual std::vector<int64_t> encode_parts(const std::vector<TextPart>& parts) const {
    std::string all;
    for (const auto& p : parts) all += p.text;
    return encode(all);
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
// read text with one vocabulary. One side of the pair: its embedding rows (config vocab_size, which
// checkpoints often pad past the tokenizer: Qwen2's 151,936 rows for 151,646 tokens) and the
// tokenizer of its folder, when the folder has one.
struct VocabularySide {
  std::string role;                      // "teacher" or "student"
  int64_t rows = 0;
  const Tokenizer* tokenizer = nullptr;  // the model folder's own; null: none there
};

// Checks the pair against the run's tokenizer (data.tokenizer, which encodes the text both read)
// and returns the rows the divergence runs over: min(teacher rows, student rows), which holds every
// token. Refused, with a message naming the side and the numbers:
//   - rows that are not positive, or fewer than the run's tokenizer has tokens;
//   - a folder tokenizer whose vocabulary differs from the run's in size or content, naming the
//     first id that differs and its text on both sides.
int64_t check_vocabularies(const VocabularySide& teacher, const VocabularySide& student, const Tokenizer& run);

// "" when `a` and `b` have the same tokens (size, and each id's text), else the first difference,
// worded with the names given ("id 17 is \"Ġthe\" in the teacher's tokenizer, \"the\" in the run's").
std::string vocabulary_difference(const Tokenizer& a, const std::string& a_name, const Tokenizer& b,
                                  const std::string& b_name);

}  // namespace moekd
