#pragma once
// The runs of a workspace folder (its subfolders that hold config.json and metrics.jsonl) as a table: one row per
// run with its status and final metrics. The Runs view shows every column as the comparison
// table, the sidebar shows the names; the check box of the name picks runs for the overlay chart.
// A folder that cannot be read stays in the list as "unreadable" with the reason as its tooltip.
#include <QAbstractTableModel>
#include <QSet>
#include <QStringList>
#include <vector>

#include "run_history.h"

namespace moekd::ui {

class RunsModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { Name, Method, Status, Steps, Time, TrainLoss, ValLoss, BestValLoss, RougeL, ExactMatch, PeakMemory, Modified, ColumnCount };
  // Sort keys (numbers, dates) for a QSortFilterProxyModel.
  static constexpr int SortRole = Qt::UserRole + 1;
  static constexpr int DirRole = Qt::UserRole + 2;

  explicit RunsModel(QObject* parent = nullptr);

  // Lists `dir`'s runs (rescans). The folder may not exist yet: the list is then empty.
  void setWorkspace(const QString& dir);
  QString workspace() const { return workspace_; }
  // Rereads every run whose files changed (after a run ended, or on the user's request).
  void refresh();
  // A run outside the workspace (started or opened there): listed until the studio closes.
  void addRunFolder(const QString& dir);
  // The run the engine is writing now (shown as running); empty when none.
  void setActiveRun(const QString& dir);
  // Rereads one run (the active one after an evaluation) without resetting the table.
  void reloadRun(const QString& dir);

  int rowOf(const QString& dir) const;
  QString dirAt(int row) const;
  const RunHistory* history(int row) const;  // nullptr for an unreadable folder
  QString errorAt(int row) const;

  QStringList overlayRuns() const;  // run folders checked for the overlay, in table order
  void setOverlay(const QString& dir, bool on);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override;
  Qt::ItemFlags flags(const QModelIndex& index) const override;
  bool setData(const QModelIndex& index, const QVariant& value, int role) override;

 Q_SIGNALS:
  void overlayChanged();
  void runReloaded(const QString& dir);

 private:
  struct Entry {
    QString dir;
    RunHistory history;
    QString error;  // non-empty: unreadable
    QString stamp;  // sizes and times of its files when read: unchanged files are not read again
  };
  QVariant display(const Entry& e, int column) const;
  QVariant sortKey(const Entry& e, int column) const;
  double metric(const Entry& e, int column) const;  // NaN when absent
  bool isBest(const Entry& e, int column) const;

  QString workspace_, active_;
  QStringList extra_;
  QSet<QString> overlay_;
  std::vector<Entry> entries_;
};

}  // namespace moekd::ui
