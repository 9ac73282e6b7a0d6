// SPDX-License-Identifier: MIT
// tokenizer.json against the Hugging Face `tokenizers` library: seven tokenizers trained with it
// (tools/make_tokenizer_fixtures.py: Qwen2 and Llama 3 byte-level BPE with their regexes, GPT-2,
// Llama 2 and Mistral SentencePiece-style BPE with byte fallback, and every other supported
// component) and more than a thousand strings of many scripts, emoji, combining marks, code,
// whitespace runs, CRLF and special-token markup. Ids and texts must be the library's, id for id
// and byte for byte. Then malformed files, refused by file and field. No LibTorch.
#include <QtTest>

#include <filesystem>
#include <functional>
#include <unistd.h>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/hf_tokenizer.h"
#include "data/tokenizer.h"
#include "util/error.h"
#include "util/json_file.h"
#include "error_of.h"

using namespace moekd;
using json = nlohmann::json;
using moekd::test::error_of;
namespace fs = std::filesystem;

namespace {

const std::string kFixtures = MOEKD_TEST_DATA "/tokenizers";
const char* const kNames[] = {"qwen2", "llama3", "gpt2", "llama2", "mistral", "pieces", "digits"};

const json& fixtures() {
  static const json j = read_json_file(kFixtures + "/strings.json");
  return j;
}

std::vector<int64_t> ids_of(const json& j) { return j.get<std::vector<int64_t>>(); }

std::string show(const std::vector<int64_t>& ids) {
  std::string out;
  for (auto id : ids) out += std::to_string(id) + " ";
  return out;
}

// A copy of a fixture with `edit` applied, written to a temporary folder.
std::string edited(const char* name, const std::function<void(json&)>& edit) {
  json j = read_json_file(kFixtures + "/" + name + "/tokenizer.json");
  edit(j);
  const fs::path dir = fs::temp_directory_path() / ("moekd-tokenizer-json-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "tokenizer.json";
  std::ofstream(file) << j.dump();
  return file.string();
}

}  // namespace

class TestTokenizerJson : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void matchesTheLibrary_data() {
    QTest::addColumn<QString>("name");
    for (const char* n : kNames) QTest::newRow(n) << QString(n);
  }

  // Every string: ids with special tokens (markup matched, template added), the decoded text with
  // and without special tokens, and training text's ids (markup stays text, no template).
  void matchesTheLibrary() {
    QFETCH(QString, name);
    const auto tok = HfTokenizer::load(kFixtures + "/" + name.toStdString() + "/tokenizer.json");
    const json& strings = fixtures()["strings"];
    const json& rows = fixtures()["expected"][name.toStdString()];
    QCOMPARE(rows.size(), strings.size());
    QVERIFY(strings.size() >= 1000);
    int checked = 0;
    for (size_t i = 0; i < strings.size(); ++i) {
      const std::string s = strings[i].get<std::string>();
      const json& row = rows[i];
      const auto ids = ids_of(row["ids"]);
      const auto got = tok->encode_with(s, true, false);
      if (got != ids)
        QFAIL(qPrintable(QString("string %1 `%2`\n  library %3\n  ours    %4")
                             .arg(i).arg(QString::fromStdString(s), QString::fromStdString(show(ids)),
                                         QString::fromStdString(show(got)))));
      const std::string text = row["text"].get<std::string>();
      QCOMPARE(QString::fromStdString(tok->decode_with(ids, true)), QString::fromStdString(text));
      const std::string all = row.contains("all") ? row["all"].get<std::string>() : text;
      QCOMPARE(QString::fromStdString(tok->decode_with(ids, false)), QString::fromStdString(all));
      const auto plain = row.contains("plain") ? ids_of(row["plain"]) : ids;
      const auto got_plain = tok->encode(s);
      if (got_plain != plain)
        QFAIL(qPrintable(QString("string %1 `%2` as training text\n  library %3\n  ours    %4")
                             .arg(i).arg(QString::fromStdString(s), QString::fromStdString(show(plain)),
                                         QString::fromStdString(show(got_plain)))));
      ++checked;
    }
    QCOMPARE(checked, static_cast<int>(strings.size()));
  }

  // Markup in training text never becomes a control token; the same text with special tokens on
  // is the chat template the model was trained with.
  void markupInTextStaysText() {
    const auto tok = HfTokenizer::load(kFixtures + "/qwen2/tokenizer.json");
    const std::string turn = "<|im_start|>user\nHi<|im_end|>";
    const auto as_markup = tok->encode_with(turn, true, false);
    const auto as_text = tok->encode(turn);
    const int64_t im_start = as_markup.front();
    QVERIFY(tok->is_special(im_start));
    QCOMPARE(QString::fromStdString(tok->token_text(im_start)), QString("<|im_start|>"));
    for (const int64_t id : as_text) QVERIFY2(!tok->is_special(id), qPrintable(QString::number(id)));
    QVERIFY(as_text.size() > as_markup.size());
    QCOMPARE(QString::fromStdString(tok->decode(as_text)), QString::fromStdString(turn));
  }

  void rolesAndVocabulary() {
    const auto qwen = HfTokenizer::load(kFixtures + "/qwen2/tokenizer.json");
    QCOMPARE(qwen->vocab_size(), 900);
    QCOMPARE(qwen->bos_id(), -1);  // Qwen2 has no BOS
    QCOMPARE(QString::fromStdString(qwen->token_text(qwen->eos_id())), QString("<|endoftext|>"));
    QCOMPARE(qwen->pad_id(), qwen->eos_id());
    const auto llama3 = HfTokenizer::load(kFixtures + "/llama3/tokenizer.json");
    QCOMPARE(QString::fromStdString(llama3->token_text(llama3->bos_id())), QString("<|begin_of_text|>"));
    QCOMPARE(llama3->encode_with_special_tokens("hi").front(), llama3->bos_id());
    const auto mistral = HfTokenizer::load(kFixtures + "/mistral/tokenizer.json");
    QCOMPARE(QString::fromStdString(mistral->token_text(mistral->bos_id())), QString("<s>"));
    QCOMPARE(QString::fromStdString(mistral->token_text(mistral->eos_id())), QString("</s>"));
    QCOMPARE(mistral->encode_with_special_tokens("hi").back(), mistral->eos_id());
    QVERIFY(QString::fromStdString(mistral->describe()).startsWith("tokenizer.json (BPE, 802 tokens"));
    QVERIFY(QString::fromStdString(qwen->describe()).startsWith("tokenizer.json (byte-level BPE, 900 tokens"));
  }

  // A folder with tokenizer.json is read through it; the file itself too.
  void loadTokenizerPrefersTokenizerJson() {
    const auto from_folder = load_tokenizer(kFixtures + "/gpt2");
    QCOMPARE(QString::fromStdString(from_folder->kind()), QString("tokenizer.json"));
    const auto from_file = load_tokenizer(kFixtures + "/gpt2/tokenizer.json");
    QCOMPARE(from_file->encode("hello world"), from_folder->encode("hello world"));
    QVERIFY(error_of([] { load_tokenizer(kFixtures); }).contains("has neither tokenizer.json nor tokenizer.model"));
  }

  void malformedFilesAreRefusedByField_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("expected");
    QTest::newRow("unsupported pre-tokenizer") << "qwen2" << "pre_tokenizer is the pre_tokenizer `Punctuation`, which is not supported";
    QTest::newRow("unsupported normalizer") << "qwen2" << "normalizer is the normalizer `Lowercase`, which is not supported";
    QTest::newRow("unsupported decoder") << "qwen2" << "decoder is the decoder `WordPiece`, which is not supported";
    QTest::newRow("unsupported model") << "qwen2" << "model is a `WordPiece` model, which is not supported";
    QTest::newRow("merge of an unknown token") << "gpt2" << "model.merges[0] names `no-such-token`, which is not in model.vocab";
    QTest::newRow("vocabulary gap") << "gpt2" << "leave the id 5 to no token";
    QTest::newRow("duplicate id") << "gpt2" << ", an id another token already has";
    QTest::newRow("dropout") << "gpt2" << "model.dropout is set";
    QTest::newRow("bad regex") << "qwen2" << "does not compile";
    QTest::newRow("wrong type") << "llama2" << "model.byte_fallback must be true or false";
    QTest::newRow("bad behaviour") << "qwen2" << "behavior is `Sideways`";
    QTest::newRow("truncation") << "gpt2" << "truncation is set";
  }

  void malformedFilesAreRefusedByField() {
    QFETCH(QString, name);
    QFETCH(QString, expected);
    const std::string tag = QTest::currentDataTag();
    const std::string path = edited(name.toUtf8().constData(), [&](json& j) {
      if (tag == "unsupported pre-tokenizer") j["pre_tokenizer"] = {{"type", "Punctuation"}, {"behavior", "Isolated"}};
      if (tag == "unsupported normalizer") j["normalizer"] = {{"type", "Lowercase"}};
      if (tag == "unsupported decoder") j["decoder"] = {{"type", "WordPiece"}, {"prefix", "##"}};
      if (tag == "unsupported model") j["model"]["type"] = "WordPiece";
      if (tag == "merge of an unknown token") j["model"]["merges"][0] = {"no-such-token", "a"};
      if (tag == "vocabulary gap") {
        for (auto it = j["model"]["vocab"].begin(); it != j["model"]["vocab"].end(); ++it)
          if (it->get<int64_t>() == 5) {
            j["model"]["vocab"].erase(it);
            break;
          }
        j["model"]["merges"] = json::array();
      }
      if (tag == "duplicate id") j["model"]["vocab"]["a-new-token"] = 3;
      if (tag == "dropout") j["model"]["dropout"] = 0.1;
      if (tag == "bad regex") j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed";
      if (tag == "wrong type") j["model"]["byte_fallback"] = "yes";
      if (tag == "bad behaviour") j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Sideways";
      if (tag == "truncation") j["truncation"] = {{"max_length", 8}};
    });
    const QString error = error_of([&] { HfTokenizer::load(path); });
    QVERIFY2(error.startsWith(QString::fromStdString(path)), qPrintable(error));  // the message names the file first
    QVERIFY2(error.contains(expected), qPrintable(error));
  }

  void notJsonOrNotUtf8() {
    const fs::path dir = fs::temp_directory_path() / ("moekd-tokenizer-bad-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "tokenizer.json") << "{\"model\": ";
    QVERIFY(error_of([&] { HfTokenizer::load((dir / "tokenizer.json").string()); })
                .contains(QString::fromStdString((dir / "tokenizer.json").string())));
    const auto tok = HfTokenizer::load(kFixtures + "/gpt2/tokenizer.json");
    QVERIFY(error_of([&] { tok->encode("bad \xC3 byte"); }).contains("not valid UTF-8"));
  }
};

QTEST_APPLESS_MAIN(TestTokenizerJson)
#include "test_tokenizer_json.moc"
