#pragma once
// The student writing its own responses for on-policy distillation (distill.on_policy): a whole
// batch of prompts at once, left-padded, with the KV cache, each row stopping at its eos. Random
// draws come from a generator the caller seeds, so that a step's responses follow from the run's
// seed and the step alone (a resumed run writes the same ones).
#include <torch/torch.h>

#include <vector>

#include "model/causal_lm.h"
#include "run/run_config.h"

namespace moekd {

// The next token of every row of `logits` [B, V]: softmax(logits / temperature), cut to the
// top_k most likely tokens (0: no cut) and then to the smallest set whose mass reaches top_p
// (the most likely token always stays), renormalised and drawn from. [B] int64.
torch::Tensor sample_tokens(const torch::Tensor& logits, const SamplingConfig& spec, at::Generator& gen);

// The distribution sample_tokens draws from, [B, V] float32: what its statistical test compares to.
torch::Tensor sampling_distribution(const torch::Tensor& logits, const SamplingConfig& spec);

// A generator of `device`'s kind seeded with `seed`, independent of LibTorch's global one.
at::Generator seeded_generator(const torch::Device& device, uint64_t seed);

struct SampledResponses {
  std::vector<std::vector<int64_t>> tokens;  // per prompt: the response, with its eos if it wrote one
  int64_t total = 0;                         // tokens written over the batch
};

// Responses to `prompts` (each non-empty): row i writes at most limits[i] tokens, fewer when
// it writes `eos` first. The model runs without gradients in its current mode.
SampledResponses sample_responses(CausalLM& model, const std::vector<std::vector<int64_t>>& prompts,
                                  const std::vector<int64_t>& limits, const SamplingConfig& spec, int64_t eos,
                                  int64_t pad, at::Generator& gen);

}  // namespace moekd
