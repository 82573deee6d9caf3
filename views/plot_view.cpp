#include "views/plot_view.h"

#include "views/duration_text.h"

#include <QElapsedTimer>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QToolTip>
#include <algorithm>
#include <cmath>

namespace isamap::views {

namespace {

constexpr int kLeft = 104, kRight = 44, kTop = 28, kBottom = 46;
constexpr int kPickRadius = 5;

// Series colours: samples, the best, measured, and more.
const QColor kSeriesColours[] = {QColor(40, 100, 190), QColor(220, 90, 20), QColor(30, 150, 70), QColor(150, 60, 170)};

QColor seriesColour(int series) {
    return kSeriesColours[static_cast<std::size_t>(std::clamp(series, 0, 3))];
}

// A dot of radius 2: the offsets of its pixels.
constexpr int kDot[][2] = {{-1, -2}, {0, -2}, {1, -2}, {-2, -1}, {-1, -1}, {0, -1}, {1, -1}, {2, -1}, {-2, 0}, {-1, 0},
                           {0, 0},   {1, 0},  {2, 0},  {-2, 1},  {-1, 1},  {0, 1},  {1, 1},  {2, 1},  {-1, 2}, {0, 2},
                           {1, 2}};

QString siText(double value, const char* unit) {
    const char* prefixes[] = {"", "k", "M", "G", "T", "P"};
    int p = 0;
    while (std::abs(value) >= 1000 && p < 5) {
        value /= 1000;
        ++p;
    }
    return QStringLiteral("%1 %2%3").arg(value, 0, 'g', 3).arg(prefixes[p]).arg(unit);
}

} // namespace

QString axisText(double value, AxisUnit unit) {
    switch (unit) {
    case AxisUnit::Seconds: return durationText(value);
    case AxisUnit::FlopsPerSecond: return siText(value, "FLOP/s");
    case AxisUnit::FlopsPerByte: return QStringLiteral("%1 flop/B").arg(value, 0, 'g', 4);
    case AxisUnit::BytesPerSecond: return siText(value, "B/s");
    case AxisUnit::Plain: break;
    }
    return QString::number(value, 'g', 4);
}

PlotView::PlotView(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true);
    setMinimumSize(320, 240);
    setAttribute(Qt::WA_OpaquePaintEvent);
}

void PlotView::setAxes(const PlotAxis& x, const PlotAxis& y) {
    xAxis_ = x;
    yAxis_ = y;
    updateRanges();
}

void PlotView::setSeriesNames(const QStringList& names) {
    seriesNames_ = names;
    dirty_ = true;
    update();
}

void PlotView::setPoints(std::vector<PlotPoint> points, std::vector<QString> labels) {
    points_ = std::move(points);
    labels_ = std::move(labels);
    // Higher series draw later, on top of the lower ones.
    if (!std::is_sorted(points_.begin(), points_.end(), [](const auto& a, const auto& b) { return a.series < b.series; })) {
        std::vector<std::size_t> order(points_.size());
        for (std::size_t i = 0; i < order.size(); ++i)
            order[i] = i;
        std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return points_[a].series < points_[b].series; });
        std::vector<PlotPoint> sorted;
        std::vector<QString> sortedLabels;
        for (auto i : order) {
            sorted.push_back(points_[i]);
            if (i < labels_.size())
                sortedLabels.push_back(labels_[i]);
        }
        points_ = std::move(sorted);
        labels_ = std::move(sortedLabels);
    }
    drawable_ = static_cast<int>(std::count_if(points_.begin(), points_.end(), [this](const auto& p) { return drawable(p); }));
    hovered_ = -1;
    updateRanges();
}

void PlotView::setCurves(std::vector<PlotCurve> curves) {
    curves_ = std::move(curves);
    updateRanges();
}

void PlotView::setDiagonal(bool on) {
    diagonal_ = on;
    updateRanges();
}

void PlotView::setEmptyText(const QString& text) {
    emptyText_ = text;
    dirty_ = true;
    update();
}

void PlotView::clear() {
    points_.clear();
    labels_.clear();
    curves_.clear();
    drawable_ = 0;
    hovered_ = -1;
    updateRanges();
}

void PlotView::setHighlighted(qint64 id) {
    if (id == highlighted_)
        return;
    highlighted_ = id;
    update(); // the ring is drawn over the cache
}

bool PlotView::drawable(const PlotPoint& p) const {
    return std::isfinite(p.x) && std::isfinite(p.y) && (!xAxis_.log || p.x > 0) && (!yAxis_.log || p.y > 0);
}

// Whole decades around the data on a log axis; from zero (or the data's minimum) on a linear one.
void PlotView::updateRanges() {
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    auto take = [&](double x, double y) {
        if (!std::isfinite(x) || !std::isfinite(y) || (xAxis_.log && x <= 0) || (yAxis_.log && y <= 0))
            return;
        xlo = std::min(xlo, x);
        xhi = std::max(xhi, x);
        ylo = std::min(ylo, y);
        yhi = std::max(yhi, y);
    };
    for (const auto& p : points_)
        take(p.x, p.y);
    for (const auto& c : curves_)
        for (const auto& [x, y] : c.points)
            take(x, y);
    if (diagonal_ && xlo <= xhi) {
        xlo = ylo = std::min(xlo, ylo);
        xhi = yhi = std::max(xhi, yhi);
    }
    auto range = [](bool log, double lo, double hi, double& outLo, double& outHi) {
        if (!(lo <= hi)) {
            outLo = 0;
            outHi = 1;
        } else if (log) {
            outLo = std::floor(std::log10(lo));
            outHi = std::max(outLo + 1, std::ceil(std::log10(hi)));
        } else {
            outLo = std::min(0.0, lo);
            outHi = hi > outLo ? hi + (hi - outLo) * 0.05 : outLo + 1;
        }
    };
    range(xAxis_.log, xlo, xhi, xLo_, xHi_);
    range(yAxis_.log, ylo, yhi, yLo_, yHi_);
    dirty_ = true;
    update();
}

QRect PlotView::plotArea() const {
    return QRect(kLeft, kTop, std::max(1, width() - kLeft - kRight), std::max(1, height() - kTop - kBottom));
}

double PlotView::toX(double value) const {
    const QRect area = plotArea();
    const double v = xAxis_.log ? std::log10(value) : value;
    return area.left() + (v - xLo_) / (xHi_ - xLo_) * (area.width() - 1);
}

double PlotView::toY(double value) const {
    const QRect area = plotArea();
    const double v = yAxis_.log ? std::log10(value) : value;
    return area.bottom() - (v - yLo_) / (yHi_ - yLo_) * (area.height() - 1);
}

void PlotView::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    dirty_ = true;
}

void PlotView::render() {
    QElapsedTimer timer;
    timer.start();
    const qreal ratio = devicePixelRatioF();
    cache_ = QImage(size() * ratio, QImage::Format_ARGB32_Premultiplied);
    cache_.setDevicePixelRatio(ratio);
    cache_.fill(Qt::white);
    {
        QPainter painter(&cache_);
        painter.setRenderHint(QPainter::Antialiasing);
        drawAxes(painter);
    }
    drawDots();
    dirty_ = false;
    renderMs_ = static_cast<double>(timer.nsecsElapsed()) / 1e6;
}

// Ticks at each decade on a log axis (every other one when crowded), five steps on a linear one.
static std::vector<double> ticks(bool log, double lo, double hi) {
    std::vector<double> at;
    if (log) {
        const int step = hi - lo > 8 ? 2 : 1;
        for (double d = lo; d <= hi + 1e-9; d += step)
            at.push_back(std::pow(10.0, d));
        return at;
    }
    const double raw = (hi - lo) / 5, magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    const double step = raw / magnitude < 2 ? 2 * magnitude : raw / magnitude < 5 ? 5 * magnitude : 10 * magnitude;
    for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9; v += step)
        at.push_back(v);
    return at;
}

void PlotView::drawAxes(QPainter& painter) const {
    const QRect area = plotArea();
    painter.setPen(QColor(225, 225, 225));
    const auto xTicks = ticks(xAxis_.log, xLo_, xHi_), yTicks = ticks(yAxis_.log, yLo_, yHi_);
    for (double v : xTicks)
        painter.drawLine(QPointF(toX(v), area.top()), QPointF(toX(v), area.bottom()));
    for (double v : yTicks)
        painter.drawLine(QPointF(area.left(), toY(v)), QPointF(area.right(), toY(v)));
    painter.setPen(Qt::black);
    painter.drawRect(area);
    const QFontMetrics metrics = painter.fontMetrics();
    for (double v : xTicks) {
        const QString text = axisText(v, xAxis_.unit);
        painter.drawText(QPointF(toX(v) - metrics.horizontalAdvance(text) / 2.0, area.bottom() + metrics.height() + 2), text);
    }
    for (double v : yTicks) {
        const QString text = axisText(v, yAxis_.unit);
        painter.drawText(QPointF(area.left() - metrics.horizontalAdvance(text) - 6, toY(v) + metrics.ascent() / 2.0), text);
    }
    painter.drawText(QRect(area.left(), height() - metrics.height() - 4, area.width(), metrics.height()), Qt::AlignCenter,
                     xAxis_.title);
    painter.save();
    painter.translate(12, area.center().y());
    painter.rotate(-90);
    painter.drawText(QRect(-area.height() / 2, -metrics.height() / 2 - 2, area.height(), metrics.height()), Qt::AlignCenter,
                     yAxis_.title);
    painter.restore();

    painter.setClipRect(area);
    if (diagonal_) {
        painter.setPen(QPen(QColor(120, 120, 120), 1, Qt::DashLine));
        const double lo = xAxis_.log ? std::pow(10.0, xLo_) : xLo_, hi = xAxis_.log ? std::pow(10.0, xHi_) : xHi_;
        painter.drawLine(QPointF(toX(lo), toY(lo)), QPointF(toX(hi), toY(hi)));
    }
    for (const auto& c : curves_) {
        QPainterPath path;
        for (std::size_t i = 0; i < c.points.size(); ++i) {
            const QPointF at(toX(c.points[i].first), toY(c.points[i].second));
            i ? path.lineTo(at) : path.moveTo(at);
        }
        painter.setPen(QPen(c.colour, 2, c.dashed ? Qt::DashLine : Qt::SolidLine));
        painter.drawPath(path);
        if (!c.label.isEmpty() && !c.points.empty()) {
            // At the left end where the curve enters the plot, just above it, so that labels of
            // curves that meet (roofs at their ridge) do not overlap.
            std::size_t first = 0;
            while (first + 1 < c.points.size() && toX(c.points[first + 1].first) < area.left())
                ++first;
            const auto& [x, y] = c.points[first];
            const double at = std::max<double>(toX(x), area.left()) + 6;
            double baseline = toY(y);
            if (c.points.size() > first + 1 && toX(c.points[first + 1].first) > toX(x)) {
                const auto& [x2, y2] = c.points[first + 1];
                baseline += (toY(y2) - toY(y)) * (at - toX(x)) / (toX(x2) - toX(x));
            }
            painter.setPen(c.colour.darker(130));
            painter.drawText(QPointF(at, std::max<double>(baseline - 6, area.top() + metrics.ascent())), c.label);
        }
    }
    painter.setClipping(false);

    // The legend: the series that have points.
    int x = area.left();
    for (int s = 0; s < seriesNames_.size(); ++s) {
        painter.fillRect(QRect(x, 8, 10, 10), seriesColour(s));
        painter.setPen(Qt::black);
        painter.drawText(QPointF(x + 14, 8 + metrics.ascent() - 1), seriesNames_[s]);
        x += 14 + metrics.horizontalAdvance(seriesNames_[s]) + 16;
    }
    if (drawable_ == 0 && !emptyText_.isEmpty()) {
        painter.setPen(Qt::darkGray);
        painter.drawText(area, Qt::AlignCenter | Qt::TextWordWrap, emptyText_);
    }
}

// One dot per pixel and series, written straight into the image; the pick index remembers which point
// each pixel shows (the last one drawn there).
void PlotView::drawDots() {
    const QRect area = plotArea();
    const qreal ratio = cache_.devicePixelRatio();
    pick_.assign(static_cast<std::size_t>(area.width()) * static_cast<std::size_t>(area.height()), -1);
    std::vector<signed char> seriesAt(pick_.size(), -1);
    const int w = cache_.width(), h = cache_.height();
    auto* bits = reinterpret_cast<QRgb*>(cache_.bits());
    const int stride = static_cast<int>(cache_.bytesPerLine() / 4);
    for (std::size_t i = 0; i < points_.size(); ++i) {
        const auto& p = points_[i];
        if (!drawable(p))
            continue;
        const int px = static_cast<int>(std::lround(toX(p.x))), py = static_cast<int>(std::lround(toY(p.y)));
        if (!area.contains(px, py))
            continue;
        const std::size_t cell = static_cast<std::size_t>(py - area.top()) * static_cast<std::size_t>(area.width()) +
                                 static_cast<std::size_t>(px - area.left());
        const auto series = static_cast<signed char>(std::clamp(p.series, 0, 3));
        pick_[cell] = static_cast<int>(i);
        if (seriesAt[cell] == series)
            continue; // this pixel already shows a dot of this colour
        seriesAt[cell] = series;
        const QRgb colour = seriesColour(series).rgb();
        const int cx = static_cast<int>(px * ratio), cy = static_cast<int>(py * ratio);
        for (const auto& d : kDot) {
            const int x = cx + d[0], y = cy + d[1];
            if (x >= 0 && y >= 0 && x < w && y < h)
                bits[y * stride + x] = colour;
        }
    }
}

void PlotView::paintEvent(QPaintEvent*) {
    if (dirty_ || cache_.size() != size() * devicePixelRatioF())
        render();
    QPainter painter(this);
    painter.drawImage(0, 0, cache_);
    painter.setRenderHint(QPainter::Antialiasing);
    auto ring = [&](int index, const QColor& colour) {
        const QPoint at = positionOf(index);
        painter.setPen(QPen(colour, 2));
        painter.setBrush(Qt::NoBrush);
        painter.drawEllipse(QPointF(at), 6, 6);
    };
    if (highlighted_ != 0)
        for (std::size_t i = 0; i < points_.size(); ++i)
            if (points_[i].id == highlighted_ && drawable(points_[i]))
                ring(static_cast<int>(i), Qt::red);
    if (hovered_ >= 0)
        ring(hovered_, Qt::black);
}

int PlotView::pointAt(QPoint pos) const {
    const QRect area = plotArea();
    if (pick_.size() != static_cast<std::size_t>(area.width()) * static_cast<std::size_t>(area.height()))
        return -1;
    int best = -1, bestDistance = kPickRadius * kPickRadius + 1;
    for (int dy = -kPickRadius; dy <= kPickRadius; ++dy)
        for (int dx = -kPickRadius; dx <= kPickRadius; ++dx) {
            const int x = pos.x() + dx - area.left(), y = pos.y() + dy - area.top();
            if (x < 0 || y < 0 || x >= area.width() || y >= area.height())
                continue;
            const int index = pick_[static_cast<std::size_t>(y) * static_cast<std::size_t>(area.width()) + static_cast<std::size_t>(x)];
            if (index >= 0 && dx * dx + dy * dy < bestDistance) {
                best = index;
                bestDistance = dx * dx + dy * dy;
            }
        }
    return best;
}

QPoint PlotView::positionOf(int index) const {
    const auto& p = points_.at(static_cast<std::size_t>(index));
    return QPoint(static_cast<int>(std::lround(toX(p.x))), static_cast<int>(std::lround(toY(p.y))));
}

QString PlotView::describe(int index) const {
    const auto i = static_cast<std::size_t>(index);
    const auto& p = points_.at(i);
    QString text = i < labels_.size() ? labels_[i] + "\n" : QString();
    return text + QStringLiteral("%1 %2, %3 %4")
                      .arg(xAxis_.title, axisText(p.x, xAxis_.unit), yAxis_.title, axisText(p.y, yAxis_.unit));
}

void PlotView::mouseMoveEvent(QMouseEvent* event) {
    const int index = pointAt(event->position().toPoint());
    if (index != hovered_) {
        hovered_ = index;
        update();
    }
    if (index >= 0)
        QToolTip::showText(event->globalPosition().toPoint(), describe(index), this);
    else
        QToolTip::hideText();
}

void PlotView::mousePressEvent(QMouseEvent* event) {
    const int index = pointAt(event->position().toPoint());
    if (index < 0 || points_[static_cast<std::size_t>(index)].id == 0)
        return;
    setHighlighted(points_[static_cast<std::size_t>(index)].id);
    emit pointClicked(points_[static_cast<std::size_t>(index)].id);
}

} // namespace isamap::views
