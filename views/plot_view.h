// A 2-D plot for many points: log or linear axes, points in series (each its own colour), curves
// (the y = x line, a roofline, a convergence trace), hover for a point's description and click to
// select it. Built for 100,000 points and more: the points are drawn once into a cached image, at most
// one dot per pixel and series, and a per-pixel index answers "which point is under the mouse" without
// a search; moving the mouse or selecting a point only draws over the cached image.
//
//   views::PlotView plot;
//   plot.setAxes({"modeled", true, views::AxisUnit::Seconds}, {"simulated", true, views::AxisUnit::Seconds});
//   plot.setDiagonal(true);
//   plot.setPoints({{1e-6, 1.2e-6, 42}}, {"schedule 42"});
//   connect(&plot, &views::PlotView::pointClicked, ...);  // the point's id
#pragma once

#include <QColor>
#include <QImage>
#include <QString>
#include <QStringList>
#include <QWidget>
#include <utility>
#include <vector>

namespace isamap::views {

struct PlotPoint {
    double x = 0, y = 0;
    qint64 id = 0;  // what a click selects (a stored schedule's id); 0: nothing to select
    int series = 0; // its colour and legend entry; higher series draw on top
};

struct PlotCurve {
    std::vector<std::pair<double, double>> points; // in data units, drawn as a polyline
    QColor colour = Qt::darkGray;
    QString label;
    bool dashed = false;
};

enum class AxisUnit { Plain, Seconds, FlopsPerSecond, FlopsPerByte, BytesPerSecond };

struct PlotAxis {
    QString title;
    bool log = true;
    AxisUnit unit = AxisUnit::Plain;
};

// A value as an axis labels it: "10 us", "1 TFLOP/s", "0.5 flop/B", "1e+04".
QString axisText(double value, AxisUnit unit);

class PlotView : public QWidget {
    Q_OBJECT
public:
    explicit PlotView(QWidget* parent = nullptr);

    void setAxes(const PlotAxis& x, const PlotAxis& y);
    void setSeriesNames(const QStringList& names);
    // Points with non-positive coordinates on a log axis are left out. `labels`, when given, has one
    // entry per point and is shown on hover.
    void setPoints(std::vector<PlotPoint> points, std::vector<QString> labels = {});
    void setCurves(std::vector<PlotCurve> curves);
    // Draws y = x, and gives both axes the same range so that it is the diagonal.
    void setDiagonal(bool on);
    void setEmptyText(const QString& text);
    void clear();

    // Rings the point with this id (0: none) without redrawing the others.
    void setHighlighted(qint64 id);
    qint64 highlighted() const { return highlighted_; }
    int pointCount() const { return drawable_; }
    int curveCount() const { return static_cast<int>(curves_.size()); }
    const std::vector<PlotCurve>& curves() const { return curves_; }
    const std::vector<PlotPoint>& points() const { return points_; }
    // The index of the point drawn within a few pixels of `pos` (widget coordinates), or -1.
    int pointAt(QPoint pos) const;
    // Where point `index` is drawn, in widget coordinates (for tests and tooltips).
    QPoint positionOf(int index) const;
    // How long the last full redraw of the cached image took.
    double lastRenderMilliseconds() const { return renderMs_; }
    // What hovering point `index` shows.
    QString describe(int index) const;

signals:
    void pointClicked(qint64 id);

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;

private:
    void updateRanges();
    void render();
    void drawAxes(QPainter& painter) const;
    void drawDots();
    QRect plotArea() const;
    double toX(double value) const;
    double toY(double value) const;
    bool drawable(const PlotPoint& p) const;

    PlotAxis xAxis_, yAxis_;
    QStringList seriesNames_;
    std::vector<PlotPoint> points_;
    std::vector<QString> labels_;
    std::vector<PlotCurve> curves_;
    bool diagonal_ = false;
    QString emptyText_;
    qint64 highlighted_ = 0;
    int drawable_ = 0;
    // Axis ranges in drawing space (log10 of the value on a log axis).
    double xLo_ = 0, xHi_ = 1, yLo_ = 0, yHi_ = 1;

    QImage cache_;
    bool dirty_ = true;
    std::vector<int> pick_; // per pixel of the plot area: the index of the point drawn there, or -1
    int hovered_ = -1;
    double renderMs_ = 0;
};

} // namespace isamap::views
