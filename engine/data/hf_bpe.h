// SPDX-License-Identifier: MIT
#pragma once
// The BPE model of tokenizer.json: a vocabulary, ranked merges and the options the checkpoints we
// support use (byte_fallback, fuse_unk, ignore_merges, an unknown token, subword prefix and
// suffix). Dropout is refused: encoding must be deterministic.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/hf_json.h"

namespace moekd::hf {

class Bpe {
 public:
  // Throws naming the file and field for bad or duplicate ids, merges that name unknown tokens,
  // and unsupported options.
  Bpe(const json& model, const Where& where);

  // One pre-tokenized piece to ids, appended to `out`.
  void tokenize(const std::string& piece, std::vector<int64_t>& out) const;

  const std::unordered_map<std::string, int64_t>& vocab() const { return vocab_; }
  // "" for an id the model does not have.
  const std::string& token_of(int64_t id) const;
  // One past the largest id.
  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  bool has_id(int64_t id) const { return id >= 0 && id < size() && present_[id]; }

 private:
  struct Merge {
    int32_t rank;
    int64_t id;
  };
  static uint64_t pair_key(int64_t a, int64_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint64_t>(b); }
  void merge_word(std::vector<int64_t>& symbols) const;

  std::unordered_map<std::string, int64_t> vocab_;
  std::vector<std::string> tokens_;
  std::vector<bool> present_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::vector<int64_t> byte_ids_;  // <0xXX> per byte, -1 where missing (byte_fallback)
  int64_t unk_id_ = -1;
  std::string prefix_, suffix_;
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
};

}  // namespace moekd::hf
