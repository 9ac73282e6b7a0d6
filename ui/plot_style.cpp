#include "plot_style.h"

#include <cmath>

namespace moekd::ui {

void applyPalette(QCustomPlot* plot, const QPalette& pal) {
  const QColor text = pal.color(QPalette::WindowText);
  QColor grid = text;
  grid.setAlphaF(0.15);
  QColor subGrid = text;
  subGrid.setAlphaF(0.06);
  plot->setBackground(pal.brush(QPalette::Base));
  for (QCPAxisRect* rect : plot->axisRects())
    for (QCPAxis* axis : rect->axes()) {
      axis->setBasePen(QPen(text, 1));
      axis->setTickPen(QPen(text, 1));
      axis->setSubTickPen(QPen(text, 1));
      axis->setTickLabelColor(text);
      axis->setLabelColor(text);
      axis->grid()->setPen(QPen(grid, 1, Qt::DotLine));
      axis->grid()->setSubGridPen(QPen(subGrid, 1, Qt::DotLine));
      axis->grid()->setZeroLinePen(Qt::NoPen);
    }
  if (plot->legend) {
    QColor legendBg = pal.color(QPalette::Base);
    legendBg.setAlphaF(0.85);
    // A legend drawn over the curves gets a box; one laid out beside the axes needs none.
    const bool overCurves = plot->axisRect() && plot->legend->layout() == plot->axisRect()->insetLayout();
    plot->legend->setBrush(overCurves ? QBrush(legendBg) : QBrush(Qt::NoBrush));
    plot->legend->setBorderPen(overCurves ? QPen(grid) : QPen(Qt::NoPen));
    plot->legend->setTextColor(text);
  }
  for (int i = 0; i < plot->plotLayout()->elementCount(); ++i)
    if (auto* title = qobject_cast<QCPTextElement*>(plot->plotLayout()->elementAt(i))) title->setTextColor(text);
}

QColor seriesColor(int index) {
  static const QColor colors[] = {QColor(0x4e, 0x79, 0xa7), QColor(0xf2, 0x8e, 0x2b), QColor(0xe1, 0x57, 0x59),
                                  QColor(0x76, 0xb7, 0xb2), QColor(0x59, 0xa1, 0x4f), QColor(0xed, 0xc9, 0x48),
                                  QColor(0xb0, 0x7a, 0xa1), QColor(0xff, 0x9d, 0xa7), QColor(0x9c, 0x75, 0x5f),
                                  QColor(0xba, 0xb0, 0xac)};
  return colors[((index % 10) + 10) % 10];
}

QVector<double> ema(const std::vector<double>& values, double w) {
  QVector<double> out(static_cast<int>(values.size()));
  double last = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    last = last * w + (1 - w) * values[i];
    const double debias = w > 0 ? 1 - std::pow(w, static_cast<double>(i + 1)) : 1;
    out[static_cast<int>(i)] = last / debias;
  }
  return out;
}

QCPColorGradient viridisGradient() {
  QCPColorGradient g;
  g.clearColorStops();
  // matplotlib's viridis at nine evenly spaced points.
  g.setColorStopAt(0.000, QColor(0x44, 0x01, 0x54));
  g.setColorStopAt(0.125, QColor(0x47, 0x2c, 0x7a));
  g.setColorStopAt(0.250, QColor(0x3b, 0x52, 0x8b));
  g.setColorStopAt(0.375, QColor(0x2c, 0x72, 0x8e));
  g.setColorStopAt(0.500, QColor(0x21, 0x91, 0x8c));
  g.setColorStopAt(0.625, QColor(0x28, 0xae, 0x80));
  g.setColorStopAt(0.750, QColor(0x5e, 0xc9, 0x62));
  g.setColorStopAt(0.875, QColor(0xad, 0xdc, 0x30));
  g.setColorStopAt(1.000, QColor(0xfd, 0xe7, 0x25));
  g.setColorInterpolation(QCPColorGradient::ciRGB);
  g.setLevelCount(256);
  return g;
}

namespace {
class StepTicker : public QCPAxisTicker {
 protected:
  double getTickStep(const QCPRange& range) override {
    const double step = QCPAxisTicker::getTickStep(range);  // 1, 2, 2.5 or 5 times a power of ten
    return step < 1 ? 1 : (step < 10 ? std::ceil(step) : step);
  }
  int getSubTickCount(double tickStep) override { return tickStep <= 1 ? 0 : QCPAxisTicker::getSubTickCount(tickStep); }
};
}  // namespace

QSharedPointer<QCPAxisTicker> stepTicker() { return QSharedPointer<QCPAxisTicker>(new StepTicker); }

}  // namespace moekd::ui
