#pragma once
// Datasets from user files (Dolly-style instruction JSONL, plain text) and the step from one
// example to token ids with a loss mask. Plain C++17: no LibTorch, no Qt. The files are untrusted:
// malformed rows are skipped and reported by line number, never a crash.
#include <cstdint>
#include <string>
#include <vector>

#include "data/prompt_template.h"
#include "data/tasks.h"
#include "data/tokenizer.h"

namespace moekd {

// Dolly-format JSONL: one object per line with "instruction" and "response" (non-empty strings),
// optional "context" (string or null; empty or all-whitespace -> none: templates then use their
// form without an input section) and optional "category" (string or null; missing, null or
// empty -> "general"). The fields are kept as they are; data.template renders them later.
//
// Rows that are not JSON, not an object, lack a string instruction or response, have an
// all-whitespace instruction or response, or carry a context/category of another type are
// skipped and counted in skipped_rows; warnings gets one line naming the file, the count and the
// first 10 line numbers (1-based) with their reasons. Blank lines (only whitespace, e.g. the usual
// trailing newline) are not rows: skipped silently and not counted. A UTF-8 BOM and CRLF line
// endings are accepted. No usable row, or a file that cannot be read -> Error naming the file.
//
// Splits: a seeded portable shuffle, then round(n * test_fraction) test and
// round(n * validation_fraction) validation examples, the rest train; train keeps at least one
// example (test, then validation give way). Fractions must lie in [0, 1) and sum below 1.
Dataset load_dolly_jsonl(const std::string& path, double validation_fraction, double test_fraction,
                         uint64_t seed);

// Plain text for LM-style training: chunks of about chunk_chars bytes, cut at whitespace (a chunk
// ends at the last whitespace before the limit, or, in a run without whitespace, at the limit
// itself but never inside a UTF-8 sequence) and trimmed. Each chunk is one Example with an empty
// instruction, the chunk as response, category "text". Chunks are split into train and validation by
// a seeded shuffle (test stays empty). Empty or all-whitespace file -> Error naming the file.
Dataset load_text(const std::string& path, int64_t chunk_chars, double validation_fraction, uint64_t seed);

// One example as token ids: [bos] prompt response ending [eos], the prompt and ending rendered by
// the template (data/prompt_template.h: markup matched to special tokens, user text never).
//
// loss_mask[i] == 1 means token i is a target: the logits at position i-1 predict token i. It is
// 1 exactly on the response tokens, the ending's and the eos, 0 on bos and the prompt, and always
// 0 at i == 0 (nothing predicts the first token). response_start is the index of the first
// response token (== ids.size() - 1 for an empty response and no ending: only the eos is a target).
// The eos is appended unless the ending is one token (chatml's <|im_end|>): that token then ends
// the response (response_stop_id).
//
// The text is encoded as prompt alone and prompt + response + ending together; the response
// tokens are the joint encoding after its longest common prefix with the prompt's. This is how the
// model will see the text at generation time (SentencePiece tokenizes "…Response:\nThe"
// differently from "The" alone), and a token that straddles the boundary counts as response.
//
// Truncation to max_len (>= 2) first drops prompt tokens from the left (the end of the prompt,
// next to the answer, matters most); if the sequence is still too long, the response is cut at
// the right and the ending and eos are dropped (a cut answer must not teach the model to stop
// there). A tokenizer without bos (bos_id < 0, e.g. Qwen2's) or eos (eos_id < 0) gets none.
// category is copied from category_index.
struct TokenizedExample {
  std::vector<int64_t> ids;
  std::vector<uint8_t> loss_mask;
  int64_t response_start = 0;
  int64_t category = 0;
};
TokenizedExample tokenize_example(const Tokenizer& tok, const PromptTemplate& templ, const Example& ex,
                                  int64_t max_len, int64_t category_index);

}  // namespace moekd
