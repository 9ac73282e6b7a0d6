#pragma once
// Model FLOPs per token from the config alone: what model FLOPs utilisation (MFU) divides by.
// The convention is PaLM's (and nanoGPT's): 2 FLOPs per multiply-add of every weight a token
// passes through, plus 4 * T * heads * head_dim per layer for attention scores and mixing over
// the full length T (causal masking is not discounted); backward costs twice the forward.
// Embedding lookups and elementwise work are not counted.
#include <cstdint>

#include "model/config.h"
#include "run/settings.h"

namespace moekd {

// One forward of one token at sequence length `length`, each MoE layer running
// `experts_per_token` experts (0 = the model's top-k; E = every expert, SAR's policy).
double forward_flops_per_token(const ModelConfig& c, int64_t length, int64_t experts_per_token = 0);

// One distillation step of `method` per target token: the student's forward and backward and the
// teacher's share (KD: one top-k forward; KA: `ka_passes` of them; SAR: an all-experts forward
// and its backward to the routers, then an all-experts forward for the targets).
double step_flops_per_token(Method method, const ModelConfig& teacher, const ModelConfig& student, int64_t length,
                            int64_t ka_passes);

}  // namespace moekd
