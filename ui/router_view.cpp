#include "router_view.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QStackedWidget>
#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "layer_expert_heatmap.h"
#include "plot_style.h"
#include "run_store.h"

namespace moekd::ui {

namespace {
QString noSnapshot() {
  return QObject::tr("No routing snapshot yet. An MoE run records its routing every few steps (Configure, "
                     "Evaluation: Routing every); runs whose models have no experts record none.");
}
}  // namespace

RouterView::RouterView(const RunStore* store, QWidget* parent) : QWidget(parent), store_(store) {
  auto* outer = new QVBoxLayout(this);
  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel(tr("Model")));
  model_ = new QComboBox;
  model_->setObjectName("model");
  model_->setMinimumContentsLength(10);
  bar->addWidget(model_);
  bar->addSpacing(12);
  info_ = new QLabel(noSnapshot());
  info_->setObjectName("snapshotInfo");
  // Wraps in the room the choices leave, so that a long sentence never widens the window.
  info_->setWordWrap(true);
  info_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  bar->addWidget(info_, 1);
  outer->addLayout(bar);

  const auto heatmap = makeLayerExpertHeatmap(QStringLiteral("meanProb"));
  heat_ = heatmap.plot;
  map_ = heatmap.map;
  scale_ = heatmap.scale;
  scale_->axis()->setLabel(tr("mean router probability"));
  connect(heat_, &QCustomPlot::mouseMove, this, &RouterView::showTooltip);
  outer->addWidget(heat_, 3);

  auto* lower = new QHBoxLayout;
  auto* left = new QVBoxLayout;
  auto* driftTitle = new QLabel(tr("Teacher router drift ‖W − W₀‖ / ‖W₀‖ per layer"));
  driftTitle->setWordWrap(true);
  left->addWidget(driftTitle);
  driftStack_ = new QStackedWidget;
  driftMessage_ = new QLabel(noSnapshot());
  driftMessage_->setObjectName("driftMessage");
  driftMessage_->setAlignment(Qt::AlignCenter);
  driftMessage_->setWordWrap(true);
  drift_ = new QCustomPlot;
  drift_->setObjectName("routerDrift");
  drift_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  drift_->xAxis->setLabel(tr("step"));
  drift_->xAxis->setTicker(stepTicker());
  drift_->yAxis->setLabel(tr("relative router drift"));
  drift_->legend->setVisible(true);
  drift_->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
  drift_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
  driftStack_->addWidget(driftMessage_);
  driftStack_->addWidget(drift_);
  left->addWidget(driftStack_, 1);
  lower->addLayout(left, 1);

  auto* right = new QVBoxLayout;
  auto* bar2 = new QHBoxLayout;
  auto* compareTitle = new QLabel(tr("Mean router probability, first vs latest snapshot, layer"));
  compareTitle->setWordWrap(true);
  bar2->addWidget(compareTitle, 1);
  layer_ = new QSpinBox;
  layer_->setObjectName("compareLayer");
  layer_->setRange(0, 0);
  bar2->addWidget(layer_);
  right->addLayout(bar2);
  compare_ = new QCustomPlot;
  compare_->setObjectName("beforeAfter");
  compare_->xAxis->setLabel(tr("expert"));
  compare_->yAxis->setLabel(tr("mean router probability"));
  compare_->legend->setVisible(true);
  compare_->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);  // one row: the bars keep their height
  compare_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  firstBars_ = new QCPBars(compare_->xAxis, compare_->yAxis);
  latestBars_ = new QCPBars(compare_->xAxis, compare_->yAxis);
  auto* bars = new QCPBarsGroup(compare_);
  bars->setSpacingType(QCPBarsGroup::stAbsolute);
  bars->setSpacing(2);
  for (QCPBars* b : {firstBars_, latestBars_}) {
    b->setWidth(0.38);
    b->setBarsGroup(bars);
  }
  right->addWidget(compare_, 1);
  lower->addLayout(right, 1);
  outer->addLayout(lower, 2);

  applyColors();
  connect(model_, &QComboBox::currentTextChanged, this, [this] {
    if (updating_) return;
    refreshSelectors();
    redrawHeatmap();
    redrawCompare();
  });
  connect(layer_, &QSpinBox::valueChanged, this, [this] {
    if (!updating_) redrawCompare();
  });
  connect(store_, &RunStore::reset, this, &RouterView::onReset);
  connect(store_, &RunStore::routingAdded, this, &RouterView::onSnapshot);
  onReset();
}

void RouterView::applyColors() {
  const QPalette pal = palette();
  applyPalette(heat_, pal);
  applyPalette(drift_, pal);
  applyPalette(compare_, pal);
  const QColor text = pal.color(QPalette::WindowText);
  scale_->axis()->setBasePen(QPen(text));
  scale_->axis()->setTickLabelColor(text);
  scale_->axis()->setLabelColor(text);
  const QColor before = seriesColor(9);  // grey: where the routers started
  firstBars_->setPen(QPen(before.darker(120)));
  firstBars_->setBrush(before);
  const QColor after = seriesColor(0);
  latestBars_->setPen(QPen(after.darker(120)));
  latestBars_->setBrush(after);
}

void RouterView::onReset() {
  updating_ = true;
  model_->clear();
  layer_->setRange(0, 0);
  updating_ = false;
  info_->setText(noSnapshot());
  for (const QString& model : store_->routingModels()) addModelChoice(model_, model);
  refreshSelectors();
  redrawHeatmap();
  redrawDrift();
  redrawCompare();
}

void RouterView::onSnapshot(const QString& model) {
  redrawDrift();
  addModelChoice(model_, model);
  if (model == model_->currentText()) {
    refreshSelectors();
    redrawHeatmap();
    redrawCompare();
  }
}

// A SAR run: its teacher's routers moved.
bool RouterView::isSar() const {
  for (const auto& s : store_->routing())
    if (s.model == "teacher")
      for (const auto& l : s.layers)
        if (l.router_drift > 0) return true;
  return false;
}

void RouterView::setModel(const QString& model) { model_->setCurrentText(model); }
void RouterView::setCompareLayer(int position) { layer_->setValue(position); }

const moekd::RoutingSnapshot* RouterView::latest() const { return store_->latestRouting(model_->currentText()); }

void RouterView::refreshSelectors() {
  const auto* s = latest();
  updating_ = true;
  const int layers = s ? static_cast<int>(s->layers.size()) : 0;
  layer_->setRange(0, std::max(0, layers - 1));
  updating_ = false;
}

void RouterView::redrawHeatmap() {
  const auto* s = latest();
  std::vector<std::vector<double>> m;
  std::vector<int64_t> layerNumbers;
  if (s)
    for (const auto& l : s->layers) {
      m.push_back(l.mean_prob);
      layerNumbers.push_back(l.layer);
    }
  const int experts =
      fillLayerExpertHeatmap({heat_, map_, scale_}, m, layerNumbers, [](double v) { return QString::number(v, 'f', 3); });
  if (experts == 0) return;
  const int layers = static_cast<int>(m.size());
  QString text = tr("%1 at step %2: mean router probability, %3 MoE layers × %4 experts")
                     .arg(model_->currentText())
                     .arg(s->step)
                     .arg(layers)
                     .arg(experts);
  if (const auto* teacher = store_->latestRouting(QStringLiteral("teacher")); teacher && isSar()) {
    double largest = 0;
    for (const auto& l : teacher->layers) largest = std::max(largest, l.router_drift);
    text += tr(" · largest teacher router drift %1").arg(largest, 0, 'g', 3);
  }
  info_->setText(text);
  heat_->replot(QCustomPlot::rpQueuedReplot);
}

void RouterView::redrawDrift() {
  drift_->clearGraphs();
  QVector<double> steps;  // the teacher's snapshots
  std::vector<const moekd::RoutingSnapshot*> teacher;
  for (const auto& s : store_->routing())
    if (s.model == "teacher") {
      steps.push_back(static_cast<double>(s.step));
      teacher.push_back(&s);
    }
  if (!isSar()) {
    if (store_->routing().empty()) driftMessage_->setText(noSnapshot());
    else if (teacher.empty())
      driftMessage_->setText(tr("Router drift is tracked for SAR runs; this run has no MoE teacher whose routers could adapt."));
    else if (store_->method() == QLatin1String("train-teacher"))
      driftMessage_->setText(tr("This run trains its MoE's routers together with the rest of the model; drift from "
                                "the starting routers is tracked for SAR runs, where only the routers train."));
    else driftMessage_->setText(tr("Router drift is tracked for SAR runs; this run's teacher routers are frozen."));
    driftStack_->setCurrentWidget(driftMessage_);
    return;
  }
  driftStack_->setCurrentWidget(drift_);
  const auto& layerList = teacher.back()->layers;
  const int layers = static_cast<int>(layerList.size());
  for (int l = 0; l < layers; ++l) {
    QVector<double> x, y;
    for (int i = 0; i < steps.size(); ++i)
      if (l < static_cast<int>(teacher[i]->layers.size())) {
        x.push_back(steps[i]);
        y.push_back(teacher[i]->layers[l].router_drift);
      }
    auto* g = drift_->addGraph();
    g->setName(tr("layer %1").arg(layerList[l].layer));
    g->setPen(QPen(seriesColor(l), 2));
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 4));
    g->setData(x, y, true);
  }
  drift_->legend->setWrap(std::min(layers, 6));
  drift_->legend->setVisible(layers <= 32);
  drift_->rescaleAxes();
  const QCPRange y = drift_->yAxis->range();
  drift_->yAxis->setRange(0, y.upper > 0 ? y.upper * 1.3 : 1e-3);  // room for the legend
  const double pad = std::max(1.0, 0.03 * (steps.back() - steps.front()));
  drift_->xAxis->setRange(steps.front() - pad, steps.back() + pad);  // end points stay whole
  applyPalette(drift_, palette());
  drift_->replot(QCustomPlot::rpQueuedReplot);
}

void RouterView::redrawCompare() {
  firstBars_->data()->clear();
  latestBars_->data()->clear();
  const QString model = model_->currentText();
  const auto* f = store_->firstRouting(model);
  const auto* l = store_->latestRouting(model);
  const int pos = layer_->value();
  if (!f || !l || pos >= static_cast<int>(l->layers.size()) || pos >= static_cast<int>(f->layers.size())) {
    firstBars_->setName(tr("first snapshot"));
    latestBars_->setName(tr("latest snapshot"));
    compare_->xAxis->setRange(-0.5, 7.5);
    compare_->yAxis->setRange(0, 1);
    compare_->legend->setVisible(false);
    compare_->replot(QCustomPlot::rpQueuedReplot);
    return;
  }
  const auto& before = f->layers[pos].mean_prob;
  const auto& after = l->layers[pos].mean_prob;
  const int experts = static_cast<int>(std::max(before.size(), after.size()));
  double top = 0;
  for (int e = 0; e < static_cast<int>(before.size()); ++e) {
    firstBars_->addData(e, before[e]);
    top = std::max(top, before[e]);
  }
  for (int e = 0; e < static_cast<int>(after.size()); ++e) {
    latestBars_->addData(e, after[e]);
    top = std::max(top, after[e]);
  }
  firstBars_->setName(tr("first (step %1)").arg(f->step));
  latestBars_->setName(tr("latest (step %1)").arg(l->step));
  auto xt = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
  const int xStep = std::max(1, experts / 32);
  for (int e = 0; e < experts; e += xStep) xt->addTick(e, QString::number(e));
  compare_->xAxis->setTicker(xt);
  compare_->xAxis->grid()->setVisible(false);
  compare_->xAxis->setRange(-0.6, experts - 0.4);
  compare_->yAxis->setRange(0, std::max(top * 1.3, 1e-6));  // room for the one-row legend
  compare_->legend->setVisible(true);
  compare_->replot(QCustomPlot::rpQueuedReplot);
}

void RouterView::showTooltip(QMouseEvent* event) {
  const auto* s = latest();
  if (!s || s->layers.empty()) return;
  const double x = heat_->xAxis->pixelToCoord(event->position().x());
  const double y = heat_->yAxis->pixelToCoord(event->position().y());
  const int e = static_cast<int>(std::lround(x)), l = static_cast<int>(std::lround(y));
  if (!heat_->axisRect()->rect().contains(event->position().toPoint()) || l < 0 ||
      l >= static_cast<int>(s->layers.size()) || e < 0 || e >= static_cast<int>(s->layers[l].mean_prob.size())) {
    QToolTip::hideText();
    return;
  }
  const auto& layer = s->layers[l];
  QString text = tr("layer %1, expert %2\nmean router probability %3").arg(layer.layer).arg(e).arg(layer.mean_prob[e], 0, 'f', 4);
  if (layer.router_drift > 0) text += tr("\nrouter drift %1").arg(layer.router_drift, 0, 'g', 4);
  QToolTip::showText(event->globalPosition().toPoint(), text, heat_);
}

void RouterView::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::PaletteChange && heat_) {
    applyColors();
    redrawHeatmap();
    redrawDrift();
    redrawCompare();
  }
}

}  // namespace moekd::ui
