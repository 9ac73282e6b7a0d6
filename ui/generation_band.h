#pragma once
// The latest answer the student wrote in an on-policy batch, token by token, each token's
// background coloured by the teacher's probability of it: where the teacher disagrees with the
// student shows at a glance. Hidden until a run has written one.
#include <QLabel>
#include <QString>

#include "run/events.h"

namespace moekd::ui {

class GenerationBand : public QLabel {
  Q_OBJECT
 public:
  explicit GenerationBand(QWidget* parent = nullptr);
  void showSample(const moekd::GenerationSample& g);
  void clearSample();

  // The colour of a token the teacher gives probability exp(logprob): four bands, named in the legend.
  static QColor bandColor(double teacher_logprob);
  // How many of the shown tokens fall in each band, most likely first (tests, the tooltip).
  const int* bandCounts() const { return counts_; }

 private:
  int counts_[4] = {0, 0, 0, 0};
};

}  // namespace moekd::ui
