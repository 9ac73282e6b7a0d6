#!/usr/bin/env python3
"""Generate reference ROUGE-L scores for the C++ scorer (engine/eval/rouge.cpp).

Writes ``tests/data/rouge/pairs.jsonl`` (relative to the repository root): one JSON object per
line, ``{"reference", "prediction", "precision", "recall", "fmeasure"}``, where the three numbers
are what the Python ``rouge-score`` package computes for

    rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True).score(reference, prediction)["rougeL"]

(``reference`` is rouge-score's *target*), written with ``json.dumps`` so every double round-trips
exactly. The pairs are fixed lists plus a ``random.Random`` with a fixed seed, so the output is
identical on every run with the pinned package versions.

Set up (once; the venv lives outside the repository)::

    python3 -m venv /work/venv-rouge
    /work/venv-rouge/bin/pip install -r tools/requirements-rouge.txt

Run (from the repository root)::

    /work/venv-rouge/bin/python tools/make_rouge_fixtures.py

Options: ``--out FILE`` to write somewhere else.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys

from rouge_score import rouge_scorer

SEED = 20240611

# ----------------------------------------------------------------------------------------------
# Hand-written pairs, grouped by what they exercise.
# ----------------------------------------------------------------------------------------------

PUNCTUATION = [
    ("Hello, world!", "hello world"),
    ("Hello... world?!", "Hello; world:"),
    ("(a) [b] {c} <d>", "a b c d"),
    ("The answer is: 42.", "the answer is 42"),
    ("e.g. i.e. etc.", "eg ie etc"),
    ("x+y=z; x*y=w", "x y z x y w"),
    ("#hashtag @mention $100 %50 ^caret &amp", "hashtag mention 100 50 caret amp"),
    ("under_score and back\\slash / forward", "under score and back slash forward"),
    ("\"quoted\" 'single' `tick`", "quoted single tick"),
    ("!!!", "???"),
    ("...", "hello"),
    ("end.", "end"),
    ("a--b__c..d", "a b c d"),
    ("well-known, well-tested; well-loved.", "well known well tested well loved"),
    ("Step 1: open the file. Step 2: read it.", "step 1 open the file step 2 read it"),
]

NUMBERS = [
    ("There are 3 apples and 12 oranges.", "There are three apples and twelve oranges."),
    ("The year 2024 was followed by 2025.", "2024 then 2025"),
    ("Pi is about 3.14159", "pi is about 3 14159"),
    ("1,000,000 people", "1000000 people"),
    ("Call 555-1234 now", "call 555 1234 now"),
    ("Version 2.0.1 released", "version 2 0 1 released"),
    ("10 20 30 40 50", "50 40 30 20 10"),
    ("0", "0"),
    ("007", "7"),
    ("-5 degrees", "5 degrees"),
]

CASE = [
    ("The Quick Brown Fox", "the quick brown fox"),
    ("THE QUICK BROWN FOX", "the quick brown fox"),
    ("NASA Launched ROCKETS", "nasa launched rockets"),
    ("iPhone and MacBook", "IPHONE AND MACBOOK"),
    ("CamelCaseWord", "camelcaseword"),
    ("Running RUNNING running", "run runs RUN"),
]

STEMMING = [
    # plurals
    ("cats dogs horses", "cat dog horse"),
    ("caresses ponies ties", "caress pony tie"),
    ("buses glasses classes", "bus glass class"),
    ("flies cries tries", "fly cry try"),
    ("dies lies ties", "die lie tie"),
    ("boxes foxes wishes", "box fox wish"),
    # -ing / -ed
    ("running jumping swimming", "run jump swim"),
    ("hopping hoped hoping", "hop hope hopped"),
    ("motoring plastered agreed", "motor plaster agree"),
    ("feed bled sing", "fe bl sing"),
    ("conflated troubled sized", "conflate trouble size"),
    ("falling hissing fizzed", "fall hiss fizz"),
    ("failing filing", "fail file"),
    ("spied died cried", "spy die cry"),
    ("tanned tanning tan", "tan"),
    # step 2 suffixes
    ("relational conditional rational", "relate condition ration"),
    ("valenci hesitanci digitizer", "valence hesitance digitize"),
    ("conformabli radicalli differentli", "conformable radical different"),
    ("vileli analogousli", "vile analogous"),
    ("vietnamization organization realization", "vietnamize organize realize"),
    ("predication operator feudalism", "predicate operate feudal"),
    ("decisiveness hopefulness callousness", "decisive hopeful callous"),
    ("formaliti sensitiviti sensibiliti", "formal sensitive sensible"),
    ("fruitfulli geologi archaeologi", "fruitful geology archaeology"),
    ("internationally additionally", "international addition"),
    ("nationalization rationalization", "nation rational"),
    # step 3 / 4 / 5
    ("triplicate formative formalize", "triplic form formal"),
    ("electriciti electrical hopeful goodness", "electric electric hope good"),
    ("revival allowance inference airliner", "reviv allow infer airlin"),
    ("gyroscopic adjustable defensible irritant", "gyroscop adjust defens irrit"),
    ("replacement adjustment dependent adoption", "replac adjust depend adopt"),
    ("homologou communism activate angulariti", "homolog commun activ angular"),
    ("homologous effective bowdlerize", "homolog effect bowdler"),
    ("probate rate cease", "probat rate ceas"),
    ("controlling rolling controlled", "control roll control"),
    ("generalization generalizations generalize", "general generally generality"),
    # -ly and y -> i
    ("quickly happily easily", "quick happy easy"),
    ("happy happiness happier", "happi happily"),
    ("enjoy enjoyed enjoying enjoyment", "enjoy enjoys"),
    ("sky skies skying", "sky"),
    ("spy spying", "spies"),
    ("played playing player plays", "play"),
    # double consonants
    ("stopped stopping stops", "stop"),
    ("planned planning plans", "plan"),
    ("fitted fitting fits", "fit"),
    ("filled filling fills", "fill"),
    ("buzzing buzzed", "buzz"),
    # irregular forms in nltk's table
    ("dying lying tying", "die lie tie"),
    ("news innings outings cannings", "new inning outing canning"),
    ("howe proceed exceed succeed", "how proceeding exceeding succeeding"),
    ("proceeds exceeds succeeds", "proceed exceed succeed"),
    # short words are never stemmed (length <= 3)
    ("was has bus yes", "wa ha bu ye"),
    ("ies ied ing eed", "i ie in ee"),
    ("ran run runs", "ran run run"),
    ("its it's it is", "it it s it i"),
    ("ops ups abs", "op up ab"),
    ("this thus plus", "thi thu plu"),
    # assorted real words
    ("The generously distributed organizational guidelines were carefully reviewed",
     "Generous distribution of organization guidelines was careful review"),
    ("universities universal universe", "university universally"),
    ("abilities ability able", "ably enable"),
    ("connection connections connective connected connecting", "connect"),
    ("argue argued argues arguing argus", "argu"),
]

EMPTY_AND_WHITESPACE = [
    ("", ""),
    ("", "something"),
    ("something", ""),
    ("   ", "   "),
    ("\t\n", "word"),
    ("word", " \t \n "),
    ("  word  ", "word"),
    ("word\n", "\tword"),
    ("line one\nline two", "line one line two"),
    ("a\r\nb", "a b"),
    ("...", "..."),
    ("!!!", ""),
    ("", "?!"),
    ("\u00a0", "\u00a0"),
]

REPEATED = [
    ("the the the the", "the"),
    ("the", "the the the the"),
    ("a a a b b b", "b b b a a a"),
    ("yes no yes no yes no", "yes yes yes no no no"),
    ("buffalo buffalo buffalo buffalo buffalo buffalo buffalo buffalo",
     "Buffalo buffalo Buffalo buffalo buffalo buffalo Buffalo buffalo"),
    ("go go go", "go stop go stop go"),
    ("running runs ran run runner", "run run run run run"),
]

LONG = [
    (
        "In the beginning of the project the team gathered all of the requirements from the "
        "stakeholders and then carefully designed a modular architecture that separated the "
        "training engine from the user interface so that each part could be tested on its own "
        "and replaced without touching the other",
        "At the start of the project the team collected the requirements from stakeholders and "
        "designed a modular architecture separating the training engine from the interface so "
        "that each component could be tested independently and swapped without changing the rest",
    ),
    (
        "Knowledge distillation trains a smaller student model to imitate the output "
        "distribution of a larger teacher model by minimising the divergence between their "
        "token probabilities while also fitting the ground truth labels with a standard cross "
        "entropy loss weighted by a mixing coefficient that is tuned on a validation set",
        "Knowledge distillation trains a small student to imitate a large teacher by minimizing "
        "the divergence between token probabilities and also fitting labels with cross entropy",
    ),
    (
        "mixture of experts models route every token to a small number of expert feed forward "
        "networks chosen by a learned router and the auxiliary load balancing loss encourages "
        "the router to spread tokens evenly across experts so that no expert is overloaded or "
        "starved during training and inference",
        "mixture of experts models route each token to a few expert networks chosen by a router "
        "and a load balancing loss spreads the tokens evenly across the experts during training",
    ),
    (
        " ".join(["word%d" % i for i in range(60)]),
        " ".join(["word%d" % i for i in range(0, 60, 2)]),
    ),
    (
        " ".join(["alpha beta gamma delta epsilon"] * 10),
        " ".join(["delta epsilon alpha beta gamma"] * 9),
    ),
]

DIGITS_AND_ALNUM = [
    ("123", "123"),
    ("123 456 789", "789 456 123"),
    ("31415926535", "3141592653"),
    ("2024", "2025"),
    ("abc123", "abc123"),
    ("abc123", "abc 123"),
    ("abc123s def456ing", "abc123 def456"),
    ("gpt4 llama3 qwen2 mixtral8x7b", "GPT4 Llama3 Qwen2 Mixtral8x7B"),
    ("x86_64 arm64 riscv64", "x86 64 arm64 riscv64"),
    ("covid19 pandemics", "COVID-19 pandemic"),
    ("h2o co2 o2", "H2O CO2 O2"),
    ("1st 2nd 3rd 4th 21st", "1 st 2 nd 3 rd 4 th 21 st"),
    ("v1 v2 v10 v100", "v100 v10 v2 v1"),
    ("test1ing test2ed", "test1 test2"),
]

HYPHENS_APOSTROPHES = [
    ("state-of-the-art", "state of the art"),
    ("well-being", "wellbeing"),
    ("mother-in-law's house", "mother in law s house"),
    ("self-driving cars", "self driving car"),
    ("e-mail re-use co-operate", "email reuse cooperate"),
    ("don't won't can't", "do not will not cannot"),
    ("it's John's book", "its johns book"),
    ("rock 'n' roll", "rock n roll"),
    ("the students' results", "the student s result"),
    ("o'clock O'Reilly", "o clock oreilly"),
    ("we'll we're we've", "we ll we re we ve"),
    ("don\u2019t stop", "don't stop"),
    ("long\u2014dash and en\u2013dash", "long dash and en dash"),
]

NON_ASCII = [
    ("café", "cafe"),
    ("café", "caf"),
    ("naïve approach", "naive approach"),
    ("naïve", "na ve"),
    ("résumé", "resume"),
    ("Zürich Straße", "zurich strasse"),
    ("ÉCOLE", "école"),
    ("İstanbul", "istanbul"),
    ("İstanbul", "i stanbul"),
    ("\u212aelvin scale", "kelvin scale"),
    ("\u212a", "k"),
    ("Ωmega \u2126hm", "mega hm"),
    ("日本語 text", "text"),
    ("emoji 😀 face", "emoji face"),
    ("Ｆｕｌｌｗｉｄｔｈ ｔｅｘｔ", "fullwidth text"),
    ("ﬁnancial ﬂow", "financial flow"),
    ("ΣΊΣΥΦΟΣ Greek", "greek"),
    ("coöperate", "co perate"),
    ("piñata jalapeño", "pi ata jalape o"),
    ("the cafés were naïvely designed", "the cafe was naively designed"),
]

INSTRUCTION_RESPONSE = [
    ("The capital of France is Paris.", "Paris is the capital of France."),
    ("The capital of France is Paris.", "The capital city of France is Paris."),
    ("To reverse a list in Python, use the reverse() method or slicing with [::-1].",
     "You can reverse a Python list with list.reverse() or by slicing: my_list[::-1]."),
    ("Photosynthesis converts light energy into chemical energy stored in glucose.",
     "Photosynthesis is the process by which plants convert sunlight into chemical energy."),
    ("Water boils at 100 degrees Celsius at sea level.",
     "At sea level, water boils at 100°C."),
    ("The mitochondria is the powerhouse of the cell.",
     "Mitochondria are known as the powerhouses of cells."),
    ("Sort the numbers in ascending order: 3, 1, 2.", "1, 2, 3"),
    ("Translate 'hello' into Spanish.", "Hola"),
    ("The function returns the sum of two integers.",
     "This function adds two integers and returns their sum."),
    ("Shakespeare wrote Romeo and Juliet.", "Romeo and Juliet was written by William Shakespeare."),
    ("Yes", "yes."),
    ("No, that is incorrect.", "That's not correct."),
    ("The derivative of x^2 is 2x.", "d/dx x^2 = 2x"),
    ("Summarize: The meeting was postponed because the manager was ill.",
     "The meeting got postponed due to the manager's illness."),
    ("Please provide three tips for better sleep: keep a regular schedule, avoid screens "
     "before bed, and limit caffeine in the afternoon.",
     "1. Keep a consistent sleep schedule. 2. Avoid using screens before bedtime. "
     "3. Limit caffeine intake, especially later in the day."),
    ("The quick brown fox jumps over the lazy dog",
     "The quick brown dog jumps on the log."),
    ("Machine learning models require large amounts of labeled data for training.",
     "Training machine-learning models requires lots of labelled data."),
    ("I'm sorry, but I can't help with that request.",
     "Sorry, I cannot assist with this request."),
    ("The Great Wall of China is over 13,000 miles long.",
     "The Great Wall stretches more than 13000 miles."),
    ("def add(a, b):\n    return a + b", "def add(x, y): return x + y"),
]

# ----------------------------------------------------------------------------------------------
# Wide-vocabulary stress set: ~300 words in morphological families, so that swapping a word for a
# relative of the same family exercises every stemmer step.
# ----------------------------------------------------------------------------------------------

FAMILIES = [
    ["relate", "related", "relates", "relating", "relation", "relational", "relationally"],
    ["nation", "national", "nationally", "nationalize", "nationalization", "nationality"],
    ["organize", "organized", "organizer", "organization", "organizational", "organizing"],
    ["hope", "hoped", "hopes", "hoping", "hopeful", "hopefully", "hopefulness", "hopeless"],
    ["care", "cared", "careful", "carefully", "carefulness", "careless", "carelessness"],
    ["happy", "happier", "happiest", "happily", "happiness", "unhappy"],
    ["run", "runs", "running", "runner", "runners"],
    ["stop", "stops", "stopped", "stopping", "stopper"],
    ["plan", "plans", "planned", "planning", "planner"],
    ["control", "controls", "controlled", "controlling", "controller", "controllable"],
    ["connect", "connected", "connecting", "connection", "connections", "connective"],
    ["generate", "generated", "generating", "generation", "generator", "generative"],
    ["decide", "decided", "decides", "decision", "decisive", "decisiveness"],
    ["electric", "electrical", "electricity", "electrician", "electrify"],
    ["form", "formal", "formality", "formalize", "formation", "formative", "formally"],
    ["sense", "sensitive", "sensitivity", "sensible", "sensibility", "sensation"],
    ["adjust", "adjusted", "adjustable", "adjustment", "adjusting"],
    ["depend", "depended", "dependent", "dependence", "dependency", "dependable"],
    ["adopt", "adopted", "adoption", "adoptive", "adopting"],
    ["commune", "communism", "communist", "community", "communal"],
    ["act", "active", "activate", "activation", "activity", "actively"],
    ["effect", "effective", "effectively", "effectiveness", "effects"],
    ["replace", "replaced", "replacement", "replacing", "replaceable"],
    ["allow", "allowed", "allowance", "allowing", "allows"],
    ["infer", "inferred", "inference", "inferring", "inferential"],
    ["cry", "cries", "cried", "crying"],
    ["fly", "flies", "flying", "flier"],
    ["try", "tries", "tried", "trying"],
    ["spy", "spies", "spied", "spying"],
    ["die", "dies", "died", "dying"],
    ["lie", "lies", "lied", "lying"],
    ["enjoy", "enjoys", "enjoyed", "enjoying", "enjoyment", "enjoyable"],
    ["agree", "agreed", "agrees", "agreeing", "agreement"],
    ["feed", "feeds", "feeding", "fed"],
    ["proceed", "proceeds", "proceeded", "proceeding", "procedure"],
    ["succeed", "succeeds", "succeeded", "success", "successful", "successfully"],
    ["fall", "falls", "falling", "fallen"],
    ["fill", "fills", "filled", "filling"],
    ["hiss", "hisses", "hissed", "hissing"],
    ["buzz", "buzzes", "buzzed", "buzzing"],
    ["file", "files", "filed", "filing"],
    ["fail", "fails", "failed", "failing", "failure"],
    ["analog", "analogy", "analogous", "analogously", "analogical"],
    ["geology", "geologist", "geological", "geologically"],
    ["biology", "biologist", "biological", "biologically"],
    ["digit", "digital", "digitize", "digitizer", "digitization"],
    ["rational", "rationally", "rationalize", "rationalization", "rationality"],
    ["differ", "different", "differently", "difference", "differential"],
    ["vile", "vilely", "vileness"],
    ["callous", "callously", "callousness"],
    ["fruit", "fruitful", "fruitfully", "fruitfulness", "fruitless"],
    ["good", "goodness", "goods"],
    ["irritate", "irritant", "irritation", "irritating"],
    ["triplicate", "triplication"],
    ["probate", "probation", "probationary"],
    ["cease", "ceased", "ceaseless", "ceasing"],
    ["roll", "rolled", "rolling", "roller"],
    ["sky", "skies"],
    ["news", "newspaper", "newsy"],
    ["inning", "innings"],
    ["outing", "outings"],
    ["can", "cannings", "canning", "canned"],
    ["university", "universities", "universal", "universally"],
    ["able", "ability", "abilities", "ably", "enable", "enabled"],
    ["argue", "argued", "argues", "arguing", "argument", "argumentative"],
    ["teach", "teacher", "teaching", "taught", "teaches"],
    ["student", "students", "study", "studied", "studies", "studying"],
    ["distil", "distill", "distillation", "distilled", "distilling"],
    ["expert", "experts", "expertise", "expertly"],
    ["route", "routed", "router", "routing", "routes"],
    ["train", "trained", "trainer", "training", "trainable"],
    ["evaluate", "evaluated", "evaluation", "evaluator", "evaluating"],
    ["compute", "computed", "computer", "computation", "computational"],
    ["measure", "measured", "measurement", "measurable", "measuring"],
    ["bowdlerize", "bowdlerized", "bowdlerization"],
    ["homology", "homologous", "homologue"],
    ["angular", "angularity", "angularities"],
]

FILLERS = ["the", "a", "of", "and", "to", "in", "is", "was", "for", "on", "with", "by", "it",
           "we", "they", "not", "but", "or", "as", "at"]


def stress_pairs(rng: random.Random, count: int) -> list[tuple[str, str]]:
    word_to_family = {}
    for fam in FAMILIES:
        for w in fam:
            word_to_family.setdefault(w, fam)
    vocab = sorted(word_to_family)
    pairs = []
    for k in range(count):
        n = rng.randint(6, 35)
        ref = [rng.choice(vocab) if rng.random() < 0.75 else rng.choice(FILLERS) for _ in range(n)]
        pred = []
        for w in ref:
            r = rng.random()
            if r < 0.12:
                continue  # dropped
            if r < 0.55 and w in word_to_family:
                pred.append(rng.choice(word_to_family[w]))  # a morphological relative
            elif r < 0.65:
                pred.append(rng.choice(vocab))  # a substitution
            else:
                pred.append(w)
            if rng.random() < 0.08:
                pred.append(rng.choice(FILLERS))  # an insertion
        if k % 5 == 0 and len(pred) > 3:  # swap two chunks to stress the LCS
            cut = rng.randint(1, len(pred) - 1)
            pred = pred[cut:] + pred[:cut]
        if k % 7 == 0:
            pred = [w.upper() if rng.random() < 0.3 else w for w in pred]
        if k % 3 == 0:
            pred = [w + rng.choice([",", ".", "!", ";", ""]) for w in pred]
        pairs.append((" ".join(ref), " ".join(pred)))
    return pairs


def perturbation_pairs(rng: random.Random) -> list[tuple[str, str]]:
    """Drop / duplicate / reorder words of the instruction-response references."""
    pairs = []
    for ref, _ in INSTRUCTION_RESPONSE + LONG[:3]:
        words = ref.split()
        pred = [w for w in words if rng.random() > 0.25]
        if pred and rng.random() < 0.5:
            i = rng.randrange(len(pred))
            pred.insert(rng.randrange(len(pred) + 1), pred[i])
        if len(pred) > 2 and rng.random() < 0.5:
            i, j = rng.randrange(len(pred)), rng.randrange(len(pred))
            pred[i], pred[j] = pred[j], pred[i]
        pairs.append((ref, " ".join(pred)))
    return pairs


def all_pairs() -> list[tuple[str, str]]:
    rng = random.Random(SEED)
    fixed = (PUNCTUATION + NUMBERS + CASE + STEMMING + EMPTY_AND_WHITESPACE + REPEATED + LONG +
             DIGITS_AND_ALNUM + HYPHENS_APOSTROPHES + NON_ASCII + INSTRUCTION_RESPONSE)
    # Every fixed pair is also scored the other way round (precision and recall swap roles).
    swapped = [(p, r) for r, p in fixed if r != p]
    return fixed + swapped + perturbation_pairs(rng) + stress_pairs(rng, 120)


def main() -> int:
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(repo, "tests", "data", "rouge", "pairs.jsonl"))
    args = parser.parse_args()

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    pairs = all_pairs()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        for reference, prediction in pairs:
            s = scorer.score(reference, prediction)["rougeL"]
            row = {
                "reference": reference,
                "prediction": prediction,
                "precision": float(s.precision),
                "recall": float(s.recall),
                "fmeasure": float(s.fmeasure),
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(pairs)} pairs to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
