#pragma once
// A run's data, built from its DataConfig: the one place that turns the settings into examples
// (built-in tasks, a Dolly JSONL or a text file, split by the seed) and the examples into token
// ids. The session, the studio's data preview and the tests all call these. No LibTorch.
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/tokenizer.h"
#include "run/run_config.h"

namespace moekd {

// The examples and their splits, untokenized (what the studio previews). Errors name the file.
Dataset load_run_dataset(const DataConfig& d);

struct RunData {
  Dataset dataset;
  PromptTemplate prompt_template;  // data.template for jsonl, verbatim for builtin tasks and text
  int64_t stop_id = -1;            // the token that ends a response (response_stop_id): generation stops there
  std::vector<TokenizedExample> train, validation, test;
  // The index of `category` in dataset.categories (what TokenizedExample::category holds).
  int64_t category_index(const std::string& category) const;
};

// The template a run's examples are rendered with (data.template for jsonl, else verbatim_template).
PromptTemplate run_prompt_template(const DataConfig& d);

// load_run_dataset, then every split tokenized to at most d.max_len tokens. An empty training or
// validation split is refused with how much data there was and which setting sizes the split; a
// template whose markup needs tokens the tokenizer lacks is refused (check_template_tokens).
RunData build_run_data(const DataConfig& d, const Tokenizer& tok);

}  // namespace moekd
