// SPDX-License-Identifier: MIT
#include "data/hf_tokenizer.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <optional>
#include <unordered_set>

#include "data/hf_bpe.h"
#include "data/hf_decoders.h"
#include "data/hf_json.h"
#include "data/hf_steps.h"
#include "data/unicode_text.h"
#include "util/input_file.h"
#include "util/json_file.h"

namespace moekd {

namespace fs = std::filesystem;
using hf::json;
using hf::Where;

namespace {

struct AddedToken {
  int64_t id = -1;
  std::string content, match;  // match: the content, normalized when `normalized`
  bool single_word = false, lstrip = false, rstrip = false, normalized = false, special = false;
};

// The library's added-vocabulary search: non-overlapping leftmost-longest matches, then the
// single_word, lstrip and rstrip rules; a special token is skipped under split_special_tokens.
class AddedMatcher {
 public:
  void add(const AddedToken* token) {
    if (token->match.empty()) return;
    by_first_[static_cast<unsigned char>(token->match[0])].push_back(token);
  }
  void finish() {
    for (auto& list : by_first_)
      std::stable_sort(list.begin(), list.end(),
                       [](const AddedToken* a, const AddedToken* b) { return a->match.size() > b->match.size(); });
  }
  bool empty() const {
    return std::all_of(by_first_.begin(), by_first_.end(), [](const auto& l) { return l.empty(); });
  }

  // Cuts `piece` at the added tokens in it; the new pieces go to `out`.
  void split(const hf::Piece& piece, bool split_special, std::vector<hf::Piece>& out) const {
    const std::string& s = piece.text;
    size_t start_offset = 0;
    for (size_t i = 0; i < s.size();) {
      const AddedToken* found = nullptr;
      for (const AddedToken* t : by_first_[static_cast<unsigned char>(s[i])])
        if (s.compare(i, t->match.size(), t->match) == 0) {
          found = t;
          break;
        }
      if (!found) {
        ++i;
        continue;
      }
      size_t start = i, stop = i + found->match.size();
      i = stop;
      if (split_special && found->special) continue;
      if (found->single_word) {
        const bool start_space = start == 0 || !ends_with_word(s, start);
        const bool stop_space = stop == s.size() || !starts_with_word(s, stop);
        if (!start_space || !stop_space) continue;
      }
      if (found->lstrip) start = std::max(space_start_before(s, start), start_offset);
      if (found->rstrip) stop = space_end_after(s, stop);
      if (start_offset < start) push(out, piece, start_offset, start, -1);
      push(out, piece, start, stop, found->id);
      start_offset = stop;
      i = std::max(i, stop);
    }
    if (start_offset < s.size()) push(out, piece, start_offset, s.size(), -1);
  }

 private:
  static void push(std::vector<hf::Piece>& out, const hf::Piece& piece, size_t b, size_t e, int64_t id) {
    if (e > b) out.push_back({piece.text.substr(b, e - b), piece.at_origin && b == 0, id});
  }
  static char32_t before(const std::string& s, size_t at) {
    size_t b = at - 1;
    while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
    size_t n = 0;
    return unicode::code_point_at(s, b, &n);
  }
  static bool ends_with_word(const std::string& s, size_t at) { return at > 0 && unicode::is_word_char(before(s, at)); }
  static bool starts_with_word(const std::string& s, size_t at) {
    size_t n = 0;
    return at < s.size() && unicode::is_word_char(unicode::code_point_at(s, at, &n));
  }
  static size_t space_start_before(const std::string& s, size_t at) {
    while (at > 0) {
      size_t b = at - 1;
      while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
      size_t n = 0;
      if (!unicode::is_white_space(unicode::code_point_at(s, b, &n))) break;
      at = b;
    }
    return at;
  }
  static size_t space_end_after(const std::string& s, size_t at) {
    while (at < s.size()) {
      size_t n = 0;
      if (!unicode::is_white_space(unicode::code_point_at(s, at, &n))) break;
      at += n;
    }
    return at;
  }
  std::array<std::vector<const AddedToken*>, 256> by_first_;
};

// The post-processor's template for one sequence: the ids before and after it.
struct Template {
  std::vector<int64_t> before, after;
  bool present = false;
};

void read_template(const json& spec, const Where& w, Template& t) {
  if (spec.is_null()) return;
  const std::string type = hf::type_of(spec, w);
  if (type == "ByteLevel") return;  // it only moves offsets
  if (type == "Sequence") {
    const json& list = hf::array_field(spec, "processors", w);
    for (size_t i = 0; i < list.size(); ++i) read_template(list[i], w.at("processors").at(i), t);
    return;
  }
  if (type != "TemplateProcessing")
    hf::refuse(w, "is the post_processor `" + type +
                      "`, which is not supported (supported: TemplateProcessing, ByteLevel, Sequence)");
  if (t.present) hf::refuse(w, "is a second TemplateProcessing; expected at most one");
  t.present = true;
  const json& specials = hf::member(spec, "special_tokens", w);
  const json& single = hf::array_field(spec, "single", w);
  bool seen_sequence = false;
  for (size_t i = 0; i < single.size(); ++i) {
    const Where iw = w.at("single").at(i);
    const json& item = single[i];
    if (item.is_object() && item.contains("Sequence")) {
      if (seen_sequence) hf::refuse(iw, "is a second sequence in a single-sequence template");
      seen_sequence = true;
      continue;
    }
    if (!item.is_object() || !item.contains("SpecialToken")) hf::refuse(iw, "must be {\"SpecialToken\": ...} or {\"Sequence\": ...}");
    const std::string name = hf::string_field(item["SpecialToken"], "id", iw.at("SpecialToken"));
    const Where sw = w.at("special_tokens").at(name);
    const json& entry = hf::member(specials, name, w.at("special_tokens"));
    for (const json& id : hf::array_field(entry, "ids", sw)) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0) hf::refuse(sw.at("ids"), "must hold token ids");
      (seen_sequence ? t.after : t.before).push_back(id.get<int64_t>());
    }
  }
  if (!seen_sequence) hf::refuse(w.at("single"), "has no {\"Sequence\": {\"id\": \"A\"}}");
}

// tokenizer_config.json's bos_token, eos_token, pad_token: a string or {"content": ...}.
std::optional<std::string> config_token(const json& config, const char* key) {
  if (!config.is_object() || !config.contains(key)) return std::nullopt;
  const json& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return std::nullopt;
}

}  // namespace

struct HfTokenizer::Impl {
  std::string path;
  std::unique_ptr<hf::Bpe> model;
  hf::Normalizer normalizer;
  hf::PreTokenizer pre_tokenizer;
  hf::Decoder decoder;
  Template templ;
  std::vector<AddedToken> added;
  std::unordered_map<int64_t, size_t> added_by_id;
  std::unordered_set<std::string> special_contents;
  AddedMatcher raw_matcher, normalized_matcher;
  int64_t vocab_size = 0, bos = -1, eos = -1, pad = -1;
  bool byte_level = false;
};

HfTokenizer::HfTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HfTokenizer::~HfTokenizer() = default;

std::unique_ptr<HfTokenizer> HfTokenizer::load(const std::string& path) {
  expect_file(path, "tokenizer.json");
  const json root = read_json_file(path);
  const Where top{path, ""};
  if (!root.is_object()) hf::refuse(top, "must be a JSON object");
  for (const char* key : {"truncation", "padding"})
    if (root.contains(key) && !root[key].is_null())
      hf::refuse(top.at(key), "is set; a tokenizer that truncates or pads by itself is not supported (expected null)");
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  const json& model = hf::member(root, "model", top);
  const std::string type = model.is_object() && model.contains("type") ? hf::type_of(model, top.at("model")) : "BPE";
  if (type != "BPE")
    hf::refuse(top.at("model"), "is a `" + type + "` model, which is not supported (supported: BPE)");
  impl->model = std::make_unique<hf::Bpe>(model, top.at("model"));
  impl->normalizer = hf::make_normalizer(root.value("normalizer", json()), top.at("normalizer"));
  impl->pre_tokenizer = hf::make_pre_tokenizer(root.value("pre_tokenizer", json()), top.at("pre_tokenizer"));
  impl->decoder = hf::make_decoder(root.value("decoder", json()), top.at("decoder"));
  read_template(root.value("post_processor", json()), top.at("post_processor"), impl->templ);
  impl->byte_level = root.value("pre_tokenizer", json()).dump().find("\"ByteLevel\"") != std::string::npos;

  // Added tokens, then the whole vocabulary: ids from 0 without gaps.
  int64_t max_id = impl->model->size() - 1;
  if (root.contains("added_tokens") && !root["added_tokens"].is_null()) {
    const json& list = hf::array_field(root, "added_tokens", top);
    for (size_t i = 0; i < list.size(); ++i) {
      const Where w = top.at("added_tokens").at(i);
      AddedToken t;
      t.id = hf::int_field(list[i], "id", 0, (int64_t{1} << 24) - 1, w);
      t.content = hf::string_field(list[i], "content", w);
      if (t.content.empty()) hf::refuse(w.at("content"), "is empty");
      t.single_word = hf::bool_field(list[i], "single_word", false, w);
      t.lstrip = hf::bool_field(list[i], "lstrip", false, w);
      t.rstrip = hf::bool_field(list[i], "rstrip", false, w);
      t.normalized = hf::bool_field(list[i], "normalized", true, w);
      t.special = hf::bool_field(list[i], "special", false, w);
      t.match = t.normalized && impl->normalizer ? impl->normalizer(t.content) : t.content;
      if (impl->added_by_id.count(t.id)) hf::refuse(w.at("id"), "is " + std::to_string(t.id) + ", the id of an earlier added token");
      impl->added_by_id[t.id] = impl->added.size();
      if (t.special) impl->special_contents.insert(t.content);
      max_id = std::max(max_id, t.id);
      impl->added.push_back(std::move(t));
    }
  }
  for (const auto& t : impl->added) (t.normalized ? impl->normalized_matcher : impl->raw_matcher).add(&t);
  impl->raw_matcher.finish();
  impl->normalized_matcher.finish();
  for (int64_t id = 0; id <= max_id; ++id)
    if (!impl->model->has_id(id) && !impl->added_by_id.count(id))
      fail(path, ": model.vocab and added_tokens leave the id ", id, " to no token (the vocabulary has a gap: every id from 0 to ",
           max_id, " needs one)");
  impl->vocab_size = max_id + 1;
  for (int64_t id : impl->templ.before)
    if (id > max_id) hf::refuse(top.at("post_processor"), "adds the id " + std::to_string(id) + ", outside the vocabulary");
  for (int64_t id : impl->templ.after)
    if (id > max_id) hf::refuse(top.at("post_processor"), "adds the id " + std::to_string(id) + ", outside the vocabulary");

  // BOS, EOS, PAD: tokenizer_config.json beside the file when there is one, else the template's
  // first token and the customary names.
  json config;
  const fs::path config_path = fs::path(path).parent_path() / "tokenizer_config.json";
  std::error_code ec;
  if (fs::is_regular_file(config_path, ec)) config = read_json_file(config_path.string());
  Impl& im = *impl;
  auto id_of = [&](const std::string& token) -> int64_t {
    for (const auto& t : im.added)
      if (t.content == token) return t.id;
    const auto it = im.model->vocab().find(token);
    return it == im.model->vocab().end() ? -1 : it->second;
  };
  auto named = [&](const char* key, std::initializer_list<const char*> customary) -> int64_t {
    if (const auto t = config_token(config, key)) {
      const int64_t id = id_of(*t);
      if (id < 0) fail(config_path.string(), ": ", key, " `", *t, "` is not in ", path);
      return id;
    }
    for (const char* c : customary)
      if (const int64_t id = id_of(c); id >= 0) return id;
    return -1;
  };
  im.bos = named("bos_token", {"<s>", "<|begin_of_text|>"});
  if (!config_token(config, "bos_token") && !im.templ.before.empty()) im.bos = im.templ.before.front();
  im.eos = named("eos_token", {"</s>", "<|end_of_text|>", "<|endoftext|>", "<|im_end|>", "<|eot_id|>"});
  im.pad = named("pad_token", {"<pad>", "<|pad|>"});
  if (im.pad < 0) im.pad = im.eos;
  return std::unique_ptr<HfTokenizer>(new HfTokenizer(std::move(impl)));
}

std::vector<int64_t> HfTokenizer::encode_with(const std::string& text, bool add_special_tokens,
                                              bool split_special_tokens) const {
  std::vector<int64_t> ids;
  if (add_special_tokens) ids = impl_->templ.before;
  const std::vector<int64_t> body = encode_parts({{text, !split_special_tokens}});
  ids.insert(ids.end(), body.begin(), body.end());
  if (add_special_tokens) ids.insert(ids.end(), impl_->templ.after.begin(), impl_->templ.after.end());
  return ids;
}

std::vector<int64_t> HfTokenizer::encode_parts(const std::vector<TextPart>& parts) const {
  const Impl& im = *impl_;
  // The library splits the whole rendered string at its added tokens, then runs the pipeline on
  // each stretch between them. Each part is split on its own (special tokens matched in markup
  // only); neighbouring stretches of text are joined again, so "### Response:\n" and the response
  // after it are normalized, pre-tokenized and merged as the one string they are in the library.
  std::vector<hf::Piece> pieces;
  std::vector<bool> guarded;  // the piece holds user text: special tokens are not matched in it
  size_t offset = 0;
  std::vector<hf::Piece> cut;
  for (const auto& part : parts) {
    if (part.text.empty()) continue;
    if (!is_valid_utf8(part.text)) fail("text to tokenize is not valid UTF-8");
    const hf::Piece whole{part.text, offset == 0, -1};
    offset += part.text.size();
    cut.clear();
    if (im.raw_matcher.empty()) cut.push_back(whole);
    else im.raw_matcher.split(whole, !part.markup, cut);
    for (auto& p : cut) {
      if (p.added_id < 0 && !pieces.empty() && pieces.back().added_id < 0) {
        pieces.back().text += p.text;
        if (!part.markup) guarded.back() = true;
        continue;
      }
      pieces.push_back(std::move(p));
      guarded.push_back(!part.markup);
    }
  }
  std::vector<hf::Piece> normalized;
  normalized.reserve(pieces.size());
  for (size_t i = 0; i < pieces.size(); ++i) {
    auto& p = pieces[i];
    if (p.added_id >= 0) {
      normalized.push_back(std::move(p));
      continue;
    }
    if (im.normalizer) p.text = im.normalizer(p.text);
    if (p.text.empty()) continue;
    if (im.normalized_matcher.empty()) normalized.push_back(std::move(p));
    else im.normalized_matcher.split(p, guarded[i], normalized);
  }
  if (im.pre_tokenizer) im.pre_tokenizer(normalized);
  std::vector<int64_t> ids;
  for (const auto& p : normalized) {
    if (p.added_id >= 0) ids.push_back(p.added_id);
    else im.model->tokenize(p.text, ids);
  }
  return ids;
}

std::string HfTokenizer::decode_with(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
  const Impl& im = *impl_;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (const int64_t id : ids) {
    // An added token decodes from its normalized form (the library's simple_id_to_token), so that
    // the decoder inverts what the normalizer did; special is decided on that string.
    const auto it = im.added_by_id.find(id);
    const std::string* token = it != im.added_by_id.end() ? &im.added[it->second].match
                               : im.model->has_id(id)     ? &im.model->token_of(id)
                                                          : nullptr;
    if (token && !(skip_special_tokens && im.special_contents.count(*token))) tokens.push_back(*token);
  }
  return hf::run_decoder(im.decoder, std::move(tokens));
}

std::string HfTokenizer::token_text(int64_t id) const {
  const auto it = impl_->added_by_id.find(id);
  if (it != impl_->added_by_id.end()) return impl_->added[it->second].content;
  return impl_->model->token_of(id);
}

bool HfTokenizer::is_special(int64_t id) const {
  const auto it = impl_->added_by_id.find(id);
  return it != impl_->added_by_id.end() && impl_->added[it->second].special;
}

int64_t HfTokenizer::vocab_size() const { return impl_->vocab_size; }
int64_t HfTokenizer::bos_id() const { return impl_->bos; }
int64_t HfTokenizer::eos_id() const { return impl_->eos; }
int64_t HfTokenizer::pad_id() const { return impl_->pad; }

std::string HfTokenizer::describe() const {
  return "tokenizer.json (" + std::string(impl_->byte_level ? "byte-level BPE" : "BPE") + ", " +
         std::to_string(impl_->vocab_size) + " tokens, " + std::to_string(impl_->added.size()) + " added) " + impl_->path;
}

}  // namespace moekd
