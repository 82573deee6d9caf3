#include "views/graph_layout.h"

#include "ir/printer.h"

#include <graphviz/gvc.h>

#include <map>
#include <mutex>
#include <set>

namespace isamap::views {

namespace {

std::mutex& graphvizLock() {
    static std::mutex lock;
    return lock;
}

// Graphviz takes char* for names and values it does not modify.
char* text(const std::string& s) { return const_cast<char*>(s.c_str()); }
char* text(const char* s) { return const_cast<char*>(s); }

} // namespace

std::optional<Layout> layoutGraph(const GraphSpec& spec, std::string& error) {
    std::lock_guard<std::mutex> guard(graphvizLock());
    GVC_t* gvc = gvContext();
    if (!gvc) {
        error = "Graphviz could not start";
        return std::nullopt;
    }
    Agraph_t* g = agopen(text("g"), Agdirected, nullptr);
    agattr(g, AGRAPH, text("rankdir"), text(spec.rankdir));
    agattr(g, AGNODE, text("shape"), text("box"));
    agattr(g, AGNODE, text("label"), text(""));
    agattr(g, AGNODE, text("fontsize"), text("10"));
    agattr(g, AGEDGE, text("label"), text(""));
    agattr(g, AGEDGE, text("fontsize"), text("9"));
    std::map<std::string, Agnode_t*> nodes;
    for (const auto& n : spec.nodes) {
        Agnode_t* node = agnode(g, text(n.id), 1);
        agset(node, text("label"), text(n.label));
        agset(node, text("shape"), text(n.shape));
        nodes[n.id] = node;
    }
    std::vector<std::pair<Agedge_t*, const GraphSpec::Edge*>> edges;
    for (const auto& e : spec.edges) {
        auto from = nodes.find(e.from), to = nodes.find(e.to);
        if (from == nodes.end() || to == nodes.end())
            continue;
        Agedge_t* edge = agedge(g, from->second, to->second, nullptr, 1);
        agset(edge, text("label"), text(e.label));
        edges.emplace_back(edge, &e);
    }
    if (gvLayout(gvc, g, "dot") != 0) {
        error = "Graphviz could not lay the graph out (is its dot layout plugin installed?)";
        agclose(g);
        gvFreeContext(gvc);
        return std::nullopt;
    }
    Layout layout;
    const boxf bb = GD_bb(g);
    layout.width = bb.UR.x - bb.LL.x;
    layout.height = bb.UR.y - bb.LL.y;
    auto flip = [&](double y) { return bb.UR.y - y; }; // Graphviz's y grows upward
    for (const auto& n : spec.nodes) {
        Agnode_t* node = nodes[n.id];
        layout.nodes.push_back({n.id, n.label, n.shape, n.kind, ND_coord(node).x - bb.LL.x, flip(ND_coord(node).y),
                                ND_width(node) * 72, ND_height(node) * 72});
    }
    for (const auto& [edge, e] : edges) {
        Layout::Edge out{e->from, e->to, e->label, {}};
        if (ED_spl(edge) && ED_spl(edge)->size > 0) {
            const bezier& curve = ED_spl(edge)->list[0];
            for (int i = 0; i < curve.size; ++i)
                out.points.emplace_back(curve.list[i].x - bb.LL.x, flip(curve.list[i].y));
            if (curve.eflag)
                out.points.emplace_back(curve.ep.x - bb.LL.x, flip(curve.ep.y));
        }
        layout.edges.push_back(std::move(out));
    }
    gvFreeLayout(gvc, g);
    agclose(g);
    gvFreeContext(gvc);
    return layout;
}

GraphSpec opGraphSpec(const ir::Module& module, const ir::Graph& graph) {
    GraphSpec spec;
    for (const auto& t : graph.tensors)
        spec.nodes.push_back({"tensor:" + t.name, t.name + " : " + std::string(ir::typeName(t.type)), "ellipse", "tensor"});
    for (const auto& n : graph.nodes) {
        spec.nodes.push_back({"node:" + n.name, n.name + "\n" + n.kernel, "box", "kernel"});
        const ir::Kernel* k = module.findKernel(n.kernel);
        for (const auto& b : n.bindings) {
            const ir::TensorDecl* t = k ? k->findTensor(b.kernelTensor) : nullptr;
            const bool writes = t && t->role != ir::TensorRole::In;
            if (writes)
                spec.edges.push_back({"node:" + n.name, "tensor:" + b.graphTensor, b.kernelTensor});
            else
                spec.edges.push_back({"tensor:" + b.graphTensor, "node:" + n.name, b.kernelTensor});
        }
    }
    return spec;
}

GraphSpec kernelSpec(const ir::Kernel& kernel) {
    GraphSpec spec;
    spec.rankdir = "TB";
    for (const auto& d : kernel.dims)
        spec.nodes.push_back({"dim:" + d.name, d.name + (d.reduction ? " (reduce)" : "") + " < " + ir::print(d.extent),
                              d.reduction ? "diamond" : "ellipse", "dimension"});
    for (const auto& t : kernel.tensors)
        spec.nodes.push_back({"tensor:" + t.name, std::string(ir::roleName(t.role)) + " " + t.name, "box", "tensor"});
    for (std::size_t i = 0; i < kernel.statements.size(); ++i) {
        const auto& s = kernel.statements[i];
        const std::string id = "statement:" + std::to_string(i);
        spec.nodes.push_back({id, ir::print(s), "note", "statement"});
        std::set<std::string> linked;
        std::vector<const ir::Access*> accesses{&s.target};
        std::vector<const ir::Expr*> stack{&s.value};
        while (!stack.empty()) {
            const ir::Expr* e = stack.back();
            stack.pop_back();
            if (e->kind == ir::Expr::Kind::Access)
                accesses.push_back(&e->access);
            for (const auto& a : e->args)
                stack.push_back(&a);
        }
        for (const auto* a : accesses) {
            if (linked.insert(a->tensor).second)
                spec.edges.push_back({"tensor:" + a->tensor, id, a == &s.target ? "writes" : "reads"});
            for (const auto& index : a->indices)
                for (const auto& term : index.terms)
                    if (linked.insert(a->tensor + "/" + term.dim).second)
                        spec.edges.push_back({"dim:" + term.dim, "tensor:" + a->tensor, ""});
        }
    }
    return spec;
}

} // namespace isamap::views
