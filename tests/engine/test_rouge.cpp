// ROUGE-L against the Python rouge-score package (tests/data/rouge/pairs.jsonl, made by
// tools/make_rouge_fixtures.py), plus direct checks of the Porter stemmer, the tokenizer's edge
// cases and exact match. Needs no LibTorch: engine/eval is plain C++17.
#include <QtTest>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/porter_stemmer.h"
#include "eval/rouge.h"

using namespace moekd;

namespace {

struct Pair {
  std::string reference, prediction;
  double precision = 0, recall = 0, fmeasure = 0;
  int line = 0;
};

std::vector<Pair> load_pairs(const std::string& path, std::string* error) {
  std::vector<Pair> pairs;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot open " + path;
    return pairs;
  }
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    try {
      const auto j = nlohmann::json::parse(line);
      Pair p;
      p.reference = j.at("reference").get<std::string>();
      p.prediction = j.at("prediction").get<std::string>();
      p.precision = j.at("precision").get<double>();
      p.recall = j.at("recall").get<double>();
      p.fmeasure = j.at("fmeasure").get<double>();
      p.line = line_no;
      pairs.push_back(std::move(p));
    } catch (const std::exception& e) {
      *error = path + ":" + std::to_string(line_no) + ": " + e.what();
      return {};
    }
  }
  return pairs;
}

std::string joined(const std::vector<std::string>& tokens) {
  std::string out;
  for (const auto& t : tokens) out += (out.empty() ? "" : " ") + t;
  return out;
}

}  // namespace

class TestRouge : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void fixtureMatchesRougeScore() {
    std::string error;
    const auto pairs = load_pairs(MOEKD_TEST_DATA "/rouge/pairs.jsonl", &error);
    QVERIFY2(error.empty(), error.c_str());
    QVERIFY2(pairs.size() >= 200, qPrintable(QString("only %1 pairs").arg(pairs.size())));

    double worst = 0.0;
    const Pair* worst_pair = nullptr;
    RougeScore worst_score;
    int failures = 0;
    for (const auto& p : pairs) {
      const RougeScore s = rouge_l(p.reference, p.prediction);
      const double diff = std::max({std::fabs(s.precision - p.precision),
                                    std::fabs(s.recall - p.recall),
                                    std::fabs(s.fmeasure - p.fmeasure)});
      if (diff > 1e-6) ++failures;
      if (diff > worst || worst_pair == nullptr) {
        worst = diff;
        worst_pair = &p;
        worst_score = s;
      }
    }
    qInfo("%zu pairs, worst |difference| %.3g", pairs.size(), worst);
    if (worst > 1e-6) {
      std::ostringstream msg;
      msg.precision(17);
      msg << failures << " of " << pairs.size() << " pairs differ; worst at line "
          << worst_pair->line << " (|diff| " << worst << ")\n  reference:  \""
          << worst_pair->reference << "\"\n  prediction: \"" << worst_pair->prediction
          << "\"\n  ref tokens:  " << joined(rouge_tokenize(worst_pair->reference))
          << "\n  pred tokens: " << joined(rouge_tokenize(worst_pair->prediction))
          << "\n  expected P/R/F " << worst_pair->precision << " " << worst_pair->recall << " "
          << worst_pair->fmeasure << "\n  got      P/R/F " << worst_score.precision << " "
          << worst_score.recall << " " << worst_score.fmeasure;
      QFAIL(msg.str().c_str());
    }
  }

  void porterStemmer_data() {
    QTest::addColumn<QString>("word");
    QTest::addColumn<QString>("stem");
    // Expected values are nltk 3.10.4 PorterStemmer() (NLTK_EXTENSIONS) outputs.
    const char* const table[][2] = {
        {"caresses", "caress"},   {"ponies", "poni"},          {"ties", "tie"},
        {"dies", "die"},          {"flies", "fli"},            {"cats", "cat"},
        {"feed", "feed"},         {"agreed", "agre"},          {"plastered", "plaster"},
        {"bled", "bled"},         {"motoring", "motor"},       {"sing", "sing"},
        {"conflated", "conflat"}, {"troubled", "troubl"},      {"sized", "size"},
        {"hopping", "hop"},       {"tanned", "tan"},           {"falling", "fall"},
        {"hissing", "hiss"},      {"fizzed", "fizz"},          {"failing", "fail"},
        {"filing", "file"},       {"happy", "happi"},          {"enjoy", "enjoy"},
        {"spied", "spi"},         {"died", "die"},             {"relational", "relat"},
        {"conditional", "condit"}, {"rational", "ration"},     {"digitizer", "digit"},
        {"conformabli", "conform"}, {"radicalli", "radic"},    {"generalization", "gener"},
        {"hopefulness", "hope"},  {"callousness", "callous"},  {"electriciti", "electr"},
        {"triplicate", "triplic"}, {"formative", "form"},      {"formalize", "formal"},
        {"revival", "reviv"},     {"allowance", "allow"},      {"adjustable", "adjust"},
        {"replacement", "replac"}, {"adoption", "adopt"},      {"effective", "effect"},
        {"probate", "probat"},    {"rate", "rate"},            {"cease", "ceas"},
        {"controll", "control"},  {"roll", "roll"},            {"skies", "sky"},
        {"dying", "die"},         {"lying", "lie"},            {"news", "news"},
        {"innings", "inning"},    {"proceed", "proceed"},      {"exceed", "exceed"},
        {"succeed", "succeed"},   {"generously", "gener"},     {"archaeology", "archaeolog"},
        {"geology", "geolog"},    {"fruitfully", "fruit"},     {"internationally", "intern"},
        {"abc123s", "abc123"},    {"yyyy", "yyyi"},            {"Running", "run"},
    };
    for (const auto& row : table) QTest::newRow(row[0]) << QString(row[0]) << QString(row[1]);
  }
  void porterStemmer() {
    QFETCH(QString, word);
    QFETCH(QString, stem);
    QCOMPARE(QString::fromStdString(porter_stem(word.toStdString())), stem);
  }

  void tokenizer() {
    // Only tokens longer than 3 characters are stemmed.
    QCOMPARE(joined(rouge_tokenize("was has bus yes")), std::string("was has bus yes"));
    QCOMPARE(joined(rouge_tokenize("Don't stop-the running cats!")),
             std::string("don t stop the run cat"));
    QCOMPARE(joined(rouge_tokenize("Don't stop-the running cats!", false)),
             std::string("don t stop the running cats"));
    QCOMPARE(joined(rouge_tokenize("abc123 ABC123s x86_64")), std::string("abc123 abc123 x86 64"));
    // Non-ASCII characters are separators; U+0130 lowercases to "i" + U+0307, U+212A to "k".
    QCOMPARE(joined(rouge_tokenize("caf\xC3\xA9 na\xC3\xAFve")), std::string("caf na ve"));
    QCOMPARE(joined(rouge_tokenize("\xC4\xB0stanbul")), std::string("i stanbul"));
    QCOMPARE(joined(rouge_tokenize("\xE2\x84\xAA" "elvins")), std::string("kelvin"));
    // Invalid UTF-8 bytes are separators too (a truncated U+212A, a lone continuation byte).
    QCOMPARE(joined(rouge_tokenize("ab\xE2\x84" "cd\x80" "ef\xC4")), std::string("ab cd ef"));
    QVERIFY(rouge_tokenize("").empty());
    QVERIFY(rouge_tokenize(" \t\n ...!? ").empty());
  }

  void edgeCases() {
    const RougeScore empty = rouge_l("", "something");
    QCOMPARE(empty.precision, 0.0);
    QCOMPARE(empty.recall, 0.0);
    QCOMPARE(empty.fmeasure, 0.0);
    QCOMPARE(rouge_l("something", "   ").fmeasure, 0.0);
    QCOMPARE(rouge_l("", "").fmeasure, 0.0);
    const RougeScore same = rouge_l("The cats are running.", "the cat is running");
    QCOMPARE(same.precision, 0.75);  // tokens: the cat are run / the cat is run
    QCOMPARE(same.recall, 0.75);
    const RougeScore s = rouge_l("a b c d", "a c");
    QCOMPARE(s.precision, 1.0);
    QCOMPARE(s.recall, 0.5);
    QCOMPARE(s.fmeasure, 2 * 1.0 * 0.5 / 1.5);
  }

  void exactMatch() {
    QVERIFY(exact_match("Paris", "Paris"));
    QVERIFY(exact_match("  Paris\n", "\tParis "));
    QVERIFY(exact_match("", " \r\n\t\v\f"));
    QVERIFY(!exact_match("Paris", "paris"));
    QVERIFY(!exact_match("Paris.", "Paris"));
    QVERIFY(!exact_match("New  York", "New York"));
    QVERIFY(!exact_match("Paris\xC2\xA0", "Paris"));  // U+00A0 is not trimmed
  }
};

QTEST_APPLESS_MAIN(TestRouge)
#include "test_rouge.moc"
