// SPDX-License-Identifier: MIT
#include "data/prompt_template.h"

#include <algorithm>

#include "util/error.h"

namespace moekd {
namespace {

using Segment = PromptTemplate::Segment;

bool is_blank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

struct Parsed {
  std::vector<Segment> prompt;
  std::string ending;
  bool has_context = false;
};

// Reads "...{instruction}...{context}...{response}..." into segments; `what` names the source in
// messages ("data.template" for a user's string, the built-in's name for ours).
Parsed parse_slots(const std::string& s, const std::string& what) {
  Parsed out;
  std::string literal;
  bool instruction = false, response = false;
  auto flush = [&] {
    if (!literal.empty()) out.prompt.push_back({Segment::Kind::Markup, literal});
    literal.clear();
  };
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if ((c == '{' || c == '}') && i + 1 < s.size() && s[i + 1] == c) {
      literal += c;
      ++i;
      continue;
    }
    if (c == '}') fail(what, ": a lone '}' at offset ", i, " (write \"}}\" for a literal brace)");
    if (c != '{') {
      literal += c;
      continue;
    }
    const size_t close = s.find('}', i);
    if (close == std::string::npos) fail(what, ": the '{' at offset ", i, " is never closed (write \"{{\" for a literal brace)");
    const std::string slot = s.substr(i + 1, close - i - 1);
    if (response) fail(what, ": {", slot, "} comes after {response}; the response must be the last slot");
    if (slot == "instruction" || slot == "context") {
      bool& seen = slot == "instruction" ? instruction : out.has_context;
      if (seen) fail(what, ": {", slot, "} appears twice");
      seen = true;
      flush();
      out.prompt.push_back({slot == "instruction" ? Segment::Kind::Instruction : Segment::Kind::Context, ""});
    } else if (slot == "response") {
      flush();
      response = true;
    } else {
      fail(what, ": unknown slot {", slot, "} (expected {instruction}, {context} or {response})");
    }
    i = close;
  }
  if (!instruction) fail(what, ": has no {instruction} slot");
  if (!response) fail(what, ": has no {response} slot (the text after it ends every response)");
  out.ending = literal;
  return out;
}

struct BuiltIn {
  const char* name;
  const char* with_context;
  const char* without_context;
  std::vector<std::string> required;
};

const std::vector<BuiltIn>& built_ins() {
  static const std::vector<BuiltIn> list = {
      {"dolly",
       "Below is an instruction that describes a task, paired with an input that provides further context. Write a "
       "response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### "
       "Input:\n{context}\n\n### Response:\n{response}",
       "Below is an instruction that describes a task. Write a response that appropriately completes the "
       "request.\n\n### Instruction:\n{instruction}\n\n### Response:\n{response}",
       {}},
      // Qwen2's chat template with its default system message; the turn ends at <|im_end|>.
      {"chatml",
       "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n{instruction}\n\n{context}<|im_"
       "end|>\n<|im_start|>assistant\n{response}<|im_end|>",
       "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n{instruction}<|im_end|>\n<|im_"
       "start|>assistant\n{response}<|im_end|>",
       {"<|im_start|>", "<|im_end|>"}},
      // Llama 3's: <|begin_of_text|> is the tokenizer's bos, which tokenize_example places.
      {"llama3",
       "<|start_header_id|>user<|end_header_id|>\n\n{instruction}\n\n{context}<|eot_id|><|start_header_id|>assistant<|"
       "end_header_id|>\n\n{response}<|eot_id|>",
       "<|start_header_id|>user<|end_header_id|>\n\n{instruction}<|eot_id|><|start_header_id|>assistant<|end_header_"
       "id|>\n\n{response}<|eot_id|>",
       {"<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"}},
      // Mistral's "<s>[INST] ... [/INST]answer</s>": bos and eos come from the tokenizer. [INST] is a
      // control token in newer vocabularies and plain text in v0.1's; both tokenize as transformers does.
      {"mistral", "[INST] {instruction}\n\n{context} [/INST]{response}", "[INST] {instruction} [/INST]{response}", {}},
      {"plain", "{instruction}\n{context}\n{response}", "{instruction}\n{response}", {}},
  };
  return list;
}

std::vector<TextPart> render(const std::vector<Segment>& segments, const Example& ex) {
  std::vector<TextPart> parts;
  for (const auto& s : segments) {
    switch (s.kind) {
      case Segment::Kind::Markup: parts.push_back({s.text, true}); break;
      case Segment::Kind::Instruction: parts.push_back({ex.instruction, false}); break;
      case Segment::Kind::Context: parts.push_back({ex.context, false}); break;
    }
  }
  return parts;
}

}  // namespace

const std::vector<std::string>& prompt_template_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& b : built_ins()) n.push_back(b.name);
    return n;
  }();
  return names;
}

PromptTemplate parse_prompt_template(const std::string& spec) {
  PromptTemplate t;
  t.spec = spec;
  for (const auto& b : built_ins()) {
    if (spec != b.name) continue;
    const Parsed with = parse_slots(b.with_context, b.name), without = parse_slots(b.without_context, b.name);
    t.name = b.name;
    t.with_context = with.prompt;
    t.without_context = without.prompt;
    t.ending = with.ending;
    t.required_tokens = b.required;
    return t;
  }
  if (spec.find('{') == std::string::npos) {
    std::string names;
    for (const auto& n : prompt_template_names()) names += (names.empty() ? "" : ", ") + n;
    fail("data.template: unknown template `", spec, "` (expected one of ", names,
         ", or a custom string with {instruction}, {context} and {response} slots)");
  }
  const Parsed p = parse_slots(spec, "data.template");
  t.name = "custom";
  t.with_context = t.without_context = p.prompt;
  t.ending = p.ending;
  return t;
}

PromptTemplate verbatim_template() {
  PromptTemplate t;
  t.name = t.spec = "verbatim";
  t.with_context = t.without_context = {{Segment::Kind::Instruction, ""}, {Segment::Kind::Context, ""}};
  return t;
}

std::vector<TextPart> render_prompt(const PromptTemplate& t, const Example& ex) {
  return render(is_blank(ex.context) ? t.without_context : t.with_context, ex);
}

std::string prompt_text(const PromptTemplate& t, const Example& ex) {
  std::string s;
  for (const auto& p : render_prompt(t, ex)) s += p.text;
  return s;
}

void check_template_tokens(const PromptTemplate& t, const Tokenizer& tok) {
  for (const auto& token : t.required_tokens) {
    const auto ids = tok.encode_parts({{token, true}});
    if (ids.size() != 1)
      fail("data.template `", t.name, "` needs ", token, " as one token, but the tokenizer (", tok.describe(),
           ") reads it as ", ids.size(), " tokens; choose a template of this model's family (or `dolly`)");
  }
}

int64_t ending_token(const PromptTemplate& t, const Tokenizer& tok) {
  if (t.ending.empty()) return -1;
  const auto ids = tok.encode_parts({{t.ending, true}});
  return ids.size() == 1 ? ids[0] : -1;
}

int64_t response_stop_id(const PromptTemplate& t, const Tokenizer& tok) {
  const int64_t ending = ending_token(t, tok);
  return ending >= 0 ? ending : tok.eos_id();
}

}  // namespace moekd
