// Porter stemmer, NLTK_EXTENSIONS flavour (what rouge-score gets from `PorterStemmer()`).
//
// Written from Porter, "An algorithm for suffix stripping" (1980) and from reading the behaviour
// of nltk/stem/porter.py (nltk 3.10.4). Beyond the paper, NLTK_EXTENSIONS adds:
//   * a table of irregular forms looked up before anything else (skies -> sky, dying -> die, ...);
//   * words of length <= 2 are returned unchanged (Martin Porter's extension);
//   * step 1a: a 4-letter word ending in "ies" becomes "...ie" (dies -> die, but flies -> fli);
//   * step 1b: "ied" -> "ie" for 4-letter words, "i" otherwise, before any other 1b rule;
//   * step 1c: y -> i only when the y follows a consonant that is not the first letter
//     (happy -> happi, enjoy -> enjoy, spy -> spi);
//   * step 2: "bli" -> "ble" instead of the paper's "abli" -> "able"; "alli" -> "al" is tried
//     first and the result goes through step 2 again; extra rules "fulli" -> "ful" and
//     "logi" -> "log" (whose measure is taken on the stem plus the "l");
//   * the *o (cvc) condition also holds for a 2-letter vowel+consonant stem.
// One rule of the paper's that is easy to get wrong: within a step, only the FIRST rule whose
// suffix matches is considered; if its condition fails the word is left alone for that step
// (no later, shorter suffix is tried). Step 1b's "eed" behaves the same way ("feed" stays).
#include "eval/porter_stemmer.h"

#include <cstring>
#include <string>
#include <unordered_map>

namespace moekd {
namespace {

bool ends_with(const std::string& word, const char* suffix) {
  const std::size_t n = std::strlen(suffix);
  return word.size() >= n && word.compare(word.size() - n, n, suffix) == 0;
}

std::string drop(const std::string& word, std::size_t n) { return word.substr(0, word.size() - n); }

bool is_vowel_letter(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

// Porter's consonant: anything but a/e/i/o/u, and a 'y' is a consonant exactly when the letter
// before it is not one (or when it starts the word). So "toy" = c v c, "syzygy" = c v c v c v.
// Digits count as consonants, as in nltk (rouge-score stems tokens such as "abc123s").
bool is_consonant(const std::string& word, std::size_t i) {
  bool consonant = true;  // classification of the previous letter, computed left to right
  for (std::size_t k = 0; k <= i; ++k) {
    const char c = word[k];
    if (is_vowel_letter(c)) {
      consonant = false;
    } else if (c == 'y') {
      consonant = (k == 0) ? true : !consonant;
    } else {
      consonant = true;
    }
  }
  return consonant;
}

// m in [C](VC)^m[V]: the number of vowel->consonant transitions.
int measure(const std::string& stem) {
  int m = 0;
  bool prev_consonant = true;
  for (std::size_t k = 0; k < stem.size(); ++k) {
    const char c = stem[k];
    bool consonant;
    if (is_vowel_letter(c)) {
      consonant = false;
    } else if (c == 'y') {
      consonant = (k == 0) ? true : !prev_consonant;
    } else {
      consonant = true;
    }
    if (k > 0 && !prev_consonant && consonant) ++m;
    prev_consonant = consonant;
  }
  return m;
}

// *v*: the stem contains a vowel. One left-to-right pass (calling is_consonant per position
// would be quadratic on a long run of 'y's, the same denial-of-service nltk fixed upstream).
bool contains_vowel(const std::string& stem) {
  bool prev_consonant = true;
  for (std::size_t k = 0; k < stem.size(); ++k) {
    const char c = stem[k];
    const bool consonant =
        is_vowel_letter(c) ? false : (c == 'y' ? (k == 0 ? true : !prev_consonant) : true);
    if (!consonant) return true;
    prev_consonant = consonant;
  }
  return false;
}

// *d: the word ends with a double consonant (same letter twice, and that letter a consonant).
bool ends_double_consonant(const std::string& w) {
  const std::size_t n = w.size();
  return n >= 2 && w[n - 1] == w[n - 2] && is_consonant(w, n - 1);
}

// *o: the stem ends consonant-vowel-consonant with the last consonant not w, x or y. NLTK also
// accepts a whole 2-letter stem vowel+consonant (so "ow" counts, with no w/x/y exclusion).
bool ends_cvc(const std::string& w) {
  const std::size_t n = w.size();
  if (n >= 3 && is_consonant(w, n - 3) && !is_consonant(w, n - 2) && is_consonant(w, n - 1) &&
      w[n - 1] != 'w' && w[n - 1] != 'x' && w[n - 1] != 'y')
    return true;
  return n == 2 && !is_consonant(w, 0) && is_consonant(w, 1);
}

enum class Cond { kMeasureGt0, kMeasureGt1, kIon, kLogi };

struct Rule {
  const char* suffix;
  const char* replacement;
  Cond cond;
};

// Applies the first rule whose suffix matches; if that rule's condition fails the word is
// returned unchanged (later rules are NOT tried). `word` is the word before removal, `stem` the
// word with the suffix removed.
template <std::size_t N>
std::string apply_first_rule(const std::string& word, const Rule (&rules)[N]) {
  for (const Rule& rule : rules) {
    if (!ends_with(word, rule.suffix)) continue;
    const std::string stem = drop(word, std::strlen(rule.suffix));
    bool ok = false;
    switch (rule.cond) {
      case Cond::kMeasureGt0:
        ok = measure(stem) > 0;
        break;
      case Cond::kMeasureGt1:
        ok = measure(stem) > 1;
        break;
      case Cond::kIon:  // (m>1 and (*S or *T)) ION ->
        ok = measure(stem) > 1 && !stem.empty() && (stem.back() == 's' || stem.back() == 't');
        break;
      case Cond::kLogi:  // NLTK: the measure is taken on the stem plus the "l" of "logi", so
                         // short stems like geo-logi / theo-logi behave like archaeo-logi.
        ok = measure(drop(word, 3)) > 0;
        break;
    }
    return ok ? stem + rule.replacement : word;
  }
  return word;
}

// Step 1a: plurals. SSES -> SS, IES -> I, SS -> SS, S -> "" (NLTK: 4-letter "xies" -> "xie").
std::string step1a(const std::string& w) {
  if (ends_with(w, "ies") && w.size() == 4) return drop(w, 3) + "ie";
  if (ends_with(w, "sses")) return drop(w, 2);
  if (ends_with(w, "ies")) return drop(w, 2);
  if (ends_with(w, "ss")) return w;
  if (ends_with(w, "s")) return drop(w, 1);
  return w;
}

// Step 1b: -eed, -ed, -ing, then tidy the exposed stem.
std::string step1b(const std::string& w) {
  // NLTK: "ied" never reaches the paper's rules (died -> die, spied -> spi).
  if (ends_with(w, "ied")) return drop(w, 3) + (w.size() == 4 ? "ie" : "i");
  // (m>0) EED -> EE; a word ending in "eed" is never treated as "-ed" (feed stays feed).
  if (ends_with(w, "eed")) {
    const std::string stem = drop(w, 3);
    return measure(stem) > 0 ? stem + "ee" : w;
  }
  // (*v*) ED -> "", (*v*) ING -> "".
  std::string s;
  if (ends_with(w, "ed") && contains_vowel(drop(w, 2))) {
    s = drop(w, 2);
  } else if (ends_with(w, "ing") && contains_vowel(drop(w, 3))) {
    s = drop(w, 3);
  } else {
    return w;
  }
  // Restore an 'e' so later steps recognise -ate/-ble/-ize (conflat(ed) -> conflate).
  if (ends_with(s, "at") || ends_with(s, "bl") || ends_with(s, "iz")) return s + "e";
  // Undouble a final double consonant, except l, s, z (hopp(ing) -> hop, fall(ing) -> fall).
  if (ends_double_consonant(s)) {
    const char last = s.back();
    return (last == 'l' || last == 's' || last == 'z') ? s : drop(s, 1);
  }
  // (m=1 and *o) -> E (fil(ing) -> file).
  if (measure(s) == 1 && ends_cvc(s)) return s + "e";
  return s;
}

// Step 1c (NLTK): Y -> I when the y follows a consonant that is not the word's only other
// letter (happy -> happi, cry -> cri, but enjoy and stay are kept).
std::string step1c(const std::string& w) {
  if (!ends_with(w, "y")) return w;
  const std::string stem = drop(w, 1);
  if (stem.size() > 1 && is_consonant(stem, stem.size() - 1)) return stem + "i";
  return w;
}

std::string step2(const std::string& w) {
  // NLTK applies ALLI -> AL first and feeds the result through step 2 again
  // (e.g. "...ationalli" -> "...ational" -> "...ate").
  if (ends_with(w, "alli") && measure(drop(w, 4)) > 0) return step2(drop(w, 4) + "al");
  static const Rule kRules[] = {
      {"ational", "ate", Cond::kMeasureGt0}, {"tional", "tion", Cond::kMeasureGt0},
      {"enci", "ence", Cond::kMeasureGt0},   {"anci", "ance", Cond::kMeasureGt0},
      {"izer", "ize", Cond::kMeasureGt0},    {"bli", "ble", Cond::kMeasureGt0},  // not "abli"
      {"alli", "al", Cond::kMeasureGt0},     {"entli", "ent", Cond::kMeasureGt0},
      {"eli", "e", Cond::kMeasureGt0},       {"ousli", "ous", Cond::kMeasureGt0},
      {"ization", "ize", Cond::kMeasureGt0}, {"ation", "ate", Cond::kMeasureGt0},
      {"ator", "ate", Cond::kMeasureGt0},    {"alism", "al", Cond::kMeasureGt0},
      {"iveness", "ive", Cond::kMeasureGt0}, {"fulness", "ful", Cond::kMeasureGt0},
      {"ousness", "ous", Cond::kMeasureGt0}, {"aliti", "al", Cond::kMeasureGt0},
      {"iviti", "ive", Cond::kMeasureGt0},   {"biliti", "ble", Cond::kMeasureGt0},
      {"fulli", "ful", Cond::kMeasureGt0},   {"logi", "log", Cond::kLogi},  // NLTK additions
  };
  return apply_first_rule(w, kRules);
}

std::string step3(const std::string& w) {
  static const Rule kRules[] = {
      {"icate", "ic", Cond::kMeasureGt0}, {"ative", "", Cond::kMeasureGt0},
      {"alize", "al", Cond::kMeasureGt0}, {"iciti", "ic", Cond::kMeasureGt0},
      {"ical", "ic", Cond::kMeasureGt0},  {"ful", "", Cond::kMeasureGt0},
      {"ness", "", Cond::kMeasureGt0},
  };
  return apply_first_rule(w, kRules);
}

std::string step4(const std::string& w) {
  // Order matters: "ement" is tried before "ment" before "ent", and a failed condition on the
  // first match ends the step.
  static const Rule kRules[] = {
      {"al", "", Cond::kMeasureGt1},    {"ance", "", Cond::kMeasureGt1},
      {"ence", "", Cond::kMeasureGt1},  {"er", "", Cond::kMeasureGt1},
      {"ic", "", Cond::kMeasureGt1},    {"able", "", Cond::kMeasureGt1},
      {"ible", "", Cond::kMeasureGt1},  {"ant", "", Cond::kMeasureGt1},
      {"ement", "", Cond::kMeasureGt1}, {"ment", "", Cond::kMeasureGt1},
      {"ent", "", Cond::kMeasureGt1},   {"ion", "", Cond::kIon},
      {"ou", "", Cond::kMeasureGt1},    {"ism", "", Cond::kMeasureGt1},
      {"ate", "", Cond::kMeasureGt1},   {"iti", "", Cond::kMeasureGt1},
      {"ous", "", Cond::kMeasureGt1},   {"ive", "", Cond::kMeasureGt1},
      {"ize", "", Cond::kMeasureGt1},
  };
  return apply_first_rule(w, kRules);
}

// Step 5a: (m>1) E -> "", (m=1 and not *o) E -> "" (probate -> probat, rate stays, cease -> ceas).
std::string step5a(const std::string& w) {
  if (!ends_with(w, "e")) return w;
  const std::string stem = drop(w, 1);
  const int m = measure(stem);
  if (m > 1 || (m == 1 && !ends_cvc(stem))) return stem;
  return w;
}

// Step 5b: (m>1 and *d and *L) -> single letter (controll -> control). Like nltk, the measure is
// taken on the word minus its last 'l'.
std::string step5b(const std::string& w) {
  if (ends_with(w, "ll") && measure(drop(w, 1)) > 1) return drop(w, 1);
  return w;
}

// NLTK's irregular forms, looked up (after lowercasing) before any rule runs.
const std::unordered_map<std::string, std::string>& irregular_forms() {
  static const std::unordered_map<std::string, std::string> kForms = {
      {"sky", "sky"},         {"skies", "sky"},      {"dying", "die"},      {"lying", "lie"},
      {"tying", "tie"},       {"news", "news"},      {"innings", "inning"}, {"inning", "inning"},
      {"outings", "outing"},  {"outing", "outing"},  {"cannings", "canning"},
      {"canning", "canning"}, {"howe", "howe"},      {"proceed", "proceed"},
      {"exceed", "exceed"},   {"succeed", "succeed"},
  };
  return kForms;
}

}  // namespace

std::string porter_stem(const std::string& word) {
  std::string w = word;
  for (char& c : w)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');

  const auto& forms = irregular_forms();
  if (auto it = forms.find(w); it != forms.end()) return it->second;
  if (w.size() <= 2) return w;

  w = step1a(w);
  w = step1b(w);
  w = step1c(w);
  w = step2(w);
  w = step3(w);
  w = step4(w);
  w = step5a(w);
  w = step5b(w);
  return w;
}

}  // namespace moekd
