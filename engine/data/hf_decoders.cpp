// SPDX-License-Identifier: MIT
#include "data/hf_decoders.h"

#include "data/hf_regex.h"
#include "data/hf_steps.h"
#include "data/unicode_text.h"
#include "util/json_file.h"

namespace moekd::hf {

namespace {

std::vector<char32_t> code_points(const std::string& s) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < s.size();) {
    size_t n = 1;
    out.push_back(unicode::code_point_at(s, i, &n));
    i += n;
  }
  return out;
}

std::string from_code_points(const std::vector<char32_t>& cps, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) unicode::append_utf8(out, cps[i]);
  return out;
}

// "<0xXX>" -> the byte, else -1.
int byte_token(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
  const int hi = hex(t[3]), lo = hex(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

}  // namespace

Decoder make_decoder(const json& spec, const Where& w) {
  if (spec.is_null()) return {};
  const std::string type = type_of(spec, w);
  if (type == "ByteLevel") {
    return [](std::vector<std::string> tokens) {
      std::string bytes;
      for (const auto& t : tokens) {
        std::string mapped;
        bool all = true;
        for (const char32_t c : code_points(t)) {
          const int b = char_to_byte(c);
          if (b < 0) {
            all = false;
            break;
          }
          mapped += static_cast<char>(b);
        }
        bytes += all ? mapped : t;  // a token that is not byte-level text goes in as it is
      }
      return std::vector<std::string>{unicode::lossy_utf8(bytes)};
    };
  }
  if (type == "Metaspace") {
    const char32_t rep = code_points(char_field(spec, "replacement", w))[0];
    const bool drop_first = prepend_scheme_field(spec, w) != Prepend::Never;
    return [rep, drop_first](std::vector<std::string> tokens) {
      for (size_t i = 0; i < tokens.size(); ++i) {
        std::string out;
        for (const char32_t c : code_points(tokens[i])) {
          if (c != rep) unicode::append_utf8(out, c);
          else if (!(i == 0 && drop_first)) out += ' ';  // the library drops every one in the first token
        }
        tokens[i] = std::move(out);
      }
      return tokens;
    };
  }
  if (type == "Replace") {
    const HfPattern pattern = pattern_field(spec, w);
    const std::string content = string_field(spec, "content", w);
    return [pattern, content](std::vector<std::string> tokens) {
      for (auto& t : tokens) t = pattern.replace_all(t, content);
      return tokens;
    };
  }
  if (type == "ByteFallback") {
    return [](std::vector<std::string> tokens) {
      std::vector<std::string> out;
      std::string bytes;
      auto flush = [&] {
        if (bytes.empty()) return;
        if (is_valid_utf8(bytes)) out.push_back(bytes);
        else
          for (size_t i = 0; i < bytes.size(); ++i) out.emplace_back("\xEF\xBF\xBD");
        bytes.clear();
      };
      for (auto& t : tokens) {
        const int b = byte_token(t);
        if (b >= 0) {
          bytes += static_cast<char>(b);
          continue;
        }
        flush();
        out.push_back(std::move(t));
      }
      flush();
      return out;
    };
  }
  if (type == "Fuse") {
    return [](std::vector<std::string> tokens) {
      std::string all;
      for (const auto& t : tokens) all += t;
      return std::vector<std::string>{all};
    };
  }
  if (type == "Strip") {
    const char32_t content = code_points(char_field(spec, "content", w))[0];
    const int64_t start = int_field(spec, "start", 0, 1 << 20, w), stop = int_field(spec, "stop", 0, 1 << 20, w);
    return [content, start, stop](std::vector<std::string> tokens) {
      for (auto& t : tokens) {
        const auto cps = code_points(t);
        size_t begin = 0, end = cps.size();
        while (begin < cps.size() && begin < static_cast<size_t>(start) && cps[begin] == content) ++begin;
        for (int64_t i = 0; i < stop && end > begin && cps[end - 1] == content; ++i) --end;
        t = from_code_points(cps, begin, end);
      }
      return tokens;
    };
  }
  if (type == "Sequence") {
    const json& list = array_field(spec, "decoders", w);
    std::vector<Decoder> steps;
    for (size_t i = 0; i < list.size(); ++i)
      if (auto d = make_decoder(list[i], w.at("decoders").at(i))) steps.push_back(std::move(d));
    return [steps](std::vector<std::string> tokens) {
      for (const auto& step : steps) tokens = step(std::move(tokens));
      return tokens;
    };
  }
  refuse(w, "is the decoder `" + type + "`, which is not supported (supported: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence)");
}

std::string run_decoder(const Decoder& decoder, std::vector<std::string> tokens) {
  std::string out;
  if (!decoder) {
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  for (const auto& t : decoder(std::move(tokens))) out += t;
  return out;
}

}  // namespace moekd::hf
