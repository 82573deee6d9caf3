// The timeline of a simulated schedule: one row per compute unit and data mover, one bar per task
// (compute in blue, transfers in orange), time running left to right; hover for what ran and the bytes
// moved, Ctrl+wheel to zoom. Reads what the simulator (compiler/sim/) records.
#pragma once

#include "sim/sim.h"

#include <QGraphicsView>

namespace isamap::views {

class TimelineView : public QGraphicsView {
    Q_OBJECT
public:
    explicit TimelineView(QWidget* parent = nullptr);
    void setTimeline(const sim::SimResult& result);
    int barCount() const { return bars_; }
    int rowCount() const { return rows_; }

protected:
    void wheelEvent(QWheelEvent* event) override;

private:
    int bars_ = 0;
    int rows_ = 0;
};

} // namespace isamap::views
