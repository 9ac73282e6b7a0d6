#pragma once
// ROUGE-L and exact match for the evaluation step.
//
// rouge_l() reproduces the Python `rouge-score` package (0.1.2) exactly:
//   rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True).score(reference, prediction)["rougeL"]
// (sentence-level LCS, not rougeLsum), down to the last bit of the doubles. The reference
// fixtures in tests/data/rouge/pairs.jsonl are made by tools/make_rouge_fixtures.py.
//
// Plain C++17, no LibTorch and no Qt.
#include <string>
#include <vector>

namespace moekd {

struct RougeScore {
  double precision = 0.0;
  double recall = 0.0;
  double fmeasure = 0.0;
};

// rouge-score's tokenizer (rouge_score/tokenize.py) on UTF-8 input:
//   1. Python str.lower() of the whole text;
//   2. every run of characters other than [a-z0-9] becomes one space;
//   3. split on spaces, and with `stem` apply the Porter stemmer (nltk, NLTK_EXTENSIONS mode; see
//      porter_stemmer.h) to tokens LONGER than 3 characters only ("was", "bus", "ies" are kept);
//   4. drop empty tokens.
// Consequences worth knowing: every non-ASCII character is a separator ("café" -> "caf",
// "naïve" -> "na", "ve"), "don't" -> "don", "t", "abc123" stays one token. The only non-ASCII
// characters whose Python lowercase contains [a-z0-9] are U+0130 'İ' (-> "i" + U+0307, so it
// yields an 'i' that ends the token) and U+212A KELVIN SIGN (-> "k", which joins the token).
// Bytes that are not valid UTF-8 are separators (what Python would do after decoding with
// errors="replace", since U+FFFD is not [a-z0-9]).
std::vector<std::string> rouge_tokenize(const std::string& text, bool stem = true);

// ROUGE-L of `prediction` against `reference` (rouge-score's target), on rouge_tokenize tokens:
//   precision = LCS / #prediction tokens, recall = LCS / #reference tokens,
//   fmeasure  = 2 * precision * recall / (precision + recall)   (0 when both are 0).
// If either side has no tokens (empty, whitespace or punctuation only) all three are 0.
RougeScore rouge_l(const std::string& reference, const std::string& prediction, bool stem = true);

// Exact match: true when the two strings are byte-for-byte identical after removing leading and
// trailing ASCII whitespace (' ', '\t', '\n', '\v', '\f', '\r') from each. No other
// normalisation: case, inner whitespace, punctuation and Unicode (including non-ASCII spaces
// such as U+00A0) all count.
bool exact_match(const std::string& reference, const std::string& prediction);

}  // namespace moekd
