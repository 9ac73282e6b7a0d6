#include "layer_expert_heatmap.h"

#include <QComboBox>
#include <QSignalBlocker>

namespace moekd::ui {

LayerExpertHeatmap makeLayerExpertHeatmap(const QString& objectName) {
  LayerExpertHeatmap h;
  h.plot = new QCustomPlot;
  h.plot->setObjectName(objectName);
  h.plot->setMouseTracking(true);
  h.plot->axisRect()->setupFullAxesBox(true);
  h.plot->xAxis->setLabel(QObject::tr("expert"));
  h.plot->yAxis->setLabel(QObject::tr("layer"));
  h.plot->yAxis->setRangeReversed(true);  // layer 0 on top, as the model stacks them
  h.map = new QCPColorMap(h.plot->xAxis, h.plot->yAxis);
  h.map->setInterpolate(false);
  h.map->setTightBoundary(false);
  h.scale = new QCPColorScale(h.plot);
  h.plot->plotLayout()->addElement(0, 1, h.scale);
  h.scale->setType(QCPAxis::atRight);
  h.map->setColorScale(h.scale);
  h.map->setGradient(viridisGradient());
  auto* group = new QCPMarginGroup(h.plot);
  h.plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
  h.scale->setMarginGroup(QCP::msBottom | QCP::msTop, group);
  return h;
}

int fillLayerExpertHeatmap(const LayerExpertHeatmap& h, const std::vector<std::vector<double>>& m,
                           const std::vector<int64_t>& layerNumbers, const std::function<QString(double)>& cellText) {
  auto* plot = h.plot;
  auto* map = h.map;
  plot->clearItems();
  if (m.empty() || m[0].empty()) {
    map->data()->clear();
    map->setVisible(false);
    map->setDataRange(QCPRange(0, 1));  // the colour scale of an empty map reads as a share, not 0..6
    plot->xAxis->setRange(-0.5, 7.5);
    plot->yAxis->setRange(-0.5, 3.5);
    plot->replot(QCustomPlot::rpQueuedReplot);
    return 0;
  }
  const int layers = static_cast<int>(m.size());
  int experts = 0;
  for (const auto& row : m) experts = std::max(experts, static_cast<int>(row.size()));
  map->setVisible(true);
  map->data()->setSize(experts, layers);
  map->data()->setRange(QCPRange(0, experts - 1), QCPRange(0, layers - 1));
  double maxValue = 0;
  for (int l = 0; l < layers; ++l)
    for (int e = 0; e < experts; ++e) {
      const double v = e < static_cast<int>(m[l].size()) ? m[l][e] : 0.0;
      map->data()->setCell(e, l, v);
      maxValue = std::max(maxValue, v);
    }
  const QCPRange range(0, std::max(maxValue, 2.0 / experts));
  map->setDataRange(range);
  // Small grids get their values written in the cells, in a colour that reads on the cell.
  if (layers * experts <= 256) {
    QCPColorGradient gradient = map->gradient();  // color() is not const
    for (int l = 0; l < layers; ++l)
      for (int e = 0; e < experts; ++e) {
        const double v = map->data()->cell(e, l);
        const QColor cell = QColor::fromRgb(gradient.color(v, range));
        auto* label = new QCPItemText(plot);
        label->position->setType(QCPItemPosition::ptPlotCoords);
        label->position->setCoords(e, l);
        label->setText(cellText(v));
        label->setColor(cell.lightnessF() > 0.55 ? Qt::black : Qt::white);
        label->setClipToAxisRect(true);
      }
  }
  plot->xAxis->setRange(-0.5, experts - 0.5);
  plot->yAxis->setRange(-0.5, layers - 0.5);
  auto xt = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
  const int xStep = std::max(1, experts / 32);
  for (int e = 0; e < experts; e += xStep) xt->addTick(e, QString::number(e));
  auto yt = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
  for (int l = 0; l < layers; ++l)
    yt->addTick(l, QString::number(l < static_cast<int>(layerNumbers.size()) ? layerNumbers[l] : l));
  plot->xAxis->setTicker(xt);
  plot->yAxis->setTicker(yt);
  plot->xAxis2->setTicker(xt);
  plot->yAxis2->setTicker(yt);
  plot->xAxis->grid()->setVisible(false);
  plot->yAxis->grid()->setVisible(false);
  return experts;
}

void addModelChoice(QComboBox* models, const QString& model) {
  if (models->findText(model) >= 0) return;
  const QSignalBlocker quiet(models);
  models->addItem(model);
  if (model == "teacher" || models->count() == 1) models->setCurrentText(model);
}

}  // namespace moekd::ui
