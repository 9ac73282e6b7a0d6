#pragma once
// Token batches for training and evaluation, and the deterministic, resumable order in which the
// training examples are visited.
#include <torch/torch.h>

#include <random>
#include <vector>

#include "data/dataset.h"

namespace moekd {

// Right-padded batch. Logits at position t predict token t + 1: `targets` and `target_mask` are
// already shifted, so loss code works on positions 0..T-2 of the logits.
struct Batch {
  torch::Tensor ids;             // [B, T] int64
  torch::Tensor attention_mask;  // [B, T] int64, 1 = real token
  torch::Tensor targets;         // [B, T-1] int64: ids shifted left
  torch::Tensor target_mask;     // [B, T-1] bool: the target is a response token (or eos)
  torch::Tensor target_index;    // [N] flat indices into [B * (T-1)] of the target positions
  torch::Tensor real;            // [B * T] bool: not padding (for routing statistics)
  torch::Tensor token_category;  // [B * T] int64: each token's category
  std::vector<int64_t> categories;  // per sequence
  int64_t tokens = 0;            // real tokens (host-side counts: no device sync to read them)
  int64_t target_tokens = 0;
  int64_t generated_tokens = 0;  // on-policy batches: the response tokens the student wrote
  // > 0: the logit rows compared are the first `vocab` (teacher and student embeddings padded to
  // different sizes past one tokenizer: check_vocabularies); 0: all of them.
  int64_t vocab = 0;
};

// `response_category` >= 0: the response tokens count under that category in the routing
// statistics instead of their example's (on-policy batches: "generated").
Batch make_batch(const std::vector<const TokenizedExample*>& examples, int64_t pad_id, const torch::Device& device,
                 int64_t response_category = -1);

// The logit rows [N, V] at the batch's target positions, from a [B, T, V] forward of its ids
// (position t predicts token t + 1): what every loss of the step compares. V is b.vocab when set.
torch::Tensor target_rows(const torch::Tensor& logits, const Batch& b);

// Visits the training set in epochs, each a fresh seeded permutation. The state (epoch, position)
// is two integers, saved in checkpoints, so a resumed run sees exactly the same batches.
class ExampleSampler {
 public:
  ExampleSampler(int64_t size, uint64_t seed);
  std::vector<int64_t> next(int64_t count);
  int64_t epoch() const { return epoch_; }
  int64_t position() const { return position_; }
  void restore(int64_t epoch, int64_t position);

 private:
  void shuffle();
  int64_t size_;
  uint64_t seed_;
  int64_t epoch_ = 0, position_ = 0;
  std::vector<int64_t> order_;
};

}  // namespace moekd
