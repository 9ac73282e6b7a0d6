#pragma once
// The layer x expert heatmap shared by the Experts and Router views: a viridis QCPColorMap with a
// colour scale, layer 0 on top, and the values written into the cells of small grids.
#include <QString>
#include <cstdint>
#include <functional>
#include <vector>

#include "plot_style.h"

class QComboBox;

namespace moekd::ui {

struct LayerExpertHeatmap {
  QCustomPlot* plot = nullptr;
  QCPColorMap* map = nullptr;
  QCPColorScale* scale = nullptr;
};

LayerExpertHeatmap makeLayerExpertHeatmap(const QString& objectName);

// Fills rows = layers, columns = experts; `layerNumbers` label the rows (the model's own layer
// indices), `cellText` writes a value. The scale runs from 0 to max(largest value, 2/E), so a
// balanced 1/E sits in the middle. Returns the number of experts; 0 means nothing to show (the
// map is hidden and the plot replotted).
int fillLayerExpertHeatmap(const LayerExpertHeatmap& h, const std::vector<std::vector<double>>& values,
                           const std::vector<int64_t>& layerNumbers, const std::function<QString(double)>& cellText);

// Adds a reporting model ("teacher", "student") to a view's model selector the first time it
// reports, without emitting the selector's signals; the teacher, the model the methods are about,
// becomes the current one when it arrives.
void addModelChoice(QComboBox* models, const QString& model);

}  // namespace moekd::ui
