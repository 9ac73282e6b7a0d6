// SPDX-License-Identifier: MIT
#include "data/hf_bpe.h"

#include <algorithm>
#include <cstdio>
#include <queue>

#include "data/unicode_text.h"

namespace moekd::hf {

Bpe::Bpe(const json& model, const Where& w) {
  if (model.contains("dropout") && !model["dropout"].is_null())
    refuse(w.at("dropout"), "is set; BPE dropout makes encoding random and is not supported (expected null)");
  const json& vocab = member(model, "vocab", w);
  if (!vocab.is_object()) refuse(w.at("vocab"), "must be an object of token: id");
  if (vocab.size() > (1u << 24)) refuse(w.at("vocab"), "has more than 16,777,216 tokens");
  // Ids may leave holes that added tokens fill; the tokenizer checks the whole vocabulary.
  int64_t max_id = -1;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() >= (int64_t{1} << 24))
      refuse(w.at("vocab").at(it.key()), "must be a token id (a whole number in [0, 16777216))");
    max_id = std::max(max_id, it->get<int64_t>());
  }
  tokens_.assign(static_cast<size_t>(max_id + 1), std::string());
  std::vector<bool> seen(tokens_.size(), false);
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const int64_t id = it->get<int64_t>();
    if (seen[id]) refuse(w.at("vocab").at(it.key()), "is " + std::to_string(id) + ", an id another token already has");
    seen[id] = true;
    tokens_[id] = it.key();
    vocab_.emplace(it.key(), id);
  }
  present_ = seen;

  auto id_of = [&](const std::string& token, const Where& where) {
    const auto it = vocab_.find(token);
    if (it == vocab_.end()) refuse(where, "names `" + token + "`, which is not in model.vocab");
    return it->second;
  };
  if (model.contains("unk_token") && !model["unk_token"].is_null()) {
    const std::string unk = string_field(model, "unk_token", w);
    unk_id_ = id_of(unk, w.at("unk_token"));
  }
  if (model.contains("continuing_subword_prefix") && !model["continuing_subword_prefix"].is_null())
    prefix_ = string_field(model, "continuing_subword_prefix", w);
  if (model.contains("end_of_word_suffix") && !model["end_of_word_suffix"].is_null())
    suffix_ = string_field(model, "end_of_word_suffix", w);
  fuse_unk_ = bool_field(model, "fuse_unk", false, w);
  byte_fallback_ = bool_field(model, "byte_fallback", false, w);
  ignore_merges_ = bool_field(model, "ignore_merges", false, w);
  const json& merges = array_field(model, "merges", w);
  merges_.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const Where mw = w.at("merges").at(i);
    std::string a, b;
    if (merges[i].is_string()) {  // "a b", the older format
      const std::string line = merges[i].get<std::string>();
      const auto space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
        refuse(mw, "must be two tokens separated by one space");
      a = line.substr(0, space);
      b = line.substr(space + 1);
    } else if (merges[i].is_array() && merges[i].size() == 2 && merges[i][0].is_string() && merges[i][1].is_string()) {
      a = merges[i][0].get<std::string>();
      b = merges[i][1].get<std::string>();
    } else {
      refuse(mw, "must be \"a b\" or [\"a\", \"b\"]");
    }
    const int64_t ia = id_of(a, mw), ib = id_of(b, mw);
    // The merged token is a, then b without its continuing-subword prefix.
    if (!prefix_.empty() && b.compare(0, prefix_.size(), prefix_) != 0)
      refuse(mw, "merges `" + b + "`, which lacks the continuing_subword_prefix `" + prefix_ + "`");
    const int64_t merged = id_of(a + b.substr(prefix_.size()), mw);
    merges_[pair_key(ia, ib)] = Merge{static_cast<int32_t>(i), merged};  // a repeated pair: the last rank, as the library
  }

  byte_ids_.assign(256, -1);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    const auto it = vocab_.find(name);
    if (it != vocab_.end()) byte_ids_[b] = it->second;
  }
}

const std::string& Bpe::token_of(int64_t id) const {
  static const std::string none;
  return id >= 0 && id < size() ? tokens_[id] : none;
}

void Bpe::tokenize(const std::string& piece, std::vector<int64_t>& out) const {
  if (piece.empty()) return;
  if (ignore_merges_) {
    const auto it = vocab_.find(piece);
    if (it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  // The library's merge_word: one symbol per character (with the prefix after the first and the
  // suffix on the last), bytes for characters outside the vocabulary under byte_fallback, else the
  // unknown token (runs of them fused under fuse_unk).
  std::vector<int64_t> symbols;
  symbols.reserve(piece.size());
  int64_t pending_unk = -1;
  std::string s;
  for (size_t i = 0; i < piece.size();) {
    size_t n = 1;
    unicode::code_point_at(piece, i, &n);
    const bool first = i == 0, last = i + n >= piece.size();
    s.assign(first ? "" : prefix_);
    s.append(piece, i, n);
    if (last) s += suffix_;
    const auto it = vocab_.find(s);
    if (it != vocab_.end()) {
      if (pending_unk >= 0) symbols.push_back(pending_unk), pending_unk = -1;
      symbols.push_back(it->second);
    } else {
      bool bytes = byte_fallback_;
      if (bytes)
        for (const char c : s) bytes = bytes && byte_ids_[static_cast<unsigned char>(c)] >= 0;
      if (bytes) {
        for (const char c : s) symbols.push_back(byte_ids_[static_cast<unsigned char>(c)]);
      } else if (unk_id_ >= 0) {
        if (pending_unk >= 0 && !fuse_unk_) symbols.push_back(pending_unk);
        pending_unk = unk_id_;
      }
    }
    i += n;
  }
  if (pending_unk >= 0) symbols.push_back(pending_unk);
  merge_word(symbols);
  out.insert(out.end(), symbols.begin(), symbols.end());
}

// Merges the adjacent pair of lowest rank, the leftmost among equals, until no pair has a merge:
// a heap of candidate pairs over a linked list of symbols, entries checked when popped.
void Bpe::merge_word(std::vector<int64_t>& symbols) const {
  const int n = static_cast<int>(symbols.size());
  if (n < 2) return;
  std::vector<int> prev(n), next(n);
  for (int i = 0; i < n; ++i) prev[i] = i - 1, next[i] = i + 1 < n ? i + 1 : -1;
  struct Candidate {
    int32_t rank;
    int pos;
    int64_t left, right;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto consider = [&](int pos) {
    const int r = next[pos];
    if (pos < 0 || r < 0) return;
    const auto it = merges_.find(pair_key(symbols[pos], symbols[r]));
    if (it != merges_.end()) heap.push({it->second.rank, pos, symbols[pos], symbols[r]});
  };
  for (int i = 0; i + 1 < n; ++i) consider(i);
  std::vector<bool> gone(n, false);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    const int r = next[c.pos];
    if (gone[c.pos] || r < 0 || symbols[c.pos] != c.left || symbols[r] != c.right) continue;  // stale
    symbols[c.pos] = merges_.at(pair_key(c.left, c.right)).id;
    gone[r] = true;
    next[c.pos] = next[r];
    if (next[r] >= 0) prev[next[r]] = c.pos;
    if (prev[c.pos] >= 0) consider(prev[c.pos]);
    consider(c.pos);
  }
  int k = 0;
  for (int i = 0; i < n; ++i)
    if (!gone[i]) symbols[k++] = symbols[i];
  symbols.resize(k);
}

}  // namespace moekd::hf
