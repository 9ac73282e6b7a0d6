// The built-in tasks of the demo: portable seeded randomness, deterministic and balanced splits
// that share no prompt, answers that are correct and small, and refused impossible sizes.
#include <QtTest>
#include <algorithm>
#include <map>
#include <set>

#include "data/tasks.h"
#include "data/tokenizer.h"
#include "error_of.h"
#include "prompts_of.h"

using namespace moekd;
using moekd::test::error_of;
using moekd::test::prompts_of;

namespace {

// The answer of a builtin task, recomputed from the prompt alone, independently of tasks.cpp.
std::string solve(const std::string& prompt) {
  const auto space = prompt.find(' ');
  const std::string word = prompt.substr(0, space);
  std::string arg = prompt.substr(space + 1);
  if (arg.empty() || arg.back() != '=') return "<no '='>";
  arg.pop_back();
  if (word == "add") {
    const auto plus = arg.find('+');
    return std::to_string(std::stoi(arg.substr(0, plus)) + std::stoi(arg.substr(plus + 1)));
  }
  if (word == "count") {  // "X in TEXT"
    const char letter = arg[0];
    const std::string text = arg.substr(5);
    int n = 0;
    for (char c : text) n += c == letter;
    return std::to_string(n);
  }
  if (word == "match") {
    int depth = 0, lowest = 0;
    for (char c : arg) {
      depth += c == '(' ? 1 : -1;
      lowest = std::min(lowest, depth);
    }
    return depth == 0 && lowest == 0 ? "yes" : "no";
  }
  if (word == "reverse") return std::string(arg.rbegin(), arg.rend());
  if (word == "shift") {
    for (char& c : arg) c = static_cast<char>('a' + (c - 'a' + 1) % 26);
    return arg;
  }
  if (word == "sort") {
    std::multiset<char> digits(arg.begin(), arg.end());
    std::string out;
    for (char d : digits) out += out.empty() ? std::string(1, d) : std::string(" ") + d;
    return out;
  }
  if (word == "swap") {
    const auto sp = arg.find(' ');
    return arg.substr(sp + 1) + " " + arg.substr(0, sp);
  }
  if (word == "upper") {
    for (char& c : arg) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return arg;
  }
  return "<unknown task " + word + ">";
}

}  // namespace

class TestTasks : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void portableRandom() {
    std::mt19937_64 rng(5);
    std::map<int64_t, int> seen;
    for (int i = 0; i < 2000; ++i) {
      const int64_t v = uniform_int(rng, -3, 3);
      QVERIFY(v >= -3 && v <= 3);
      ++seen[v];
    }
    QCOMPARE(seen.size(), size_t(7));
    std::vector<int> items = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    portable_shuffle(items, rng);
    std::vector<int> sorted = items;
    std::sort(sorted.begin(), sorted.end());
    QCOMPARE(sorted, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    QVERIFY(sorted != items);
    QVERIFY(mix_seed(1, 0) != mix_seed(1, 1) && mix_seed(1, 0) != mix_seed(2, 0));
  }

  void builtinTasksDeterministic() {
    const Dataset a = make_builtin_tasks(7, 400, 80, 80);
    const Dataset b = make_builtin_tasks(7, 400, 80, 80);
    const Dataset c = make_builtin_tasks(8, 400, 80, 80);
    QCOMPARE(prompts_of(a.train), prompts_of(b.train));
    QCOMPARE(prompts_of(a.validation), prompts_of(b.validation));
    QCOMPARE(prompts_of(a.test), prompts_of(b.test));
    QVERIFY(prompts_of(a.train) != prompts_of(c.train));
    QVERIFY(prompts_of(a.test) != prompts_of(c.test));
    QCOMPARE(a.source, std::string("builtin:tasks seed=7"));
    // The test set does not move when the training set grows.
    const Dataset bigger = make_builtin_tasks(7, 1600, 80, 80);
    QCOMPARE(prompts_of(bigger.test), prompts_of(a.test));
    QCOMPARE(prompts_of(bigger.validation), prompts_of(a.validation));
  }

  void builtinTasksBalancedAndDisjoint() {
    const Dataset d = make_builtin_tasks(3, 1001, 203, 97);
    QCOMPARE(d.train.size(), size_t(1001));
    QCOMPARE(d.validation.size(), size_t(203));
    QCOMPARE(d.test.size(), size_t(97));
    QVERIFY(d.categories.size() >= 6);
    QCOMPARE(d.categories, builtin_task_categories());
    QVERIFY(std::is_sorted(d.categories.begin(), d.categories.end()));
    QCOMPARE(d.skipped_rows, int64_t(0));
    QVERIFY(d.warnings.empty());

    std::set<std::string> all;
    size_t total = 0;
    for (const auto* split : {&d.train, &d.validation, &d.test}) {
      std::map<std::string, int> per_cat;
      for (const auto& ex : *split) {
        ++per_cat[ex.category];
        all.insert(ex.instruction);
        ++total;
      }
      QCOMPARE(per_cat.size(), d.categories.size());
      int lo = INT32_MAX, hi = 0;
      for (const auto& [cat, n] : per_cat) {
        lo = std::min(lo, n);
        hi = std::max(hi, n);
      }
      QVERIFY2(hi - lo <= 1, "categories are not balanced");
      // Shuffled: not the round-robin order of generation.
      bool round_robin = true;
      for (size_t i = 0; i < split->size(); ++i)
        round_robin = round_robin && (*split)[i].category == d.categories[i % d.categories.size()];
      QVERIFY(!round_robin);
    }
    QCOMPARE(all.size(), total);  // no prompt twice, within or across splits
  }

  void builtinTasksAnswersCorrectAndSmall() {
    const Dataset d = make_builtin_tasks(11, 1200, 200, 200);
    const auto tok = make_builtin_tokenizer();
    std::map<std::string, std::set<std::string>> answers;
    for (const auto* split : {&d.train, &d.validation, &d.test})
      for (const auto& ex : *split) {
        QVERIFY2(ex.instruction.rfind(ex.category + " ", 0) == 0, ex.instruction.c_str());
        QCOMPARE(ex.response, solve(ex.instruction));
        QVERIFY2(ex.instruction.size() <= 24, ex.instruction.c_str());
        QVERIFY2(ex.response.size() <= 12 && !ex.response.empty(), ex.instruction.c_str());
        for (int64_t id : tok->encode(ex.instruction + ex.response)) QVERIFY(id >= 4);  // no <unk>
        answers[ex.category].insert(ex.response);
      }
    // Both labels of the yes/no task, about evenly, and varied answers elsewhere.
    QCOMPARE(answers["match"], (std::set<std::string>{"no", "yes"}));
    int yes = 0, match = 0;
    for (const auto& ex : d.train)
      if (ex.category == "match") {
        ++match;
        yes += ex.response == "yes";
      }
    QVERIFY2(yes * 10 >= match * 4 && yes * 10 <= match * 6,
             qPrintable(QString("%1 of %2").arg(yes).arg(match)));
    QVERIFY(answers["count"].size() >= 5);
    QVERIFY(answers["add"].size() >= 50);
  }

  void builtinTasksRefuseImpossibleSizes() {
    QVERIFY(!error_of([] { make_builtin_tasks(1, -1, 0, 0); }).isEmpty());
    // "add" has 10000 distinct prompts; 8 categories x 12000 asks for more.
    const QString e = error_of([] { make_builtin_tasks(1, 96000, 0, 0); });
    QVERIFY2(e.contains("add") && e.contains("fewer"), qPrintable(e));
    QVERIFY(make_builtin_tasks(1, 0, 0, 0).train.empty());
  }

};

QTEST_APPLESS_MAIN(TestTasks)
#include "test_tasks.moc"
