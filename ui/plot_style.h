#pragma once
// QCustomPlot with the studio's conventions: colours from the widget palette (light or dark
// desktop), and QCustomPlot's own header included with Qt keywords enabled only for itself (the
// studio compiles with QT_NO_KEYWORDS; qcustomplot.h uses `signals:` and `foreach`).
#ifndef signals
#define MOEKD_DEFINED_SIGNALS
#define signals Q_SIGNALS
#endif
#ifndef slots
#define MOEKD_DEFINED_SLOTS
#define slots Q_SLOTS
#endif
#ifndef emit
#define MOEKD_DEFINED_EMIT
#define emit
#endif
#ifndef foreach
#define MOEKD_DEFINED_FOREACH
#define foreach Q_FOREACH
#endif
#include <qcustomplot.h>
#ifdef MOEKD_DEFINED_FOREACH
#undef foreach
#undef MOEKD_DEFINED_FOREACH
#endif
#ifdef MOEKD_DEFINED_SIGNALS
#undef signals
#undef MOEKD_DEFINED_SIGNALS
#endif
#ifdef MOEKD_DEFINED_SLOTS
#undef slots
#undef MOEKD_DEFINED_SLOTS
#endif
#ifdef MOEKD_DEFINED_EMIT
#undef emit
#undef MOEKD_DEFINED_EMIT
#endif

#include <QColor>
#include <vector>

namespace moekd::ui {

// Background, axes, grid, legend and title take `pal` (the view's palette: during a palette change
// the view is updated before its children).
void applyPalette(QCustomPlot* plot, const QPalette& pal);

// Distinct series colours that read on light and dark backgrounds (Tableau 10).
QColor seriesColor(int index);

// TensorBoard's smoothing: an exponential moving average with weight w, debiased for the first
// points (w = 0 returns the values).
QVector<double> ema(const std::vector<double>& values, double w);

// Viridis as colour stops (Debian's QCustomPlot 2.1.0 has no gpViridis preset).
QCPColorGradient viridisGradient();

// Ticks for a step axis: whole steps only (one evaluation at step 750 is not flanked by 749.5).
QSharedPointer<QCPAxisTicker> stepTicker();

}  // namespace moekd::ui
