#pragma once
// Built-in instruction tasks for the demo: eight small categories generated from a seed, each a
// short prompt and a short answer, learnable by a tiny character-level transformer on a CPU in a
// few thousand steps and scorable by exact match and ROUGE-L. Also the dataset types shared with
// data/dataset.h and the portable random helpers both generators use.
//
//   category  prompt                 response    notes
//   add       "add 27+45="           "72"        two numbers 0..99, decimal sum
//   count     "count a in abcaab="   "3"         letter and text over {a,b,c,d}, text 3..8 letters
//   match     "match (()(="          "no"        "yes" when the parentheses balance; 2..16 chars,
//                                                 longer more often; "no" cases either miscount
//                                                 (one flipped bracket) or have equal counts in a
//                                                 wrong order. Half yes, half no while unused
//                                                 balanced strings remain (up to ~2000 match
//                                                 examples); beyond that "no" fills in.
//   reverse   "reverse abcd="        "dcba"      3..6 lowercase letters
//   shift     "shift abz="           "bca"       Caesar +1, z wraps to a; 3..6 letters
//   sort      "sort 5132="           "1 2 3 5"   3..6 digits, answer ascending and space-separated
//   swap      "swap ab cde="         "cde ab"    two words of 2..4 letters, order swapped
//   upper     "upper hello="         "HELLO"     3..6 lowercase letters
//
// Answer format: the first word of every prompt is the category name and "=" ends every prompt,
// so the model sees where the answer starts. Most answers are one word, scored 0/1 by both
// metrics; `sort` and `swap` answer with several space-separated words so that ROUGE-L gives
// partial credit (e.g. "1 2 5 3" against "1 2 3 5" scores 0.75) where exact match gives none.
// Prompts are at most 23 characters, answers at most 11; all printable ASCII.
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace moekd {

// One example as its source gave it. A template (data/prompt_template.h) turns instruction and
// context into the prompt a model reads; builtin tasks and text chunks use theirs verbatim.
struct Example {
  std::string instruction, response, category;
  std::string context;  // Dolly's optional input; empty elsewhere
};

struct Dataset {
  std::vector<Example> train, validation, test;
  std::vector<std::string> categories;  // sorted, unique
  std::string source;                   // "builtin:tasks seed=N" or the file path
  int64_t skipped_rows = 0;             // malformed rows skipped while loading
  std::vector<std::string> warnings;    // one summary line for skipped rows, first 10 line numbers
};

// n_train + n_validation + n_test examples, round-robin over the categories (counts per category
// differ by at most one in every split) and shuffled within each split. No prompt occurs twice,
// within or across splits. Each split draws from its own stream of the seed, generated test first,
// then validation, then train: the test set depends only on (seed, n_test), so it stays the same
// when the training set grows. Negative sizes, or more examples than a category has distinct
// prompts (add: 10000), -> Error.
Dataset make_builtin_tasks(uint64_t seed, int64_t n_train, int64_t n_validation, int64_t n_test);

// The category names of make_builtin_tasks, sorted.
std::vector<std::string> builtin_task_categories();

// Portable randomness. std::mt19937_64 is specified bit for bit by the standard, but
// std::uniform_int_distribution and std::shuffle are not: datasets built with them would differ
// between libstdc++ and libc++ builds of the same seed.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t n);           // uniform in [0, n), n > 0
int64_t uniform_int(std::mt19937_64& rng, int64_t lo, int64_t hi);  // uniform in [lo, hi]
uint64_t mix_seed(uint64_t seed, uint64_t stream);                  // splitmix64 of both

// Fisher-Yates with uniform_below, for any random-access container (vector, string).
template <typename Container>
void portable_shuffle(Container& items, std::mt19937_64& rng) {
  using std::swap;
  for (size_t i = items.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(uniform_below(rng, i));
    swap(items[i - 1], items[j]);
  }
}

}  // namespace moekd
