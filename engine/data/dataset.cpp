#include "data/dataset.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "util/error.h"
#include "util/input_file.h"
#include "util/json_file.h"

namespace moekd {
namespace {

using json = nlohmann::json;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

bool is_blank(const std::string& s) { return std::all_of(s.begin(), s.end(), is_space); }

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// Opens a user's dataset file, refusing folders and unreadable paths with a message naming it.
std::ifstream open_dataset(const std::string& path, const char* what) {
  expect_file(path, what);  // not a folder, a FIFO or a device (/dev/zero would stream forever)
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(what, " '", path, "' cannot be opened for reading");
  return in;
}

void check_fractions(const std::string& path, double validation_fraction, double test_fraction) {
  auto valid = [](double f) { return std::isfinite(f) && f >= 0.0 && f < 1.0; };
  if (!valid(validation_fraction) || !valid(test_fraction) || validation_fraction + test_fraction >= 1.0)
    fail(path, ": split fractions must lie in [0, 1) and sum below 1 (validation ", validation_fraction,
         ", test ", test_fraction, ")");
}

// Seeded portable shuffle, then test, validation and the rest train; train keeps at least one.
void split_into(Dataset& d, std::vector<Example> all, double validation_fraction, double test_fraction,
                uint64_t seed) {
  std::mt19937_64 rng(mix_seed(seed, 0));
  portable_shuffle(all, rng);
  const int64_t n = static_cast<int64_t>(all.size());
  int64_t n_test = std::llround(static_cast<double>(n) * test_fraction);
  int64_t n_val = std::llround(static_cast<double>(n) * validation_fraction);
  while (n_test + n_val > n - 1 && n_test > 0) --n_test;
  while (n_test + n_val > n - 1 && n_val > 0) --n_val;
  auto begin = std::make_move_iterator(all.begin());
  d.test.assign(begin, begin + n_test);
  d.validation.assign(begin + n_test, begin + n_test + n_val);
  d.train.assign(begin + n_test + n_val, std::make_move_iterator(all.end()));

  std::set<std::string> cats;
  for (const auto* split : {&d.train, &d.validation, &d.test})
    for (const auto& ex : *split) cats.insert(ex.category);
  d.categories.assign(cats.begin(), cats.end());
}

// "a number", "an array": for messages about a JSON value of the wrong type.
std::string a_type(const json& v) {
  const std::string t = v.type_name();
  return (t == "array" || t == "object" ? "an " : "a ") + t;
}

// Why a JSONL row is not usable, or "" when it is. Fills `ex` on success.
std::string parse_dolly_row(const std::string& line, Example& ex) {
  if (json_depth(line) < 0) return "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
  const json row = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (row.is_discarded()) return "not valid JSON";
  if (!row.is_object()) return "expected a JSON object, not " + a_type(row);

  auto required = [&](const char* key, std::string& out) -> std::string {
    const auto it = row.find(key);
    if (it == row.end()) return std::string("\"") + key + "\" is missing";
    if (!it->is_string()) return std::string("\"") + key + "\" must be a string, not " + a_type(*it);
    out = it->get<std::string>();
    if (is_blank(out)) return std::string("\"") + key + "\" is empty";
    return "";
  };
  auto optional = [&](const char* key, std::string& out) -> std::string {
    const auto it = row.find(key);
    if (it == row.end() || it->is_null()) return "";
    if (!it->is_string()) return std::string("\"") + key + "\" must be a string or null, not " + a_type(*it);
    out = it->get<std::string>();
    return "";
  };

  std::string instruction, response, context, category;
  for (const std::string& why : {required("instruction", instruction), required("response", response),
                                 optional("context", context), optional("category", category)})
    if (!why.empty()) return why;
  ex.instruction = instruction;
  ex.context = is_blank(context) ? "" : context;
  ex.response = response;
  ex.category = is_blank(category) ? "general" : category;
  return "";
}

}  // namespace

Dataset load_dolly_jsonl(const std::string& path, double validation_fraction, double test_fraction,
                         uint64_t seed) {
  check_fractions(path, validation_fraction, test_fraction);
  std::ifstream in = open_dataset(path, "dataset");

  std::vector<Example> rows;
  std::vector<std::pair<int64_t, std::string>> bad;  // line number, reason
  std::string line;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    if (line_no == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // UTF-8 BOM
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (is_blank(line)) continue;
    Example ex;
    std::string why = parse_dolly_row(line, ex);
    if (why.empty())
      rows.push_back(std::move(ex));
    else
      bad.emplace_back(line_no, std::move(why));
  }
  if (in.bad()) fail("dataset '", path, "': read error");

  Dataset d;
  d.source = path;
  d.skipped_rows = static_cast<int64_t>(bad.size());
  if (!bad.empty()) {
    std::ostringstream w;
    w << path << ": skipped " << bad.size() << " malformed row" << (bad.size() == 1 ? "" : "s") << ": ";
    const size_t shown = std::min<size_t>(bad.size(), 10);
    for (size_t i = 0; i < shown; ++i)
      w << (i ? ", " : "") << "line " << bad[i].first << " (" << bad[i].second << ")";
    if (bad.size() > shown) w << ", and " << bad.size() - shown << " more";
    d.warnings.push_back(w.str());
  }
  if (rows.empty()) {
    if (bad.empty())
      fail("dataset '", path, "' has no rows (expected JSON lines with \"instruction\" and \"response\")");
    fail("dataset '", path, "' has no usable rows: all ", bad.size(), " are malformed; line ",
         bad.front().first, ": ", bad.front().second,
         " (expected JSON objects with string \"instruction\" and \"response\")");
  }
  split_into(d, std::move(rows), validation_fraction, test_fraction, seed);
  return d;
}

Dataset load_text(const std::string& path, int64_t chunk_chars, double validation_fraction, uint64_t seed) {
  check_fractions(path, validation_fraction, 0.0);
  if (chunk_chars < 1) fail(path, ": chunk size must be at least 1 character, got ", chunk_chars);
  std::ifstream in = open_dataset(path, "text file");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail("text file '", path, "': read error");

  std::vector<Example> chunks;
  const size_t n = text.size(), limit = static_cast<size_t>(chunk_chars);
  size_t pos = 0;
  while (pos < n) {
    while (pos < n && is_space(text[pos])) ++pos;
    if (pos >= n) break;
    size_t end = n;
    if (n - pos > limit) {
      // The last whitespace within the limit; a chunk may end exactly at the limit.
      end = pos + limit;
      while (end > pos && !is_space(text[end])) --end;
      if (end == pos) {
        // No whitespace: hard cut, but not inside a UTF-8 sequence (continuation bytes 10xxxxxx).
        end = pos + limit;
        while (end > pos + 1 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
      }
    }
    std::string chunk = trim(text.substr(pos, end - pos));
    if (!chunk.empty()) chunks.push_back({"", std::move(chunk), "text", ""});
    pos = end;
  }
  if (chunks.empty()) fail("text file '", path, "' is empty (expected plain text to train on)");

  Dataset d;
  d.source = path;
  split_into(d, std::move(chunks), validation_fraction, 0.0, seed);
  return d;
}

TokenizedExample tokenize_example(const Tokenizer& tok, const PromptTemplate& templ, const Example& ex,
                                  int64_t max_len, int64_t category_index) {
  if (max_len < 2) fail("tokenize_example: max_len must be at least 2 (bos and one target), got ", max_len);
  std::vector<TextPart> parts = render_prompt(templ, ex);
  const std::vector<int64_t> prompt = tok.encode_parts(parts);
  parts.push_back({ex.response, false});
  parts.push_back({templ.ending, true});
  const std::vector<int64_t> full = tok.encode_parts(parts);
  size_t common = 0;
  while (common < prompt.size() && common < full.size() && prompt[common] == full[common]) ++common;

  // A one-token ending (chatml's <|im_end|>) is the stop token itself; otherwise eos follows.
  const bool has_bos = tok.bos_id() >= 0;
  const bool has_eos = tok.eos_id() >= 0 && ending_token(templ, tok) < 0;
  const size_t budget = static_cast<size_t>(max_len) - (has_bos ? 1 : 0);
  size_t prompt_begin = 0, prompt_len = common, response_len = full.size() - common;
  bool keep_eos = has_eos;
  const size_t need = prompt_len + response_len + (has_eos ? 1 : 0);
  if (need > budget) {
    const size_t drop = std::min(need - budget, prompt_len);  // the prompt's start goes first
    prompt_begin += drop;
    prompt_len -= drop;
    if (prompt_len + response_len + (has_eos ? 1 : 0) > budget) {
      keep_eos = false;  // the answer is cut: it must not end in eos
      response_len = std::min(response_len, budget - prompt_len);
    }
  }

  TokenizedExample out;
  out.category = category_index;
  if (has_bos) out.ids.push_back(tok.bos_id());
  out.ids.insert(out.ids.end(), full.begin() + static_cast<std::ptrdiff_t>(prompt_begin),
                 full.begin() + static_cast<std::ptrdiff_t>(common));
  out.response_start = static_cast<int64_t>(out.ids.size());
  out.ids.insert(out.ids.end(), full.begin() + static_cast<std::ptrdiff_t>(common),
                 full.begin() + static_cast<std::ptrdiff_t>(common + response_len));
  if (keep_eos) out.ids.push_back(tok.eos_id());
  out.loss_mask.assign(out.ids.size(), 0);
  for (size_t i = static_cast<size_t>(std::max<int64_t>(out.response_start, 1)); i < out.ids.size(); ++i)
    out.loss_mask[i] = 1;
  return out;
}

}  // namespace moekd
