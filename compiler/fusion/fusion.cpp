#include "fusion/fusion.h"

#include "ir/printer.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

namespace isamap::fusion {

using namespace ir;

namespace {

// The kernel with every extent, shape and stride a number, so that its statements can join another
// kernel's without their parameters meeting.
Kernel concrete(Kernel k) {
    const ParamValues params = k.paramValues();
    for (auto& d : k.dims)
        d.extent = SizeExpr::constant(*evaluate(d.extent, params));
    for (auto& t : k.tensors) {
        const auto shape = ir::shape(t, params);
        const auto strides = ir::strides(t, params);
        t.shape.clear();
        for (auto e : *shape)
            t.shape.push_back(SizeExpr::constant(e));
        t.layout = Layout{};
        t.layout.kind = Layout::Kind::Strides;
        for (auto s : *strides)
            t.layout.strides.push_back(SizeExpr::constant(s));
    }
    return k;
}

struct Instance {
    Node node;
    Kernel kernel; // concrete
};

// Whether any node other than `a` and `b` binds the graph tensor.
bool usedElsewhere(const Graph& g, const std::string& tensor, const std::string& a, const std::string& b) {
    for (const auto& n : g.nodes) {
        if (n.name == a || n.name == b)
            continue;
        for (const auto& binding : n.bindings)
            if (binding.graphTensor == tensor)
                return true;
    }
    return false;
}

// `idx` with each dimension replaced by the expression it stands for.
AffineExpr substituted(const AffineExpr& idx, const std::map<std::string, AffineExpr>& dimOf) {
    AffineExpr out;
    out.constant = idx.constant;
    out.loc = idx.loc;
    for (const auto& term : idx.terms) {
        const AffineExpr& e = dimOf.at(term.dim);
        out.constant += term.coeff * e.constant;
        for (const auto& t : e.terms) {
            auto same = std::find_if(out.terms.begin(), out.terms.end(), [&](const AffineTerm& o) { return o.dim == t.dim; });
            if (same == out.terms.end())
                out.terms.push_back({t.dim, term.coeff * t.coeff});
            else
                same->coeff += term.coeff * t.coeff;
        }
    }
    std::erase_if(out.terms, [](const AffineTerm& t) { return t.coeff == 0; });
    return out;
}

// Whether two bindings can reach the same elements: one graph tensor, and no leading index both fix
// at different values.
bool overlap(const Binding& a, const Binding& b) {
    if (a.graphTensor != b.graphTensor)
        return false;
    for (std::size_t i = 0; i < a.fixedIndices.size() && i < b.fixedIndices.size(); ++i)
        if (a.fixedIndices[i] != b.fixedIndices[i])
            return false;
    return true;
}

// The point the reads share (`point`: their plain indices, `positions`: where those sit among the
// `rank` indices), every other position a constant in each read; false when they share none.
bool consumerPoint(const std::vector<Access>& reads, std::size_t rank, std::vector<AffineExpr>& point,
                   std::vector<std::size_t>& positions) {
    if (reads.empty() || reads.front().indices.size() != rank)
        return false;
    for (std::size_t i = 0; i < rank; ++i)
        if (reads.front().indices[i].terms.size() > 0) {
            positions.push_back(i);
            point.push_back(reads.front().indices[i]);
        }
    for (const auto& a : reads) {
        if (a.indices.size() != rank)
            return false;
        std::size_t kept = 0;
        for (std::size_t i = 0; i < rank; ++i) {
            if (kept < positions.size() && positions[kept] == i) {
                if (!isPlainDim(a.indices[i]) || a.indices[i] != point[kept])
                    return false;
                ++kept;
            } else if (!a.indices[i].terms.empty()) {
                return false;
            }
        }
    }
    return !point.empty();
}

// The consumer folded into the producer, or why it cannot be.
std::optional<Instance> merge(const Instance& p, const Instance& q, const Graph& g, std::string& why) {
    const Kernel& kp = p.kernel;
    const Kernel& kq = q.kernel;
    for (const auto& d : kq.dims)
        if (d.reduction) {
            why = kq.name + " reduces over " + d.name;
            return std::nullopt;
        }
    for (const auto& s : kq.statements)
        if (s.update != Update::Assign) {
            why = kq.name + " accumulates into " + s.target.tensor;
            return std::nullopt;
        }
    for (const auto& t : kq.tensors)
        if (t.type != ScalarType::f32 || !t.padding.empty()) {
            why = kq.name + "'s tensor " + t.name + " is not a plain f32 tensor";
            return std::nullopt;
        }
    const Statement& last = kp.statements.back();
    for (const auto& idx : last.target.indices)
        if (!isMixedRadix(kp, idx)) {
            why = kp.name + " writes " + last.target.tensor + " through an index expression that is not one dimension "
                  "or a mixed radix of them";
            return std::nullopt;
        }
    const Binding* producedBinding = p.node.findBinding(last.target.tensor);
    if (!producedBinding) {
        why = p.node.name + " does not bind " + last.target.tensor;
        return std::nullopt;
    }
    const auto readBinding = std::find_if(q.node.bindings.begin(), q.node.bindings.end(), [&](const Binding& b) {
        return b.graphTensor == producedBinding->graphTensor && b.fixedIndices == producedBinding->fixedIndices;
    });
    if (readBinding == q.node.bindings.end()) {
        why = q.node.name + " does not read what " + p.node.name + " writes";
        return std::nullopt;
    }
    const std::string input = readBinding->kernelTensor;
    if (kq.findTensor(input)->role != TensorRole::In) {
        why = q.node.name + " writes " + producedBinding->graphTensor;
        return std::nullopt;
    }
    // Writing what the producer reads would change its inputs while it still reads them (another step's
    // slice of the same tensor, HS[t] against HS[t - 1], is not what it reads).
    for (const auto& b : q.node.bindings) {
        if (kq.findTensor(b.kernelTensor)->role == TensorRole::In)
            continue;
        for (const auto& pb : p.node.bindings)
            if (overlap(pb, b) && pb.kernelTensor != last.target.tensor) {
                why = q.node.name + " writes " + b.graphTensor + ", which " + p.node.name + " reads";
                return std::nullopt;
            }
    }
    // The consumer's point: the indices it reads its input at, plain dimensions covering its own, the
    // same in every read but at positions each read fixes at a constant. Those are dimensions of the
    // producer the merged statements combine across (a GRU's tail reads GH[b, 0, j] to GH[b, 2, j]).
    std::vector<Access> reads;
    for (const auto& s : kq.statements)
        forEachAccess(s.value, [&](const Access& a) {
            if (a.tensor == input)
                reads.push_back(a);
        });
    std::vector<AffineExpr> point;
    std::vector<std::size_t> positions; // of the producer's output indices, those the point keeps
    if (!consumerPoint(reads, last.target.indices.size(), point, positions)) {
        why = q.node.name + " does not read " + input + " at one point of plain dimensions (constants aside)";
        return std::nullopt;
    }
    // Each consumer dimension stands for the producer's index at its position: one of its dimensions,
    // or a mixed radix of several (blocked gates written at `128*jb + ji`).
    std::map<std::string, AffineExpr> dimOf;
    for (std::size_t i = 0; i < point.size(); ++i) {
        const std::string& qd = point[i].terms[0].dim;
        const AffineExpr& pIndex = last.target.indices[positions[i]];
        std::int64_t points = 0;
        isMixedRadix(kp, pIndex, &points);
        if (*evaluate(kq.findDim(qd)->extent, {}) != points) {
            why = "dimension " + qd + " of " + kq.name + " and " + print(pIndex) + " of " + kp.name + " differ in extent";
            return std::nullopt;
        }
        dimOf[qd] = pIndex;
    }
    for (const auto& d : kq.dims)
        if (!dimOf.count(d.name)) {
            why = kq.name + "'s dimension " + d.name + " is not one of the point's";
            return std::nullopt;
        }
    for (const auto& s : kq.statements)
        if (s.target.indices != point) {
            why = kq.name + " writes " + s.target.tensor + " at another point than it reads " + input;
            return std::nullopt;
        }

    Instance out{p.node, kp};
    Kernel& m = out.kernel;
    m.name = kp.name + "_" + kq.name;
    std::set<std::string> taken;
    for (const auto& t : kp.tensors)
        taken.insert(t.name);
    std::map<std::string, std::string> tensorOf{{input, last.target.tensor}};
    for (const auto& t : kq.tensors) {
        if (t.name == input)
            continue;
        std::string name = t.name;
        for (int i = 2; taken.count(name); ++i)
            name = q.node.name + "_" + t.name + (i > 2 ? std::to_string(i) : "");
        taken.insert(name);
        tensorOf[t.name] = name;
        TensorDecl renamed = t;
        renamed.name = name;
        m.tensors.push_back(renamed);
    }
    auto rewrite = [&](Access& a) {
        a.tensor = tensorOf.at(a.tensor);
        for (auto& idx : a.indices)
            idx = substituted(idx, dimOf);
    };
    for (Statement s : kq.statements) {
        rewrite(s.target);
        forEachAccess(s.value, rewrite);
        m.statements.push_back(std::move(s));
    }
    // Nothing else reads the intermediate: the merged kernel keeps it as a temporary.
    if (g.findTensor(producedBinding->graphTensor)->role == TensorRole::Tmp &&
        !usedElsewhere(g, producedBinding->graphTensor, p.node.name, q.node.name))
        for (auto& t : m.tensors)
            if (t.name == last.target.tensor)
                t.role = TensorRole::Tmp;
    // The merged statements must run where code generation can fuse them (ir::epiloguePoint).
    if (!epiloguePoint(m, why))
        return std::nullopt;
    out.node.name = p.node.name + "+" + q.node.name;
    out.node.kernel = m.name;
    out.node.args.clear();
    for (const auto& b : q.node.bindings) {
        if (b.kernelTensor == input)
            continue;
        Binding renamed = b;
        renamed.kernelTensor = tensorOf.at(b.kernelTensor);
        out.node.bindings.push_back(renamed);
    }
    return out;
}

} // namespace

FusedGraph fuseEpilogues(const Module& module, const Graph& graph) {
    FusedGraph fused{module, graph, {}, 0};
    fused.graph.nodes.clear();
    std::vector<Instance> nodes;
    std::vector<bool> merged; // whether nodes[i] is a merged kernel (its kernel must join the module)
    for (const auto& node : graph.nodes) {
        auto kernel = nodeKernel(module, graph, node);
        if (!kernel) { // left for the caller to report
            nodes.push_back({node, {}});
            merged.push_back(false);
            continue;
        }
        Instance next{node, concrete(*kernel)};
        if (!nodes.empty() && !nodes.back().kernel.statements.empty()) {
            std::string why;
            if (auto m = merge(nodes.back(), next, graph, why)) {
                fused.report.push_back("fused " + node.name + " into " + nodes.back().node.name);
                ++fused.fusedPairs;
                nodes.back() = std::move(*m);
                merged.back() = true;
                continue;
            }
            fused.report.push_back("kept " + node.name + " apart from " + nodes.back().node.name + ": " + why);
        }
        nodes.push_back(std::move(next));
        merged.push_back(false);
    }
    std::map<std::string, std::string> mergedNames; // a merged kernel's text, its name left out -> the name given
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (merged[i]) {
            // The same pair merged again (each step of a sequence) runs the kernel already added; two
            // pairs that merge the same kernels with other sizes get names of their own.
            Kernel unnamed = nodes[i].kernel;
            unnamed.name.clear();
            const std::string text = print(unnamed);
            if (const auto it = mergedNames.find(text); it != mergedNames.end()) {
                nodes[i].node.kernel = it->second;
                fused.graph.nodes.push_back(nodes[i].node);
                continue;
            }
            std::string name = nodes[i].kernel.name;
            for (int n = 2; fused.module.findKernel(name); ++n)
                name = nodes[i].kernel.name + "_" + std::to_string(n);
            nodes[i].kernel.name = name;
            nodes[i].node.kernel = name;
            mergedNames[text] = name;
            fused.module.kernels.push_back(nodes[i].kernel);
        }
        fused.graph.nodes.push_back(nodes[i].node);
    }
    return fused;
}

} // namespace isamap::fusion
