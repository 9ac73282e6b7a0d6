#include "data_preview.h"

#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>
#include <map>

#include "data/run_data.h"
#include "inline_message.h"
#include "run/run_config.h"
#include "util/error.h"

namespace moekd::ui {

using json = nlohmann::json;

namespace {
QString qs(const std::string& s) { return QString::fromStdString(s); }
}  // namespace

DataPreview::DataPreview(QWidget* parent) : QWidget(parent) {
  auto* v = new QVBoxLayout(this);
  v->setContentsMargins(0, 0, 0, 0);
  info_ = new QLabel;
  info_->setObjectName("data.info");
  info_->setWordWrap(true);
  info_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  v->addWidget(info_);
  table_ = new QTableWidget(0, 3);
  table_->setObjectName("data.preview");
  table_->setHorizontalHeaderLabels({tr("Category"), tr("Prompt"), tr("Response")});
  table_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
  table_->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
  table_->horizontalHeader()->setSectionResizeMode(2, QHeaderView::Stretch);
  table_->verticalHeader()->setVisible(false);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setWordWrap(false);
  table_->setMinimumHeight(220);
  v->addWidget(table_, 1);
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

void DataPreview::refresh() {
  const QString key = qs(pending_.dump());
  if (key == shownKey_) return;
  shownKey_ = key;
  table_->setRowCount(0);
  try {
    auto field = [this](const char* k) {
      const auto it = pending_.find(k);
      return it != pending_.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (field("path").empty() && field("kind") == "jsonl") throw Error("Choose a Dolly-format JSONL file to preview it.");
    if (field("path").empty() && field("kind") == "text") throw Error("Choose a text file to preview it.");
    const DataConfig d = parse_data_config(pending_, "data");
    const Dataset ds = load_run_dataset(d);
    std::map<std::string, int64_t> counts;
    for (const auto& ex : ds.train) counts[ex.category]++;
    QStringList parts;
    for (const auto& [cat, n] : counts) parts << QStringLiteral("%1 %2").arg(qs(cat)).arg(n);
    QString text = tr("<b>%1</b> train · %2 validation · %3 test examples<br>training examples per category: %4")
                       .arg(ds.train.size())
                       .arg(ds.validation.size())
                       .arg(ds.test.size())
                       .arg(parts.join(QStringLiteral(" · ")));
    for (const auto& w : ds.warnings) text += "<br>" + qs(w).toHtmlEscaped();
    showInlineMessage(info_, text, false, palette());
    const int rows = static_cast<int>(std::min<size_t>(ds.train.size(), 40));
    table_->setRowCount(rows);
    for (int r = 0; r < rows; ++r) {
      const auto& ex = ds.train[r];
      table_->setItem(r, 0, new QTableWidgetItem(qs(ex.category)));
      // Dolly prompts: show the instruction (and input), not the template around them.
      QString prompt = qs(ex.prompt);
      const int at = prompt.indexOf(QStringLiteral("### Instruction:"));
      if (at >= 0) prompt = prompt.mid(at + 16);
      prompt.replace(QStringLiteral("### Input:"), QStringLiteral(" — ")).remove(QStringLiteral("### Response:"));
      auto* item = new QTableWidgetItem(prompt.simplified());
      item->setToolTip(qs(ex.prompt));
      table_->setItem(r, 1, item);
      table_->setItem(r, 2, new QTableWidgetItem(qs(ex.response).simplified()));
    }
  } catch (const std::exception& e) {
    showInlineMessage(info_, qs(e.what()).toHtmlEscaped(), true, palette());
  }
}

}  // namespace moekd::ui
