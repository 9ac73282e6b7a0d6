#include "experts_view.h"

#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "layer_expert_heatmap.h"
#include "plot_style.h"
#include "run_store.h"

namespace moekd::ui {

namespace {
enum Measure { kUsage = 0, kMeanProb = 1 };
enum Routing { kAllTokens = 0, kTopK = 1, kSampled = 2 };
}

ExpertsView::ExpertsView(const RunStore* store, QWidget* parent) : QWidget(parent), store_(store) {
  auto* outer = new QVBoxLayout(this);
  // The four choices in two rows, what the heatmap shows wrapped beside them: in one row they made
  // the view too wide for a small window.
  auto* bar = new QHBoxLayout;
  auto* choices = new QGridLayout;
  choices->setHorizontalSpacing(8);
  model_ = new QComboBox;
  model_->setObjectName("model");
  model_->setMinimumContentsLength(8);
  model_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  measure_ = new QComboBox;
  measure_->setObjectName("measure");
  measure_->addItem(tr("Usage (share of routed token slots)"));
  measure_->addItem(tr("Mean router probability"));
  measure_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  measure_->setMinimumContentsLength(16);
  category_ = new QComboBox;
  category_->setObjectName("category");
  category_->setMinimumContentsLength(8);
  category_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  routing_ = new QComboBox;
  routing_->setObjectName("routing");
  routing_->addItem(tr("all tokens"));
  routing_->addItem(tr("top-k routed"));
  routing_->addItem(tr("KA-sampled"));
  routing_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  routing_->setMinimumContentsLength(16);
  routing_->setToolTip(tr("Knowledge Augmentation samples the experts of some tokens (ka.lambda) instead of "
                          "taking the top k: compare where those tokens go"));
  choices->addWidget(new QLabel(tr("Model")), 0, 0);
  choices->addWidget(model_, 0, 1);
  choices->addWidget(new QLabel(tr("Show")), 0, 2);
  choices->addWidget(measure_, 0, 3);
  choices->addWidget(new QLabel(tr("Category")), 1, 0);
  choices->addWidget(category_, 1, 1);
  choices->addWidget(new QLabel(tr("Routing")), 1, 2);
  choices->addWidget(routing_, 1, 3);
  bar->addLayout(choices);
  bar->addSpacing(16);
  info_ = new QLabel(tr("No routing snapshot yet. An MoE run records its routing every few steps (Configure, "
     "Evaluation: Routing every); runs whose models have no experts record none."));
  info_->setObjectName("snapshotInfo");
  info_->setWordWrap(true);
  info_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  bar->addWidget(info_, 1);
  outer->addLayout(bar);

  const auto heatmap = makeLayerExpertHeatmap(QStringLiteral("heatmap"));
  heat_ = heatmap.plot;
  map_ = heatmap.map;
  scale_ = heatmap.scale;
  applyPalette(heat_, palette());
  scale_->axis()->setBasePen(QPen(palette().color(QPalette::WindowText)));
  scale_->axis()->setTickLabelColor(palette().color(QPalette::WindowText));
  scale_->axis()->setLabelColor(palette().color(QPalette::WindowText));
  connect(heat_, &QCustomPlot::mouseMove, this, &ExpertsView::showTooltip);
  outer->addWidget(heat_, 3);

  auto* bar2 = new QHBoxLayout;
  bar2->addWidget(new QLabel(tr("Expert usage over the run, layer")));
  layer_ = new QSpinBox;
  layer_->setObjectName("historyLayer");
  layer_->setRange(0, 0);
  bar2->addWidget(layer_);
  bar2->addStretch(1);
  outer->addLayout(bar2);

  history_ = new QCustomPlot;
  history_->setObjectName("usageHistory");
  history_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  history_->xAxis->setLabel(tr("step"));
  history_->xAxis->setTicker(stepTicker());
  history_->yAxis->setLabel(tr("share of routed token slots"));
  // The legend sits below the chart, not on it: inside the axes it covered the curves.
  history_->legend->setVisible(true);
  history_->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
  history_->plotLayout()->addElement(1, 0, history_->legend);
  history_->plotLayout()->setRowStretchFactor(1, 0.001);
  history_->legend->setMargins(QMargins(6, 0, 6, 4));
  applyPalette(history_, palette());
  outer->addWidget(history_, 2);

  connect(model_, &QComboBox::currentTextChanged, this, [this] {
    if (updating_) return;
    refreshSelectors();
    redrawHeatmap();
    redrawHistory();
  });
  connect(measure_, &QComboBox::currentIndexChanged, this, [this] {
    if (!updating_) redrawHeatmap();
  });
  connect(category_, &QComboBox::currentIndexChanged, this, [this] {
    if (!updating_) redrawHeatmap();
  });
  connect(routing_, &QComboBox::currentIndexChanged, this, [this] {
    if (!updating_) redrawHeatmap();
  });
  connect(layer_, &QSpinBox::valueChanged, this, [this] {
    if (!updating_) redrawHistory();
  });
  connect(store_, &RunStore::reset, this, &ExpertsView::onReset);
  connect(store_, &RunStore::routingAdded, this, &ExpertsView::onSnapshot);
  onReset();
}

void ExpertsView::onReset() {
  updating_ = true;
  model_->clear();
  category_->clear();
  layer_->setRange(0, 0);
  updating_ = false;
  info_->setText(tr("No routing snapshot yet. An MoE run records its routing every few steps (Configure, "
     "Evaluation: Routing every); runs whose models have no experts record none."));
  for (const QString& model : store_->routingModels()) addModelChoice(model_, model);
  refreshSelectors();
  redrawHeatmap();
  redrawHistory();
}

void ExpertsView::onSnapshot(const QString& model) {
  addModelChoice(model_, model);
  if (model == model_->currentText()) {
    refreshSelectors();
    redrawHeatmap();
    redrawHistory();
  }
}

int ExpertsView::snapshotCount(const QString& model) const { return store_->routingCount(model); }

void ExpertsView::setModel(const QString& model) { model_->setCurrentText(model); }
void ExpertsView::setMeasure(int measure) { measure_->setCurrentIndex(measure); }
void ExpertsView::setCategory(const QString& category) {
  const int i = category.isEmpty() ? 0 : category_->findText(category);
  if (i >= 0) category_->setCurrentIndex(i);
}
bool ExpertsView::setRouting(int routing) {
  const auto* s = current();
  const bool split = s && !s->layers.empty() && !s->layers[0].usage_sampled.empty();
  if (routing < kAllTokens || routing > kSampled || (routing != kAllTokens && !split)) return false;
  routing_->setCurrentIndex(routing);
  return true;
}
void ExpertsView::setHistoryLayer(int position) { layer_->setValue(position); }

const moekd::RoutingSnapshot* ExpertsView::current() const { return store_->latestRouting(model_->currentText()); }

void ExpertsView::refreshSelectors() {
  const auto* s = current();
  updating_ = true;
  const QString wanted = category_->currentIndex() > 0 ? category_->currentText() : QString();
  category_->clear();
  category_->addItem(tr("all tokens"));
  if (s)
    for (const auto& [name, _] : s->usage_by_category) category_->addItem(QString::fromStdString(name));
  const int i = wanted.isEmpty() ? 0 : category_->findText(wanted);
  category_->setCurrentIndex(i < 0 ? 0 : i);
  category_->setEnabled(s && !s->usage_by_category.empty());
  const int layers = s ? static_cast<int>(s->layers.size()) : 0;
  layer_->setRange(0, std::max(0, layers - 1));
  updating_ = false;
}

std::vector<std::vector<double>> ExpertsView::matrix() const {
  const auto* s = current();
  if (!s || s->layers.empty()) return {};
  const bool usage = measure_->currentIndex() == kUsage;
  const int routing = routing_->isEnabled() ? routing_->currentIndex() : kAllTokens;
  if (usage && routing == kAllTokens && category_->currentIndex() > 0) {
    auto it = s->usage_by_category.find(category_->currentText().toStdString());
    if (it != s->usage_by_category.end()) return it->second;
  }
  std::vector<std::vector<double>> m;
  for (const auto& l : s->layers) {
    if (!usage) m.push_back(l.mean_prob);
    else if (routing == kTopK && !l.usage_topk.empty()) m.push_back(l.usage_topk);
    else if (routing == kSampled && !l.usage_sampled.empty()) m.push_back(l.usage_sampled);
    else m.push_back(l.usage);
  }
  return m;
}

void ExpertsView::redrawHeatmap() {
  const auto* s = current();
  const bool usage = measure_->currentIndex() == kUsage;
  const bool split = s && !s->layers.empty() && !s->layers[0].usage_sampled.empty();
  routing_->setEnabled(usage && split);  // before matrix(), which reads what is enabled
  const bool allTokens = !routing_->isEnabled() || routing_->currentIndex() == kAllTokens;
  category_->setEnabled(usage && allTokens && s && !s->usage_by_category.empty());
  const auto m = matrix();
  scale_->axis()->setLabel(usage ? tr("share of routed token slots") : tr("mean router probability"));
  std::vector<int64_t> layerNumbers;
  if (s)
    for (const auto& l : s->layers) layerNumbers.push_back(l.layer);
  const int experts = fillLayerExpertHeatmap({heat_, map_, scale_}, m, layerNumbers, [usage](double v) {
    return usage ? QString::number(100 * v, 'f', 1) + "%" : QString::number(v, 'f', 3);
  });
  if (experts == 0) return;
  const int layers = static_cast<int>(m.size());
  QString text = tr("%1 at step %2: %3 MoE layers × %4 experts")
                     .arg(model_->currentText())
                     .arg(s ? s->step : 0)
                     .arg(layers)
                     .arg(experts);
  if (s && !s->layers.empty() && s->layers[0].sampled_share > 0)
    text += tr(" · KA sampled %1% of tokens").arg(100 * s->layers[0].sampled_share, 0, 'f', 1);
  if (s && !s->layers.empty() && s->layers[0].router_drift > 0)
    text += tr(" · router drift (layer %1) %2").arg(s->layers[0].layer).arg(s->layers[0].router_drift, 0, 'g', 3);
  info_->setText(text);
  heat_->replot(QCustomPlot::rpQueuedReplot);
}

void ExpertsView::redrawHistory() {
  history_->clearGraphs();
  const std::string model = model_->currentText().toStdString();
  const int pos = layer_->value();
  QVector<double> steps;  // the snapshots of this model, and their usage of layer `pos`
  std::vector<const std::vector<double>*> usage;
  for (const auto& s : store_->routing())
    if (s.model == model) {
      steps.push_back(static_cast<double>(s.step));
      usage.push_back(pos < static_cast<int>(s.layers.size()) ? &s.layers[pos].usage : nullptr);
    }
  const int experts = !usage.empty() && usage.back() ? static_cast<int>(usage.back()->size()) : 0;
  if (experts == 0) {
    history_->xAxis->setRange(0, 10);
    history_->yAxis->setRange(0, 1);
    history_->legend->setVisible(false);
    history_->replot(QCustomPlot::rpQueuedReplot);
    return;
  }
  for (int e = 0; e < experts; ++e) {
    QVector<double> x, y;
    for (int i = 0; i < steps.size(); ++i)
      if (usage[i] && e < static_cast<int>(usage[i]->size())) {
        x.push_back(steps[i]);
        y.push_back((*usage[i])[e]);
      }
    auto* g = history_->addGraph();
    g->setName(tr("expert %1").arg(e));
    g->setPen(QPen(seriesColor(e), 2));
    g->setData(x, y, true);
  }
  auto* balanced = history_->addGraph();
  QColor mid = palette().color(QPalette::WindowText);
  mid.setAlphaF(0.5);
  balanced->setPen(QPen(mid, 1, Qt::DashLine));
  balanced->setData(QVector<double>{steps.front(), steps.back()}, QVector<double>{1.0 / experts, 1.0 / experts});
  balanced->setName(tr("balanced (1/%1)").arg(experts));
  // At most five entries a row: a wider legend would set the window's minimum width.
  history_->legend->setWrap(std::min(experts + 1, 5));
  history_->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst, true);  // the wrap applies to the entries made above
  history_->legend->setVisible(experts <= 16);
  history_->rescaleAxes();
  const QCPRange y = history_->yAxis->range();
  history_->yAxis->setRange(0, std::max(y.upper * 1.05, 2.0 / experts));
  if (history_->xAxis->range().size() < 1) history_->xAxis->setRange(steps.front() - 1, steps.back() + 1);
  applyPalette(history_, palette());
  history_->replot(QCustomPlot::rpQueuedReplot);
}

void ExpertsView::showTooltip(QMouseEvent* event) {
  const auto m = matrix();
  const auto* s = current();
  if (m.empty() || !s) return;
  const double x = heat_->xAxis->pixelToCoord(event->position().x());
  const double y = heat_->yAxis->pixelToCoord(event->position().y());
  const int e = static_cast<int>(std::lround(x)), l = static_cast<int>(std::lround(y));
  if (!heat_->axisRect()->rect().contains(event->position().toPoint()) || l < 0 ||
      l >= static_cast<int>(m.size()) || e < 0 || e >= static_cast<int>(m[l].size())) {
    QToolTip::hideText();
    return;
  }
  const auto& layer = s->layers[l];
  QString text = tr("layer %1, expert %2").arg(layer.layer).arg(e);
  const bool byCategory = measure_->currentIndex() == kUsage && category_->isEnabled() && category_->currentIndex() > 0;
  const int routing = routing_->isEnabled() ? routing_->currentIndex() : kAllTokens;
  if (measure_->currentIndex() == kUsage) {
    text += tr("\nshare %1%").arg(100 * m[l][e], 0, 'f', 2);
    if (byCategory) text += tr(" of %1 tokens").arg(category_->currentText());
    if (routing == kTopK) text += tr(" of the top-k routed slots");
    if (routing == kSampled) text += tr(" of the KA-sampled slots");
  } else {
    text += tr("\nmean router probability %1").arg(m[l][e], 0, 'f', 4);
  }
  if (!byCategory && routing == kAllTokens && e < static_cast<int>(layer.tokens.size()))
    text += tr("\n%1 routed token slots").arg(static_cast<qint64>(std::llround(layer.tokens[e])));
  QToolTip::showText(event->globalPosition().toPoint(), text, heat_);
}

void ExpertsView::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::PaletteChange && heat_) {
    applyPalette(heat_, palette());
    const QColor text = palette().color(QPalette::WindowText);
    scale_->axis()->setBasePen(QPen(text));
    scale_->axis()->setTickLabelColor(text);
    scale_->axis()->setLabelColor(text);
    redrawHeatmap();
    redrawHistory();
  }
}

}  // namespace moekd::ui
