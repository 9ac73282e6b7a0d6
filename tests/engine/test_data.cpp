// Tokenizers and datasets: builtin and SentencePiece tokenizers, Dolly JSONL and plain-text
// loading with malformed input, a run's data from its config, and the ids + loss mask of one
// example. No LibTorch: the data layer is plain C++. (The built-in tasks: test_tasks.cpp.)
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <QtTest>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "data/dataset.h"
#include "data/run_data.h"
#include "data/tasks.h"
#include "data/tokenizer.h"
#include "util/error.h"
#include "error_of.h"
#include "prompts_of.h"

using namespace moekd;

namespace {

std::string data_file(const char* rel) { return std::string(MOEKD_TEST_DATA "/") + rel; }

using moekd::test::error_of;
using moekd::test::prompts_of;

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A tokenizer without bos, to check that position 0 is never a target.
class NoBosTokenizer : public Tokenizer {
 public:
  std::vector<int64_t> encode(const std::string& t) const override { return inner_->encode(t); }
  std::string decode(const std::vector<int64_t>& ids) const override { return inner_->decode(ids); }
  int64_t vocab_size() const override { return inner_->vocab_size(); }
  int64_t bos_id() const override { return -1; }
  int64_t eos_id() const override { return inner_->eos_id(); }
  int64_t pad_id() const override { return inner_->pad_id(); }
  std::string kind() const override { return "test"; }
  std::string describe() const override { return "no bos"; }

 private:
  std::unique_ptr<Tokenizer> inner_ = make_builtin_tokenizer();
};

// Trains a small Llama-style SentencePiece model (BPE, byte fallback, identity normalisation,
// no pad) into `dir`; the trainer ships in Debian's libsentencepiece, so no fixture is committed.
std::string train_spm(const std::string& dir) {
  const std::string corpus = dir + "/corpus.txt";
  write_file(corpus,
             "The quick brown fox jumps over the lazy dog.\n"
             "Knowledge distillation trains a small student to imitate a large teacher.\n"
             "A mixture of experts routes every token to a few experts.\n"
             "Every expert matters: the student learns from all of them.\n"
             "Below is an instruction that describes a task.\n"
             "Write a response that appropriately completes the request.\n"
             "### Instruction:\nName the capital of France.\n### Response:\nParis.\n");
  const auto status = sentencepiece::SentencePieceTrainer::Train(
      "--input=" + corpus + " --model_prefix=" + dir +
      "/spm --vocab_size=320 --hard_vocab_limit=false"
      " --model_type=bpe --character_coverage=1.0 --byte_fallback=true"
      " --normalization_rule_name=identity --remove_extra_whitespaces=false"
      " --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 --minloglevel=2");
  if (!status.ok()) qFatal("cannot train the SentencePiece test model: %s", status.ToString().c_str());
  return dir + "/spm.model";
}

}  // namespace

class TestData : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  // ---------------------------------------------------------------------------- tokenizers
  void builtinTokenizerIds() {
    const auto tok = make_builtin_tokenizer();
    QCOMPARE(tok->vocab_size(), int64_t(99));
    QCOMPARE(tok->pad_id(), int64_t(0));
    QCOMPARE(tok->bos_id(), int64_t(1));
    QCOMPARE(tok->eos_id(), int64_t(2));
    QCOMPARE(tok->kind(), std::string("builtin"));
    QVERIFY(!tok->describe().empty());
    QCOMPARE(tok->encode(" A~"), (std::vector<int64_t>{4, 4 + 33, 98}));
    // Bytes outside printable ASCII: one <unk> each (é is two UTF-8 bytes).
    QCOMPARE(tok->encode("a\nb\xc3\xa9"), (std::vector<int64_t>{4 + 65, 3, 4 + 66, 3, 3}));
    QVERIFY(tok->encode("").empty());
  }

  void builtinTokenizerRoundTrip() {
    const auto tok = make_builtin_tokenizer();
    std::string all;
    for (int c = 32; c <= 126; ++c) all.push_back(static_cast<char>(c));
    QCOMPARE(tok->decode(tok->encode(all)), all);
    // Control tokens and out-of-range ids vanish; <unk> stays visible.
    std::vector<int64_t> ids = {1, 0};
    for (int64_t id : tok->encode("add 2+3=5")) ids.push_back(id);
    ids.insert(ids.end(), {3, 2, 0, 99, -5, 1000});
    QCOMPARE(tok->decode(ids), std::string("add 2+3=5?"));
  }

  void loadTokenizerSpecs() {
    QCOMPARE(load_tokenizer("builtin")->kind(), std::string("builtin"));
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    QVERIFY(error_of([&] { load_tokenizer(dir); }).contains("tokenizer.model"));
    QVERIFY(error_of([&] { load_tokenizer(dir); }).contains(QString::fromStdString(dir)));
    write_file(dir + "/tokenizer.json", "{}");
    QVERIFY(error_of([&] { load_tokenizer(dir); }).contains("tokenizer.json"));
    const std::string missing = dir + "/nope.model";
    QVERIFY(error_of([&] { load_tokenizer(missing); }).contains(QString::fromStdString(missing)));
    QVERIFY(error_of([&] { load_sentencepiece(missing); }).contains(QString::fromStdString(missing)));
    QVERIFY(!error_of([] { load_tokenizer(""); }).isEmpty());
  }

  void vocabularyRows() {
    const auto tok = make_builtin_tokenizer();  // 99 tokens
    QCOMPARE(check_vocabularies({"teacher", 99, nullptr}, {"student", 99, nullptr}, *tok), int64_t(99));
    // Embeddings padded past the tokenizer, differently: the divergence runs over the shared rows.
    QCOMPARE(check_vocabularies({"teacher", 128, nullptr}, {"student", 112, nullptr}, *tok), int64_t(112));
    QCOMPARE(check_vocabularies({"teacher", 99, tok.get()}, {"student", 128, tok.get()}, *tok), int64_t(99));
    // Fewer rows than tokens: the side, its rows and the tokenizer's size are named.
    QString e = error_of([&] { check_vocabularies({"teacher", 128, nullptr}, {"student", 64, nullptr}, *tok); });
    QVERIFY2(e.contains("student") && e.contains("64 rows") && e.contains("99 tokens"), qPrintable(e));
    e = error_of([&] { check_vocabularies({"teacher", 0, nullptr}, {"student", 99, nullptr}, *tok); });
    QVERIFY2(e.contains("teacher") && e.contains("positive"), qPrintable(e));
  }

  void sentencePieceTrainedAtRuntime() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    const std::string model = train_spm(dir);
    sentencepiece::SentencePieceProcessor ref;
    QVERIFY(ref.Load(model).ok());

    const auto tok = load_sentencepiece(model);
    QCOMPARE(tok->kind(), std::string("sentencepiece"));
    QCOMPARE(tok->vocab_size(), int64_t(ref.GetPieceSize()));
    QVERIFY(tok->vocab_size() > 259);  // 256 byte pieces + specials + merges
    QCOMPARE(tok->bos_id(), int64_t(1));
    QCOMPARE(tok->eos_id(), int64_t(2));
    QCOMPARE(tok->pad_id(), int64_t(2));  // no pad in a Llama-style model: eos stands in
    QVERIFY(QString::fromStdString(tok->describe()).contains("sentencepiece"));
    // token_text is the piece as the model holds it (what the vocabulary check compares with a
    // tokenizer.json's entries), control and byte pieces included.
    for (int id = 0; id < ref.GetPieceSize(); ++id) QCOMPARE(tok->token_text(id), ref.IdToPiece(id));
    QCOMPARE(tok->token_text(1), std::string("<s>"));
    QVERIFY(tok->token_text(tok->vocab_size()).empty());
    QCOMPARE(check_vocabularies({"teacher", 400, tok.get()}, {"student", 320, nullptr}, *load_sentencepiece(model)),
             int64_t(320));

    // Ids are exactly the processor's; round trips are exact, including bytes never seen in
    // training (byte fallback) and newlines (identity normalisation).
    for (const std::string text : {"The quick brown fox jumps over the lazy dog.",
                                   "### Instruction:\nName every expert.\n\n### Response:\n",
                                   "Zürich \xce\xa9 42 {tabs\tand  spaces}"}) {
      const auto ids = tok->encode(text);
      const auto expected = ref.EncodeAsIds(text);
      QCOMPARE(ids, std::vector<int64_t>(expected.begin(), expected.end()));
      QCOMPARE(tok->decode(ids), text);
      std::vector<int64_t> framed = {tok->bos_id()};
      framed.insert(framed.end(), ids.begin(), ids.end());
      framed.insert(framed.end(), {tok->eos_id(), tok->pad_id(), tok->vocab_size(), -1});
      QCOMPARE(tok->decode(framed), text);
    }
    QVERIFY(tok->encode("").empty());

    // A folder with tokenizer.model, as in a Hugging Face checkpoint.
    std::filesystem::create_directories(dir + "/hf");
    std::filesystem::copy_file(model, dir + "/hf/tokenizer.model");
    const auto from_folder = load_tokenizer(dir + "/hf");
    QCOMPARE(from_folder->encode("Every expert matters"), tok->encode("Every expert matters"));
    QCOMPARE(load_tokenizer(model)->vocab_size(), tok->vocab_size());

    // The sequence is the joint encoding of prompt + response; the response starts after its
    // longest common prefix with the prompt's encoding (a token across the boundary is response).
    Example ex{"### Response:\n", "Paris is the capital.", "general"};
    const auto te = tokenize_example(*tok, verbatim_template(), ex, 512, 0);
    const auto joint = tok->encode(ex.instruction + ex.response);
    const auto prompt = tok->encode(ex.instruction);
    QCOMPARE(std::vector<int64_t>(te.ids.begin() + 1, te.ids.end() - 1), joint);
    QCOMPARE(te.ids.back(), tok->eos_id());
    size_t common = 0;
    while (common < prompt.size() && prompt[common] == joint[common]) ++common;
    QCOMPARE(te.response_start, int64_t(1 + common));
    QCOMPARE(tok->decode(te.ids), ex.instruction + ex.response);
  }

  void sentencePieceCorruptFiles() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    const std::string model = train_spm(dir);
    const std::string bytes = read_file(model);

    const std::string garbage = dir + "/garbage.model";
    write_file(garbage, "this is not a sentencepiece model\n");
    QString e = error_of([&] { load_sentencepiece(garbage); });
    QVERIFY2(e.contains(QString::fromStdString(garbage)), qPrintable(e));

    const std::string truncated = dir + "/truncated.model";
    write_file(truncated, bytes.substr(0, bytes.size() / 2));
    e = error_of([&] { load_sentencepiece(truncated); });
    QVERIFY2(e.contains(QString::fromStdString(truncated)), qPrintable(e));

    const std::string empty = dir + "/empty.model";
    write_file(empty, "");
    e = error_of([&] { load_tokenizer(empty); });
    QVERIFY2(e.contains(QString::fromStdString(empty)) && e.contains("empty"), qPrintable(e));

    QVERIFY(error_of([&] { load_sentencepiece(dir); }).contains(QString::fromStdString(dir)));
  }

  // ---------------------------------------------------------------------------- Dolly JSONL
  void dollySmall() {
    const std::string path = data_file("jsonl/dolly_small.jsonl");
    const Dataset d = load_dolly_jsonl(path, 0.1, 0.1, 1);
    QCOMPARE(d.train.size() + d.validation.size() + d.test.size(), size_t(20));
    QCOMPARE(d.validation.size(), size_t(2));
    QCOMPARE(d.test.size(), size_t(2));
    QCOMPARE(d.skipped_rows, int64_t(0));
    QVERIFY(d.warnings.empty());
    QCOMPARE(d.source, path);
    QCOMPARE(d.categories, (std::vector<std::string>{"brainstorming", "classification", "closed_qa",
                                                     "creative_writing", "general", "general_qa",
                                                     "information_extraction", "open_qa", "summarization"}));
    std::map<std::string, Example> by_response;
    for (const auto* split : {&d.train, &d.validation, &d.test})
      for (const auto& ex : *split) by_response[ex.response] = ex;
    QCOMPARE(by_response.size(), size_t(20));

    const Example& eiffel = by_response.at("The Eiffel Tower was completed in 1889.");
    const PromptTemplate dolly = parse_prompt_template("dolly");
    QCOMPARE(eiffel.instruction, std::string("When was the Eiffel Tower completed?"));
    QCOMPARE(prompt_text(dolly, eiffel),
             std::string("Below is an instruction that describes a task, paired with an input that provides "
                         "further context. Write a response that appropriately completes the request.\n\n"
                         "### Instruction:\nWhen was the Eiffel Tower completed?\n\n### Input:\n"
                         "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris. "
                         "It was designed by the company of Gustave Eiffel and completed in 1889 as the "
                         "entrance arch to the World's Fair.\n\n### Response:\n"));
    QCOMPARE(eiffel.category, std::string("closed_qa"));
    const std::string no_input =
        "Below is an instruction that describes a task. Write a response that appropriately completes "
        "the request.\n\n### Instruction:\nWhat is the capital of Australia?\n\n### Response:\n";
    QCOMPARE(prompt_text(dolly, by_response.at("The capital of Australia is Canberra.")), no_input);
    // Missing context and null context: no input section; missing category: "general".
    QVERIFY(
        !QString::fromStdString(prompt_text(dolly, by_response.at("Water boils at 212 degrees Fahrenheit at sea level.")))
             .contains("### Input:"));
    QCOMPARE(by_response
                 .at("Buenos d\xc3\xad"
                     "as.")
                 .category,
             std::string("general"));
    QCOMPARE(by_response.at("Silent flakes descend\nthe garden forgets its paths\nmorning holds its breath")
                 .category,
             std::string("creative_writing"));

    // The split is a function of the seed.
    const Dataset same = load_dolly_jsonl(path, 0.1, 0.1, 1);
    const Dataset other = load_dolly_jsonl(path, 0.1, 0.1, 2);
    QCOMPARE(prompts_of(same.train), prompts_of(d.train));
    QVERIFY(prompts_of(other.train) != prompts_of(d.train));
    // Train keeps at least one example.
    const Dataset all_held_out = load_dolly_jsonl(path, 0.6, 0.39, 1);
    QVERIFY(!all_held_out.train.empty());
  }

  void dollyMalformed() {
    // Lines: 1 ok, 2 bad JSON, 3 no response, 4 blank, 5 response is a number, 6 an array,
    // 7 empty response, 8 ok, 9 whitespace only, 10 instruction is a number, 11 context is an
    // array, 12 ok without context and category.
    const std::string path = data_file("jsonl/dolly_malformed.jsonl");
    const Dataset d = load_dolly_jsonl(path, 0.0, 0.0, 1);
    QCOMPARE(d.train.size(), size_t(3));
    QCOMPARE(d.skipped_rows, int64_t(7));
    QCOMPARE(d.warnings.size(), size_t(1));
    const QString w = QString::fromStdString(d.warnings[0]);
    QVERIFY2(w.contains(QString::fromStdString(path)) && w.contains("skipped 7 malformed rows"),
             qPrintable(w));
    for (const char* part :
         {"line 2 (not valid JSON)", "line 3 (\"response\" is missing)",
          "line 5 (\"response\" must be a string, not a number)",
          "line 6 (expected a JSON object, not an array)", "line 7 (\"response\" is empty)",
          "line 10 (\"instruction\" must be a string, not a number)",
          "line 11 (\"context\" must be a string or null, not an array)"})
      QVERIFY2(w.contains(QString::fromUtf8(part)), part);
    QVERIFY(!w.contains("line 1 ") && !w.contains("line 4 ") && !w.contains("line 8 ") &&
            !w.contains("line 9 ") && !w.contains("line 12 "));
    QCOMPARE(d.categories, (std::vector<std::string>{"general", "general_qa", "open_qa"}));
  }

  void dollyWarningListsTenLines() {
    QTemporaryDir tmp;
    const std::string path = tmp.path().toStdString() + "/many.jsonl";
    std::string text = "\xEF\xBB\xBF{\"instruction\": \"Say hi.\", \"response\": \"Hi.\"}\r\n";  // BOM, CRLF
    for (int i = 0; i < 15; ++i) text += "oops\r\n";
    write_file(path, text);
    const Dataset d = load_dolly_jsonl(path, 0.0, 0.0, 1);
    QCOMPARE(d.train.size(), size_t(1));
    QCOMPARE(d.train[0].response, std::string("Hi."));
    QCOMPARE(d.skipped_rows, int64_t(15));
    const QString w = QString::fromStdString(d.warnings.at(0));
    QVERIFY2(w.contains("line 2 (") && w.contains("line 11 (") && !w.contains("line 12 (") &&
                 w.contains("and 5 more"),
             qPrintable(w));
  }

  void dollyErrors() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    const std::string empty = dir + "/empty.jsonl";
    write_file(empty, "\n  \n");
    QString e = error_of([&] { load_dolly_jsonl(empty, 0.1, 0.1, 1); });
    QVERIFY2(e.contains(QString::fromStdString(empty)), qPrintable(e));

    const std::string all_bad = dir + "/bad.jsonl";
    write_file(all_bad, "{\"instruction\": \"x\"}\n[1]\n");
    e = error_of([&] { load_dolly_jsonl(all_bad, 0.1, 0.1, 1); });
    QVERIFY2(e.contains(QString::fromStdString(all_bad)) && e.contains("line 1"), qPrintable(e));

    const std::string missing = dir + "/missing.jsonl";
    e = error_of([&] { load_dolly_jsonl(missing, 0.1, 0.1, 1); });
    QVERIFY2(e.contains(QString::fromStdString(missing)), qPrintable(e));
    QVERIFY(error_of([&] { load_dolly_jsonl(dir, 0.1, 0.1, 1); }).contains("folder"));

    const std::string small = data_file("jsonl/dolly_small.jsonl");
    QVERIFY(!error_of([&] { load_dolly_jsonl(small, 0.6, 0.4, 1); }).isEmpty());
    QVERIFY(!error_of([&] { load_dolly_jsonl(small, -0.1, 0.1, 1); }).isEmpty());
  }

  // ---------------------------------------------------------------------------- plain text
  void textChunks() {
    QTemporaryDir tmp;
    const std::string path = tmp.path().toStdString() + "/book.txt";
    std::string text = "  Chapter one.\n\n";
    std::multiset<std::string> words = {"Chapter", "one."};
    for (int i = 0; i < 60; ++i) {
      const std::string w = "word" + std::to_string(i * 37 % 101);
      text += w + (i % 9 == 8 ? "\n" : " ");
      words.insert(w);
    }
    write_file(path, text);
    const Dataset d = load_text(path, 40, 0.25, 3);
    QCOMPARE(d.categories, std::vector<std::string>{"text"});
    QVERIFY(d.test.empty());
    const size_t n = d.train.size() + d.validation.size();
    QVERIFY(n >= 10);
    QCOMPARE(d.validation.size(), size_t(std::llround(n * 0.25)));
    std::multiset<std::string> seen;
    for (const auto* split : {&d.train, &d.validation})
      for (const auto& ex : *split) {
        QVERIFY(ex.instruction.empty());
        QCOMPARE(ex.category, std::string("text"));
        QVERIFY2(!ex.response.empty() && ex.response.size() <= 40, ex.response.c_str());
        QVERIFY(!std::isspace(static_cast<unsigned char>(ex.response.front())));
        QVERIFY(!std::isspace(static_cast<unsigned char>(ex.response.back())));
        std::istringstream in(ex.response);
        for (std::string w; in >> w;) seen.insert(w);
      }
    QCOMPARE(seen, words);  // cut only at whitespace: every word survives whole

    // A run without whitespace is cut hard, but never inside a UTF-8 sequence.
    std::string run;
    for (int i = 0; i < 30; ++i) run += "\xc3\xa9";  // é, two bytes each
    write_file(path, run);
    const Dataset r = load_text(path, 7, 0.0, 1);
    std::string joined;
    for (const auto& ex : r.train) {
      QVERIFY(ex.response.size() <= 7);
      QVERIFY((static_cast<unsigned char>(ex.response.front()) & 0xC0) != 0x80);
      joined += ex.response;
    }
    QCOMPARE(joined.size(), run.size());
  }

  void textErrors() {
    QTemporaryDir tmp;
    const std::string path = tmp.path().toStdString() + "/empty.txt";
    write_file(path, "");
    QString e = error_of([&] { load_text(path, 100, 0.1, 1); });
    QVERIFY2(e.contains(QString::fromStdString(path)) && e.contains("empty"), qPrintable(e));
    write_file(path, " \n\t\n");
    QVERIFY(error_of([&] { load_text(path, 100, 0.1, 1); }).contains(QString::fromStdString(path)));
    write_file(path, "some text");
    QVERIFY(!error_of([&] { load_text(path, 0, 0.1, 1); }).isEmpty());
  }

  // ---------------------------------------------------------------------------- a run's data
  // One function turns a DataConfig into tokenized splits; categories index the sorted names.
  void runDataFromConfig() {
    DataConfig d;
    d.train_examples = 80;
    d.validation_examples = 16;
    d.test_examples = 8;
    d.max_len = 24;
    const auto tok = make_builtin_tokenizer();
    const RunData data = build_run_data(d, *tok);
    QCOMPARE(data.train.size(), size_t(80));
    QCOMPARE(data.validation.size(), size_t(16));
    QCOMPARE(data.test.size(), size_t(8));
    QCOMPARE(prompts_of(data.dataset.train), prompts_of(load_run_dataset(d).train));
    for (size_t i = 0; i < data.train.size(); ++i) {
      QVERIFY(data.train[i].ids.size() <= 24);
      QCOMPARE(data.dataset.categories[data.train[i].category], data.dataset.train[i].category);
    }
    d.kind = DataKind::Jsonl;
    d.path = data_file("jsonl/dolly_malformed.jsonl");
    const QString e = error_of([&] { build_run_data(d, *tok); });
    QVERIFY2(e.contains("the validation split is empty") && e.contains("data.validation_fraction"), qPrintable(e));
  }

  // ---------------------------------------------------------------------------- tokenize_example
  void tokenizeMask() {
    const auto tok = make_builtin_tokenizer();
    const auto t = tokenize_example(*tok, verbatim_template(), {"add 2+3=", "5", "add"}, 64, 4);
    std::vector<int64_t> expected = {1};
    for (int64_t id : tok->encode("add 2+3=5")) expected.push_back(id);
    expected.push_back(2);
    QCOMPARE(t.ids, expected);
    QCOMPARE(t.response_start, int64_t(9));
    QCOMPARE(t.loss_mask, (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1}));
    QCOMPARE(t.category, int64_t(4));

    // Plain text: everything after bos is a target.
    const auto lm = tokenize_example(*tok, verbatim_template(), {"", "hi", "text"}, 64, 0);
    QCOMPARE(lm.ids, (std::vector<int64_t>{1, tok->encode("h")[0], tok->encode("i")[0], 2}));
    QCOMPARE(lm.response_start, int64_t(1));
    QCOMPARE(lm.loss_mask, (std::vector<uint8_t>{0, 1, 1, 1}));

    // Empty response: only the eos is a target.
    const auto none = tokenize_example(*tok, verbatim_template(), {"q=", "", "x"}, 64, 0);
    QCOMPARE(none.response_start, int64_t(3));
    QCOMPARE(none.loss_mask, (std::vector<uint8_t>{0, 0, 0, 1}));

    // Without bos, position 0 is never a target (nothing predicts it).
    NoBosTokenizer no_bos;
    const auto nb = tokenize_example(no_bos, verbatim_template(), {"", "ab", "text"}, 64, 0);
    QCOMPARE(nb.ids.size(), size_t(3));
    QCOMPARE(nb.response_start, int64_t(0));
    QCOMPARE(nb.loss_mask, (std::vector<uint8_t>{0, 1, 1}));
  }

  void tokenizeTruncation() {
    const auto tok = make_builtin_tokenizer();
    const Example ex{"add 2+3=", "12", "add"};
    // Fits exactly: 1 + 8 + 2 + 1.
    QCOMPARE(tokenize_example(*tok, verbatim_template(), ex, 12, 0).ids.size(), size_t(12));
    // The prompt loses its start first.
    auto t = tokenize_example(*tok, verbatim_template(), ex, 7, 0);
    QCOMPARE(t.ids.size(), size_t(7));
    QCOMPARE(t.ids.front(), int64_t(1));
    QCOMPARE(t.ids.back(), int64_t(2));
    QCOMPARE(tok->decode(t.ids), std::string("+3=12"));
    QCOMPARE(t.response_start, int64_t(4));
    QCOMPARE(t.loss_mask, (std::vector<uint8_t>{0, 0, 0, 0, 1, 1, 1}));
    // No prompt left and still too long: the response is cut at the right and loses its eos.
    t = tokenize_example(*tok, verbatim_template(), ex, 3, 0);
    QCOMPARE(t.ids, (std::vector<int64_t>{1, tok->encode("1")[0], tok->encode("2")[0]}));
    QCOMPARE(t.response_start, int64_t(1));
    QCOMPARE(t.loss_mask, (std::vector<uint8_t>{0, 1, 1}));
    t = tokenize_example(*tok, verbatim_template(), ex, 2, 0);
    QCOMPARE(tok->decode(t.ids), std::string("1"));
    QCOMPARE(t.loss_mask, (std::vector<uint8_t>{0, 1}));
    QVERIFY(!error_of([&] { tokenize_example(*tok, verbatim_template(), ex, 1, 0); }).isEmpty());
    // Every length in between keeps the invariants.
    for (int64_t len = 2; len <= 14; ++len) {
      const auto u = tokenize_example(*tok, verbatim_template(), ex, len, 0);
      QVERIFY(int64_t(u.ids.size()) <= len);
      QCOMPARE(u.ids.size(), u.loss_mask.size());
      for (size_t i = 0; i < u.ids.size(); ++i)
        QCOMPARE(u.loss_mask[i], uint8_t(int64_t(i) >= u.response_start));
    }
  }
};

QTEST_APPLESS_MAIN(TestData)
#include "test_data.moc"
