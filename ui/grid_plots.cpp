#include "grid_plots.h"

#include <QApplication>
#include <QDir>
#include <algorithm>
#include <cmath>
#include <map>

#include "plot_style.h"

namespace moekd::ui {

namespace {
struct CurveName {
  GridCurve curve;
  const char *key, *title;
};
const CurveName kCurveNames[] = {{GridCurve::ValLoss, "val_loss", "validation loss"},
                                 {GridCurve::RougeL, "rouge_l", "ROUGE-L (%)"},
                                 {GridCurve::ExactMatch, "exact_match", "exact match (%)"},
                                 {GridCurve::TrainLoss, "train_loss", "training loss (smoothed)"}};
const CurveName& curveName(GridCurve c) {
  for (const auto& n : kCurveNames)
    if (n.curve == c) return n;
  return kCurveNames[0];
}
}  // namespace

const std::vector<GridCurve>& gridCurves() {
  static const std::vector<GridCurve> c = {GridCurve::ValLoss, GridCurve::RougeL, GridCurve::ExactMatch,
                                           GridCurve::TrainLoss};
  return c;
}
const char* gridCurveKey(GridCurve c) { return curveName(c).key; }
const char* gridCurveTitle(GridCurve c) { return curveName(c).title; }

namespace {

// step -> the seeds' values at that step.
std::map<int64_t, std::vector<double>> seedPoints(const CellOutcome& cell, GridCurve curve, GridSeeds seeds) {
  std::map<int64_t, std::vector<double>> at;
  for (const auto& o : cell.seeds) {
    if (seeds == GridSeeds::Finished && !o.finished()) continue;
    if (curve == GridCurve::TrainLoss) {
      // Each seed smoothed on its own (the loss of one logged step is noisy), then compared.
      std::vector<double> values;
      for (const auto& [step, loss] : o.train_loss) values.push_back(loss);
      const auto smooth = ema(values, 0.8);
      for (size_t i = 0; i < o.train_loss.size(); ++i) at[o.train_loss[i].first].push_back(smooth[static_cast<int>(i)]);
      continue;
    }
    for (const auto& e : o.evals) {
      const double v = curve == GridCurve::ValLoss ? e.val_loss : 100 * (curve == GridCurve::RougeL ? e.rouge_l : e.exact_match);
      at[e.step].push_back(v);
    }
  }
  return at;
}

}  // namespace

int drawGridCurves(QCustomPlot* plot, const GridResults& results, GridCurve curve, const QPalette& palette,
                   const std::vector<std::string>& cells, GridSeeds seeds) {
  plot->clearGraphs();
  plot->clearItems();
  if (!plot->legend->visible()) plot->legend->setVisible(true);
  int drawn = 0, index = 0;
  double ylo = INFINITY, yhi = -INFINITY, xhi = 0;
  for (const auto& cell : results.cells) {
    const int colourIndex = index++;
    if (!cells.empty() && std::find(cells.begin(), cells.end(), cell.cell.id) == cells.end()) continue;
    const auto points = seedPoints(cell, curve, seeds);
    if (points.empty()) continue;
    QVector<double> x, mean, lo, hi;
    for (const auto& [step, values] : points) {
      double sum = 0;
      for (double v : values) sum += v;
      x.push_back(static_cast<double>(step));
      mean.push_back(sum / static_cast<double>(values.size()));
      lo.push_back(*std::min_element(values.begin(), values.end()));
      hi.push_back(*std::max_element(values.begin(), values.end()));
      ylo = std::min(ylo, lo.back());
      yhi = std::max(yhi, hi.back());
      xhi = std::max(xhi, x.back());
    }
    const QColor colour = seriesColor(colourIndex);
    QColor fill = colour;
    fill.setAlphaF(0.18);
    QPen bandPen(Qt::NoPen);
    auto* low = plot->addGraph();
    low->setData(x, lo, true);
    low->setPen(bandPen);
    low->removeFromLegend();
    auto* high = plot->addGraph();
    high->setData(x, hi, true);
    high->setPen(bandPen);
    high->setBrush(fill);
    high->setChannelFillGraph(low);
    high->removeFromLegend();
    auto* line = plot->addGraph();
    line->setData(x, mean, true);
    QPen pen(colour, 2);
    if (colourIndex >= 10) pen.setStyle(Qt::DashLine);  // ten colours, then the same dashed
    line->setPen(pen);
    QString name = QString::fromStdString(cell.cell.label);
    if (cell.cell.id == results.baseline_id) name += " (baseline)";
    if (seeds == GridSeeds::Finished) {
      const auto n = std::count_if(cell.seeds.begin(), cell.seeds.end(), [](const SeedOutcome& o) { return o.finished(); });
      name += n == 1 ? QString(", 1 seed") : QString(", %1 seeds").arg(n);
    }
    line->setName(name);
    if (points.size() == 1) line->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 6));
    ++drawn;
  }
  plot->xAxis->setLabel("step");
  plot->xAxis->setTicker(stepTicker());
  plot->yAxis->setLabel(gridCurveTitle(curve));
  if (drawn > 0) {
    const double pad = std::max(1e-6, (yhi - ylo) * 0.06);
    plot->xAxis->setRange(0, std::max(1.0, xhi * 1.02));
    plot->yAxis->setRange(ylo - pad, yhi + pad);
  }
  plot->legend->setFont(QFont(plot->font().family(), 8));
  if (plot->legend->layout() == plot->axisRect()->insetLayout())  // over the curves, where they are not
    plot->axisRect()->insetLayout()->setInsetAlignment(
        0, curve == GridCurve::ValLoss || curve == GridCurve::TrainLoss ? Qt::AlignTop | Qt::AlignRight
                                                                        : Qt::AlignBottom | Qt::AlignRight);
  applyPalette(plot, palette);
  plot->replot();
  return drawn;
}

std::vector<std::string> writeGridPlots(const GridResults& results, const std::string& dir,
                                        const std::vector<GridPlot>& charts, int width, int height) {
  if (!QApplication::instance()) {
    // `moekd compare` on a server: no display, and no reason to look for one.
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    static int argc = 1;
    static char name[] = "moekd";
    static char* argv[] = {name, nullptr};
    new QApplication(argc, argv);  // lives until the process ends
  }
  QDir().mkpath(QString::fromStdString(dir));
  QPalette light;
  light.setColor(QPalette::Base, Qt::white);
  light.setColor(QPalette::Window, Qt::white);
  light.setColor(QPalette::WindowText, QColor(0x20, 0x20, 0x20));
  std::vector<std::string> written;
  auto write = [&](const std::string& chart, const std::vector<std::string>& cells) {
    for (const auto curve : gridCurves()) {
      QCustomPlot plot;
      plot.resize(width, height);
      const std::string name = results.grid_name + (chart.empty() ? "" : " (" + chart + ")");
      auto* title = new QCPTextElement(&plot, QString::fromStdString(name) + ": " + gridCurveTitle(curve) +
                                                  " (finished runs; mean over seeds, band: lowest to highest seed)",
                                       QFont(plot.font().family(), 10, QFont::Bold));
      plot.plotLayout()->insertRow(0);
      plot.plotLayout()->addElement(0, 0, title);
      // Many cells: the legend beside the axes, so that it hides no curve.
      if ((cells.empty() ? results.cells.size() : cells.size()) > 5) {
        plot.plotLayout()->addElement(1, 1, plot.legend);
        plot.plotLayout()->setColumnStretchFactor(1, 0.001);
      }
      if (drawGridCurves(&plot, results, curve, light, cells, GridSeeds::Finished) == 0) continue;
      const auto path = dir + "/" + (chart.empty() ? "" : chart + "-") + gridCurveKey(curve) + ".png";
      if (plot.savePng(QString::fromStdString(path), width, height)) written.push_back(path);
    }
  };
  write("", {});
  for (const auto& c : charts) write(c.name, c.cells);
  return written;
}

}  // namespace moekd::ui
