#include "distill/batch.h"

#include "data/tasks.h"
#include "util/error.h"

namespace moekd {

namespace {
// On CUDA the host tensor goes through page-locked memory, so that the copy runs asynchronously and
// the step never waits for it; LibTorch's host allocator keeps the buffer alive until the copy ends.
torch::Tensor to_device(const torch::Tensor& host, const torch::Device& device) {
  if (!device.is_cuda()) return host.to(device);
  return host.pin_memory().to(device, /*non_blocking=*/true);
}
}  // namespace

Batch make_batch(const std::vector<const TokenizedExample*>& examples, int64_t pad_id, const torch::Device& device,
                 int64_t response_category) {
  if (examples.empty()) fail("make_batch: no examples");
  int64_t T = 0;
  for (const auto* e : examples) T = std::max<int64_t>(T, static_cast<int64_t>(e->ids.size()));
  if (T < 2) fail("make_batch: sequences need at least 2 tokens");
  const int64_t B = static_cast<int64_t>(examples.size());
  auto ids = torch::full({B, T}, pad_id, torch::kLong);
  auto attn = torch::zeros({B, T}, torch::kLong);
  auto loss = torch::zeros({B, T}, torch::kBool);
  Batch b;
  auto ids_a = ids.accessor<int64_t, 2>();
  auto attn_a = attn.accessor<int64_t, 2>();
  auto loss_a = loss.accessor<bool, 2>();
  for (int64_t i = 0; i < B; ++i) {
    const auto& e = *examples[i];
    for (size_t t = 0; t < e.ids.size(); ++t) {
      ids_a[i][t] = e.ids[t];
      attn_a[i][t] = 1;
      loss_a[i][t] = e.loss_mask[t] != 0;
    }
    b.categories.push_back(e.category);
  }
  auto targets_cpu = loss.narrow(1, 1, T - 1);
  b.tokens = attn.sum().item<int64_t>();
  b.target_tokens = targets_cpu.sum().item<int64_t>();
  b.target_index = to_device(targets_cpu.reshape(-1).nonzero().squeeze(1), device);
  b.real = to_device(attn.reshape(-1).to(torch::kBool), device);
  auto category = torch::tensor(b.categories, torch::kLong).unsqueeze(1).expand({B, T});
  if (response_category >= 0) category = category.masked_fill(loss, response_category);
  b.token_category = to_device(category.reshape(-1).contiguous(), device);
  b.ids = to_device(ids, device);
  b.attention_mask = to_device(attn, device);
  b.targets = b.ids.narrow(1, 1, T - 1);
  b.target_mask = to_device(loss.narrow(1, 1, T - 1).contiguous(), device);
  return b;
}

torch::Tensor target_rows(const torch::Tensor& logits, const Batch& b) {
  const auto T = logits.size(1), V = logits.size(2);
  const auto rows = logits.narrow(1, 0, T - 1).reshape({-1, V}).index_select(0, b.target_index);
  return b.vocab > 0 && b.vocab < V ? rows.narrow(1, 0, b.vocab) : rows;
}

ExampleSampler::ExampleSampler(int64_t size, uint64_t seed) : size_(size), seed_(seed) {
  if (size <= 0) fail("the training set is empty");
  shuffle();
}

void ExampleSampler::shuffle() {
  std::mt19937_64 rng(mix_seed(seed_, static_cast<uint64_t>(epoch_)));
  order_.resize(size_);
  for (int64_t i = 0; i < size_; ++i) order_[i] = i;
  portable_shuffle(order_, rng);  // the same order on every standard library
}

std::vector<int64_t> ExampleSampler::next(int64_t count) {
  std::vector<int64_t> out;
  while (static_cast<int64_t>(out.size()) < count) {
    if (position_ == size_) {
      ++epoch_;
      position_ = 0;
      shuffle();
    }
    out.push_back(order_[position_++]);
  }
  return out;
}

void ExampleSampler::restore(int64_t epoch, int64_t position) {
  if (position < 0 || position > size_) fail("checkpoint: data position ", position, " outside [0, ", size_, "]");
  epoch_ = epoch;
  position_ = position;
  shuffle();
}

}  // namespace moekd
