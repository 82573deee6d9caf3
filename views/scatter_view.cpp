#include "views/scatter_view.h"

#include "views/duration_text.h"

#include <QGraphicsEllipseItem>
#include <QGraphicsScene>
#include <QGraphicsSimpleTextItem>
#include <algorithm>
#include <cmath>

namespace isamap::views {

namespace {
constexpr double kSize = 400;   // scene units of the plot's side
constexpr double kMargin = 60;

} // namespace

ScatterView::ScatterView(QWidget* parent) : QGraphicsView(parent) {
    setScene(new QGraphicsScene(this));
    setRenderHint(QPainter::Antialiasing);
}

void ScatterView::setPoints(const std::vector<ScatterPoint>& points, const QString& measuredName) {
    QGraphicsScene* s = scene();
    s->clear();
    points_ = 0;
    double lo = INFINITY, hi = 0;
    for (const auto& p : points)
        if (p.modeled > 0 && p.measured > 0) {
            lo = std::min({lo, p.modeled, p.measured});
            hi = std::max({hi, p.modeled, p.measured});
        }
    if (!(hi > 0))
        return;
    // Whole decades around the data, so that y = x is the diagonal.
    const double decadeLo = std::floor(std::log10(lo)), decadeHi = std::max(decadeLo + 1, std::ceil(std::log10(hi)));
    auto toPos = [&](double v) { return (std::log10(v) - decadeLo) / (decadeHi - decadeLo) * kSize; };
    const QPen axisPen(Qt::black), gridPen(QColor(220, 220, 220)), diagonalPen(QColor(120, 120, 120), 1, Qt::DashLine);
    for (double d = decadeLo; d <= decadeHi; d += 1) {
        const double at = toPos(std::pow(10.0, d));
        s->addLine(kMargin + at, 0, kMargin + at, kSize, gridPen);
        s->addLine(kMargin, kSize - at, kMargin + kSize, kSize - at, gridPen);
        auto* x = s->addSimpleText(durationText(std::pow(10.0, d)));
        x->setPos(kMargin + at - 15, kSize + 4);
        auto* y = s->addSimpleText(durationText(std::pow(10.0, d)));
        y->setPos(0, kSize - at - 8);
    }
    s->addRect(kMargin, 0, kSize, kSize, axisPen);
    s->addLine(kMargin, kSize, kMargin + kSize, 0, diagonalPen);
    auto* xLabel = s->addSimpleText(tr("modeled"));
    xLabel->setPos(kMargin + kSize / 2 - 20, kSize + 22);
    auto* yLabel = s->addSimpleText(measuredName);
    yLabel->setRotation(-90);
    yLabel->setPos(-2, kSize / 2 + 30);
    const QBrush dot(QColor(40, 100, 190, 180));
    for (const auto& p : points) {
        if (!(p.modeled > 0 && p.measured > 0))
            continue;
        auto* item = s->addEllipse(kMargin + toPos(p.modeled) - 3, kSize - toPos(p.measured) - 3, 6, 6, Qt::NoPen, dot);
        item->setToolTip(QStringLiteral("%1\nmodeled %2, %3 %4")
                             .arg(p.label, durationText(p.modeled), measuredName, durationText(p.measured)));
        ++points_;
    }
    s->setSceneRect(-10, -10, kSize + kMargin + 20, kSize + 50);
    fitInView(s->sceneRect(), Qt::KeepAspectRatio);
}

void ScatterView::resizeEvent(QResizeEvent* event) {
    QGraphicsView::resizeEvent(event);
    fitInView(sceneRect(), Qt::KeepAspectRatio);
}

void ScatterView::showEvent(QShowEvent* event) {
    QGraphicsView::showEvent(event);
    fitInView(sceneRect(), Qt::KeepAspectRatio);
}

} // namespace isamap::views
