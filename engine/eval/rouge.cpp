// ROUGE-L as computed by rouge-score 0.1.2 (rouge_score/tokenize.py + rouge_scorer._score_lcs).
#include "eval/rouge.h"

#include <algorithm>
#include <cstddef>

#include "eval/porter_stemmer.h"

namespace moekd {
namespace {

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// Length of the longest common subsequence of two token lists (same DP as rouge-score's
// _lcs_table, keeping only two rows).
std::size_t lcs_length(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::size_t> prev(b.size() + 1, 0), cur(b.size() + 1, 0);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] = (a[i - 1] == b[j - 1]) ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::vector<std::string> rouge_tokenize(const std::string& text, bool stem) {
  // Python lowercases the decoded text and then replaces each [^a-z0-9]+ run with a space. Working
  // on the UTF-8 bytes directly is equivalent: an ASCII byte is always its own character, and the
  // only non-ASCII characters whose lowercase contains [a-z0-9] are U+0130 (bytes C4 B0, lower
  // "i\u0307") and U+212A (bytes E2 84 AA, lower "k"). C4 and E2 are UTF-8 lead bytes, never
  // continuation bytes, so matching those exact byte sequences anywhere finds precisely the
  // characters a UTF-8 decoder (even one replacing invalid bytes) would find. Every other
  // non-ASCII byte belongs to a character (or an invalid sequence) that becomes a separator.
  std::vector<std::string> raw;
  std::string current;
  auto flush = [&] {
    if (!current.empty()) raw.push_back(std::move(current));
    current.clear();
  };
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      current.push_back(static_cast<char>(c));
    } else if (c >= 'A' && c <= 'Z') {
      current.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if (c == 0xC4 && i + 1 < n && static_cast<unsigned char>(text[i + 1]) == 0xB0) {
      // U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE -> "i" + U+0307 (a separator).
      current.push_back('i');
      flush();
      i += 1;
    } else if (c == 0xE2 && i + 2 < n && static_cast<unsigned char>(text[i + 1]) == 0x84 &&
               static_cast<unsigned char>(text[i + 2]) == 0xAA) {
      // U+212A KELVIN SIGN -> "k".
      current.push_back('k');
      i += 2;
    } else {
      flush();
    }
  }
  flush();

  std::vector<std::string> tokens;
  tokens.reserve(raw.size());
  for (auto& token : raw) {
    // rouge-score: "Only stem words more than 3 characters long."
    std::string t = (stem && token.size() > 3) ? porter_stem(token) : std::move(token);
    if (!t.empty()) tokens.push_back(std::move(t));  // its final VALID_TOKEN_RE filter
  }
  return tokens;
}

RougeScore rouge_l(const std::string& reference, const std::string& prediction, bool stem) {
  const auto ref = rouge_tokenize(reference, stem);
  const auto pred = rouge_tokenize(prediction, stem);
  RougeScore score;
  if (ref.empty() || pred.empty()) return score;
  const double lcs = static_cast<double>(lcs_length(ref, pred));
  // Same operations in the same order as rouge-score, so the doubles are bit-identical.
  score.precision = lcs / static_cast<double>(pred.size());
  score.recall = lcs / static_cast<double>(ref.size());
  if (score.precision + score.recall > 0) {
    score.fmeasure = 2 * score.precision * score.recall / (score.precision + score.recall);
  }
  return score;
}

bool exact_match(const std::string& reference, const std::string& prediction) {
  auto trim = [](const std::string& s) {
    std::size_t b = 0, e = s.size();
    while (b < e && is_ascii_space(s[b])) ++b;
    while (e > b && is_ascii_space(s[e - 1])) --e;
    return s.substr(b, e - b);
  };
  return trim(reference) == trim(prediction);
}

}  // namespace moekd
