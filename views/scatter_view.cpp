#include "views/scatter_view.h"

namespace isamap::views {

ScatterView::ScatterView(QWidget* parent) : PlotView(parent) {
    setAxes({tr("modeled"), true, AxisUnit::Seconds}, {tr("measured"), true, AxisUnit::Seconds});
    setDiagonal(true);
    setEmptyText(tr("No schedule has been measured yet: on a virtual target, a search simulates its best schedules."));
}

void ScatterView::setPoints(const std::vector<ScatterPoint>& points, const QString& measuredName) {
    setAxes({tr("modeled"), true, AxisUnit::Seconds}, {measuredName, true, AxisUnit::Seconds});
    std::vector<PlotPoint> plotted;
    std::vector<QString> labels;
    plotted.reserve(points.size());
    labels.reserve(points.size());
    bool anyBest = false;
    for (const auto& p : points) {
        plotted.push_back({p.modeled, p.measured, p.id, p.best ? 1 : 0});
        labels.push_back(p.label);
        anyBest = anyBest || p.best;
    }
    setSeriesNames(anyBest ? QStringList{tr("schedules"), tr("the best found")} : QStringList{tr("schedules")});
    PlotView::setPoints(std::move(plotted), std::move(labels));
}

} // namespace isamap::views
