#include "views/timeline_view.h"

#include <QGraphicsRectItem>
#include <QGraphicsScene>
#include <QGraphicsSimpleTextItem>
#include <QWheelEvent>
#include <algorithm>
#include <map>

namespace isamap::views {

namespace {
constexpr double kRowHeight = 22;
constexpr double kLabelWidth = 170;
constexpr double kPlotWidth = 1000; // scene units for the whole simulated time
} // namespace

TimelineView::TimelineView(QWidget* parent) : QGraphicsView(parent) {
    setScene(new QGraphicsScene(this));
    setDragMode(QGraphicsView::ScrollHandDrag);
    setRenderHint(QPainter::Antialiasing, false);
    setAlignment(Qt::AlignLeft | Qt::AlignTop);
}

void TimelineView::setTimeline(const sim::SimResult& result) {
    QGraphicsScene* s = scene();
    s->clear();
    bars_ = 0;
    // Rows: compute units first, then movers, each in the order they first appear.
    std::map<std::string, int> row;
    std::vector<std::string> order;
    for (const auto& e : result.timeline)
        if (!row.count(e.resource)) {
            row[e.resource] = 0;
            order.push_back(e.resource);
        }
    std::stable_sort(order.begin(), order.end(), [](const std::string& a, const std::string& b) {
        const bool ma = a.find("->") != std::string::npos, mb = b.find("->") != std::string::npos;
        return ma != mb ? !ma : false;
    });
    for (std::size_t i = 0; i < order.size(); ++i)
        row[order[i]] = static_cast<int>(i);
    rows_ = static_cast<int>(order.size());
    double end = 0;
    for (const auto& e : result.timeline)
        end = std::max(end, e.end);
    const double scale = end > 0 ? kPlotWidth / end : 1;
    for (std::size_t i = 0; i < order.size(); ++i) {
        auto* label = s->addSimpleText(QString::fromStdString(order[i]));
        label->setPos(0, static_cast<double>(i) * kRowHeight + 3);
    }
    const QBrush compute(QColor(66, 120, 200)), transfer(QColor(230, 140, 40));
    for (const auto& e : result.timeline) {
        const double y = row[e.resource] * kRowHeight + 4;
        const double x = kLabelWidth + e.start * scale;
        const double w = std::max(0.5, (e.end - e.start) * scale);
        auto* bar = s->addRect(x, y, w, kRowHeight - 8, Qt::NoPen,
                               e.resource.find("->") != std::string::npos ? transfer : compute);
        bar->setToolTip(QString::fromStdString(e.what) +
                        QStringLiteral("\n%1 - %2 us").arg(e.start * 1e6, 0, 'f', 3).arg(e.end * 1e6, 0, 'f', 3) +
                        (e.bytes > 0 ? QStringLiteral("\n%1 bytes").arg(e.bytes, 0, 'f', 0) : QString()));
        ++bars_;
    }
    // The time axis: ten ticks.
    const double axisY = static_cast<double>(order.size()) * kRowHeight + 6;
    s->addLine(kLabelWidth, axisY, kLabelWidth + kPlotWidth, axisY);
    for (int t = 0; t <= 10; ++t) {
        const double x = kLabelWidth + kPlotWidth * t / 10;
        s->addLine(x, axisY, x, axisY + 4);
        auto* tick = s->addSimpleText(QString::number(end * t / 10 * 1e6, 'g', 3) + " us");
        tick->setPos(x - 12, axisY + 6);
    }
    if (result.timelineTruncated || result.sampled) {
        auto* note = s->addSimpleText(result.sampled ? QString::fromStdString(result.sampling)
                                                     : tr("(timeline truncated)"));
        note->setPos(kLabelWidth, axisY + 26);
    }
}

void TimelineView::wheelEvent(QWheelEvent* event) {
    if (event->modifiers() & Qt::ControlModifier) {
        const double factor = event->angleDelta().y() > 0 ? 1.25 : 0.8;
        scale(factor, 1);
        return;
    }
    QGraphicsView::wheelEvent(event);
}

} // namespace isamap::views
