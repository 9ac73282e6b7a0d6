#include "reveal_folder.h"
#include "runs_view.h"

#include <QComboBox>
#include <QDir>
#include <QEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMenu>
#include <QLineEdit>
#include <QPushButton>
#include <QSlider>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

#include "metric_fields.h"
#include "plot_style.h"
#include "runs_model.h"

namespace moekd::ui {

RunsView::RunsView(RunsModel* model, QWidget* parent) : QWidget(parent), model_(model) {
  workspace_ = new QLineEdit(model_->workspace());
  workspace_->setObjectName("workspace");
  workspace_->setToolTip(tr("The folder whose subfolders are runs (each with config.json and metrics.jsonl)"));
  auto* browse = new QPushButton(tr("Browse…"));
  auto* refresh = new QPushButton(tr("Refresh"));
  refresh->setObjectName("refreshRuns");
  refresh->setToolTip(tr("Reread every run folder (F5)"));
  refresh->setShortcut(QKeySequence(Qt::Key_F5));
  connect(workspace_, &QLineEdit::editingFinished, this, [this] {
    if (QDir::cleanPath(QDir(workspace_->text()).absolutePath()) != model_->workspace())
      Q_EMIT workspaceChosen(workspace_->text());
  });
  connect(browse, &QPushButton::clicked, this, &RunsView::chooseWorkspace);
  connect(refresh, &QPushButton::clicked, model_, &RunsModel::refresh);
  connect(model_, &QAbstractItemModel::modelReset, this, [this] {
    workspace_->setText(QDir::toNativeSeparators(model_->workspace()));
    updateButtons();
  });

  proxy_ = new QSortFilterProxyModel(this);
  proxy_->setSourceModel(model_);
  proxy_->setSortRole(RunsModel::SortRole);
  table_ = new QTableView;
  table_->setObjectName("runsTable");
  table_->setModel(proxy_);
  table_->setSortingEnabled(true);
  table_->sortByColumn(RunsModel::Modified, Qt::DescendingOrder);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::SingleSelection);
  table_->setAlternatingRowColors(true);
  table_->verticalHeader()->hide();
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  connect(table_, &QTableView::doubleClicked, this,
          [this](const QModelIndex& i) { Q_EMIT openRequested(i.data(RunsModel::DirRole).toString()); });
  connect(table_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, &RunsView::updateButtons);
  // Ticking a run (for the overlay) makes it the current run too: Open and Export act on it
  // without a second click on the row.
  connect(model_, &QAbstractItemModel::dataChanged, this,
          [this](const QModelIndex& from, const QModelIndex& to, const QList<int>& roles) {
            if (from == to && roles.contains(Qt::CheckStateRole)) table_->setCurrentIndex(proxy_->mapFromSource(from));
          });
  // Right click: what can be done with a run's checkpoint and settings.
  table_->setContextMenuPolicy(Qt::CustomContextMenu);
  connect(table_, &QWidget::customContextMenuRequested, this, [this](const QPoint& at) {
    const QModelIndex index = table_->indexAt(at);
    if (!index.isValid()) return;
    table_->setCurrentIndex(index);
    const QString dir = selectedRun();
    if (dir.isEmpty()) return;
    auto* menu = new QMenu(this);
    menu->setObjectName("runMenu");
    menu->setAttribute(Qt::WA_DeleteOnClose);
    menu->addAction(tr("Open"), this, [this, dir] { Q_EMIT openRequested(dir); });
    // Resuming needs a checkpoint and a run that did not finish; continuing, only a checkpoint.
    const bool checkpoint = QFileInfo::exists(dir + "/checkpoints/last/state.json");
    const int row = model_->rowOf(dir);
    const bool finished = row >= 0 && model_->history(row) && model_->history(row)->summary.status == moekd::RunStatus::Finished;
    auto* resume = menu->addAction(tr("Resume from the last checkpoint"), this, [this, dir] { Q_EMIT resumeRequested(dir); });
    resume->setObjectName("resumeRunAction");
    resume->setEnabled(checkpoint && !finished);
    auto* more = menu->addAction(tr("Continue for more steps…"), this, [this, dir] { Q_EMIT continueRequested(dir); });
    more->setObjectName("continueRunAction");
    more->setEnabled(checkpoint);
    menu->addAction(tr("Start as a new run"), this, [this, dir] { Q_EMIT restartRequested(dir); })
        ->setObjectName("restartRunAction");
    menu->addSeparator();
    menu->addAction(tr("Export…"), this, [this, dir] { Q_EMIT exportRequested(dir); });
    menu->popup(table_->viewport()->mapToGlobal(at));
  });
  // After the proxy (not the source) has reset, the selection is gone: the buttons follow.
  connect(proxy_, &QAbstractItemModel::modelReset, this, &RunsView::updateButtons);

  open_ = new QPushButton(tr("Open"));
  open_->setObjectName("openRun");
  open_->setToolTip(tr("Show this run in the Configure, Training, Experts, Router and Evaluation views"));
  export_ = new QPushButton(tr("Export…"));
  export_->setToolTip(tr("Export this run's student (or SAR-tuned teacher) in Hugging Face format"));
  reveal_ = new QPushButton(tr("Show folder"));
  connect(open_, &QPushButton::clicked, this, [this] { Q_EMIT openRequested(selectedRun()); });
  connect(export_, &QPushButton::clicked, this, [this] { Q_EMIT exportRequested(selectedRun()); });
  connect(reveal_, &QPushButton::clicked, this,
          [this] { revealFolder(this, selectedRun()); });

  metric_ = new QComboBox;
  metric_->setObjectName("overlayMetric");
  for (const auto& m : metricFields())
    if (m.overlay) metric_->addItem(m.title(), QString(m.key));
  smoothing_ = new QSlider(Qt::Horizontal);
  smoothing_->setRange(0, 99);
  smoothing_->setValue(60);
  smoothing_->setMaximumWidth(160);
  smoothing_->setToolTip(tr("Exponential moving average of the per-step curves, as in TensorBoard"));
  smoothingValue_ = new QLabel("0.60");
  connect(metric_, &QComboBox::currentIndexChanged, this, &RunsView::redraw);
  connect(smoothing_, &QSlider::valueChanged, this, [this](int v) {
    smoothingValue_->setText(QString::number(v / 100.0, 'f', 2));
    redraw();
  });
  hint_ = new QLabel;
  hint_->setObjectName("overlayHint");

  plot_ = new QCustomPlot;
  plot_->setObjectName("overlayPlot");
  plot_->setMinimumHeight(240);
  plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  plot_->xAxis->setLabel(tr("step"));
  plot_->xAxis->setTicker(stepTicker());
  plot_->legend->setVisible(true);
  plot_->legend->setFont(font());
  plot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  connect(plot_, &QCustomPlot::mouseDoubleClick, this, &RunsView::redraw);  // resets the zoom
  applyPalette(plot_, palette());
  connect(model_, &RunsModel::overlayChanged, this, &RunsView::redraw);
  connect(model_, &RunsModel::runReloaded, this, [this](const QString& dir) {
    if (model_->overlayRuns().contains(dir)) redraw();
  });
  connect(model_, &QAbstractItemModel::modelReset, this, &RunsView::redraw);

  auto* top = new QHBoxLayout;
  top->addWidget(new QLabel(tr("Workspace")));
  top->addWidget(workspace_, 1);
  top->addWidget(browse);
  top->addWidget(refresh);

  auto* buttons = new QHBoxLayout;
  buttons->addWidget(open_);
  buttons->addWidget(export_);
  buttons->addWidget(reveal_);
  buttons->addStretch(1);
  auto* tableBox = new QWidget;
  auto* tableLayout = new QVBoxLayout(tableBox);
  tableLayout->setContentsMargins(0, 0, 0, 0);
  tableLayout->addWidget(table_);
  tableLayout->addLayout(buttons);

  auto* chartControls = new QHBoxLayout;
  chartControls->addWidget(new QLabel(tr("Overlay")));
  chartControls->addWidget(metric_);
  chartControls->addSpacing(16);
  chartControls->addWidget(new QLabel(tr("Smoothing")));
  chartControls->addWidget(smoothing_);
  chartControls->addWidget(smoothingValue_);
  chartControls->addSpacing(16);
  chartControls->addWidget(hint_, 1);
  auto* chartBox = new QWidget;
  auto* chartLayout = new QVBoxLayout(chartBox);
  chartLayout->setContentsMargins(0, 0, 0, 0);
  chartLayout->addLayout(chartControls);
  chartLayout->addWidget(plot_, 1);

  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(tableBox);
  split->addWidget(chartBox);
  split->setStretchFactor(0, 2);
  split->setStretchFactor(1, 3);

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(top);
  layout->addWidget(split, 1);
  updateButtons();
  redraw();
}

void RunsView::chooseWorkspace() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Workspace folder"), model_->workspace());
  if (!dir.isEmpty()) Q_EMIT workspaceChosen(dir);
}

QString RunsView::selectedRun() const {
  const QModelIndex i = table_->currentIndex();
  return i.isValid() ? i.siblingAtColumn(RunsModel::Name).data(RunsModel::DirRole).toString() : QString();
}

void RunsView::selectRun(const QString& dir) {
  const int row = model_->rowOf(dir);
  if (row < 0) return;
  table_->setCurrentIndex(proxy_->mapFromSource(model_->index(row, RunsModel::Name)));
}

void RunsView::updateButtons() {
  const int row = model_->rowOf(selectedRun());
  const bool readable = model_->history(row) != nullptr;
  open_->setEnabled(readable);
  export_->setEnabled(readable && (model_->history(row)->summary.has_best || model_->history(row)->summary.has_last));
  reveal_->setEnabled(row >= 0);
}

bool RunsView::setMetric(const QString& key) {
  const int i = metric_->findData(key);
  if (i >= 0) metric_->setCurrentIndex(i);
  return i >= 0;
}

QString RunsView::metric() const { return metric_->currentData().toString(); }

void RunsView::setSmoothing(double weight) { smoothing_->setValue(qRound(std::clamp(weight, 0.0, 0.99) * 100)); }

void RunsView::replotNow() { plot_->replot(); }

void RunsView::redraw() {
  const MetricField* field = metricField(metric());
  if (!field) field = &metricFields().front();
  const bool perEval = field->source == MetricField::Source::Evaluation;
  const double w = smoothing_->value() / 100.0;
  plot_->clearGraphs();
  plot_->yAxis->setLabel(field->title());
  const QStringList runs = model_->overlayRuns();
  int drawn = 0;
  for (const QString& dir : runs) {
    const int row = model_->rowOf(dir);
    const RunHistory* h = model_->history(row);
    if (!h) continue;
    const QColor color = seriesColor(row);
    const QString folder = QDir(dir).dirName();
    const QString method = qstr(h->summary.method);
    const QString name = folder == method ? folder : folder + " (" + method + ")";
    QVector<double> keys, values;
    if (perEval) {
      for (const auto& r : h->evals) {
        keys << static_cast<double>(r.step);
        values << field->value(r);
      }
    } else {
      std::vector<double> raw;
      for (const auto& s : h->steps) {
        keys << static_cast<double>(s.step);
        raw.push_back(field->value(s));
      }
      if (w > 0 && !raw.empty()) {  // the raw curve, faint, under the smoothed one
        QCPGraph* faint = plot_->addGraph();
        QColor c = color;
        c.setAlphaF(0.25);
        faint->setPen(QPen(c, 1));
        faint->setData(keys, QVector<double>(raw.begin(), raw.end()), true);
        faint->removeFromLegend();
      }
      values = w > 0 ? ema(raw, w) : QVector<double>(raw.begin(), raw.end());
    }
    QCPGraph* g = plot_->addGraph();
    g->setName(name);
    g->setProperty("runDir", dir);
    g->setPen(QPen(color, 2));
    if (perEval) g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, color, color, 6));
    g->setData(keys, values, true);
    drawn += values.isEmpty() ? 0 : 1;
  }
  if (runs.isEmpty())
    hint_->setText(tr("Tick runs in the table to overlay them."));
  else if (drawn < runs.size())
    hint_->setText(tr("%1 of %2 ticked runs have %3 yet.").arg(drawn).arg(runs.size()).arg(tr(field->label)));
  else
    hint_->setText(tr("%n run(s) overlaid; drag to pan, wheel to zoom, double-click to reset.", "", drawn));
  plot_->legend->setVisible(plot_->graphCount() > 0);
  plot_->rescaleAxes();
  const QCPRange y = plot_->yAxis->range();  // points on the edges stay visible
  plot_->yAxis->setRange(y.lower - 0.05 * y.size(), y.upper + 0.05 * y.size());
  const QCPRange x = plot_->xAxis->range();
  plot_->xAxis->setRange(x.lower - 0.02 * x.size(), x.upper + 0.02 * x.size());
  if (plot_->graphCount() == 0) {
    plot_->xAxis->setRange(0, 1);
    plot_->yAxis->setRange(0, 1);
  }
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void RunsView::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::PaletteChange) {
    applyPalette(plot_, palette());
    plot_->replot(QCustomPlot::rpQueuedReplot);
  }
}

}  // namespace moekd::ui
