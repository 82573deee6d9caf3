// Draws a graph layout (graph_layout.h) in a QGraphicsView: zoom with Ctrl+wheel, pan by dragging,
// fit, find a node by name, and a signal when a node is selected. Items are made from the plain
// geometry; the view never holds Graphviz data.
#pragma once

#include "views/graph_layout.h"

#include <QGraphicsView>

namespace isamap::views {

class GraphView : public QGraphicsView {
    Q_OBJECT
public:
    explicit GraphView(QWidget* parent = nullptr);
    void showLayout(const Layout& layout);
    int nodeCount() const { return nodes_; }
    int edgeCount() const { return edges_; }
    // Selects and centres the first node whose label contains `text`; false when none does.
    bool find(const QString& text);

public slots:
    void fit();

signals:
    void nodeSelected(const QString& id);

protected:
    void wheelEvent(QWheelEvent* event) override;

private:
    int nodes_ = 0;
    int edges_ = 0;
};

} // namespace isamap::views
