#include "generation_band.h"

#include <cmath>

namespace moekd::ui {

namespace {
// Bands of the teacher's probability: at least 50%, 10-50%, 1-10%, below 1%.
constexpr double kBandFloors[] = {0.5, 0.1, 0.01, 0.0};
int bandOf(double logprob) {
  const double p = std::exp(logprob);
  for (int b = 0; b < 3; ++b)
    if (p >= kBandFloors[b]) return b;
  return 3;
}
// Light enough that the text on them reads in light and dark palettes alike (dark text).
QColor colorOfBand(int band) {
  static const QColor colors[] = {QColor(0xb7, 0xe4, 0xc7), QColor(0xff, 0xe9, 0xa8), QColor(0xff, 0xc2, 0x8a),
                                  QColor(0xf4, 0x8c, 0x8c)};
  return colors[band];
}
// Visible text of a piece: spaces stay visible inside their coloured box, newlines read as ↵.
QString shown(const std::string& piece) {
  QString t = QString::fromUtf8(piece.data(), static_cast<int>(piece.size())).toHtmlEscaped();
  t.replace('\n', QString::fromUtf8("\u21b5"));
  t.replace(' ', "&nbsp;");
  return t;
}
}  // namespace

GenerationBand::GenerationBand(QWidget* parent) : QLabel(parent) {
  setObjectName("generationBand");
  setWordWrap(true);
  setTextFormat(Qt::RichText);
  setTextInteractionFlags(Qt::TextSelectableByMouse);
  setVisible(false);
}

QColor GenerationBand::bandColor(double teacher_logprob) { return colorOfBand(bandOf(teacher_logprob)); }

void GenerationBand::clearSample() {
  for (int& c : counts_) c = 0;
  clear();
  setVisible(false);
}

void GenerationBand::showSample(const moekd::GenerationSample& g) {
  for (int& c : counts_) c = 0;
  QString tokens;
  for (size_t i = 0; i < g.pieces.size(); ++i) {
    const double lp = g.teacher_logprob[i];
    ++counts_[bandOf(lp)];
    tokens += QString("<span style=\"background-color:%1; color:#1a1a1a\">%2</span>")
                  .arg(bandColor(lp).name(), shown(g.pieces[i]));
  }
  QString legend;
  const char* names[] = {"&ge; 50%", "10&ndash;50%", "1&ndash;10%", "&lt; 1%"};
  for (int b = 0; b < 4; ++b)
    legend += QString("<span style=\"background-color:%1; color:#1a1a1a\">&nbsp;%2&nbsp;</span> ")
                  .arg(colorOfBand(b).name(), names[b]);
  QString prompt = QString::fromStdString(g.prompt).toHtmlEscaped();
  if (prompt.size() > 160) prompt = prompt.left(80) + " &hellip; " + prompt.right(60);
  prompt.replace('\n', QString::fromUtf8(" \u21b5 "));
  setText(tr("<b>The student's latest own answer</b> (training step %1%2), each token on the teacher's "
             "probability of it: %3<br><span style=\"opacity:0.7\">%4</span><br>%5")
              .arg(g.step)
              .arg(g.category.empty() ? QString() : tr(", %1").arg(QString::fromStdString(g.category)))
              .arg(legend, prompt, tokens));
  setToolTip(tr("%1 tokens written: %2 the teacher finds likely (at least 50%), %3 at 10-50%, %4 at 1-10%, "
                "%5 below 1%")
                 .arg(g.pieces.size())
                 .arg(counts_[0])
                 .arg(counts_[1])
                 .arg(counts_[2])
                 .arg(counts_[3]));
  setVisible(!g.pieces.empty());
}

}  // namespace moekd::ui
