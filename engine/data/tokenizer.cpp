#include "data/tokenizer.h"

#ifdef MOEKD_WITH_TOKENIZER_JSON
#include "data/hf_tokenizer.h"
#endif

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "data/spm_library.h"
#include "util/error.h"

namespace moekd {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Builtin character tokenizer.

constexpr int64_t kPad = 0, kBos = 1, kEos = 2, kUnk = 3;
constexpr int64_t kFirstChar = 4;  // id of ' ' (ASCII 32)
constexpr int kLowAscii = 32, kHighAscii = 126;
constexpr int64_t kBuiltinVocab = kFirstChar + (kHighAscii - kLowAscii + 1);  // 99

class BuiltinTokenizer final : public Tokenizer {
 public:
  std::vector<int64_t> encode(const std::string& text) const override {
    std::vector<int64_t> ids;
    ids.reserve(text.size());
    for (const char ch : text) {
      const int c = static_cast<unsigned char>(ch);
      ids.push_back(c >= kLowAscii && c <= kHighAscii ? kFirstChar + (c - kLowAscii) : kUnk);
    }
    return ids;
  }

  std::string decode(const std::vector<int64_t>& ids) const override {
    std::string text;
    text.reserve(ids.size());
    for (const int64_t id : ids) {
      if (id == kUnk)
        text.push_back('?');
      else if (id >= kFirstChar && id < kBuiltinVocab)
        text.push_back(static_cast<char>(kLowAscii + (id - kFirstChar)));
      // pad/bos/eos and out-of-range ids carry no text.
    }
    return text;
  }

  int64_t vocab_size() const override { return kBuiltinVocab; }
  int64_t bos_id() const override { return kBos; }
  int64_t eos_id() const override { return kEos; }
  int64_t pad_id() const override { return kPad; }
  std::string kind() const override { return "builtin"; }
  std::string describe() const override {
    return "builtin character tokenizer: 99 ids (<pad>=0 <bos>=1 <eos>=2 <unk>=3, ASCII 32..126 "
           "as 4..98)";
  }
};

// ---------------------------------------------------------------------------------------------
// SentencePiece.

// Larger than any real tokenizer.model (Llama: 0.5 MB) by far, small enough to refuse a wrong
// file (a checkpoint picked by mistake) before reading gigabytes.
constexpr std::uintmax_t kMaxModelBytes = 256ull << 20;

class SentencePieceTokenizer final : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::string& path) : path_(path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) fail("SentencePiece model '", path, "' does not exist");
    if (!fs::is_regular_file(path, ec))
      fail("SentencePiece model '", path, "' is not a file (expected a tokenizer.model file)");
    const auto size = fs::file_size(path, ec);
    if (ec) fail("SentencePiece model '", path, "': cannot read its size: ", ec.message());
    if (size == 0) fail("SentencePiece model '", path, "' is empty (expected a serialized ModelProto)");
    if (size > kMaxModelBytes)
      fail("SentencePiece model '", path, "' has ", size, " bytes; a tokenizer.model has at most ",
           kMaxModelBytes, " (is this the right file?)");

    // Read it ourselves so that every failure names the path, then hand sentencepiece the bytes.
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("SentencePiece model '", path, "' cannot be opened for reading");
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.size() != size) fail("SentencePiece model '", path, "': short read");

    char err[512] = {0};
    sp_ = api_.load(bytes.data(), bytes.size(), err, sizeof err);
    if (!sp_) fail("SentencePiece model '", path, "' is not a valid SentencePiece model: ", err);
    if (api_.piece_size(sp_) <= 0) fail("SentencePiece model '", path, "' has an empty vocabulary");
  }
  ~SentencePieceTokenizer() override {
    if (sp_) api_.free(sp_);
  }
  SentencePieceTokenizer(const SentencePieceTokenizer&) = delete;
  SentencePieceTokenizer& operator=(const SentencePieceTokenizer&) = delete;

  std::vector<int64_t> encode(const std::string& text) const override {
    std::vector<int> ids(text.size() + 16);
    char err[512] = {0};
    int n = api_.encode(sp_, text.data(), text.size(), ids.data(), static_cast<int>(ids.size()), err, sizeof err);
    if (n > static_cast<int>(ids.size())) {  // byte fallback can exceed one id per byte (bos etc.): retry
      ids.resize(n);
      n = api_.encode(sp_, text.data(), text.size(), ids.data(), n, err, sizeof err);
    }
    if (n < 0) fail("SentencePiece model '", path_, "': cannot encode text: ", err);
    return std::vector<int64_t>(ids.begin(), ids.begin() + n);
  }

  std::string decode(const std::vector<int64_t>& ids) const override {
    const int64_t n = vocab_size();
    std::vector<int> kept;
    kept.reserve(ids.size());
    for (const int64_t id : ids)
      if (id >= 0 && id < n && !api_.is_control(sp_, static_cast<int>(id))) kept.push_back(static_cast<int>(id));
    std::string text(kept.size() * 8 + 16, '\0');
    char err[512] = {0};
    int len = api_.decode(sp_, kept.data(), static_cast<int>(kept.size()), text.data(), static_cast<int>(text.size()),
                          err, sizeof err);
    if (len > static_cast<int>(text.size())) {
      text.resize(len);
      len = api_.decode(sp_, kept.data(), static_cast<int>(kept.size()), text.data(), len, err, sizeof err);
    }
    if (len < 0) fail("SentencePiece model '", path_, "': cannot decode ids: ", err);
    text.resize(len);
    return text;
  }

  std::string token_text(int64_t id) const override {
    if (id < 0 || id >= vocab_size()) return "";
    std::string piece(64, '\0');
    int len = api_.id_to_piece(sp_, static_cast<int>(id), piece.data(), static_cast<int>(piece.size()));
    if (len > static_cast<int>(piece.size())) {
      piece.resize(len);
      len = api_.id_to_piece(sp_, static_cast<int>(id), piece.data(), len);
    }
    piece.resize(std::max(len, 0));
    return piece;
  }
  int64_t vocab_size() const override { return api_.piece_size(sp_); }
  int64_t bos_id() const override { return api_.bos_id(sp_); }
  int64_t eos_id() const override { return api_.eos_id(sp_); }
  int64_t pad_id() const override { return api_.pad_id(sp_) >= 0 ? api_.pad_id(sp_) : api_.eos_id(sp_); }
  std::string kind() const override { return "sentencepiece"; }
  std::string describe() const override {
    std::ostringstream out;
    out << "sentencepiece " << path_ << ": " << vocab_size() << " ids, bos=" << bos_id()
        << " eos=" << eos_id() << " pad=" << pad_id() << (api_.pad_id(sp_) < 0 ? " (eos)" : "")
        << " unk=" << api_.unk_id(sp_);
    return out.str();
  }

 private:
  std::string path_;
  const SpmApi& api_ = spm_api();
  moekd_spm* sp_ = nullptr;
};

}  // namespace

std::unique_ptr<Tokenizer> make_builtin_tokenizer() { return std::make_unique<BuiltinTokenizer>(); }

std::unique_ptr<Tokenizer> load_sentencepiece(const std::string& model_path) {
  return std::make_unique<SentencePieceTokenizer>(model_path);
}

namespace {

std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& path) {
#ifdef MOEKD_WITH_TOKENIZER_JSON
  return HfTokenizer::load(path);
#else
  fail("tokenizer: ", path, " is a tokenizer.json, and this build of moekd has no tokenizer.json support "
       "(configured with MOEKD_WITH_TOKENIZER_JSON=OFF)");
#endif
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& spec) {
  if (spec == "builtin") return make_builtin_tokenizer();
  const char* expected =
      "expected \"builtin\", a model folder with tokenizer.json or tokenizer.model, a tokenizer.json file, or a "
      ".model file";
  if (spec.empty()) fail("tokenizer: empty spec (", expected, ")");
  std::error_code ec;
  if (fs::is_directory(spec, ec)) {
    // A folder with both (Mixtral, Llama 2): tokenizer.json, as transformers' fast tokenizers take it.
    const fs::path json = fs::path(spec) / "tokenizer.json", model = fs::path(spec) / "tokenizer.model";
    if (fs::exists(json, ec)) return load_tokenizer_json(json.string());
    if (fs::exists(model, ec)) return load_sentencepiece(model.string());
    fail("tokenizer: folder '", spec, "' has neither tokenizer.json nor tokenizer.model (", expected, ")");
  }
  if (!fs::exists(spec, ec)) fail("tokenizer: '", spec, "' does not exist (", expected, ")");
  if (fs::path(spec).extension() == ".json") return load_tokenizer_json(spec);
  return load_sentencepiece(spec);
}

namespace {

// A token's text for a message: quoted, with control characters and invalid bytes escaped.
std::string quoted_token(const std::string& text) {
  std::string out = "\"";
  for (const unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

std::string vocabulary_difference(const Tokenizer& a, const std::string& a_name, const Tokenizer& b,
                                  const std::string& b_name) {
  const int64_t na = a.vocab_size(), nb = b.vocab_size();
  const int64_t shared = std::min(na, nb);
  for (int64_t id = 0; id < shared; ++id) {
    const std::string ta = a.token_text(id), tb = b.token_text(id);
    if (ta != tb)
      return "id " + std::to_string(id) + " is " + quoted_token(ta) + " in " + a_name + " but " + quoted_token(tb) +
             " in " + b_name;
  }
  if (na == nb) return "";
  const Tokenizer& longer = na > nb ? a : b;
  return a_name + " has " + std::to_string(na) + " tokens and " + b_name + " " + std::to_string(nb) +
         "; the first " + std::to_string(shared) + " agree, and id " + std::to_string(shared) + " (" +
         quoted_token(longer.token_text(shared)) + ") is only in " + (na > nb ? a_name : b_name);
}

int64_t check_vocabularies(const VocabularySide& teacher, const VocabularySide& student, const Tokenizer& run) {
  for (const auto* side : {&teacher, &student}) {
    if (side->rows <= 0) fail("the ", side->role, "'s vocab_size must be positive, got ", side->rows);
    if (run.vocab_size() > side->rows)
      fail("the tokenizer (", run.describe(), ") has ", run.vocab_size(), " tokens but the ", side->role,
           "'s embedding holds only ", side->rows, " rows; distillation compares the two distributions token by "
           "token, so both models must use the run's tokenizer");
  }
  for (const auto* side : {&teacher, &student}) {
    if (!side->tokenizer) continue;
    const std::string why = vocabulary_difference(*side->tokenizer, "the " + side->role + "'s tokenizer", run,
                                                  "the run's (data.tokenizer)");
    if (!why.empty())
      fail("the ", side->role, "'s tokenizer (", side->tokenizer->describe(), ") is not the run's: ", why,
           "; distillation compares the two distributions token by token, so teacher, student and data must "
           "share one vocabulary");
  }
  return std::min(teacher.rows, student.rows);
}

}  // namespace moekd
