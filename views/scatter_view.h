// Measured against modeled, as a log-log scatter: one point per schedule, the y = x line, hover for
// the schedule's figures. Drawn with plain QGraphicsView items (one per point; a scene index keeps
// hovering fast).
#pragma once

#include <QGraphicsView>
#include <QString>
#include <vector>

namespace isamap::views {

struct ScatterPoint {
    double modeled = 0;  // s
    double measured = 0; // s
    QString label;
};

class ScatterView : public QGraphicsView {
    Q_OBJECT
public:
    explicit ScatterView(QWidget* parent = nullptr);
    void setPoints(const std::vector<ScatterPoint>& points, const QString& measuredName);
    int pointCount() const { return points_; }

protected:
    // The plot fills the view whatever its size: refit when it is shown or resized.
    void resizeEvent(QResizeEvent* event) override;
    void showEvent(QShowEvent* event) override;

private:
    int points_ = 0;
};

} // namespace isamap::views
