// Measured against modeled, as a log-log scatter: one point per schedule, the y = x line, hover for
// the schedule's figures, click to select a stored schedule. A PlotView, so it stays fluid with
// 100,000 points.
#pragma once

#include "views/plot_view.h"

#include <QString>
#include <vector>

namespace isamap::views {

struct ScatterPoint {
    double modeled = 0;  // s
    double measured = 0; // s
    QString label;
    qint64 id = 0;   // a stored schedule's id, 0 when the schedule is not stored
    bool best = false; // drawn in the second colour, on top
};

class ScatterView : public PlotView {
    Q_OBJECT
public:
    explicit ScatterView(QWidget* parent = nullptr);
    void setPoints(const std::vector<ScatterPoint>& points, const QString& measuredName);
};

} // namespace isamap::views
