"""Writes tests/data/tokenizers/: small tokenizer.json files trained with the Hugging Face
`tokenizers` library, one per pipeline our C++ reader supports, and strings.json with the ids and
texts that library gives each string. The C++ suite must reproduce them id for id, byte for byte.

    python3 -m venv /work/venv-tok && /work/venv-tok/bin/pip install -r tools/requirements-tokenizers.txt
    /work/venv-tok/bin/python tools/make_tokenizer_fixtures.py

Each tokenizer is trained on a generated corpus (no downloads) so that merges exist for every
script the strings use. The library's trainer is not deterministic for every pipeline (pieces and
digits come out with other merges from run to run), so a regeneration may change those two; the
strings and the other five stay the same, and the C++ suite must match whatever was generated. For every tokenizer and string, expected holds:
  ids      tok.encode(s, add_special_tokens=True).ids          (special-token markup matched)
  text     tok.decode(ids, skip_special_tokens=True)
  all      tok.decode(ids, skip_special_tokens=False), when it differs from text
  plain    the ids with encode_special_tokens=True and add_special_tokens=False: markup in the
           text stays text (what training data must get); when it differs from ids
"""
import json
import pathlib
import random

import tokenizers
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "tokenizers"
# Small versions of each pipeline (few merges) seed the tokenizer_json fuzz target.
CORPUS = ROOT / "tests" / "fuzz" / "corpus" / "tokenizer_json"

QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# Pieces of text in many scripts, shapes and whitespace; strings are drawn from them.
WORDS = {
    "latin": "the teacher routes every token to two experts while the student learns from all of them "
             "Mixture Of EXPERTS knowledge distillation naïve café façade Ångström señor über straße "
             "I'm you're we've they'll she'd it's DON'T I'M WE'VE O'Neill rock'n'roll".split(),
    "greek": "Καλημέρα κόσμε η γνώση των ειδικών μοντέλο".split(),
    "cyrillic": "Привет мир знания экспертов модель ученик учитель Ёлка".split(),
    "arabic": "مرحبا بالعالم المعرفة نموذج الخبراء".split(),
    "hebrew": "שלום עולם מודל מומחים".split(),
    "devanagari": "नमस्ते दुनिया ज्ञान विशेषज्ञ मॉडल".split(),
    "thai": "สวัสดีชาวโลก ความรู้ ผู้เชี่ยวชาญ".split(),
    "cjk": "你好世界 知识蒸馏 混合专家模型 学生 教师 路由器".split(),
    "japanese": "こんにちは世界 カタカナ ひらがな 蒸留 エキスパート".split(),
    "hangul": "안녕하세요 세계 지식 증류 전문가".split(),
    "emoji": ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇩🇪", "🧑🏿‍💻", "✨", "🤖"],
    "combining": ["e\u0301", "a\u0308", "n\u0303o", "A\u030a", "\u1e9b\u0323", "ﬁ", "Ⅻ", "①", "ｆｕｌｌ", "ℌ", "x\u0327\u0301"],
    "code": ["def f(x):", "return x**2", "for (int i = 0; i < n; ++i) {", "}", "std::vector<int64_t>",
             "x = {\"a\": [1, 2]}", "#include <torch/torch.h>", "a != b && c >= d", "print('hi')", "// TODO"],
    "digits": ["0", "7", "42", "2026", "3.14159", "1,000,000", "١٢٣", "٣٤", "९८", "1e-5", "0x1F"],
    "markup": ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<s>", "</s>", "<unk>", "<|begin_of_text|>",
               "<|eot_id|>", "<|start_header_id|>", "[INST]", "<tool>", "<|im_start", "im_end|>"],
}
SPACES = [" ", " ", " ", "  ", "   ", "\t", "\n", "\r\n", "\n\n", " \n ", "\u00a0", "\u3000", "\u2009", "\u180e", "\u200b", ""]


def make_string(rng):
    kind = rng.random()
    if kind < 0.04:
        return rng.choice(["", " ", "  ", "\n", "\r\n", "\t\t", " \u00a0 ", "a", "\u200d", "<s>"])
    parts = []
    for _ in range(rng.randint(1, 12)):
        group = rng.choice(list(WORDS))
        parts.append(rng.choice(WORDS[group]))
        parts.append(rng.choice(SPACES))
    s = "".join(parts)
    if rng.random() < 0.15:
        s = rng.choice(SPACES) + s
    if rng.random() < 0.1:
        s = s.upper() if rng.random() < 0.5 else s.title()
    return s


def corpus(seed, n):
    rng = random.Random(seed)
    return [make_string(rng) for _ in range(n)]


def trainer(vocab, special, **kw):
    return trainers.BpeTrainer(vocab_size=vocab, special_tokens=special, show_progress=False, **kw)


def byte_level_trainer(vocab, special):
    return trainer(vocab, special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())


def qwen2():
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    return tok, byte_level_trainer(900, special), []


def llama3():
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    special = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
                                      special_tokens=[("<|begin_of_text|>", 0)])])
    return tok, byte_level_trainer(900, special), [tokenizers.AddedToken("<tool>", special=False, normalized=False)]


def gpt2():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    return tok, byte_level_trainer(700, ["<|endoftext|>"]), []


def llama2():
    """SentencePiece-style BPE as transformers converts Llama 2's tokenizer.model (legacy)."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(content=" ", left=1, right=0)])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", 1)])
    bytes_ = [f"<0x{b:02X}>" for b in range(256)]
    return tok, trainer(900, ["<unk>", "<s>", "</s>"] + bytes_, limit_alphabet=120), []


def mistral():
    """SentencePiece-style BPE as newer conversions write it: Metaspace, prepend_scheme first."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    tok.decoder = decoders.Sequence([decoders.Metaspace(replacement="▁", prepend_scheme="first", split=False),
                                     decoders.ByteFallback(), decoders.Fuse()])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> $B:1 </s>:1",
                                                       special_tokens=[("<s>", 1), ("</s>", 2)])
    bytes_ = [f"<0x{b:02X}>" for b in range(256)]
    extra = [tokenizers.AddedToken("[INST]", special=True, normalized=False),
             tokenizers.AddedToken("[/INST]", special=True, normalized=False)]
    return tok, trainer(800, ["<unk>", "<s>", "</s>"] + bytes_, limit_alphabet=100), extra


def pieces():
    """Every remaining component: NFKC, regex Replace, Digits, Metaspace with split, each Split
    behaviour, an unknown token without fusing, a continuing-subword prefix, added tokens with
    lstrip, rstrip and single_word, and the Strip decoder."""
    tok = Tokenizer(models.BPE(unk_token="[UNK]", fuse_unk=False, continuing_subword_prefix="##"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(r"[ \t]{2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\p{P}"), behavior="merged_with_previous"),
        pre_tokenizers.Split("=", behavior="merged_with_next"),
        pre_tokenizers.Split(Regex(r"[<>]"), behavior="contiguous"),
        pre_tokenizers.Split("|", behavior="removed"),
        pre_tokenizers.Split(Regex(r"[a-z]+"), behavior="isolated", invert=True),
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)])
    # Strip with right > 0 panics inside the library on an empty token (tokenizers 0.23.3), so the
    # fixtures strip on the left only.
    tok.decoder = decoders.Sequence([decoders.Replace("##", ""), decoders.Metaspace(replacement="▁", prepend_scheme="always"),
                                     decoders.Strip(content="▁", left=2, right=0)])
    extra = [tokenizers.AddedToken("<tool>", special=False, lstrip=True, rstrip=True, normalized=False),
             tokenizers.AddedToken("ｆｕｌｌ", special=False, normalized=True),
             tokenizers.AddedToken("cat", special=False, single_word=True, normalized=False)]
    return tok, trainer(600, ["[UNK]", "<|im_start|>"], limit_alphabet=60), extra


def digits_contiguous():
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=False),
                                                 pre_tokenizers.Metaspace(prepend_scheme="never", split=True)])
    tok.decoder = decoders.Metaspace(prepend_scheme="never")
    return tok, trainer(500, ["<unk>", "</s>"], limit_alphabet=80), []


BUILDERS = {"qwen2": qwen2, "llama3": llama3, "gpt2": gpt2, "llama2": llama2, "mistral": mistral,
            "pieces": pieces, "digits": digits_contiguous}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    train = corpus(11, 4000)
    strings = corpus(29, 1100)
    # Whole-markup strings and chat turns, as instructions in training data might hold them.
    strings += ["<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", "<s>[INST] hello [/INST]",
                "a<tool>b", "a <tool> b", "cat concat cat. cats", "  <tool>  ", "<|begin_of_text|><|eot_id|>",
                "x\r\ny\r\n\r\n", "\n\n\n", "   leading", "trailing   ", "tab\tsep\tvalues", "ＡＢＣ１２３",
                "ﬁnancial ﬂow", "I'M SURE YOU'LL", "’s curly", "\ufeffbom", "\u0000nul", "\x7fdel"]
    expected = {}
    for name, build in BUILDERS.items():
        tok, tr, extra = build()
        tok.train_from_iterator(train, tr)
        if extra:
            tok.add_tokens([t for t in extra if not t.special])
            tok.add_special_tokens([t for t in extra if t.special])
        folder = OUT / name
        folder.mkdir(exist_ok=True)
        tok.save(str(folder / "tokenizer.json"), pretty=True)
        rows = []
        for s in strings:
            tok.encode_special_tokens = False
            ids = tok.encode(s, add_special_tokens=True).ids
            tok.encode_special_tokens = True
            plain = tok.encode(s, add_special_tokens=False).ids
            tok.encode_special_tokens = False
            row = {"ids": ids, "text": tok.decode(ids, skip_special_tokens=True)}
            everything = tok.decode(ids, skip_special_tokens=False)
            if everything != row["text"]:
                row["all"] = everything
            if plain != ids:
                row["plain"] = plain
            rows.append(row)
        expected[name] = rows
        print(f"{name}: vocab {tok.get_vocab_size()}, {sum(len(r['ids']) for r in rows)} ids")
    CORPUS.mkdir(parents=True, exist_ok=True)
    for name, build in BUILDERS.items():
        tok, tr, extra = build()
        tok.train_from_iterator(train[:300], tr)
        if extra:
            tok.add_tokens([t for t in extra if not t.special])
            tok.add_special_tokens([t for t in extra if t.special])
        j = json.loads(tok.to_str())
        j["model"]["merges"] = j["model"]["merges"][:40]  # a seed, not a model: keep it small
        (CORPUS / f"{name}.json").write_text(json.dumps(j, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    out = {"tokenizers_version": tokenizers.__version__, "strings": strings, "expected": expected}
    (OUT / "strings.json").write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{len(strings)} strings")


if __name__ == "__main__":
    main()
