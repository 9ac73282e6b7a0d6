// SPDX-License-Identifier: MIT
#include "data/hf_steps.h"

#include <algorithm>
#include <array>
#include <unordered_map>

#include "data/hf_regex.h"
#include "data/unicode_text.h"

namespace moekd::hf {

namespace {

constexpr const char* kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

Behavior behavior_of(const json& spec, const Where& w) {
  const std::string b = string_field(spec, "behavior", w);
  if (b == "Removed") return Behavior::Removed;
  if (b == "Isolated") return Behavior::Isolated;
  if (b == "MergedWithPrevious") return Behavior::MergedWithPrevious;
  if (b == "MergedWithNext") return Behavior::MergedWithNext;
  if (b == "Contiguous") return Behavior::Contiguous;
  refuse(w.at("behavior"), "is `" + b + "`; expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous");
}

struct Span {
  size_t begin, end;
  bool is_match;
};

// The library's NormalizedString::split: the matches and the text between them cover the piece;
// the behaviour decides what becomes a piece; empty pieces go.
void split_piece(const Piece& piece, const std::vector<std::pair<size_t, size_t>>& matches, Behavior behavior,
                 bool invert, std::vector<Piece>& out) {
  std::vector<Span> spans;
  size_t prev = 0;
  for (const auto& [b, e] : matches) {
    if (prev != b) spans.push_back({prev, b, false});
    spans.push_back({b, e, true});
    prev = e;
  }
  if (prev != piece.text.size()) spans.push_back({prev, piece.text.size(), false});
  if (invert)
    for (auto& s : spans) s.is_match = !s.is_match;

  std::vector<Span> kept;  // is_match now means "remove"
  bool previous_match = false;
  switch (behavior) {
    case Behavior::Removed:
      kept = spans;
      break;
    case Behavior::Isolated:
      for (auto s : spans) kept.push_back({s.begin, s.end, false});
      break;
    case Behavior::MergedWithPrevious:
      for (const auto& s : spans) {
        if (s.is_match && !previous_match && !kept.empty()) kept.back().end = s.end;
        else kept.push_back({s.begin, s.end, false});
        previous_match = s.is_match;
      }
      break;
    case Behavior::MergedWithNext:
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !kept.empty()) kept.back().begin = it->begin;
        else kept.push_back({it->begin, it->end, false});
        previous_match = it->is_match;
      }
      std::reverse(kept.begin(), kept.end());
      break;
    case Behavior::Contiguous:
      for (const auto& s : spans) {
        if (s.is_match == previous_match && !kept.empty()) kept.back().end = s.end;
        else kept.push_back({s.begin, s.end, false});
        previous_match = s.is_match;
      }
      break;
  }
  for (const auto& s : kept) {
    if (s.is_match || s.end == s.begin) continue;
    out.push_back({piece.text.substr(s.begin, s.end - s.begin), piece.at_origin && s.begin == 0, -1});
  }
}

// Applies `cut` to every piece that is not an added token.
template <typename Cut>
void split_all(std::vector<Piece>& pieces, Cut cut) {
  std::vector<Piece> out;
  out.reserve(pieces.size() * 2);
  for (auto& p : pieces) {
    if (p.added_id >= 0) out.push_back(std::move(p));
    else cut(p, out);
  }
  pieces = std::move(out);
}

// Each code point for which `pred` holds is a match of its own (the library's char patterns).
template <typename Pred>
std::vector<std::pair<size_t, size_t>> char_matches(const std::string& s, Pred pred) {
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 0; i < s.size();) {
    size_t n = 1;
    const char32_t c = unicode::code_point_at(s, i, &n);
    if (pred(c)) out.emplace_back(i, i + n);
    i += n;
  }
  return out;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

}  // namespace

std::string char_field(const json& spec, const std::string& key, const Where& w) {
  const std::string r = string_field(spec, key, w);
  size_t n = 0;
  if (r.empty() || (unicode::code_point_at(r, 0, &n), n != r.size())) refuse(w.at(key), "must be a single character");
  return r;
}

Prepend prepend_scheme_field(const json& spec, const Where& w) {
  if (spec.contains("prepend_scheme") && !spec["prepend_scheme"].is_null()) {
    const std::string s = string_field(spec, "prepend_scheme", w);
    if (s == "always") return Prepend::Always;
    if (s == "first") return Prepend::First;
    if (s == "never") return Prepend::Never;
    refuse(w.at("prepend_scheme"), "is `" + s + "`; expected always, first or never");
  }
  return bool_field(spec, "add_prefix_space", true, w) ? Prepend::Always : Prepend::Never;
}

HfPattern pattern_field(const json& spec, const Where& w) {
  const json& p = member(spec, "pattern", w);
  const Where pw = w.at("pattern");
  if (p.is_object() && p.contains("Regex")) return HfPattern::regex(string_field(p, "Regex", pw), pw.name());
  if (p.is_object() && p.contains("String")) return HfPattern::literal(string_field(p, "String", pw), pw.name());
  refuse(pw, "must be {\"Regex\": ...} or {\"String\": ...}");
}

const std::string& byte_to_char(unsigned char byte) {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      unicode::append_utf8(t[b], static_cast<char32_t>(printable ? b : next++));
    }
    return t;
  }();
  return table[byte];
}

int char_to_byte(char32_t c) {
  static const std::unordered_map<char32_t, int> table = [] {
    std::unordered_map<char32_t, int> t;
    for (int b = 0; b < 256; ++b) {
      size_t n = 0;
      t[unicode::code_point_at(byte_to_char(static_cast<unsigned char>(b)), 0, &n)] = b;
    }
    return t;
  }();
  const auto it = table.find(c);
  return it == table.end() ? -1 : it->second;
}

Normalizer make_normalizer(const json& spec, const Where& w) {
  if (spec.is_null()) return {};
  const std::string type = type_of(spec, w);
  if (type == "NFC" || type == "NFKC" || type == "NFD" || type == "NFKD") {
    const auto form = type == "NFC"    ? unicode::Form::NFC
                      : type == "NFKC" ? unicode::Form::NFKC
                      : type == "NFD"  ? unicode::Form::NFD
                                       : unicode::Form::NFKD;
    return [form](const std::string& s) { return unicode::normalize(s, form); };
  }
  if (type == "Prepend") {
    const std::string prefix = string_field(spec, "prepend", w);
    return [prefix](const std::string& s) { return s.empty() ? s : prefix + s; };
  }
  if (type == "Replace") {
    const HfPattern pattern = pattern_field(spec, w);
    const std::string content = string_field(spec, "content", w);
    return [pattern, content](const std::string& s) { return pattern.replace_all(s, content); };
  }
  if (type == "Sequence") {
    const json& list = array_field(spec, "normalizers", w);
    std::vector<Normalizer> steps;
    for (size_t i = 0; i < list.size(); ++i)
      if (auto n = make_normalizer(list[i], w.at("normalizers").at(i))) steps.push_back(std::move(n));
    return [steps](const std::string& s) {
      std::string out = s;
      for (const auto& n : steps) out = n(out);
      return out;
    };
  }
  refuse(w, "is the normalizer `" + type + "`, which is not supported (supported: NFC, NFKC, NFD, NFKD, Prepend, Replace, Sequence)");
}

PreTokenizer make_pre_tokenizer(const json& spec, const Where& w) {
  if (spec.is_null()) return {};
  const std::string type = type_of(spec, w);
  if (type == "ByteLevel") {
    const bool prefix = bool_field(spec, "add_prefix_space", true, w);
    const bool use_regex = bool_field(spec, "use_regex", true, w);
    const HfPattern regex = HfPattern::regex(kGpt2Regex, w.name());
    return [prefix, use_regex, regex](std::vector<Piece>& pieces) {
      split_all(pieces, [&](Piece& p, std::vector<Piece>& out) {
        if (prefix && !starts_with(p.text, " ")) p.text.insert(0, " ");
        if (use_regex) split_piece(p, regex.find_all(p.text), Behavior::Isolated, false, out);
        else if (!p.text.empty()) out.push_back(std::move(p));
      });
      for (auto& p : pieces) {
        if (p.added_id >= 0) continue;
        std::string mapped;
        mapped.reserve(p.text.size() * 2);
        for (const char c : p.text) mapped += byte_to_char(static_cast<unsigned char>(c));
        p.text = std::move(mapped);
      }
    };
  }
  if (type == "Split") {
    const HfPattern pattern = pattern_field(spec, w);
    const Behavior behavior = behavior_of(spec, w);
    const bool invert = bool_field(spec, "invert", false, w);
    return [pattern, behavior, invert](std::vector<Piece>& pieces) {
      split_all(pieces, [&](Piece& p, std::vector<Piece>& out) {
        split_piece(p, pattern.find_all(p.text), behavior, invert, out);
      });
    };
  }
  if (type == "Metaspace") {
    const std::string rep = char_field(spec, "replacement", w);
    const Prepend scheme = prepend_scheme_field(spec, w);
    const bool split = bool_field(spec, "split", true, w);
    const HfPattern space = HfPattern::literal(" ", w.name()), marker = HfPattern::literal(rep, w.name());
    return [rep, scheme, split, space, marker](std::vector<Piece>& pieces) {
      split_all(pieces, [&](Piece& p, std::vector<Piece>& out) {
        p.text = space.replace_all(p.text, rep);
        if ((scheme == Prepend::Always || (scheme == Prepend::First && p.at_origin)) && !starts_with(p.text, rep))
          p.text.insert(0, rep);
        if (split) split_piece(p, marker.find_all(p.text), Behavior::MergedWithNext, false, out);
        else if (!p.text.empty()) out.push_back(std::move(p));
      });
    };
  }
  if (type == "Digits") {
    const bool individual = bool_field(spec, "individual_digits", false, w);
    return [individual](std::vector<Piece>& pieces) {
      split_all(pieces, [&](Piece& p, std::vector<Piece>& out) {
        split_piece(p, char_matches(p.text, unicode::is_numeric), individual ? Behavior::Isolated : Behavior::Contiguous,
                    false, out);
      });
    };
  }
  if (type == "Sequence") {
    const json& list = array_field(spec, "pretokenizers", w);
    std::vector<PreTokenizer> steps;
    for (size_t i = 0; i < list.size(); ++i)
      if (auto p = make_pre_tokenizer(list[i], w.at("pretokenizers").at(i))) steps.push_back(std::move(p));
    return [steps](std::vector<Piece>& pieces) {
      for (const auto& step : steps) step(pieces);
    };
  }
  refuse(w, "is the pre_tokenizer `" + type + "`, which is not supported (supported: ByteLevel, Split, Metaspace, Digits, Sequence)");
}

}  // namespace moekd::hf
