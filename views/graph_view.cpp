#include "views/graph_view.h"

#include <QGraphicsEllipseItem>
#include <QGraphicsPathItem>
#include <QGraphicsRectItem>
#include <QGraphicsScene>
#include <QGraphicsSimpleTextItem>
#include <QWheelEvent>

namespace isamap::views {

namespace {
constexpr int kIdRole = 0;

QColor fillFor(const std::string& kind) {
    if (kind == "kernel" || kind == "statement")
        return QColor(214, 230, 250);
    if (kind == "dimension")
        return QColor(235, 245, 220);
    return QColor(250, 238, 214);
}
} // namespace

GraphView::GraphView(QWidget* parent) : QGraphicsView(parent) {
    setScene(new QGraphicsScene(this));
    setRenderHint(QPainter::Antialiasing);
    setDragMode(QGraphicsView::ScrollHandDrag);
    // Only what changed is redrawn: large graphs stay fluid while panning.
    setViewportUpdateMode(QGraphicsView::MinimalViewportUpdate);
    setTransformationAnchor(QGraphicsView::AnchorUnderMouse);
    connect(scene(), &QGraphicsScene::selectionChanged, this, [this] {
        const auto selected = scene()->selectedItems();
        if (!selected.isEmpty())
            emit nodeSelected(selected.front()->data(kIdRole).toString());
    });
}

void GraphView::showLayout(const Layout& layout) {
    QGraphicsScene* s = scene();
    s->clear();
    nodes_ = edges_ = 0;
    const QPen edgePen(QColor(90, 90, 90), 1.0);
    for (const auto& e : layout.edges) {
        if (e.points.size() < 4)
            continue;
        QPainterPath path(QPointF(e.points[0].first, e.points[0].second));
        std::size_t i = 1;
        for (; i + 2 < e.points.size(); i += 3)
            path.cubicTo(QPointF(e.points[i].first, e.points[i].second), QPointF(e.points[i + 1].first, e.points[i + 1].second),
                         QPointF(e.points[i + 2].first, e.points[i + 2].second));
        if (i < e.points.size()) // the arrow's tip
            path.lineTo(QPointF(e.points.back().first, e.points.back().second));
        auto* item = s->addPath(path, edgePen);
        item->setToolTip(QString::fromStdString(e.from + " -> " + e.to + (e.label.empty() ? "" : " (" + e.label + ")")));
        ++edges_;
    }
    for (const auto& n : layout.nodes) {
        const QRectF box(n.x - n.width / 2, n.y - n.height / 2, n.width, n.height);
        QAbstractGraphicsShapeItem* item = nullptr;
        if (n.shape == "ellipse" || n.shape == "diamond")
            item = s->addEllipse(box, QPen(Qt::black), fillFor(n.kind));
        else
            item = s->addRect(box, QPen(Qt::black), fillFor(n.kind));
        item->setFlag(QGraphicsItem::ItemIsSelectable);
        item->setData(kIdRole, QString::fromStdString(n.id));
        item->setToolTip(QString::fromStdString(n.label));
        auto* label = new QGraphicsSimpleTextItem(QString::fromStdString(n.label), item);
        QFont font = label->font();
        font.setPointSizeF(8);
        label->setFont(font);
        const QRectF r = label->boundingRect();
        label->setPos(n.x - r.width() / 2, n.y - r.height() / 2);
        ++nodes_;
    }
    s->setSceneRect(-10, -10, layout.width + 20, layout.height + 20);
    fit();
}

void GraphView::fit() { fitInView(sceneRect(), Qt::KeepAspectRatio); }

bool GraphView::find(const QString& text) {
    for (QGraphicsItem* item : scene()->items(Qt::AscendingOrder)) {
        if (item->data(kIdRole).isNull() || !item->toolTip().contains(text, Qt::CaseInsensitive))
            continue;
        scene()->clearSelection();
        item->setSelected(true);
        centerOn(item);
        return true;
    }
    return false;
}

void GraphView::wheelEvent(QWheelEvent* event) {
    if (event->modifiers() & Qt::ControlModifier) {
        const double factor = event->angleDelta().y() > 0 ? 1.2 : 1 / 1.2;
        scale(factor, factor);
        return;
    }
    QGraphicsView::wheelEvent(event);
}

} // namespace isamap::views
