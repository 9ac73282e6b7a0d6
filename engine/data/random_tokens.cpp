#include "data/random_tokens.h"

#include <random>

namespace moekd {

std::shared_ptr<RunData> random_token_data(int64_t vocab, int64_t sequences, int64_t seq_len, uint64_t seed) {
  auto data = std::make_shared<RunData>();
  data->dataset.categories = {"random"};
  std::mt19937_64 rng(seed);
  for (int64_t i = 0; i < sequences; ++i) {
    TokenizedExample ex;
    for (int64_t t = 0; t < seq_len; ++t) {
      ex.ids.push_back(static_cast<int64_t>(rng() % static_cast<uint64_t>(vocab)));
      ex.loss_mask.push_back(t > 0 ? 1 : 0);
    }
    data->train.push_back(ex);
  }
  data->validation = data->train;
  return data;
}

}  // namespace moekd
