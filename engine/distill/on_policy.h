#pragma once
// On-policy micro-batches (distill.on_policy; docs/DESIGN.md, "On-policy distillation"): the
// student writes the responses to the batch's prompts, and the teacher scores prompt + response
// as it scores a dataset batch. The loss covers the written tokens only. Whether a micro-batch
// is on-policy, and what the student writes, follow from the run's seed, the step and the
// micro-batch alone: a resumed run repeats them without any saved state.
#include <torch/torch.h>

#include <vector>

#include "data/dataset.h"
#include "data/tokenizer.h"
#include "distill/batch.h"
#include "model/causal_lm.h"
#include "run/events.h"
#include "run/run_config.h"

namespace moekd {

// Whether micro-batch `micro` of optimizer step `step` (0-based) is written by the student: a
// seeded coin with probability distill.on_policy (never at 0, always at 1).
bool on_policy_micro_batch(const RunConfig& cfg, int64_t step, int64_t micro);

// How much of `e` a student-written batch keeps as the prompt: its prompt (text data has none:
// its first token) cut to data.max_len - 1, so that at least one token can be written.
int64_t on_policy_prompt_length(const TokenizedExample& e, const RunConfig& cfg);

// The batch of `examples` with the dataset's responses replaced by the student's: each prompt
// (at least one token, cut to data.max_len - 1) followed by what the student sampled, at most
// distill.sampling.max_new_tokens and never past data.max_len, stopping after `stop_id` (the
// run's RunData::stop_id). The written tokens, the stop token included, are the targets and carry
// `generated_category` in the routing statistics.
Batch student_written_batch(CausalLM& student, const std::vector<const TokenizedExample*>& examples,
                            const RunConfig& cfg, int64_t step, int64_t micro, int64_t stop_id, int64_t pad,
                            int64_t generated_category, const torch::Device& device);

// What the studio shows of one written response: `ids` [T] (the prompt's `prompt_length` tokens,
// then the response), decoded piece by piece, each written token's log-probability under the
// teacher (routed by `teacher_policy`) and under the student. No gradients; the models' modes stay.
GenerationSample score_generation(CausalLM& teacher, const RoutingPolicy& teacher_policy, CausalLM& student,
                                  const torch::Tensor& ids, int64_t prompt_length, const Tokenizer& tok);

}  // namespace moekd
