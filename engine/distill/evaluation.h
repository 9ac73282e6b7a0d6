#pragma once
// Evaluation of a model on the validation (or test) split: the loss and perplexity over every
// example, then greedy generations for up to `samples` prompts (round-robin over the categories,
// so each is scored) compared with the references by ROUGE-L and exact match, overall and per
// category. The first 24 generations come back as samples, with the teacher's beside them when
// asked.
#include <torch/torch.h>

#include <functional>
#include <vector>

#include "data/run_data.h"
#include "data/tokenizer.h"
#include "model/causal_lm.h"
#include "run/events.h"

namespace moekd {

struct EvaluationSetup {
  bool test_split = false;
  int64_t samples = 64;         // prompts generated
  int64_t max_new_tokens = 16;
  int64_t batch_size = 16;      // sequences per loss forward
  int64_t step = 0;             // recorded in the result
  // How an MoE model routes its tokens here (the teacher probe sweeps it); the model's top-k by
  // default. Sampling policies (KA) draw from torch's default generator.
  RoutingPolicy policy;
  // Several processes: this rank takes every world-th loss batch and prompt, and
  // `sum_over_ranks` adds up a vector of partial sums across the ranks (in place), so that every
  // rank returns the figures of the whole split. The samples shown are this rank's own.
  int rank = 0, world = 1;
  std::function<void(std::vector<double>&)> sum_over_ranks;
};

// `teacher`, when not null, also generates for the samples shown side by side.
EvalResult evaluate_model(CausalLM& model, CausalLM* teacher, const Tokenizer& tok, const RunData& data,
                          const EvaluationSetup& setup, const torch::Device& device);

}  // namespace moekd
