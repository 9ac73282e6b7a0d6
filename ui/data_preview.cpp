#include "data_preview.h"

#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QTextBrowser>
#include <QTimer>
#include <QVBoxLayout>
#include <algorithm>
#include <map>

#include "data/run_data.h"
#include "inline_message.h"
#include "qstr.h"
#include "run/run_config.h"
#include "util/error.h"

namespace moekd::ui {

using json = nlohmann::json;

namespace {

// Token backgrounds: two shades per kind, alternating, so that neighbouring pieces stay apart.
// Light colours with black text read the same on light and dark windows.
const char* const kPromptShades[] = {"#dde8f7", "#a7c2e6"};
const char* const kTargetShades[] = {"#d6f0ce", "#9bd48b"};
const char* const kSpecialShade = "#ffd98a";

// A piece of text as it shows in the token view: whitespace made visible, HTML escaped.
QString visible(const std::string& piece) {
  QString out;
  for (const QChar c : qstr(piece)) {
    if (c == ' ') out += QChar(0x00B7);                    // middle dot
    else if (c == '\n') out += QString(QChar(0x21B5)) + "<br>";  // return arrow, then the break
    else if (c == '\t') out += QChar(0x2192);              // rightwards arrow
    else if (c == '\r') out += QStringLiteral("\\r");
    else if (c == '<') out += QStringLiteral("&lt;");
    else if (c == '>') out += QStringLiteral("&gt;");
    else if (c == '&') out += QStringLiteral("&amp;");
    else out += c;
  }
  return out;
}

// Each token's share of the decoded text (a piece of a multi-byte character may add nothing
// alone), or "" for a token that decodes to nothing (a control token: shown by its name).
std::vector<std::string> decoded_pieces(const Tokenizer& tok, const std::vector<int64_t>& ids) {
  std::vector<std::string> pieces;
  std::string before;
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string now = tok.decode({ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(i) + 1});
    pieces.push_back(now.compare(0, before.size(), before) == 0 ? now.substr(before.size()) : tok.decode({ids[i]}));
    before = now;
  }
  return pieces;
}

QString example_prompt(const Example& ex) {
  QString p = qstr(ex.instruction).simplified();
  if (!ex.context.empty()) p += QStringLiteral(" — ") + qstr(ex.context).simplified();
  return p;
}

struct CategoryTokens {
  int64_t examples = 0, prompt = 0, target = 0, longest = 0, over = 0;
};

QTableWidgetItem* number_item(double v, int decimals = 0) {
  auto* item = new QTableWidgetItem(QString::number(v, 'f', decimals));
  item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  return item;
}

}  // namespace

DataPreview::DataPreview(QWidget* parent) : QWidget(parent) {
  auto* v = new QVBoxLayout(this);
  v->setContentsMargins(0, 0, 0, 0);
  info_ = new QLabel;
  info_->setObjectName("data.info");
  info_->setWordWrap(true);
  info_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  v->addWidget(info_);

  table_ = new QTableWidget(0, 4);
  table_->setObjectName("data.preview");
  table_->setHorizontalHeaderLabels({tr("Category"), tr("Prompt"), tr("Response"), tr("Tokens")});
  table_->horizontalHeaderItem(3)->setToolTip(tr("Prompt + target tokens, as the run trains them (cut to max length)"));
  table_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
  table_->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
  table_->horizontalHeader()->setSectionResizeMode(2, QHeaderView::Stretch);
  table_->horizontalHeader()->setSectionResizeMode(3, QHeaderView::ResizeToContents);
  table_->verticalHeader()->setVisible(false);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::SingleSelection);
  table_->setWordWrap(false);
  table_->setMinimumHeight(100);

  tokens_ = new QTextBrowser;
  tokens_->setObjectName("data.tokens");
  tokens_->setMinimumHeight(64);
  tokens_->setOpenLinks(false);

  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(table_);
  split->addWidget(tokens_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  split->setChildrenCollapsible(false);

  counts_ = new QTableWidget(0, 6);
  counts_->setObjectName("data.counts");
  counts_->setHorizontalHeaderLabels(
      {tr("Category"), tr("Examples"), tr("Prompt"), tr("Target"), tr("Longest"), tr("Cut")});
  counts_->horizontalHeaderItem(2)->setToolTip(tr("Mean prompt tokens: before the response, template and bos included"));
  counts_->horizontalHeaderItem(3)->setToolTip(
      tr("Mean target tokens, the ones the loss sees: the response, the template's ending and the eos"));
  counts_->horizontalHeaderItem(4)->setToolTip(tr("Tokens of the longest example, before data.max_len cuts it"));
  counts_->horizontalHeaderItem(5)->setToolTip(tr("Examples longer than data.max_len, which the run cuts"));
  counts_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  counts_->horizontalHeader()->setStretchLastSection(true);
  counts_->verticalHeader()->setVisible(false);
  counts_->setEditTriggers(QAbstractItemView::NoEditTriggers);

  auto* tabs = new QTabWidget;
  tabs->setObjectName("data.tabs");
  tabs->addTab(split, tr("Examples"));
  tabs->addTab(counts_, tr("Tokens per category"));
  v->addWidget(tabs, 1);

  connect(table_, &QTableWidget::currentCellChanged, this, [this](int row) { showTokens(row); });
  timer_ = new QTimer(this);
  timer_->setSingleShot(true);
  timer_->setInterval(250);
  connect(timer_, &QTimer::timeout, this, &DataPreview::refresh);
}

void DataPreview::setDataConfig(const json& data) {
  pending_ = data;
  timer_->start();
}

void DataPreview::refreshNow() {
  timer_->stop();
  refresh();
}

const Tokenizer& DataPreview::tokenizer(const std::string& spec) {
  if (!tokenizer_ || spec != tokenizerSpec_) {
    tokenizer_.reset();
    tokenizerSpec_ = spec;
    tokenizer_ = load_tokenizer(spec);
  }
  return *tokenizer_;
}

void DataPreview::refresh() {
  const QString key = qstr(pending_.dump());
  if (key == shownKey_) return;
  shownKey_ = key;
  table_->setRowCount(0);
  counts_->setRowCount(0);
  tokens_->clear();
  examples_.clear();
  tokenized_.clear();
  uncutLengths_.clear();
  tokenError_.clear();
  DataConfig d;
  Dataset ds;
  try {
    auto field = [this](const char* k) {
      const auto it = pending_.find(k);
      return it != pending_.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (field("path").empty() && field("kind") == "jsonl") throw Error("Choose a Dolly-format JSONL file to preview it.");
    if (field("path").empty() && field("kind") == "text") throw Error("Choose a text file to preview it.");
    d = parse_data_config(pending_, "data");
    maxLen_ = d.max_len;
    ds = load_run_dataset(d);
  } catch (const std::exception& e) {
    showInlineMessage(info_, qstr(e.what()).toHtmlEscaped(), true, palette());
    return;
  }

  // Tokenized as the run will: its tokenizer, its template. A failure here (no tokenizer yet, a
  // template the tokenizer cannot write) still shows the examples, and says why there are no tokens.
  const Tokenizer* tok = nullptr;
  bool have_template = false;
  try {
    template_ = run_prompt_template(d);
    have_template = true;
    tok = &tokenizer(d.tokenizer);
    check_template_tokens(template_, *tok);
  } catch (const std::exception& e) {
    tok = nullptr;
    tokenError_ = qstr(e.what());
  }

  QString text = tr("<b>%1</b> train · %2 validation · %3 test examples").arg(ds.train.size()).arg(ds.validation.size()).arg(ds.test.size());
  if (tok) text += tr(" · template <b>%1</b> · %2").arg(qstr(template_.name), qstr(tok->describe()).toHtmlEscaped());
  for (const auto& w : ds.warnings) text += "<br>" + qstr(w).toHtmlEscaped();
  if (!tokenError_.isEmpty()) text += "<br>" + tr("No tokens: %1").arg(tokenError_.toHtmlEscaped());
  showInlineMessage(info_, text, !tokenError_.isEmpty(), palette());

  const size_t shown = std::min<size_t>(ds.train.size(), 40);
  examples_.assign(ds.train.begin(), ds.train.begin() + static_cast<std::ptrdiff_t>(shown));
  table_->setRowCount(static_cast<int>(shown));
  for (int r = 0; r < static_cast<int>(shown); ++r) {
    const auto& ex = examples_[r];
    table_->setItem(r, 0, new QTableWidgetItem(qstr(ex.category)));
    auto* prompt = new QTableWidgetItem(example_prompt(ex));
    if (have_template) prompt->setToolTip(qstr(prompt_text(template_, ex)));
    table_->setItem(r, 1, prompt);
    table_->setItem(r, 2, new QTableWidgetItem(qstr(ex.response).simplified()));
    if (!tok) continue;
    try {
      tokenized_.push_back(tokenize_example(*tok, template_, ex, d.max_len, 0));
      uncutLengths_.push_back(static_cast<int64_t>(tokenize_example(*tok, template_, ex, 1 << 30, 0).ids.size()));
    } catch (const std::exception& e) {  // text that is not UTF-8, for one
      tokenized_.clear();
      tokenError_ = qstr(e.what());
      break;
    }
    const auto& te = tokenized_.back();
    const bool cut = uncutLengths_.back() > static_cast<int64_t>(te.ids.size());
    auto* count = new QTableWidgetItem(QStringLiteral("%1 + %2%3")
                                           .arg(te.response_start)
                                           .arg(static_cast<int64_t>(te.ids.size()) - te.response_start)
                                           .arg(cut ? tr(" (cut)") : QString()));
    if (cut) count->setToolTip(tr("%1 tokens before data.max_len cuts it").arg(uncutLengths_.back()));
    table_->setItem(r, 3, count);
  }

  if (tok && tokenError_.isEmpty()) {
    std::map<std::string, CategoryTokens> by_category;
    CategoryTokens all;
    const size_t counted = std::min(ds.train.size(), kCountedExamples);
    try {
      for (size_t i = 0; i < counted; ++i) {
        const auto& ex = ds.train[i];
        const auto te = tokenize_example(*tok, template_, ex, 1 << 30, 0);  // uncut: how long it really is
        const int64_t n = static_cast<int64_t>(te.ids.size());
        for (auto* c : {&by_category[ex.category], &all}) {
          c->examples++;
          c->prompt += te.response_start;
          c->target += n - te.response_start;
          c->longest = std::max(c->longest, n);
          c->over += n > d.max_len;
        }
      }
    } catch (const std::exception& e) {
      by_category.clear();
      all = {};
      tokenError_ = qstr(e.what());
    }
    counts_->setRowCount(static_cast<int>(by_category.size()) + 1);
    int r = 0;
    auto put = [&](const std::string& name, const CategoryTokens& c) {
      const double n = std::max<int64_t>(c.examples, 1);
      counts_->setItem(r, 0, new QTableWidgetItem(qstr(name)));
      counts_->setItem(r, 1, number_item(static_cast<double>(c.examples)));
      counts_->setItem(r, 2, number_item(static_cast<double>(c.prompt) / n, 1));
      counts_->setItem(r, 3, number_item(static_cast<double>(c.target) / n, 1));
      counts_->setItem(r, 4, number_item(static_cast<double>(c.longest)));
      counts_->setItem(r, 5, number_item(static_cast<double>(c.over)));
      ++r;
    };
    for (const auto& [name, c] : by_category) put(name, c);
    put(counted < ds.train.size() ? tr("all (first %1)").arg(counted).toStdString() : tr("all").toStdString(), all);
  }
  if (table_->rowCount() > 0) table_->setCurrentCell(0, 1);
  showTokens(table_->currentRow());
}

void DataPreview::showTokens(int row) {
  if (!tokenError_.isEmpty()) {
    tokens_->setPlainText(tr("No tokens: %1").arg(tokenError_));
    return;
  }
  if (row < 0 || row >= static_cast<int>(tokenized_.size()) || !tokenizer_) {
    tokens_->clear();
    return;
  }
  const TokenizedExample& te = tokenized_[static_cast<size_t>(row)];
  const auto pieces = decoded_pieces(*tokenizer_, te.ids);
  const int64_t n = static_cast<int64_t>(te.ids.size()), targets = n - te.response_start;
  QString html = QStringLiteral("<div style='font-family:monospace; line-height:150%'>");
  for (int64_t i = 0; i < n; ++i) {
    const bool target = te.loss_mask[static_cast<size_t>(i)] != 0;
    const bool control = pieces[static_cast<size_t>(i)].empty();
    const QString shade = control ? kSpecialShade : (target ? kTargetShades : kPromptShades)[i % 2];
    const QString body = control ? "<b>" + visible(tokenizer_->token_text(te.ids[static_cast<size_t>(i)])) + "</b>"
                                 : visible(pieces[static_cast<size_t>(i)]);
    const QString under = target ? QStringLiteral("; text-decoration:underline") : QString();
    html += QStringLiteral("<span title='id %1' style='background:%2; color:#000000%3'>%4</span>")
                .arg(te.ids[static_cast<size_t>(i)])
                .arg(shade, under, body);
  }
  html += QStringLiteral("</div><p>");
  html += tr("<b>%1</b> tokens: %2 prompt (<span style='background:%4; color:#000000'>&nbsp;blue&nbsp;</span>), "
             "%3 target, the loss's (<span style='background:%5; color:#000000'>&nbsp;green, underlined&nbsp;</span>); "
             "<span style='background:%6; color:#000000'>&nbsp;<b>control tokens</b>&nbsp;</span> by name; "
             "%7 spaces, %8 newlines")
              .arg(n)
              .arg(te.response_start)
              .arg(targets)
              .arg(kPromptShades[1], kTargetShades[1], kSpecialShade)
              .arg(QChar(0x00B7))
              .arg(QChar(0x21B5));
  const int64_t uncut = uncutLengths_[static_cast<size_t>(row)];
  if (uncut > n)
    html += "<br>" + tr("Cut to data.max_len = %1: the example has %2 tokens; the prompt loses its start first, then "
                        "the response its end (and its stop token)")
                         .arg(maxLen_)
                         .arg(uncut);
  html += QStringLiteral("</p>");
  tokens_->setHtml(html);
}

}  // namespace moekd::ui
