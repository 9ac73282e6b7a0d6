#include "evaluation_view.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <set>

#include "generation_band.h"
#include "plot_style.h"
#include "run_store.h"

namespace moekd::ui {

namespace {
QString noEvaluation() {
  return QObject::tr("No evaluation yet. A run evaluates every few steps (Configure, Evaluation: Every) and "
                     "at its end.");
}
// One line for a table cell: the cell elides it, the tooltip has the whole text.
// Empty generations say so (greyed), instead of looking like a missing cell.
QTableWidgetItem* textItem(const std::string& text, bool generated, const QPalette& pal) {
  const QString full = QString::fromStdString(text);
  QString line = full;
  line.replace('\n', QStringLiteral(" ⏎ "));
  auto* item = new QTableWidgetItem(line);
  item->setData(Qt::UserRole, full);
  item->setToolTip(full.size() > 2000 ? full.left(2000) + QStringLiteral("…") : full);
  if (generated && full.trimmed().isEmpty()) {
    item->setText(QObject::tr("(generated nothing)"));
    item->setForeground(pal.color(QPalette::Disabled, QPalette::Text));
    QFont font = item->font();
    font.setItalic(true);
    item->setFont(font);
  }
  item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
  return item;
}
}  // namespace

EvaluationView::EvaluationView(const RunStore* store, QWidget* parent) : QWidget(parent), store_(store) {
  auto* outer = new QVBoxLayout(this);
  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel(tr("Category")));
  category_ = new QComboBox;
  category_->setObjectName("category");
  category_->setMinimumContentsLength(12);
  category_->addItem(tr("all"));
  bar->addWidget(category_);
  bar->addSpacing(12);
  info_ = new QLabel(noEvaluation());
  info_->setObjectName("evaluationInfo");
  // Wraps in the room the choices leave, so that a long sentence never widens the window.
  info_->setWordWrap(true);
  info_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  bar->addWidget(info_, 1);
  outer->addLayout(bar);

  plot_ = new QCustomPlot;
  plot_->setObjectName("evaluationChart");
  plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  plot_->xAxis->setLabel(tr("step"));
  plot_->xAxis->setTicker(stepTicker());
  plot_->yAxis->setLabel(tr("ROUGE-L, exact match"));
  plot_->yAxis2->setVisible(true);
  plot_->yAxis2->setLabel(tr("validation loss"));
  rouge_ = plot_->addGraph(plot_->xAxis, plot_->yAxis);
  rouge_->setName(tr("ROUGE-L"));
  exact_ = plot_->addGraph(plot_->xAxis, plot_->yAxis);
  exact_->setName(tr("exact match"));
  loss_ = plot_->addGraph(plot_->xAxis, plot_->yAxis2);
  loss_->setName(tr("validation loss (right axis)"));
  for (QCPGraph* g : {rouge_, exact_, loss_}) g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 5));
  plot_->legend->setVisible(true);
  plot_->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
  plot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
  outer->addWidget(plot_, 3);

  generation_ = new GenerationBand;
  outer->addWidget(generation_);
  outer->addWidget(new QLabel(tr("Samples of the latest evaluation (hover a cell for its whole text)")));
  table_ = new QTableWidget(0, 5);
  table_->setObjectName("samples");
  table_->setHorizontalHeaderLabels({tr("Category"), tr("Prompt"), tr("Reference"), tr("Student"), tr("Teacher")});
  table_->setWordWrap(false);
  table_->setTextElideMode(Qt::ElideRight);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setAlternatingRowColors(true);
  table_->verticalHeader()->setVisible(false);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
  table_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
  outer->addWidget(table_, 2);

  applyColors();
  connect(category_, &QComboBox::currentIndexChanged, this, [this] {
    if (!updating_) redrawChart();
  });
  connect(store_, &RunStore::reset, this, &EvaluationView::onReset);
  connect(store_, &RunStore::evaluationAdded, this, &EvaluationView::showLatest);
  connect(store_, &RunStore::generationChanged, this, [this] { generation_->showSample(*store_->generation()); });
  onReset();
}

void EvaluationView::applyColors() {
  applyPalette(plot_, palette());
  // Exact match is drawn thin on top of a wide ROUGE-L: where they coincide (short answers) both show.
  rouge_->setPen(QPen(seriesColor(0), 4.5));
  exact_->setPen(QPen(seriesColor(4), 1.5));
  loss_->setPen(QPen(seriesColor(1), 2, Qt::DashLine));
  const QColor text = palette().color(QPalette::WindowText);
  plot_->yAxis2->setBasePen(QPen(text));
  plot_->yAxis2->setTickPen(QPen(text));
  plot_->yAxis2->setSubTickPen(QPen(text));
  plot_->yAxis2->setTickLabelColor(text);
  plot_->yAxis2->setLabelColor(text);
}

void EvaluationView::onReset() {
  updating_ = true;
  category_->clear();
  category_->addItem(tr("all"));
  updating_ = false;
  table_->setRowCount(0);
  if (store_->generation()) generation_->showSample(*store_->generation());
  else generation_->clearSample();
  info_->setText(noEvaluation());
  if (store_->evaluations().empty()) redrawChart();
  else showLatest();
}

void EvaluationView::showLatest() {
  const auto& r = store_->evaluations().back();
  refreshCategories();
  redrawChart();
  fillSamples();
  info_->setText(tr("Step %1: validation loss %2 · perplexity %3 · ROUGE-L %4 · exact match %5")
                     .arg(r.step)
                     .arg(r.val_loss, 0, 'f', 4)
                     .arg(r.perplexity, 0, 'f', 2)
                     .arg(r.rouge_l, 0, 'f', 3)
                     .arg(r.exact_match, 0, 'f', 3));
}

int EvaluationView::evaluationCount() const { return static_cast<int>(store_->evaluations().size()); }

void EvaluationView::setCategory(const QString& category) {
  const int i = category.isEmpty() || category == "all" ? 0 : category_->findText(category);
  if (i >= 0) category_->setCurrentIndex(i);
}

void EvaluationView::refreshCategories() {
  std::set<QString> names;
  for (const auto& r : store_->evaluations())
    for (const auto& [name, _] : r.per_category) names.insert(QString::fromStdString(name));
  updating_ = true;
  for (const QString& name : names)
    if (category_->findText(name) < 0) category_->addItem(name);
  updating_ = false;
}

void EvaluationView::redrawChart() {
  const bool all = category_->currentIndex() <= 0;
  const std::string name = category_->currentText().toStdString();
  QVector<double> x, rouge, exact, loss;
  for (const auto& r : store_->evaluations()) {
    if (all) {
      x.push_back(static_cast<double>(r.step));
      rouge.push_back(r.rouge_l);
      exact.push_back(r.exact_match);
      loss.push_back(r.val_loss);
    } else if (auto it = r.per_category.find(name); it != r.per_category.end()) {
      x.push_back(static_cast<double>(r.step));
      rouge.push_back(it->second.rouge_l);
      exact.push_back(it->second.exact_match);
      loss.push_back(it->second.val_loss);
    }
  }
  rouge_->setData(x, rouge, true);
  exact_->setData(x, exact, true);
  loss_->setData(x, loss, true);
  if (x.isEmpty()) {
    plot_->xAxis->setRange(0, 10);
    plot_->yAxis->setRange(0, 1);
    plot_->yAxis2->setRange(0, 1);
  } else {
    const double lo = x.front(), hi = x.back();
    const double pad = std::max(1.0, 0.03 * (hi - lo));
    plot_->xAxis->setRange(lo - pad, hi + pad);
    const double top = std::max(*std::max_element(rouge.begin(), rouge.end()), *std::max_element(exact.begin(), exact.end()));
    // Scores live in [0, 1]; a little below 0 keeps zero scores off the axis line.
    const double upper = std::min(1.05, std::max(0.1, top * 1.3));
    plot_->yAxis->setRange(-0.03 * upper, upper);
    bool found = false;
    QCPRange lossRange = loss_->getValueRange(found);
    if (!found) lossRange = QCPRange(0, 1);
    const double span = std::max(lossRange.size(), 0.05 * std::abs(lossRange.upper) + 1e-6);
    plot_->yAxis2->setRange(std::max(0.0, lossRange.lower - 0.1 * span), lossRange.upper + 0.45 * span);
  }
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void EvaluationView::fillSamples() {
  const auto& samples = store_->evaluations().back().samples;
  table_->setRowCount(static_cast<int>(samples.size()));
  for (int i = 0; i < static_cast<int>(samples.size()); ++i) {
    const auto& s = samples[i];
    table_->setItem(i, 0, textItem(s.category, false, palette()));
    table_->setItem(i, 1, textItem(s.prompt, false, palette()));
    table_->setItem(i, 2, textItem(s.reference, false, palette()));
    table_->setItem(i, 3, textItem(s.student, true, palette()));
    table_->setItem(i, 4, textItem(s.teacher, true, palette()));
  }
  bool teacher = false;
  for (const auto& s : samples) teacher = teacher || !s.teacher.empty();
  table_->setColumnHidden(4, !teacher);  // runs without a teacher have nothing to show there
}

void EvaluationView::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::PaletteChange && plot_) {
    applyColors();
    if (!store_->evaluations().empty()) fillSamples();  // the greyed "(generated nothing)" cells
    plot_->replot(QCustomPlot::rpQueuedReplot);
  }
}

}  // namespace moekd::ui
