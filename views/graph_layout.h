// Graph layout through Graphviz's C library, in process, returning plain geometry (no Qt, no Graphviz
// types), so that the drawing code and the tests see only positions and curves.
//
//   views::GraphSpec spec = views::opGraphSpec(module, module.graphs.front());
//   std::string error;
//   auto layout = views::layoutGraph(spec, error); // nodes with centres and sizes, edges as curves
//
// Graphviz is not thread-safe: every call is serialised here, so layouts may run on worker threads.
#pragma once

#include "ir/ir.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace isamap::views {

struct GraphSpec {
    struct Node {
        std::string id;
        std::string label;
        std::string shape = "box"; // a Graphviz shape: box, ellipse, ...
        std::string kind;          // what it stands for: "kernel", "tensor", "dimension", ...
    };
    struct Edge {
        std::string from, to;
        std::string label;
    };
    std::vector<Node> nodes;
    std::vector<Edge> edges;
    std::string rankdir = "LR";
};

struct Layout {
    struct Node {
        std::string id, label, shape, kind;
        double x = 0, y = 0;          // centre, in points, y growing downward
        double width = 0, height = 0; // in points
    };
    struct Edge {
        std::string from, to, label;
        std::vector<std::pair<double, double>> points; // cubic Bezier control points (3n+1), y downward
    };
    std::vector<Node> nodes;
    std::vector<Edge> edges;
    double width = 0, height = 0;
};

std::optional<Layout> layoutGraph(const GraphSpec& spec, std::string& error);

// The op graph: a box per node (the kernel it calls), an ellipse per tensor, edges along the data.
GraphSpec opGraphSpec(const ir::Module& module, const ir::Graph& graph);
// One kernel's structure: its tensors and dimensions, an edge from each dimension to each tensor
// whose accesses use it, and the statements.
GraphSpec kernelSpec(const ir::Kernel& kernel);

} // namespace isamap::views
