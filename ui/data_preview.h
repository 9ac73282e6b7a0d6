#pragma once
// The data a run would train on, previewed from the form's `data` section: how many examples each
// split holds, per category, any rows the reader skipped, and the first training examples. It
// reads the data the way a run does (data/run_data.h), a quarter second after the last edit.
#include <QString>
#include <QWidget>
#include <nlohmann/json.hpp>

class QLabel;
class QTableWidget;
class QTimer;

namespace moekd::ui {

class DataPreview : public QWidget {
  Q_OBJECT
 public:
  explicit DataPreview(QWidget* parent = nullptr);
  // A run config's `data` object; unchanged sections are not read again.
  void setDataConfig(const nlohmann::json& data);
  void refreshNow();

 private:
  void refresh();

  nlohmann::json pending_;
  QString shownKey_;
  QLabel* info_ = nullptr;
  QTableWidget* table_ = nullptr;
  QTimer* timer_ = nullptr;
};

}  // namespace moekd::ui
