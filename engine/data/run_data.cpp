#include "data/run_data.h"

#include <algorithm>
#include <sstream>

#include "data/tasks.h"
#include "util/error.h"

namespace moekd {

namespace {

// Why a split came out empty: how much data there was and which setting sizes the split.
std::string split_hint(const Dataset& ds, const DataConfig& d, const std::string& split) {
  const size_t usable = ds.train.size() + ds.validation.size() + ds.test.size();
  std::string s = std::to_string(usable) + " usable example" + (usable == 1 ? "" : "s");
  if (ds.skipped_rows > 0)
    s += ", " + std::to_string(ds.skipped_rows) + " malformed row" + (ds.skipped_rows == 1 ? "" : "s") + " skipped";
  if (split == "validation" && d.kind == DataKind::Builtin) {
    s += "; set data.validation_examples above 0";
  } else if (split == "validation") {
    std::ostringstream fraction;
    fraction << d.validation_fraction;
    s += "; give more data or a larger data.validation_fraction (now " + fraction.str() + ")";
  }
  return s;
}

}  // namespace

Dataset load_run_dataset(const DataConfig& d) {
  switch (d.kind) {
    case DataKind::Builtin: return make_builtin_tasks(d.seed, d.train_examples, d.validation_examples, d.test_examples);
    case DataKind::Jsonl: return load_dolly_jsonl(d.path, d.validation_fraction, d.test_fraction, d.seed);
    case DataKind::Text: return load_text(d.path, d.text_chunk_chars, d.validation_fraction, d.seed);
  }
  fail("data.kind: not a known kind");
}

int64_t RunData::category_index(const std::string& category) const {
  const auto& cats = dataset.categories;  // sorted and unique
  return static_cast<int64_t>(std::lower_bound(cats.begin(), cats.end(), category) - cats.begin());
}

PromptTemplate run_prompt_template(const DataConfig& d) {
  return d.kind == DataKind::Jsonl ? parse_prompt_template(d.prompt_template) : verbatim_template();
}

RunData build_run_data(const DataConfig& d, const Tokenizer& tok) {
  RunData data;
  data.prompt_template = run_prompt_template(d);
  check_template_tokens(data.prompt_template, tok);
  data.stop_id = response_stop_id(data.prompt_template, tok);
  data.dataset = load_run_dataset(d);
  auto tokenize = [&](const std::vector<Example>& split, std::vector<TokenizedExample>& out) {
    out.reserve(split.size());
    for (const auto& ex : split)
      out.push_back(tokenize_example(tok, data.prompt_template, ex, d.max_len, data.category_index(ex.category)));
  };
  tokenize(data.dataset.train, data.train);
  tokenize(data.dataset.validation, data.validation);
  tokenize(data.dataset.test, data.test);
  if (data.train.empty())
    fail("the training split is empty (", data.dataset.source, ": ", split_hint(data.dataset, d, "train"), ")");
  if (data.validation.empty())
    fail("the validation split is empty (", data.dataset.source, ": ", split_hint(data.dataset, d, "validation"), ")");
  return data;
}

}  // namespace moekd
