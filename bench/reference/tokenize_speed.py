"""The `tokenizers` library's encoding speed on the file `moekd bench tokenize` reads (a JSONL
file of strings), one thread, the same count: Tokenizer.encode(s, add_special_tokens=True).

    RAYON_NUM_THREADS=1 /work/venv-tok/bin/python bench/reference/tokenize_speed.py TOKENIZER_JSON STRINGS.jsonl
"""
import json
import sys
import time

from tokenizers import Tokenizer


def main():
    tok = Tokenizer.from_file(sys.argv[1])
    texts = [json.loads(line) for line in open(sys.argv[2], encoding="utf-8") if line.strip()]
    size = sum(len(t.encode("utf-8")) for t in texts)
    tokens = passes = 0
    start = time.perf_counter()
    while time.perf_counter() - start < 2.0:
        for t in texts:
            tokens += len(tok.encode(t, add_special_tokens=True).ids)
        passes += 1
    elapsed = time.perf_counter() - start
    print(f"tokenizers {sys.argv[1]}: encode {size * passes / elapsed / 1e6:.2f} MB/s, {tokens / elapsed:.0f} tokens/s")
    # encode_batch: one call for all strings, less Python per string (RAYON_NUM_THREADS=1: one thread).
    passes = 0
    start = time.perf_counter()
    while time.perf_counter() - start < 2.0:
        tok.encode_batch(texts, add_special_tokens=True)
        passes += 1
    elapsed = time.perf_counter() - start
    print(f"  encode_batch {size * passes / elapsed / 1e6:.2f} MB/s")


if __name__ == "__main__":
    main()
