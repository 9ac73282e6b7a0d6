#include "compare_view.h"

#include <QComboBox>
#include <QDir>
#include <QEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QProcess>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>
#include <cmath>

#include "child_run.h"
#include "ends_with_studio.h"
#include "grid/grid_arithmetic.h"
#include "grid_plots.h"
#include "inline_message.h"
#include "plot_style.h"
#include "qstr.h"
#include "util/error.h"
#include "util/json_file.h"

namespace moekd::ui {

namespace {

// A metric as the tables show it: loss with 4 decimals, scores in percent with 1.
QString compareNumber(const std::string& metric, double x, bool sign = false) {
  const bool loss = lower_is_better(metric);
  const double v = loss ? x : 100 * x;
  return (sign && v >= 0 ? "+" : "") + QString::number(v, 'f', loss ? 4 : 1);
}

QTableWidgetItem* compareItem(const QString& text, Qt::Alignment align = Qt::AlignRight | Qt::AlignVCenter) {
  auto* item = new QTableWidgetItem(text);
  item->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
  item->setTextAlignment(align);
  return item;
}

// A difference the interval says is real: green when the cell is better, red when worse.
QColor verdictColour(const PairedDifference& p, const std::string& metric, const QPalette& pal) {
  const bool excludes = p.interval.lo > 0 || p.interval.hi < 0;
  if (!excludes) return {};
  const bool better = lower_is_better(metric) ? p.difference.mean < 0 : p.difference.mean > 0;
  const bool dark = pal.color(QPalette::Window).lightnessF() < 0.5;
  if (better) return dark ? QColor(0x81, 0xc7, 0x84) : QColor(0x2e, 0x7d, 0x32);
  return dark ? QColor(0xff, 0x8a, 0x80) : QColor(0xc6, 0x28, 0x28);
}

QString lastLineOf(const QByteArray& text) {
  const auto lines = QString::fromUtf8(text).split('\n', Qt::SkipEmptyParts);
  return lines.isEmpty() ? QString() : lines.back().trimmed();
}

}  // namespace

CompareView::CompareView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* bar = new QHBoxLayout;
  auto button = [bar](const QString& text, const char* name, const QString& tip) {
    auto* b = new QPushButton(text);
    b->setObjectName(name);
    b->setToolTip(tip);
    bar->addWidget(b);
    return b;
  };
  open_ = button(tr("Open grid…"), "compareOpen", tr("Show a grid folder written by moekd compare (or by this view)"));
  start_ = button(tr("Run grid…"), "compareStart",
                  tr("Choose a grid file (base run, axes, cells, seeds, baseline) and a folder for its runs"));
  continue_ = button(tr("Continue"), "compareContinue",
                     tr("Run what the open grid has not finished: stopped runs resume from their checkpoints"));
  stop_ = button(tr("Stop"), "compareStop", tr("Stop every running cell after its step, with a checkpoint; Continue picks it up"));
  probeButton_ = button(tr("Probe teacher"), "compareProbe",
                        tr("Score the grid's teacher under top-k with k = 1..E, KA sampling, all experts and top-p"));
  status_ = new QLabel(tr("Open a grid folder, or run a grid file: methods x settings x seeds, compared seed by seed."));
  status_->setObjectName("compareStatus");
  status_->setWordWrap(true);
  bar->addWidget(status_, 1);
  layout->addLayout(bar);

  table_ = new QTableWidget(0, 8);
  table_->setObjectName("compareTable");
  table_->setHorizontalHeaderLabels({tr("cell"), tr("seeds"), tr("val loss"), tr("ROUGE-L"), tr("exact match"),
                                     tr("Δ val loss [95% CI] (p)"), tr("Δ ROUGE-L [95% CI] (p)"),
                                     tr("Δ exact match [95% CI] (p)")});
  table_->verticalHeader()->hide();
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->horizontalHeader()->setStretchLastSection(false);
  table_->setToolTip(tr("Mean ± standard deviation over the finished seeds; Δ: the cell minus its baseline (the grid's, "
                        "or the cell named beside it) on the seeds both finished, its 95% bootstrap interval and the sign test's p. Green or red: the "
                        "interval excludes 0. Select rows to draw only those cells and their baselines; double-click to open a run."));

  curve_ = new QComboBox;
  curve_->setObjectName("compareCurve");
  for (const auto c : gridCurves()) curve_->addItem(gridCurveTitle(c), gridCurveKey(c));
  curves_ = new QCustomPlot;
  curves_->setObjectName("compareCurves");
  curves_->setMinimumHeight(220);
  curves_->legend->setVisible(true);
  auto* curvesBox = new QWidget;
  auto* cl = new QVBoxLayout(curvesBox);
  cl->setContentsMargins(0, 0, 0, 0);
  cl->addWidget(curve_);
  cl->addWidget(curves_, 1);

  probeTable_ = new QTableWidget(0, 5);
  probeTable_->setObjectName("probeTable");
  probeTable_->setHorizontalHeaderLabels({tr("teacher routing"), tr("experts/token"), tr("val loss"), tr("exact match"),
                                          tr("KL from top-k")});
  probeTable_->verticalHeader()->hide();
  probeTable_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  probeTable_->setToolTip(tr("The grid's teacher under other routings: when routing in the experts top-k leaves out "
                             "barely moves its predictions (KL near 0), KA and SAR have little to offer."));
  probePlot_ = new QCustomPlot;
  probePlot_->setObjectName("probeLayers");
  probePlot_->setMinimumHeight(150);
  probeHint_ = new QLabel(tr("No probe of this grid's teacher yet. Probe teacher scores it under top-k with k = 1..E, "
                              "KA sampling, all experts and top-p, and measures how much router probability its top-k "
                              "leaves out: whether its other experts hold anything KA or SAR could pass on."));
  probeHint_->setObjectName("probeHint");
  probeHint_->setWordWrap(true);
  probeHint_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  probeHint_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);  // wraps; takes no width from the curves
  auto* probeBox = new QWidget;
  probeBox->setMinimumWidth(280);
  auto* pl = new QVBoxLayout(probeBox);
  pl->setContentsMargins(0, 0, 0, 0);
  pl->addWidget(probeHint_);
  pl->addWidget(probeTable_, 3);
  pl->addWidget(probePlot_, 2);

  auto* lower = new QSplitter(Qt::Horizontal);
  lower->addWidget(curvesBox);
  lower->addWidget(probeBox);
  lower->setStretchFactor(0, 3);
  lower->setStretchFactor(1, 2);
  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(table_);
  split->addWidget(lower);
  split->setStretchFactor(0, 2);
  split->setStretchFactor(1, 3);
  layout->addWidget(split, 1);

  poll_ = new QTimer(this);
  poll_->setInterval(1500);
  connect(poll_, &QTimer::timeout, this, &CompareView::refresh);
  connect(open_, &QPushButton::clicked, this, &CompareView::chooseAndOpen);
  connect(start_, &QPushButton::clicked, this, &CompareView::chooseAndStart);
  connect(continue_, &QPushButton::clicked, this, [this] { startGrid({}, dir_); });
  connect(stop_, &QPushButton::clicked, this, &CompareView::stopGrid);
  connect(probeButton_, &QPushButton::clicked, this, &CompareView::startProbe);
  connect(curve_, &QComboBox::currentIndexChanged, this, &CompareView::redrawCurves);
  connect(table_, &QTableWidget::itemSelectionChanged, this, &CompareView::redrawCurves);
  connect(table_, &QTableWidget::cellDoubleClicked, this, [this](int row, int) {
    if (!results_ || row < 0 || row >= static_cast<int>(results_->cells.size())) return;
    for (const auto& o : results_->cells[static_cast<size_t>(row)].seeds)
      if (o.started) {
        Q_EMIT openRunRequested(qstr(o.run_dir));
        return;
      }
  });
  applyPalette(curves_, palette());
  applyPalette(probePlot_, palette());
  fillProbe();
  updateButtons();
}

CompareView::~CompareView() {
  // The grid's runs stop after their step with a checkpoint (the runner passes SIGTERM on).
  for (auto* p : {grid_process_, probe_process_})
    if (p && p->state() != QProcess::NotRunning) {
      p->terminate();
      p->waitForFinished(20000);
    }
}

void CompareView::say(const QString& text, bool error) { showInlineMessage(status_, text, error, palette()); }

bool CompareView::running() const { return grid_process_ && grid_process_->state() != QProcess::NotRunning; }

void CompareView::updateButtons() {
  const bool busy = running();
  open_->setEnabled(!busy);
  start_->setEnabled(!busy);
  continue_->setEnabled(!busy && grid_.has_value() && results_ && results_->runs_finished < results_->runs_total);
  stop_->setEnabled(busy);
  probeButton_->setEnabled(grid_.has_value() && !(probe_process_ && probe_process_->state() != QProcess::NotRunning));
}

bool CompareView::openGrid(const QString& dir) {
  const GridFolder folder(QDir(dir).absolutePath().toStdString());
  try {
    grid_ = load_grid(folder.grid_json());
  } catch (const std::exception& e) {
    say(tr("%1 holds no grid this version can read: %2").arg(dir, QString::fromUtf8(e.what())), true);
    return false;
  }
  dir_ = QString::fromStdString(folder.dir());
  probe_.reset();
  const QString probeFile = dir_ + "/probe.json";
  if (QFileInfo::exists(probeFile)) {
    try {
      probe_ = teacher_probe_from_json(read_json_file(probeFile.toStdString()));
    } catch (const std::exception& e) {
      say(tr("%1 cannot be read: %2").arg(probeFile, QString::fromUtf8(e.what())), true);
    }
  }
  refresh();
  fillProbe();
  return true;
}

void CompareView::refresh() {
  if (!grid_) return;
  try {
    results_ = collect_grid_results(*grid_, GridFolder(dir_.toStdString()));
  } catch (const std::exception& e) {
    say(tr("Reading the grid's runs failed: %1").arg(QString::fromUtf8(e.what())), true);
    return;
  }
  fillTable();
  redrawCurves();
  if (!running()) {
    // Which arithmetic the runs share (arithmetic.json): numbers from another compare only roughly.
    const auto& arithmetic = results_->arithmetic;
    QString computed;
    if (arithmetic.size() == 1) computed = tr(" Computed with %1.").arg(qstr(arithmetic.front()));
    if (arithmetic.size() > 1)
      computed = tr(" The runs mix arithmetics: %1 and %2 more; see arithmetic.json.")
                     .arg(qstr(arithmetic.front()))
                     .arg(arithmetic.size() - 1);
    say(tr("Grid %1: %2 of %3 runs finished (%4 cells x %5 seeds), baseline %6.%7")
            .arg(qstr(grid_->name))
            .arg(results_->runs_finished)
            .arg(results_->runs_total)
            .arg(grid_->cells.size())
            .arg(grid_->seeds.size())
            .arg(grid_->baseline.empty() ? tr("none") : qstr(grid_->baseline))
            .arg(computed));
  } else
    say(tr("Running grid %1: %2 of %3 runs finished…").arg(qstr(grid_->name)).arg(results_->runs_finished).arg(results_->runs_total));
  updateButtons();
}

void CompareView::fillTable() {
  const auto& r = *results_;
  // Keep the selection (it chooses the curves) across refreshes.
  std::vector<std::string> selected;
  for (const auto& range : table_->selectedRanges())
    for (int row = range.topRow(); row <= range.bottomRow(); ++row)
      if (row < static_cast<int>(r.cells.size())) selected.push_back(r.cells[static_cast<size_t>(row)].cell.id);
  const QSignalBlocker block(table_);
  table_->setRowCount(static_cast<int>(r.cells.size()));
  const auto& metrics = grid_metrics();
  for (size_t i = 0; i < r.cells.size(); ++i) {
    const auto& c = r.cells[i];
    const int row = static_cast<int>(i);
    const bool baseline = c.cell.id == r.baseline_id;
    const bool ownBaseline = !c.cell.baseline.empty() && c.cell.baseline != r.baseline_id;
    auto* name = compareItem(qstr(c.cell.label) + (baseline      ? tr(" (baseline)")
                                                   : ownBaseline ? tr(" (vs %1)").arg(qstr(c.cell.baseline))
                                                                 : QString()),
                             Qt::AlignLeft | Qt::AlignVCenter);
    if (baseline) {
      QFont f = name->font();
      f.setBold(true);
      name->setFont(f);
    }
    table_->setItem(row, 0, name);
    int finished = 0, started = 0;
    for (const auto& o : c.seeds) {
      finished += o.finished() ? 1 : 0;
      started += o.started ? 1 : 0;
    }
    table_->setItem(row, 1, compareItem(QString("%1/%2").arg(finished).arg(c.seeds.size()) +
                                        (started > finished ? tr(", %1 started").arg(started - finished) : QString())));
    for (size_t m = 0; m < metrics.size(); ++m) {
      const auto* s = r.find(c.cell.id, "final", "", metrics[m]);
      table_->setItem(row, 2 + static_cast<int>(m),
                      compareItem(s ? compareNumber(metrics[m], s->value.mean) + " ± " + compareNumber(metrics[m], s->value.sd) : "-"));
      QTableWidgetItem* diff = compareItem("");
      if (s && s->vs_baseline) {
        const auto& p = *s->vs_baseline;
        if (std::isnan(p.interval.lo))
          diff->setText(tr("%1 (one seed: no interval)").arg(compareNumber(metrics[m], p.difference.mean, true)));
        else
          diff->setText(QString("%1 [%2, %3] (%4)")
                            .arg(compareNumber(metrics[m], p.difference.mean, true),
                                 compareNumber(metrics[m], p.interval.lo, true), compareNumber(metrics[m], p.interval.hi, true))
                            .arg(p.sign.p, 0, 'f', 3));
        diff->setToolTip(tr("%1 paired seeds: %2 above %3, %4 below, %5 equal")
                             .arg(p.difference.n)
                             .arg(p.sign.above)
                             .arg(qstr(s->baseline))
                             .arg(p.sign.below)
                             .arg(p.sign.ties));
        const QColor colour = verdictColour(p, metrics[m], palette());
        if (colour.isValid()) diff->setForeground(colour);
      }
      table_->setItem(row, 5 + static_cast<int>(m), diff);
    }
    if (std::find(selected.begin(), selected.end(), c.cell.id) != selected.end()) table_->selectRow(row);
  }
}

void CompareView::redrawCurves() {
  if (!results_) return;
  const auto key = curve_->currentData().toString().toStdString();
  GridCurve which = GridCurve::ValLoss;
  for (const auto c : gridCurves())
    if (key == gridCurveKey(c)) which = c;
  // The selected cells with the baselines they are compared with.
  std::vector<std::string> cells;
  for (const auto& range : table_->selectedRanges())
    for (int row = range.topRow(); row <= range.bottomRow(); ++row)
      if (row < static_cast<int>(results_->cells.size())) {
        const auto& cell = results_->cells[static_cast<size_t>(row)].cell;
        for (const auto& id : {cell.id, cell.baseline})
          if (!id.empty() && std::find(cells.begin(), cells.end(), id) == cells.end()) cells.push_back(id);
      }
  drawGridCurves(curves_, *results_, which, palette(), cells);
}

void CompareView::fillProbe() {
  probeTable_->setRowCount(0);
  probePlot_->clearPlottables();
  probeHint_->setVisible(!probe_);
  probeTable_->setVisible(probe_.has_value());
  probePlot_->setVisible(probe_.has_value());
  if (!probe_) return;
  const auto& p = *probe_;
  probeTable_->setRowCount(static_cast<int>(p.policies.size()));
  for (size_t i = 0; i < p.policies.size(); ++i) {
    const auto& s = p.policies[i];
    const int row = static_cast<int>(i);
    probeTable_->setItem(row, 0, compareItem(qstr(s.policy.label), Qt::AlignLeft | Qt::AlignVCenter));
    probeTable_->setItem(row, 1, compareItem(QString::number(s.experts_per_token, 'f', 2)));
    probeTable_->setItem(row, 2, compareItem(QString::number(s.eval.val_loss, 'f', 4)));
    probeTable_->setItem(row, 3, compareItem(QString::number(100 * s.eval.exact_match, 'f', 1) + "%"));
    probeTable_->setItem(row, 4, compareItem(QString::number(s.kl_from_topk, 'f', 4)));
  }
  // Per layer: the router mass top-k leaves out, and the router's entropy as a share of log E.
  QVector<double> x, mass, entropy;
  for (const auto& l : p.layers) {
    x.push_back(static_cast<double>(l.layer));
    mass.push_back(l.discarded_mass);
    entropy.push_back(l.entropy_fraction);
  }
  auto* bars = new QCPBars(probePlot_->xAxis, probePlot_->yAxis);
  bars->setData(x, mass);
  bars->setWidth(0.35);
  bars->setName(tr("router mass outside the top-%1").arg(p.top_k));
  bars->setPen(Qt::NoPen);
  bars->setBrush(seriesColor(0));
  auto* line = probePlot_->addGraph();
  line->setData(x, entropy);
  line->setPen(QPen(seriesColor(1), 2));
  line->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 6));
  line->setName(tr("router entropy / log %1").arg(p.num_experts));
  probePlot_->legend->setVisible(true);
  probePlot_->legend->setFont(QFont(font().family(), 8));
  probePlot_->xAxis->setLabel(tr("MoE layer"));
  probePlot_->xAxis->setTicker(stepTicker());
  probePlot_->xAxis->setRange(-0.6, std::max(0.6, x.isEmpty() ? 0.6 : x.back() + 0.6));
  probePlot_->yAxis->setRange(0, 1.05);
  applyPalette(probePlot_, palette());
  probePlot_->replot();
}

void CompareView::chooseAndOpen() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Open a grid folder"), dir_);
  if (!dir.isEmpty()) openGrid(dir);
}

void CompareView::chooseAndStart() {
  const QString file = QFileDialog::getOpenFileName(this, tr("Grid file"), {}, tr("JSON (*.json)"));
  if (file.isEmpty()) return;
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Folder for the grid's runs"), QFileInfo(file).absolutePath());
  if (!dir.isEmpty()) startGrid(file, dir);
}

bool CompareView::startGrid(const QString& gridFile, const QString& dir, int jobs, bool mixedArithmetic) {
  if (running()) return false;
  const QString cli = ChildRun::program();
  if (cli.isEmpty()) {
    say(tr("Grids run as `moekd compare`, but no moekd program was found beside the studio or on PATH (set MOEKD_CLI)."), true);
    return false;
  }
  // Checked here first, so that a bad grid is named at once rather than by a process that ends.
  if (!gridFile.isEmpty()) {
    try {
      grid_ = load_grid(gridFile.toStdString());
    } catch (const std::exception& e) {
      say(QString::fromUtf8(e.what()), true);
      return false;
    }
  } else if (!QFileInfo::exists(dir + "/grid.json")) {
    say(tr("%1 holds no grid to continue.").arg(dir), true);
    return false;
  }
  QStringList args = {"compare", "--out", dir, "--jobs", QString::number(jobs), "--quiet"};
  if (!gridFile.isEmpty()) args << "--config" << gridFile;
  if (mixedArithmetic) args << "--mixed-arithmetic";
  delete grid_process_;
  grid_process_ = new QProcess(this);
  grid_process_->setProcessChannelMode(QProcess::SeparateChannels);
  endWithStudio(grid_process_);  // the runner passes SIGTERM on to its runs
  connect(grid_process_, &QProcess::finished, this, [this, gridFile, dir, jobs](int code, QProcess::ExitStatus) {
    poll_->stop();
    const QString err = lastLineOf(grid_process_->readAllStandardError());
    if (grid_) refresh();
    if (code != 0 && code != 130) say(err.isEmpty() ? tr("moekd compare ended with exit code %1").arg(code) : err, true);
    else if (code == 130) say(tr("Grid stopped; Continue resumes it from each run's checkpoint."));
    updateButtons();
    Q_EMIT gridFinished(code);
    if (code == kArithmeticMismatchExitCode) askToMixArithmetic(err, gridFile, dir, jobs);
  });
  grid_process_->start(cli, args);
  if (!grid_process_->waitForStarted(10000)) {
    say(tr("%1 could not be started: %2").arg(cli, grid_process_->errorString()), true);
    return false;
  }
  dir_ = QDir(dir).absolutePath();
  // grid.json appears once the runner has checked the grid; until then the file given stands for it.
  if (!gridFile.isEmpty() || !grid_) openGrid(dir_);
  say(tr("Running grid %1…").arg(grid_ ? qstr(grid_->name) : dir_));
  poll_->start();
  updateButtons();
  return true;
}

void CompareView::askToMixArithmetic(const QString& refusal, const QString& gridFile, const QString& dir, int jobs) {
  QString why = refusal;
  if (why.startsWith("moekd: error: ")) why = why.mid(14);
  // The CLI's remedy names its flag; here the button is the flag.
  if (const int cut = why.lastIndexOf(", or pass --mixed-arithmetic"); cut > 0) why = why.left(cut) + ".";
  auto* box = new QMessageBox(QMessageBox::Question, tr("Continue the grid with another arithmetic?"), why,
                              QMessageBox::Cancel, this);
  box->setObjectName("mixedArithmeticQuestion");
  box->setInformativeText(tr("Continue anyway computes the remaining runs with this machine's arithmetic; "
                             "arithmetic.json and the results then say that the grid mixes arithmetics, and a "
                             "paired difference between runs of the two kinds carries the rounding as well as "
                             "the method."));
  auto* go = box->addButton(tr("Continue anyway"), QMessageBox::AcceptRole);
  box->setDefaultButton(QMessageBox::Cancel);
  box->setAttribute(Qt::WA_DeleteOnClose);
  connect(box, &QMessageBox::buttonClicked, this, [this, go, gridFile, dir, jobs](QAbstractButton* clicked) {
    if (clicked == go) startGrid(gridFile, dir, jobs, true);
  });
  box->open();
}

void CompareView::stopGrid() {
  if (!running()) return;
  grid_process_->terminate();
  say(tr("Stopping the grid: its runs end their current step and write their checkpoints…"));
}

bool CompareView::startProbe() {
  if (!grid_ || (probe_process_ && probe_process_->state() != QProcess::NotRunning)) return false;
  const QString cli = ChildRun::program();
  if (cli.isEmpty()) {
    say(tr("The probe runs as `moekd probe`, but no moekd program was found beside the studio or on PATH (set MOEKD_CLI)."), true);
    return false;
  }
  delete probe_process_;
  probe_process_ = new QProcess(this);
  endWithStudio(probe_process_);
  connect(probe_process_, &QProcess::finished, this, [this](int code, QProcess::ExitStatus) {
    const QString err = lastLineOf(probe_process_->readAllStandardError());
    if (code == 0) {
      try {
        probe_ = teacher_probe_from_json(read_json_file((dir_ + "/probe.json").toStdString()));
        say(tr("Probed the teacher: %1 routings.").arg(probe_->policies.size()));
      } catch (const std::exception& e) {
        say(QString::fromUtf8(e.what()), true);
      }
      fillProbe();
    } else {
      say(err.isEmpty() ? tr("moekd probe ended with exit code %1").arg(code) : err, true);
    }
    updateButtons();
    Q_EMIT probeFinished(code);
  });
  probe_process_->start(cli, {"probe", "--config", dir_ + "/grid.json", "--out", dir_});
  if (!probe_process_->waitForStarted(10000)) {
    say(tr("%1 could not be started: %2").arg(cli, probe_process_->errorString()), true);
    return false;
  }
  say(tr("Probing the teacher of %1…").arg(qstr(grid_->name)));
  updateButtons();
  return true;
}

void CompareView::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::PaletteChange) {
    redrawCurves();
    fillProbe();
  }
}

}  // namespace moekd::ui
