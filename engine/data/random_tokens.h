#pragma once
// Random token sequences for benchmarks and self-checks: every position after the first is a
// target, so a step costs what a real step of that shape costs. No text is involved.
#include <cstdint>
#include <memory>

#include "data/run_data.h"
#include "data/tokenizer.h"

namespace moekd {

// A tokenizer that only knows its vocabulary size: the data is ids already and is never decoded.
class IdsOnlyTokenizer final : public Tokenizer {
 public:
  explicit IdsOnlyTokenizer(int64_t vocab) : vocab_(vocab) {}
  std::vector<int64_t> encode(const std::string&) const override { return {}; }
  std::string decode(const std::vector<int64_t>&) const override { return {}; }
  int64_t vocab_size() const override { return vocab_; }
  int64_t bos_id() const override { return 1; }
  int64_t eos_id() const override { return 2; }
  int64_t pad_id() const override { return 0; }
  std::string kind() const override { return "ids"; }
  std::string describe() const override { return "token ids (no text)"; }

 private:
  int64_t vocab_;
};

// `sequences` uniform random sequences of `seq_len` ids below `vocab`, for training and
// validation alike, in one category "random". The same seed gives the same data.
std::shared_ptr<RunData> random_token_data(int64_t vocab, int64_t sequences, int64_t seq_len, uint64_t seed);

}  // namespace moekd
