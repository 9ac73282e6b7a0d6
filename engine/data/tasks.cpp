#include "data/tasks.h"

#include <algorithm>
#include <limits>
#include <unordered_set>

#include "util/error.h"

namespace moekd {

uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
  if (n == 0) fail("uniform_below: empty range");
  // Reject the lowest (2^64 mod n) values so that every residue is equally likely.
  const uint64_t threshold = (0 - n) % n;
  for (;;) {
    const uint64_t r = rng();
    if (r >= threshold) return r % n;
  }
}

int64_t uniform_int(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  if (hi < lo) fail("uniform_int: empty range [", lo, ", ", hi, "]");
  const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  if (span == std::numeric_limits<uint64_t>::max()) return static_cast<int64_t>(rng());
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + uniform_below(rng, span + 1));
}

uint64_t mix_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

namespace {

using Rng = std::mt19937_64;

std::string random_word(Rng& rng, int64_t min_len, int64_t max_len, const std::string& alphabet) {
  const int64_t len = uniform_int(rng, min_len, max_len);
  std::string w;
  for (int64_t i = 0; i < len; ++i) w.push_back(alphabet[uniform_below(rng, alphabet.size())]);
  return w;
}

const std::string kLower = "abcdefghijklmnopqrstuvwxyz";

bool balanced(const std::string& s) {
  int depth = 0;
  for (const char c : s) {
    depth += c == '(' ? 1 : -1;
    if (depth < 0) return false;
  }
  return depth == 0;
}

// A random balanced string of even length `len`: open while it can still be closed in time.
std::string random_balanced(Rng& rng, int64_t len) {
  std::string s;
  int64_t depth = 0;
  for (int64_t left = len; left > 0; --left) {
    const bool can_open = depth + 1 <= left - 1;
    const bool can_close = depth > 0;
    const bool open = can_open && (!can_close || uniform_below(rng, 2) == 0);
    s.push_back(open ? '(' : ')');
    depth += open ? 1 : -1;
  }
  return s;
}

// One generator per category; the prompt's first word is the category name. `label` is drawn once
// per example, not per draw, so that retries after a duplicate prompt keep a yes/no task at its
// intended balance instead of drifting to the label whose prompts are not yet used up.
struct Task {
  const char* name;
  Example (*make)(Rng&, uint64_t label);
};

Example make_add(Rng& rng, uint64_t /*label*/) {
  const int64_t a = uniform_int(rng, 0, 99), b = uniform_int(rng, 0, 99);
  return {"add " + std::to_string(a) + "+" + std::to_string(b) + "=", std::to_string(a + b), "add", ""};
}

Example make_count(Rng& rng, uint64_t /*label*/) {
  const std::string alphabet = "abcd";
  const char letter = alphabet[uniform_below(rng, alphabet.size())];
  const std::string text = random_word(rng, 3, 8, alphabet);
  const auto n = std::count(text.begin(), text.end(), letter);
  return {std::string("count ") + letter + " in " + text + "=", std::to_string(n), "count", ""};
}

Example make_match(Rng& rng, uint64_t label) {
  // 2..16 brackets, longer ones more often: only 1 + 2 + 5 + 14 = 22 balanced strings have at
  // most 8 characters, 1430 have 16. Both labels share the distribution, so length tells nothing.
  static const uint64_t kWeight[] = {1, 1, 1, 2, 4, 8, 16, 32};  // by pairs 1..8, sum 65
  uint64_t pick = uniform_below(rng, 65);
  int64_t pairs = 1;
  for (; pick >= kWeight[pairs - 1]; ++pairs) pick -= kWeight[pairs - 1];
  std::string s = random_balanced(rng, 2 * pairs);
  if (label % 2 == 0) return {"match " + s + "=", "yes", "match", ""};
  if (uniform_below(rng, 2) == 0) {
    // One flipped bracket: the counts differ by two, never balanced.
    char& c = s[uniform_below(rng, s.size())];
    c = c == '(' ? ')' : '(';
  } else {
    // Equal counts in a wrong order, which only the running depth reveals.
    do {
      portable_shuffle(s, rng);
    } while (balanced(s));
  }
  return {"match " + s + "=", "no", "match", ""};
}

Example make_reverse(Rng& rng, uint64_t /*label*/) {
  const std::string w = random_word(rng, 3, 6, kLower);
  return {"reverse " + w + "=", std::string(w.rbegin(), w.rend()), "reverse", ""};
}

Example make_shift(Rng& rng, uint64_t /*label*/) {
  const std::string w = random_word(rng, 3, 6, kLower);
  std::string out = w;
  for (char& c : out) c = c == 'z' ? 'a' : static_cast<char>(c + 1);
  return {"shift " + w + "=", out, "shift", ""};
}

Example make_sort(Rng& rng, uint64_t /*label*/) {
  std::string digits = random_word(rng, 3, 6, "0123456789");
  const std::string prompt = "sort " + digits + "=";
  std::sort(digits.begin(), digits.end());
  std::string out;
  for (const char d : digits) {
    if (!out.empty()) out.push_back(' ');
    out.push_back(d);
  }
  return {prompt, out, "sort", ""};
}

Example make_swap(Rng& rng, uint64_t /*label*/) {
  const std::string a = random_word(rng, 2, 4, kLower), b = random_word(rng, 2, 4, kLower);
  return {"swap " + a + " " + b + "=", b + " " + a, "swap", ""};
}

Example make_upper(Rng& rng, uint64_t /*label*/) {
  const std::string w = random_word(rng, 3, 6, kLower);
  std::string out = w;
  for (char& c : out) c = static_cast<char>(c - 'a' + 'A');
  return {"upper " + w + "=", out, "upper", ""};
}

// Sorted by name, which is also the order of Dataset::categories.
const Task kTasks[] = {
    {"add", make_add},     {"count", make_count}, {"match", make_match}, {"reverse", make_reverse},
    {"shift", make_shift}, {"sort", make_sort},   {"swap", make_swap},   {"upper", make_upper},
};
constexpr size_t kNumTasks = sizeof(kTasks) / sizeof(kTasks[0]);

// Far more than a category with free prompts ever needs; only an exhausted category reaches it.
constexpr int kMaxDraws = 2000;

std::vector<Example> make_split(const char* split, Rng rng, int64_t n,
                                std::unordered_set<std::string>& used) {
  std::vector<Example> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const Task& task = kTasks[static_cast<size_t>(i) % kNumTasks];
    bool fresh = false;
    uint64_t label = rng();
    for (int draw = 0; draw < kMaxDraws && !fresh; ++draw) {
      if (draw >= kMaxDraws / 2) label = rng();  // this label's prompts may be used up
      Example ex = task.make(rng, label);
      if (used.insert(ex.instruction).second) {
        out.push_back(std::move(ex));
        fresh = true;
      }
    }
    if (!fresh)
      fail("builtin tasks: category '", task.name, "' ran out of distinct prompts while building the ", split,
           " split (", out.size(), " of ", n, " made); ask for fewer examples");
  }
  portable_shuffle(out, rng);
  return out;
}

}  // namespace

std::vector<std::string> builtin_task_categories() {
  std::vector<std::string> names;
  for (const auto& t : kTasks) names.emplace_back(t.name);
  return names;
}

Dataset make_builtin_tasks(uint64_t seed, int64_t n_train, int64_t n_validation, int64_t n_test) {
  if (n_train < 0 || n_validation < 0 || n_test < 0)
    fail("builtin tasks: split sizes must not be negative (train ", n_train, ", validation ", n_validation,
         ", test ", n_test, ")");
  Dataset d;
  std::unordered_set<std::string> used;  // every prompt once, across all splits
  d.test = make_split("test", Rng(mix_seed(seed, 3)), n_test, used);
  d.validation = make_split("validation", Rng(mix_seed(seed, 2)), n_validation, used);
  d.train = make_split("train", Rng(mix_seed(seed, 1)), n_train, used);
  d.categories = builtin_task_categories();
  d.source = "builtin:tasks seed=" + std::to_string(seed);
  return d;
}

}  // namespace moekd
