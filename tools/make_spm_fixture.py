"""Writes tests/data/spm/tiny.model (a Llama-style BPE SentencePiece model with byte fallback) and
tests/data/spm/expected.json (texts with the ids the Python `sentencepiece` package gives them).

The C++ suite loads the model through libmoekd_spm inside a process that also runs LibTorch and
must reproduce these ids exactly.

    python3 -m venv /work/venv-tools && /work/venv-tools/bin/pip install sentencepiece==0.2.3
    /work/venv-tools/bin/python tools/make_spm_fixture.py
"""
import io
import json
import pathlib
import random

import sentencepiece as spm

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "spm"
WORDS = ("the teacher routes every token to two experts while the student learns from all of them "
         "mixture of experts knowledge distillation router weights sampled without replacement").split()


def corpus():
    rng = random.Random(7)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))) for _ in range(800)]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus()), model_writer=model, vocab_size=320, model_type="bpe",
        byte_fallback=True, unk_id=0, bos_id=1, eos_id=2, pad_id=-1, character_coverage=1.0,
        num_threads=1, minloglevel=2, normalization_rule_name="identity")
    (OUT / "tiny.model").write_bytes(model.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    texts = ["the teacher routes every token", "Experts: 64, top-k = 6!", "naïve café ☕", "",
             "  two  spaces\tand a tab\nnew line", "distillation"]
    cases = [{"text": t, "ids": sp.encode(t), "decoded": sp.decode(sp.encode(t))} for t in texts]
    meta = {"vocab_size": sp.get_piece_size(), "bos_id": sp.bos_id(), "eos_id": sp.eos_id(),
            "pad_id": sp.pad_id(), "unk_id": sp.unk_id(), "sentencepiece_version": spm.__version__}
    (OUT / "expected.json").write_text(json.dumps({"model": meta, "cases": cases}, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
