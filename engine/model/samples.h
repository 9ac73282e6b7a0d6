#pragma once
// Small models of every family, each exercising what makes its family special: Qwen2-MoE mixes
// a dense layer in and has a gated shared expert, OLMoE has q/k norm and clipping, LLaMA-MoE has
// an mlp router, a noise projection, unequal experts and a score scale. `moekd selftest` checks
// the engine on them; the tests build their models from them.
#include <cstdint>
#include <utility>
#include <vector>

#include "model/causal_lm.h"
#include "model/config.h"

namespace moekd {

// Vocabulary 64, hidden 32, 4 heads (2 kv) of 8, experts 4 (top-2) of 24 (LLaMA-MoE: 8/12/20/16).
ModelConfig sample_config(Family family, int64_t layers = 2);

// A model of sample_config(family, layers) initialised from `seed`, its norms and biases moved
// off their trivial values too (so that a check of them can fail).
CausalLM sample_model(Family family, uint64_t seed, int64_t layers = 2);

// Every family with its Hugging Face model_type spelling, dense families first.
const std::vector<std::pair<const char*, Family>>& all_families();

}  // namespace moekd
