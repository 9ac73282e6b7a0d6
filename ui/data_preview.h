#pragma once
// The data a run would train on, previewed from the form's `data` section: how many examples each
// split holds, any rows the reader skipped, the first training examples, the tokens of the chosen
// one (coloured piece by piece, the targets marked, as the run's tokenizer and template make them)
// and the token counts per category. It reads and tokenizes the data the way a run does
// (data/run_data.h), a quarter second after the last edit.
#include <QString>
#include <QWidget>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/prompt_template.h"
#include "data/tokenizer.h"

class QLabel;
class QTableWidget;
class QTextBrowser;
class QTimer;

namespace moekd::ui {

class DataPreview : public QWidget {
  Q_OBJECT
 public:
  explicit DataPreview(QWidget* parent = nullptr);
  // A run config's `data` object; unchanged sections are not read again.
  void setDataConfig(const nlohmann::json& data);
  void refreshNow();

  // At most this many training examples are tokenized for the counts (the preview stays quick
  // on a 15,000-row Dolly file; the counts say when they are of a sample).
  static constexpr size_t kCountedExamples = 2000;

 private:
  void refresh();
  void showTokens(int row);
  // The tokenizer of `spec`, loaded once per spec.
  const Tokenizer& tokenizer(const std::string& spec);

  nlohmann::json pending_;
  QString shownKey_;
  QLabel* info_ = nullptr;
  QTableWidget* table_ = nullptr;   // the first training examples
  QTextBrowser* tokens_ = nullptr;  // the chosen example's tokens
  QTableWidget* counts_ = nullptr;  // tokens per category
  QTimer* timer_ = nullptr;

  std::string tokenizerSpec_;
  std::unique_ptr<Tokenizer> tokenizer_;
  PromptTemplate template_;
  // What the shown rows were tokenized with; tokenized_ is empty when that failed (tokenError_ says why).
  std::vector<Example> examples_;
  std::vector<TokenizedExample> tokenized_;
  std::vector<int64_t> uncutLengths_;  // each shown example's tokens before data.max_len cuts it
  int64_t maxLen_ = 0;
  QString tokenError_;
};

}  // namespace moekd::ui
