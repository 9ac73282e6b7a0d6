#include "training_view.h"

#include <QCheckBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QSlider>
#include <QTextStream>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>
#include <cmath>
#include <map>

#include "plot_style.h"
#include "run_store.h"

namespace moekd::ui {

namespace {
// Indexed by MetricField::Chart.
const char* const kChartSlugs[] = {"losses", "learning-rate", "grad-norm", "tokens-per-s", "on-policy"};

QString num(double v) { return QString::number(v, 'g', QLocale::FloatingPointShortest); }


// Log-axis ticks at 1, 2, 5 (or 1, 2, 3, 5 within about a decade) times powers of ten: readable
// whether the range spans less than a decade (a loss from 2 to 5) or several (a warm-up).
class LogTicker : public QCPAxisTicker {
 protected:
  QVector<double> createTickVector(double, const QCPRange& range) override {
    QVector<double> out;
    if (range.lower <= 0 || range.upper <= range.lower) return out;
    const int lo = static_cast<int>(std::floor(std::log10(range.lower)));
    const int hi = static_cast<int>(std::ceil(std::log10(range.upper)));
    const int decades = hi - lo;
    const QVector<double> mantissas = decades <= 1   ? QVector<double>{1, 1.5, 2, 3, 5, 7}
                                      : decades <= 2 ? QVector<double>{1, 2, 3, 5}
                                      : decades <= 4 ? QVector<double>{1, 2, 5}
                                                     : QVector<double>{1};
    for (int k = lo; k <= hi; ++k)
      for (double m : mantissas) {
        const double v = m * std::pow(10.0, k);
        if (v >= range.lower && v <= range.upper) out.push_back(v);
      }
    return out;
  }
  int getSubTickCount(double) override { return 0; }
};
}  // namespace

TrainingView::TrainingView(const RunStore* store, QWidget* parent) : QWidget(parent), store_(store) {
  auto* outer = new QVBoxLayout(this);
  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel(tr("Smoothing")));
  slider_ = new QSlider(Qt::Horizontal);
  slider_->setObjectName("smoothing");
  slider_->setRange(0, 99);
  slider_->setValue(static_cast<int>(smoothing_ * 100));
  slider_->setMinimumWidth(90);
  slider_->setMaximumWidth(180);
  bar->addWidget(slider_, 1);
  sliderValue_ = new QLabel(QString::number(smoothing_, 'f', 2));
  sliderValue_->setMinimumWidth(sliderValue_->fontMetrics().horizontalAdvance("0.000"));
  bar->addWidget(sliderValue_);
  bar->addSpacing(16);
  logBox_ = new QCheckBox(tr("Log scale"));
  logBox_->setObjectName("logScale");
  bar->addWidget(logBox_);
  auto* reset = new QPushButton(tr("Reset zoom"));
  reset->setToolTip(tr("Drag to pan, wheel to zoom, double-click a chart to follow the data again"));
  bar->addWidget(reset);
  bar->addSpacing(16);
  evalLabel_ = new QLabel(tr("No evaluation yet"));
  evalLabel_->setObjectName("lastEvaluation");
  // Takes what room is left and is cut there (the whole line in its tooltip), so that a narrow
  // window does not push the controls before it over each other.
  evalLabel_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  bar->addWidget(evalLabel_, 3);
  // One button for the three formats: three of them made the view too wide for a small window.
  auto* exportButton = new QToolButton;
  exportButton->setObjectName("exportCharts");
  exportButton->setText(tr("Export"));
  exportButton->setToolTip(tr("Save the charts as PNG or PDF, or their data as CSV"));
  exportButton->setPopupMode(QToolButton::InstantPopup);
  exportButton->setToolButtonStyle(Qt::ToolButtonTextOnly);
  auto* menu = new QMenu(exportButton);
  QAction* png = menu->addAction(tr("Charts as PNG…"));
  QAction* pdf = menu->addAction(tr("Charts as PDF…"));
  QAction* csv = menu->addAction(tr("Data as CSV…"));
  exportButton->setMenu(menu);
  bar->addWidget(exportButton);
  outer->addLayout(bar);

  auto* grid = new QGridLayout;
  grid->addWidget(makePlot(tr("Losses"), tr("loss")), 0, 0, 1, 4);
  grid->addWidget(makePlot(tr("Learning rate"), tr("lr")), 1, 0);
  grid->addWidget(makePlot(tr("Gradient norm"), tr("norm before clipping")), 1, 1);
  grid->addWidget(makePlot(tr("Throughput"), tr("tokens / s")), 1, 2);
  // Shown for runs with on-policy batches only (distill.on_policy > 0).
  grid->addWidget(makePlot(tr("On-policy sampling"), tr("tokens per step")), 1, 3);
  plots_[MetricField::OnPolicy]->yAxis2->setLabel(tr("% of the step (right)"));
  plots_[MetricField::OnPolicy]->setVisible(false);
  grid->setRowStretch(0, 3);
  grid->setRowStretch(1, 2);
  outer->addLayout(grid, 1);

  for (const MetricField& f : metricFields()) {
    if (f.chart == MetricField::NoChart) continue;
    Series s;
    s.field = &f;
    QCustomPlot* plot = plots_[f.chart];
    QColor faint = seriesColor(f.color);
    faint.setAlpha(70);
    QCPAxis* y = f.right_axis ? plot->yAxis2 : plot->yAxis;
    if (f.right_axis && f.chart == MetricField::Losses) plot->yAxis2->setLabel(tr("auxiliary losses (right)"));
    s.raw = plot->addGraph(plot->xAxis, y);
    s.raw->setPen(QPen(faint, 1));
    s.raw->removeFromLegend();
    s.smooth = plot->addGraph(plot->xAxis, y);
    s.smooth->setPen(QPen(seriesColor(f.color), 2));
    s.smooth->setName(tr(f.label));
    series_.push_back(s);
  }
  const MetricField& val = *metricField("val_loss");
  valGraph_ = plots_[MetricField::Losses]->addGraph();
  valGraph_->setName(tr(val.label));
  valGraph_->setPen(QPen(seriesColor(val.color), 2, Qt::DashLine));
  valGraph_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, seriesColor(val.color), seriesColor(val.color), 7));
  valGraph_->removeFromLegend();
  connect(store_, &RunStore::reset, this, &TrainingView::onReset);
  connect(store_, &RunStore::stepAdded, this, [this] { dirty_ = true; });
  connect(store_, &RunStore::evaluationAdded, this, &TrainingView::showLastEvaluation);

  timer_ = new QTimer(this);
  timer_->setInterval(100);  // at most ten redraws a second
  connect(timer_, &QTimer::timeout, this, [this] {
    if (dirty_) replotNow();
  });
  timer_->start();

  connect(slider_, &QSlider::valueChanged, this, [this](int v) { setSmoothing(v / 100.0); });
  connect(logBox_, &QCheckBox::toggled, this, &TrainingView::setLogScale);
  connect(reset, &QPushButton::clicked, this, &TrainingView::resetZoom);
  connect(png, &QAction::triggered, this, [this] { chooseExport(false); });
  connect(pdf, &QAction::triggered, this, [this] { chooseExport(true); });
  connect(csv, &QAction::triggered, this, [this] {
    const QString path = QFileDialog::getSaveFileName(this, tr("Export CSV"), "training.csv", tr("CSV (*.csv)"));
    QString error;
    if (!path.isEmpty() && !exportCsv(path, &error)) QMessageBox::warning(this, tr("Export CSV"), error);
  });
  rebuild();
}

QCustomPlot* TrainingView::makePlot(const QString& title, const QString& yLabel) {
  auto* plot = new QCustomPlot;
  plot->setObjectName(QString("plot-") + kChartSlugs[plots_.size()]);
  plot->setMinimumSize(190, 150);
  plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  plot->plotLayout()->insertRow(0);
  QFont titleFont = font();
  titleFont.setBold(true);
  plot->plotLayout()->addElement(0, 0, new QCPTextElement(plot, title, titleFont));
  plot->xAxis->setLabel(tr("step"));
  plot->xAxis->setTicker(stepTicker());
  plot->yAxis->setLabel(yLabel);
  plot->legend->setVisible(true);
  plot->legend->setFont(font());
  plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  applyPalette(plot, palette());
  const int index = plots_.size();
  autoRange_.push_back(true);
  auto manual = [this, index] { autoRange_[index] = false; };
  connect(plot, &QCustomPlot::mousePress, this, manual);
  connect(plot, &QCustomPlot::mouseWheel, this, manual);
  connect(plot, &QCustomPlot::mouseDoubleClick, this, [this, index] {
    autoRange_[index] = true;
    dirty_ = true;
  });
  plots_.push_back(plot);
  return plot;
}

int TrainingView::pointCount() const { return static_cast<int>(store_->steps().size()); }
int TrainingView::evaluationCount() const { return static_cast<int>(store_->evaluations().size()); }

void TrainingView::onReset() {
  showLastEvaluation();
  resetZoom();
  replotNow();
}

void TrainingView::showLastEvaluation() {
  if (store_->evaluations().empty()) {
    evalLabel_->setText(tr("No evaluation yet"));
    return;
  }
  const auto& r = store_->evaluations().back();
  evalLabel_->setText(tr("Step %1: validation loss %2 · perplexity %3 · ROUGE-L %4 · exact match %5%")
                          .arg(r.step)
                          .arg(r.val_loss, 0, 'f', 3)
                          .arg(r.perplexity, 0, 'f', 2)
                          .arg(100 * r.rouge_l, 0, 'f', 1)
                          .arg(100 * r.exact_match, 0, 'f', 1));
  evalLabel_->setToolTip(evalLabel_->text());
  dirty_ = true;
}

int TrainingView::drawnPoints(const QString& key) const {
  for (const auto& s : series_)
    if (key == QLatin1String(s.field->key)) return s.smooth->data()->size();
  if (key == "val_loss") return valGraph_->data()->size();
  return -1;
}

void TrainingView::setSmoothing(double weight) {
  smoothing_ = std::clamp(weight, 0.0, 0.99);
  sliderValue_->setText(QString::number(smoothing_, 'f', 2));
  if (slider_->value() != qRound(smoothing_ * 100)) slider_->setValue(qRound(smoothing_ * 100));
  dirty_ = true;
}

void TrainingView::setLogScale(bool on) {
  logScale_ = on;
  if (logBox_->isChecked() != on) logBox_->setChecked(on);
  for (QCustomPlot* plot : plots_) {
    for (QCPAxis* axis : {plot->yAxis, plot->yAxis2}) {
      if (on) {
        axis->setScaleType(QCPAxis::stLogarithmic);
        axis->setTicker(QSharedPointer<QCPAxisTicker>(new LogTicker));
      } else {
        axis->setScaleType(QCPAxis::stLinear);
        axis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
      }
    }
  }
  resetZoom();
}

void TrainingView::resetZoom() {
  for (size_t i = 0; i < autoRange_.size(); ++i) autoRange_[i] = true;
  dirty_ = true;
}

void TrainingView::rebuild() {
  const auto& steps = store_->steps();
  QVector<double> keys;
  keys.reserve(static_cast<int>(steps.size()));
  for (const auto& m : steps) keys.push_back(static_cast<double>(m.step));
  std::vector<bool> chartHasData(plots_.size(), false);
  std::vector<bool> rightHasData(plots_.size(), false);
  std::vector<double> values(steps.size());
  for (auto& s : series_) {
    bool present = false;
    for (size_t i = 0; i < steps.size(); ++i) {
      values[i] = s.field->value(steps[i]);
      present = present || values[i] != 0;
    }
    const QVector<double> raw(values.begin(), values.end());
    s.raw->setData(keys, raw, true);
    s.smooth->setData(keys, smoothing_ > 0 ? ema(values, smoothing_) : raw, true);
    s.raw->setVisible(present && smoothing_ > 0);
    s.smooth->setVisible(present);
    // A line needs two points: the first step shows as a dot.
    s.smooth->setScatterStyle(steps.size() == 1 ? QCPScatterStyle(QCPScatterStyle::ssDisc, 6) : QCPScatterStyle());
    if (present) {
      s.smooth->addToLegend();
      s.smooth->setName(tr(s.field->label) + (s.field->right_axis ? tr(" (right axis)") : QString()));
      chartHasData[s.field->chart] = true;
      if (s.field->right_axis) rightHasData[s.field->chart] = true;
    } else {
      s.smooth->removeFromLegend();
    }
  }
  const MetricField& val = *metricField("val_loss");
  QVector<double> evalSteps, evalLoss;
  for (const auto& r : store_->evaluations()) {
    evalSteps.push_back(static_cast<double>(r.step));
    evalLoss.push_back(val.value(r));
  }
  valGraph_->setData(evalSteps, evalLoss, true);
  if (!evalSteps.isEmpty()) valGraph_->addToLegend();
  else valGraph_->removeFromLegend();
  for (int i = 0; i < plots_.size(); ++i) plots_[i]->yAxis2->setVisible(rightHasData[i]);
  plots_[MetricField::OnPolicy]->setVisible(chartHasData[MetricField::OnPolicy]);
  for (int i = 0; i < plots_.size(); ++i) {
    QCustomPlot* plot = plots_[i];
    // One series needs no legend: the chart's title names it.
    plot->legend->setVisible(plot->legend->itemCount() > 1);
    if (!autoRange_[i]) continue;
    if (chartHasData[i] || (i == MetricField::Losses && !evalSteps.isEmpty())) {
      plot->rescaleAxes(true);
      auto padded = [this](QCPRange y) {
        if (logScale_) {
          y.lower /= 1.25;
          y.upper *= 1.25;
          return y;
        }
        // A flat series (a constant learning rate) gets a band around its value, not a
        // magnified 1e-6 wiggle.
        const bool nonNegative = y.lower >= 0;  // losses, rates are >= 0
        const double flat = std::abs(y.upper) * 1e-3;
        const double pad = y.size() > flat ? y.size() * 0.06 : std::max(std::abs(y.upper) * 0.1, 1e-12);
        y.lower -= pad;
        y.upper += pad;
        if (y.lower < 0 && nonNegative) y.lower = 0;
        // All zeros (the learning rate at the start of a warm-up): a plain 0..1 axis, not one
        // around nothing that QCustomPlot would refuse.
        if (std::max(std::abs(y.lower), std::abs(y.upper)) < 1e-9) y = QCPRange(0, 1);
        return y;
      };
      plot->yAxis->setRange(padded(plot->yAxis->range()));
      if (plot->yAxis2->visible()) {
        // From zero (linear scale): an auxiliary loss is read by its size, and its step-to-step
        // wiggles are not blown up to the chart's height.
        QCPRange aux = padded(plot->yAxis2->range());
        if (!logScale_ && aux.lower > 0) aux.lower = 0;
        // A share of the step reads against its whole: 0-100%, not magnified to the chart's height.
        if (i == MetricField::OnPolicy && !logScale_) aux = QCPRange(0, std::max(100.0, aux.upper));
        plot->yAxis2->setRange(aux);
      }
      if (plot->xAxis->range().size() < 1) plot->xAxis->setRange(plot->xAxis->range().lower - 1, plot->xAxis->range().upper + 1);
    } else {
      plot->xAxis->setRange(0, 10);
      plot->yAxis->setRange(logScale_ ? QCPRange(0.1, 10) : QCPRange(0, 1));
    }
  }
}

void TrainingView::replotNow() {
  rebuild();
  dirty_ = false;
  for (QCustomPlot* plot : plots_) plot->replot(QCustomPlot::rpQueuedReplot);
}

void TrainingView::chooseExport(bool pdf) {
  const QString ext = pdf ? "pdf" : "png";
  const QString path = QFileDialog::getSaveFileName(this, pdf ? tr("Export PDF") : tr("Export PNG"),
                                                    "training." + ext, pdf ? tr("PDF (*.pdf)") : tr("PNG (*.png)"));
  QString error;
  if (!path.isEmpty() && !exportImages(path, pdf, &error))
    QMessageBox::warning(this, pdf ? tr("Export PDF") : tr("Export PNG"), error);
}

bool TrainingView::exportImages(const QString& path, bool pdf, QString* error) {
  replotNow();
  const QFileInfo info(path);
  const QString base = info.path() + "/" + info.completeBaseName();
  for (int i = 0; i < plots_.size(); ++i) {
    const QString file = QString("%1-%2.%3").arg(base, kChartSlugs[i], pdf ? "pdf" : "png");
    QCustomPlot* plot = plots_[i];
    const bool ok = pdf ? plot->savePdf(file, 900, 600) : plot->savePng(file, 900, 600, 2.0);
    if (!ok) {
      if (error) *error = tr("%1: could not be written").arg(file);
      return false;
    }
  }
  return true;
}

bool TrainingView::exportCsv(const QString& path, QString* error) const {
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text)) {
    if (error) *error = tr("%1: cannot be written (%2)").arg(path, f.errorString());
    return false;
  }
  // One row per step that has metrics or an evaluation; empty cells where a row has none. Raw
  // values, as metrics.jsonl holds them.
  QTextStream out(&f);
  std::vector<const MetricField*> stepFields, evalFields;
  for (const auto& field : metricFields())
    (field.source == MetricField::Source::Step ? stepFields : evalFields).push_back(&field);
  out << "step";
  for (const auto* field : stepFields) out << "," << field->key;
  out << ",tokens,step_seconds";
  for (const auto* field : evalFields) out << "," << field->key;
  out << "\n";
  const auto& steps = store_->steps();
  const auto& evals = store_->evaluations();
  std::map<int64_t, std::pair<int, int>> rows;  // step -> (metrics index, evaluation index)
  for (size_t i = 0; i < steps.size(); ++i) rows[steps[i].step] = {static_cast<int>(i), -1};
  for (size_t i = 0; i < evals.size(); ++i) {
    auto it = rows.find(evals[i].step);
    if (it == rows.end()) rows[evals[i].step] = {-1, static_cast<int>(i)};
    else it->second.second = static_cast<int>(i);
  }
  for (const auto& [step, idx] : rows) {
    out << step;
    const moekd::StepMetrics* m = idx.first >= 0 ? &steps[idx.first] : nullptr;
    for (const auto* field : stepFields) out << "," << (m ? num(field->step(*m)) : QString());
    out << "," << (m ? num(static_cast<double>(m->tokens)) : QString()) << "," << (m ? num(m->step_seconds) : QString());
    const moekd::EvalResult* r = idx.second >= 0 ? &evals[idx.second] : nullptr;
    for (const auto* field : evalFields) out << "," << (r ? num(field->evaluation(*r)) : QString());
    out << "\n";
  }
  return true;
}

void TrainingView::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::PaletteChange) {
    for (QCustomPlot* plot : plots_) applyPalette(plot, palette());
    dirty_ = true;
  }
}

}  // namespace moekd::ui
