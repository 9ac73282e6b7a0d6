#pragma once
// A grid's curves (engine/grid/grid_results.h) on a QCustomPlot: per cell, the mean over its
// seeds at each step, with a band from the lowest to the highest seed. The studio's Compare view
// draws them live; `moekd compare` writes the same charts as PNG files (built with the studio).
#include <QPalette>
#include <string>
#include <vector>

#include "grid/grid_results.h"

class QCustomPlot;

namespace moekd::ui {

enum class GridCurve { ValLoss, RougeL, ExactMatch, TrainLoss };
const std::vector<GridCurve>& gridCurves();
const char* gridCurveKey(GridCurve c);   // "val_loss", "rouge_l", "exact_match", "train_loss"
const char* gridCurveTitle(GridCurve c);  // "validation loss", ...

// Which seeds a chart draws: all that have started (the live view: a grid filling in) or only
// the finished ones (a document: every band spans whole runs, the legend gives their number).
enum class GridSeeds { Started, Finished };

// Replaces the plot's contents. `cells` (ids) limits the cells drawn; empty draws every cell.
// Returns how many cells had anything to draw.
int drawGridCurves(QCustomPlot* plot, const GridResults& results, GridCurve curve, const QPalette& palette,
                   const std::vector<std::string>& cells = {}, GridSeeds seeds = GridSeeds::Started);

// Writes, from the finished runs, `dir`/<curve>.png with every cell and `dir`/<chart>-<curve>.png
// for each of the grid's own charts (`plots`), width x height pixels on a light palette, for
// every curve with data; returns the files written. Needs no window system: without a
// QApplication it makes an offscreen one.
std::vector<std::string> writeGridPlots(const GridResults& results, const std::string& dir,
                                        const std::vector<GridPlot>& charts = {}, int width = 1100, int height = 650);

}  // namespace moekd::ui
