#include "runs_model.h"

#include <QColor>
#include <QDir>
#include <QFileInfo>
#include <QFont>
#include <QIcon>
#include <QPainter>
#include <QPixmap>
#include <algorithm>
#include <cmath>
#include <exception>
#include <map>

#include "duration_text.h"

namespace moekd::ui {

namespace {

QString absolute(const QString& dir) { return QDir::cleanPath(QDir(dir).absolutePath()); }

QColor statusColor(moekd::RunStatus s) {
  switch (s) {
    case moekd::RunStatus::Finished: return QColor(0x2e, 0x9e, 0x5b);
    case moekd::RunStatus::Stopped: return QColor(0xe0, 0x9b, 0x1f);
    case moekd::RunStatus::Failed: return QColor(0xd0, 0x3b, 0x3b);
    case moekd::RunStatus::Running: return QColor(0x3d, 0x7a, 0xd6);
    case moekd::RunStatus::Incomplete: return QColor(0x90, 0x90, 0x90);
  }
  return Qt::gray;
}

QIcon dot(const QColor& c) {
  QPixmap pm(12, 12);
  pm.fill(Qt::transparent);
  QPainter p(&pm);
  p.setRenderHint(QPainter::Antialiasing);
  p.setPen(Qt::NoPen);
  p.setBrush(c);
  p.drawEllipse(QRectF(1.5, 1.5, 9, 9));
  p.end();
  // The same dot on a selected row: the style's selected-mode pixmap blends the icon into the
  // highlight colour, and a blue or green dot vanished into a blue selection.
  QIcon icon;
  icon.addPixmap(pm, QIcon::Normal);
  icon.addPixmap(pm, QIcon::Selected);
  return icon;
}

// What changes when a run writes: its metrics (every event, checkpoints included) and its config.
QString fileStamp(const QString& dir) {
  const moekd::RunFolder run(dir.toStdString());
  const QFileInfo metrics(QString::fromStdString(run.metrics().string())),
      config(QString::fromStdString(run.config().string()));
  return QString("%1/%2/%3").arg(metrics.size()).arg(metrics.lastModified().toMSecsSinceEpoch()).arg(
      config.lastModified().toMSecsSinceEpoch());
}

bool lowerIsBetter(int column) {
  return column == RunsModel::TrainLoss || column == RunsModel::ValLoss || column == RunsModel::BestValLoss;
}

}  // namespace

RunsModel::RunsModel(QObject* parent) : QAbstractTableModel(parent) {}

void RunsModel::setWorkspace(const QString& dir) {
  workspace_ = absolute(dir);
  refresh();
}

void RunsModel::addRunFolder(const QString& dir) {
  const QString a = absolute(dir);
  if (QFileInfo(a).absolutePath() == workspace_ || extra_.contains(a)) return;
  extra_ << a;
}

void RunsModel::setActiveRun(const QString& dir) {
  active_ = dir.isEmpty() ? QString() : absolute(dir);
  if (!entries_.empty()) Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
}

void RunsModel::refresh() {
  QStringList dirs;
  if (!workspace_.isEmpty()) {
    const QDir ws(workspace_);
    for (const QString& name : ws.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name))
      if (isRunFolder(ws.filePath(name))) dirs << absolute(ws.filePath(name));
  }
  for (const QString& d : extra_)
    if (isRunFolder(d) && !dirs.contains(d)) dirs << d;

  std::map<QString, Entry> previous;
  for (auto& e : entries_) previous.emplace(e.dir, std::move(e));
  beginResetModel();
  entries_.clear();
  for (const QString& d : dirs) {
    const QString stamp = fileStamp(d);
    if (auto it = previous.find(d); it != previous.end() && it->second.stamp == stamp && it->second.error.isEmpty()) {
      entries_.push_back(std::move(it->second));
      continue;
    }
    Entry e;
    e.dir = d;
    e.stamp = stamp;
    try {
      e.history = loadRunHistory(d, moekd::RunDetail::Summary);
    } catch (const std::exception& ex) {
      e.error = QString::fromUtf8(ex.what());
      e.history.summary.dir = d.toStdString();
      e.history.summary.name = QDir(d).dirName().toStdString();
    }
    entries_.push_back(std::move(e));
  }
  // The overlay keeps runs that still exist.
  QSet<QString> kept;
  for (const auto& e : entries_)
    if (overlay_.contains(e.dir) && e.error.isEmpty()) kept.insert(e.dir);
  const bool overlayChangedNow = kept != overlay_;
  overlay_ = kept;
  endResetModel();
  if (overlayChangedNow) Q_EMIT overlayChanged();
}

void RunsModel::reloadRun(const QString& dir) {
  const int row = rowOf(dir);
  if (row < 0) return;
  Entry& e = entries_[static_cast<size_t>(row)];
  e.stamp = fileStamp(e.dir);
  try {
    e.history = loadRunHistory(e.dir, moekd::RunDetail::Summary);
    e.error.clear();
  } catch (const std::exception& ex) {
    e.error = QString::fromUtf8(ex.what());
  }
  // Every row: the bold "best" marks may move to or from the reloaded run.
  Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
  Q_EMIT runReloaded(e.dir);
}

int RunsModel::rowOf(const QString& dir) const {
  const QString a = absolute(dir);
  for (size_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].dir == a) return static_cast<int>(i);
  return -1;
}

QString RunsModel::dirAt(int row) const {
  return row >= 0 && row < rowCount() ? entries_[static_cast<size_t>(row)].dir : QString();
}

const RunHistory* RunsModel::history(int row) const {
  if (row < 0 || row >= rowCount()) return nullptr;
  const Entry& e = entries_[static_cast<size_t>(row)];
  return e.error.isEmpty() ? &e.history : nullptr;
}

QString RunsModel::errorAt(int row) const {
  return row >= 0 && row < rowCount() ? entries_[static_cast<size_t>(row)].error : QString();
}

QStringList RunsModel::overlayRuns() const {
  QStringList out;
  for (const auto& e : entries_)
    if (overlay_.contains(e.dir)) out << e.dir;
  return out;
}

void RunsModel::setOverlay(const QString& dir, bool on) {
  const int row = rowOf(dir);
  if (row < 0 || !entries_[static_cast<size_t>(row)].error.isEmpty()) return;
  const QString a = entries_[static_cast<size_t>(row)].dir;
  if (overlay_.contains(a) == on) return;
  if (on) overlay_.insert(a);
  else overlay_.remove(a);
  Q_EMIT dataChanged(index(row, Name), index(row, Name), {Qt::CheckStateRole});
  Q_EMIT overlayChanged();
}

int RunsModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(entries_.size());
}

int RunsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

double RunsModel::metric(const Entry& e, int column) const {
  if (!e.error.isEmpty()) return qQNaN();
  const RunSummary& s = e.history.summary;
  switch (column) {
    case TrainLoss: return s.train_loss;
    case ValLoss: return s.val_loss;
    case BestValLoss: return s.best_val_loss;
    case RougeL: return s.rouge_l;
    case ExactMatch: return s.exact_match;
    default: return qQNaN();
  }
}

bool RunsModel::isBest(const Entry& e, int column) const {
  const double v = metric(e, column);
  if (std::isnan(v)) return false;
  // Teachers are ranked among teachers and students among students: a trained teacher's loss
  // would otherwise take every student column's mark.
  auto teacher = [](const Entry& x) { return x.history.summary.method == "train-teacher"; };
  int compared = 0;
  for (const auto& other : entries_) {
    if (teacher(other) != teacher(e)) continue;
    const double o = metric(other, column);
    if (std::isnan(o)) continue;
    ++compared;
    if (lowerIsBetter(column) ? o < v : o > v) return false;
  }
  return compared >= 2;  // "best" means something only against another run
}

QVariant RunsModel::display(const Entry& e, int column) const {
  const RunSummary& s = e.history.summary;
  auto number = [](double v, int decimals) { return std::isnan(v) ? QString("–") : QString::number(v, 'f', decimals); };
  auto percent = [](double v) { return std::isnan(v) ? QString("–") : QString::number(100 * v, 'f', 1); };
  if (!e.error.isEmpty()) {
    if (column == Name) return QDir(e.dir).dirName();
    if (column == Status) return tr("unreadable");
    return {};
  }
  switch (column) {
    case Name: return QDir(e.dir).dirName();  // unique in a workspace; the config's name is in the tooltip
    case Method: return qstr(s.method);
    case Status: return statusName(e.dir == active_ ? moekd::RunStatus::Running : s.status);
    case Steps: return s.total_steps > 0 ? QString("%1 / %2").arg(s.step).arg(s.total_steps) : QString::number(s.step);
    case Time: return s.step > 0 ? durationText(s.seconds) : QString("–");
    case TrainLoss: return number(s.train_loss, 4);
    case ValLoss: return number(s.val_loss, 4);
    case BestValLoss: return number(s.best_val_loss, 4);
    case RougeL: return percent(s.rouge_l);
    case ExactMatch: return percent(s.exact_match);
    case PeakMemory: return s.peak_memory > 0 ? QString::number(s.peak_memory / 1073741824.0, 'f', 2) : QString("–");
    case Modified: return e.history.modified.isValid() ? e.history.modified.toString("yyyy-MM-dd hh:mm") : QString("–");
  }
  return {};
}

QVariant RunsModel::sortKey(const Entry& e, int column) const {
  const RunSummary& s = e.history.summary;
  switch (column) {
    case Steps: return static_cast<qlonglong>(s.step);
    case Time: return s.seconds;
    case PeakMemory: return static_cast<qlonglong>(s.peak_memory);
    case Modified: return e.history.modified;
    case TrainLoss: case ValLoss: case BestValLoss: case RougeL: case ExactMatch: {
      const double v = metric(e, column);  // runs without the metric sort last
      return std::isnan(v) ? (lowerIsBetter(column) ? 1e300 : -1e300) : v;
    }
    default: return display(e, column);
  }
}

QVariant RunsModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount()) return {};
  const Entry& e = entries_[static_cast<size_t>(index.row())];
  const RunSummary& s = e.history.summary;
  const int column = index.column();
  switch (role) {
    case Qt::DisplayRole: return display(e, column);
    case SortRole: return sortKey(e, column);
    case DirRole: return e.dir;
    case Qt::CheckStateRole:
      if (column == Name && e.error.isEmpty()) return overlay_.contains(e.dir) ? Qt::Checked : Qt::Unchecked;
      return {};
    case Qt::DecorationRole:
      if (column == Name) return dot(e.error.isEmpty() ? statusColor(e.dir == active_ ? moekd::RunStatus::Running : s.status)
                                                      : statusColor(moekd::RunStatus::Failed));
      return {};
    case Qt::TextAlignmentRole:
      return column >= Steps && column <= PeakMemory ? QVariant(Qt::AlignRight | Qt::AlignVCenter) : QVariant();
    case Qt::FontRole:
      if (isBest(e, column)) {
        QFont f;
        f.setBold(true);
        return f;
      }
      return {};
    case Qt::ToolTipRole: {
      if (!e.error.isEmpty()) return tr("%1\ncannot be read: %2").arg(e.dir, e.error);
      QString tip = tr("%1: run `%2` (%3, %4)").arg(QDir::toNativeSeparators(e.dir), qstr(s.name), qstr(s.method), display(e, Status).toString());
      if (!s.failure.empty()) tip += tr("\nfailed: %1").arg(qstr(s.failure));
      if (isBest(e, column)) tip += tr("\nbest %1 of the listed runs").arg(headerData(column, Qt::Horizontal, Qt::DisplayRole).toString());
      if (column == Name) tip += tr("\nTick to overlay on the chart; double-click to open.");
      return tip;
    }
  }
  return {};
}

QVariant RunsModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal) return {};
  if (role == Qt::DisplayRole) {
    switch (section) {
      case Name: return tr("Run");
      case Method: return tr("Method");
      case Status: return tr("Status");
      case Steps: return tr("Steps");
      case Time: return tr("Time");
      case TrainLoss: return tr("Train loss");
      case ValLoss: return tr("Val loss");
      case BestValLoss: return tr("Best val loss");
      case RougeL: return tr("ROUGE-L %");
      case ExactMatch: return tr("Exact match %");
      case PeakMemory: return tr("Peak GiB");
      case Modified: return tr("Last write");
    }
  }
  if (role == Qt::ToolTipRole) {
    switch (section) {
      case TrainLoss: return tr("The total loss of the last logged step");
      case ValLoss: return tr("Validation loss at the last evaluation");
      case BestValLoss: return tr("The lowest validation loss of any evaluation");
      case RougeL: return tr("ROUGE-L F1 of the generated answers at the last evaluation");
      case ExactMatch: return tr("Share of generated answers equal to the reference at the last evaluation");
      case PeakMemory: return tr("The most memory the run held: on a GPU allocated bytes, on the CPU the resident set");
    }
  }
  return {};
}

Qt::ItemFlags RunsModel::flags(const QModelIndex& index) const {
  Qt::ItemFlags f = QAbstractTableModel::flags(index);
  if (index.isValid() && index.column() == Name && entries_[static_cast<size_t>(index.row())].error.isEmpty())
    f |= Qt::ItemIsUserCheckable;
  return f;
}

bool RunsModel::setData(const QModelIndex& index, const QVariant& value, int role) {
  if (!index.isValid() || index.column() != Name || role != Qt::CheckStateRole) return false;
  setOverlay(entries_[static_cast<size_t>(index.row())].dir, value.toInt() == Qt::Checked);
  return true;
}

}  // namespace moekd::ui
