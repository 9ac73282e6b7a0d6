// SPDX-License-Identifier: MIT
// moekd tokenize: what a tokenizer makes of text, as the model sees it (the tokenizer's template,
// BOS or EOS, included), and ids back to text.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "jsonl_strings.h"
#include "data/tokenizer.h"
#include "util/error.h"

namespace moekd::cli {

namespace {

using json = nlohmann::json;

// Control characters and spaces made visible in the table: "\n", "\t", "␠" for a space.
std::string visible(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c == ' ') out += "\xE2\x90\xA0";
    else if (static_cast<unsigned char>(c) < 0x20) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
      out += hex;
    } else {
      out += c;
    }
  }
  return out;
}

std::vector<int64_t> parse_ids(const std::string& text, int64_t vocab) {
  std::vector<int64_t> ids;
  std::string current;
  auto flush = [&] {
    if (current.empty()) return;
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(current, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != current.size() || v < 0 || v >= vocab)
      fail("--decode: `", current, "` is not a token id (expected whole numbers in [0, ", vocab, ") separated by spaces or commas)");
    ids.push_back(v);
    current.clear();
  };
  for (const char c : text) {
    if (c == ' ' || c == ',' || c == '\t' || c == '[' || c == ']') flush();
    else current += c;
  }
  flush();
  return ids;
}

std::string dump_line(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

void add_tokenize(CLI::App& app) {
  struct Args {
    std::string tokenizer, text, input, decode;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("tokenize", "what a tokenizer makes of text (tokenizer.json, tokenizer.model, builtin)");
  cmd->add_option("--tokenizer", a->tokenizer, "a model folder (tokenizer.json, else tokenizer.model), a tokenizer file, or builtin")
      ->required();
  auto* text = cmd->add_option("--text", a->text, "text to show token by token");
  auto* input = cmd->add_option("--input", a->input,
                                "a JSONL file of strings: one {\"ids\": [...], \"text\": ...} line out for each line in");
  text->excludes(input);
  cmd->add_option("--decode", a->decode, "token ids (separated by spaces or commas) to decode to text");
  cmd->callback([a, text, input] {
    if (!*text && !*input && a->decode.empty()) fail("tokenize: give --text, --input or --decode");
    const auto tok = load_tokenizer(a->tokenizer);
    if (*input)
      for_each_jsonl_string(a->input, "--input", [&](const std::string& s) {
        const auto ids = tok->encode_with_special_tokens(s);
        std::cout << dump_line({{"ids", ids}, {"text", tok->decode(ids)}}) << "\n";
      });
    if (*text) {
      const auto ids = tok->encode_with_special_tokens(a->text);
      std::printf("%s\n%zu tokens\n\n%8s  %8s  %s\n", tok->describe().c_str(), ids.size(), "position", "id", "token");
      for (size_t i = 0; i < ids.size(); ++i)
        std::printf("%8zu  %8lld  %s\n", i, static_cast<long long>(ids[i]), visible(tok->token_text(ids[i])).c_str());
      std::string list;
      for (const auto id : ids) list += (list.empty() ? "" : " ") + std::to_string(id);
      std::printf("\nids   %s\ntext  %s\n", list.c_str(), tok->decode(ids).c_str());
    }
    if (!a->decode.empty()) std::printf("%s\n", tok->decode(parse_ids(a->decode, tok->vocab_size())).c_str());
  });
}

}  // namespace moekd::cli
