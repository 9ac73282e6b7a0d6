// SPDX-License-Identifier: MIT
#pragma once
// Prompt templates: how an instruction example (instruction, optional context, response) becomes
// the text a model reads. data.template names one of the built-in templates or gives a custom
// string with {instruction}, {context} and {response} slots. Plain C++17: no LibTorch, no Qt.
//
//   dolly    the Dolly / MiniLLM instruction format the paper used ("### Instruction:" ...)
//   chatml   Qwen's chat format, with its default system message; ends at <|im_end|>
//   llama3   Llama 3's header format; ends at <|eot_id|>
//   mistral  "[INST] ... [/INST]" then the response; ends at the tokenizer's eos
//   plain    the instruction, the context when there is one, a newline, the response
//
// Markup vs user text: a template's own text (e.g. "<|im_start|>user\n") is markup and is
// tokenized the way transformers tokenizes a rendered chat template, special tokens matched. The
// instruction, context and response are user text and are tokenized with no special-token
// matching: "<|im_end|>" typed in a Dolly row stays those characters and can never end a turn.
#include <cstdint>
#include <string>
#include <vector>

#include "data/tasks.h"
#include "data/tokenizer.h"

namespace moekd {

struct PromptTemplate {
  // One piece of a template: literal markup, or the slot an example's field fills.
  struct Segment {
    enum class Kind { Markup, Instruction, Context };
    Kind kind = Kind::Markup;
    std::string text;  // the markup (Kind::Markup only)
  };
  std::string name;  // "dolly", "chatml", "llama3", "mistral", "plain" or "custom"
  std::string spec;  // what data.template said
  // Before {response}, for an example with a context and for one without (custom templates use
  // one form for both: an empty context fills {context} with nothing).
  std::vector<Segment> with_context, without_context;
  // The markup after {response}: part of the targets (the model must learn to end its turn).
  std::string ending;
  // Tokens the template's markup needs as single tokens of the vocabulary ("<|im_start|>").
  std::vector<std::string> required_tokens;
};

// The names data.template accepts besides a custom string.
const std::vector<std::string>& prompt_template_names();

// A built-in name, or a custom string: anything holding "{" is read as one. A custom string has
// {instruction} once, {response} once and after every other slot, {context} at most once; "{{" and
// "}}" are literal braces. Anything else -> Error naming data.template and what is wrong.
PromptTemplate parse_prompt_template(const std::string& spec);

// The template builtin tasks and text chunks use: the instruction as it is, then the response (a
// built-in task's prompt ends in "=", a text chunk has none). Not selectable by name.
PromptTemplate verbatim_template();

// The example's prompt as parts for Tokenizer::encode_parts: markup and user text kept apart.
std::vector<TextPart> render_prompt(const PromptTemplate& t, const Example& ex);
// The same prompt as one string, for people to read (evaluation samples, the data preview).
std::string prompt_text(const PromptTemplate& t, const Example& ex);

// Refuses a tokenizer that lacks a token the template needs, naming both, so that chatml on a
// tokenizer without <|im_start|> does not silently train on "<", "|", "im", ...
void check_template_tokens(const PromptTemplate& t, const Tokenizer& tok);

// The ending's id when it is exactly one token, else -1.
int64_t ending_token(const PromptTemplate& t, const Tokenizer& tok);

// The id that ends a response: the ending when it is one token (chatml: <|im_end|>), else the
// tokenizer's eos, which tokenize_example then appends. Generation stops there.
int64_t response_stop_id(const PromptTemplate& t, const Tokenizer& tok);

}  // namespace moekd
