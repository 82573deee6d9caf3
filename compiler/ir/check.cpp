#include "ir/check.h"

#include "ir/printer.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace isamap::ir {

namespace {

std::string listNames(const std::vector<std::string>& names) {
    if (names.empty())
        return "none";
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i)
        out += (i ? ", " : "") + names[i];
    return out;
}

template <typename T>
std::vector<std::string> namesOf(const std::vector<T>& items) {
    std::vector<std::string> out;
    for (const auto& x : items)
        out.push_back(x.name);
    return out;
}

template <typename T>
void checkUnique(DiagnosticSink& sink, const std::vector<T>& items, const std::string& what) {
    std::set<std::string> seen;
    for (const auto& x : items)
        if (!seen.insert(x.name).second)
            sink.error(x.loc, what + " '" + x.name + "' is declared twice");
}

// Collects the dimensions an expression's accesses use.
void dimsUsed(const Expr& e, std::vector<std::string>& out) {
    if (e.kind == Expr::Kind::Access) {
        for (const auto& idx : e.access.indices)
            for (const auto& t : idx.terms)
                if (std::find(out.begin(), out.end(), t.dim) == out.end())
                    out.push_back(t.dim);
    }
    for (const auto& a : e.args)
        dimsUsed(a, out);
}

void accessesOf(const Expr& e, std::vector<const Access*>& out) {
    if (e.kind == Expr::Kind::Access)
        out.push_back(&e.access);
    for (const auto& a : e.args)
        accessesOf(a, out);
}

class KernelChecker {
public:
    KernelChecker(DiagnosticSink& sink, const Kernel& k, const Target* target)
        : sink_(sink), k_(k), target_(target), params_(k.paramValues()) {}

    void run() {
        checkUnique(sink_, k_.params, "parameter");
        checkUnique(sink_, k_.dims, "dimension");
        checkUnique(sink_, k_.tensors, "tensor");
        for (const auto& d : k_.dims)
            checkDim(d);
        for (const auto& t : k_.tensors)
            checkTensor(t);
        if (k_.statements.empty())
            sink_.error(k_.loc, (target_ ? "instruction '" : "kernel '") + k_.name + "' has no statement",
                        "add one, as in C[i, j] += A[i, k] * B[k, j]");
        std::set<std::string> written;
        for (const auto& s : k_.statements)
            checkStatement(s, written);
        for (const auto& t : k_.tensors)
            if ((t.role == TensorRole::Out || t.role == TensorRole::InOut) && !written.count(t.name))
                sink_.error(t.loc, "output '" + t.name + "' is never written by a statement");
    }

private:
    std::optional<std::int64_t> size(const SizeExpr& e, const std::string& what) {
        std::vector<const SizeExpr*> stack{&e};
        bool ok = true;
        while (!stack.empty()) {
            const SizeExpr* x = stack.back();
            stack.pop_back();
            if (x->kind == SizeExpr::Kind::Param && !params_.count(x->param)) {
                if (target_)
                    sink_.error(x->loc, "instruction extents must be constants, '" + x->param + "' is not");
                else
                    sink_.error(x->loc, "undeclared parameter '" + x->param + "' in " + what,
                                "the kernel's parameters are " + listNames(namesOf(k_.params)));
                ok = false;
            }
            for (const auto& o : x->operands)
                stack.push_back(&o);
        }
        if (!ok)
            return std::nullopt;
        auto v = evaluate(e, params_);
        if (!v)
            sink_.error(e.loc, what + " divides by zero");
        return v;
    }

    void checkDim(const DimDecl& d) {
        auto v = size(d.extent, "the extent of '" + d.name + "'");
        if (v && *v < 1)
            sink_.error(d.extent.loc, "dimension '" + d.name + "' has extent " + std::to_string(*v) +
                                          "; extents must be at least 1");
    }

    void checkTensor(const TensorDecl& t) {
        std::vector<std::int64_t> dims;
        bool known = true;
        for (const auto& e : t.shape) {
            auto v = size(e, "the shape of '" + t.name + "'");
            if (!v) {
                known = false;
                continue;
            }
            if (*v < 1)
                sink_.error(e.loc, "tensor '" + t.name + "' has a dimension of size " + std::to_string(*v) +
                                       "; sizes must be at least 1");
            dims.push_back(*v);
        }
        const std::size_t rank = t.shape.size();
        if (t.layout.kind == Layout::Kind::Transposed) {
            std::vector<int> sorted = t.layout.permutation;
            std::sort(sorted.begin(), sorted.end());
            bool isPermutation = sorted.size() == rank;
            for (std::size_t i = 0; isPermutation && i < rank; ++i)
                isPermutation = sorted[i] == static_cast<int>(i);
            if (!isPermutation)
                sink_.error(t.layout.loc, "transposed(...) of '" + t.name + "' must list each of its " +
                                              std::to_string(rank) + " dimensions once, from 0 to " +
                                              std::to_string(static_cast<int>(rank) - 1));
        }
        if (t.layout.kind == Layout::Kind::Strides) {
            if (t.layout.strides.size() != rank)
                sink_.error(t.layout.loc, "strides(...) of '" + t.name + "' has " +
                                              std::to_string(t.layout.strides.size()) + " entries for a tensor of rank " +
                                              std::to_string(rank));
            for (const auto& s : t.layout.strides)
                if (auto v = size(s, "a stride of '" + t.name + "'"); v && *v < 0)
                    sink_.error(s.loc, "strides must not be negative");
        }
        if (!t.padding.empty()) {
            if (t.padding.size() != rank)
                sink_.error(t.loc, "padded(...) of '" + t.name + "' has " + std::to_string(t.padding.size()) +
                                       " entries for a tensor of rank " + std::to_string(rank));
            if (t.role != TensorRole::In)
                sink_.error(t.loc, "only inputs can be padded; '" + t.name + "' is " +
                                       std::string(roleName(t.role)));
            if (std::any_of(t.padding.begin(), t.padding.end(), [](std::int64_t p) { return p < 0; }))
                sink_.error(t.loc, "padding must not be negative");
        }
        if (known)
            shapes_[t.name] = dims;
        checkOperandPlacement(t);
    }

    void checkOperandPlacement(const TensorDecl& t) {
        if (!target_) {
            if (!t.memory.empty() || t.unitStride || t.alignBytes || t.maxStride)
                sink_.error(t.loc, "'" + t.name + "' has instruction operand constraints (@memory, unit_stride, "
                                   "align, max_stride) in a kernel",
                            "these belong to the operands of a target's instructions");
            return;
        }
        if (t.memory.empty())
            sink_.error(t.loc, "operand '" + t.name + "' of instruction '" + k_.name + "' does not say which memory it "
                               "must be in", "add @ MEMORY, one of " + listNames(namesOf(target_->memories)));
        else if (!target_->findMemory(t.memory))
            sink_.error(t.loc, "operand '" + t.name + "' is placed in memory '" + t.memory +
                                   "', which target '" + target_->name + "' does not declare",
                        "the target's memories are " + listNames(namesOf(target_->memories)));
        if (t.alignBytes < 0 || t.maxStride < 0)
            sink_.error(t.loc, "align and max_stride must not be negative");
    }

    void checkAccess(const Access& a, const std::string& role) {
        const TensorDecl* t = k_.findTensor(a.tensor);
        if (!t) {
            sink_.error(a.loc, "undeclared tensor '" + a.tensor + "'",
                        "the " + std::string(target_ ? "instruction" : "kernel") + " declares " +
                            listNames(namesOf(k_.tensors)));
            return;
        }
        if (a.indices.size() != t->shape.size()) {
            sink_.error(a.loc, "'" + a.tensor + "' has rank " + std::to_string(t->shape.size()) + " but is " + role +
                                   " with " + std::to_string(a.indices.size()) + " index" +
                                   (a.indices.size() == 1 ? "" : "es"));
            return;
        }
        bool dimsKnown = true;
        for (const auto& idx : a.indices)
            for (const auto& term : idx.terms)
                if (!k_.findDim(term.dim)) {
                    sink_.error(idx.loc, "undeclared dimension '" + term.dim + "'",
                                "the " + std::string(target_ ? "instruction" : "kernel") + " declares " +
                                    listNames(namesOf(k_.dims)));
                    dimsKnown = false;
                }
        if (dimsKnown)
            checkBounds(a, *t);
    }

    // Each index must stay within the tensor (plus its zero halo) over the whole iteration box.
    void checkBounds(const Access& a, const TensorDecl& t) {
        auto shapeIt = shapes_.find(t.name);
        if (shapeIt == shapes_.end())
            return;
        for (std::size_t d = 0; d < a.indices.size(); ++d) {
            const AffineExpr& idx = a.indices[d];
            std::int64_t lo = idx.constant, hi = idx.constant;
            bool ok = true;
            for (const auto& term : idx.terms) {
                auto ext = evaluate(k_.findDim(term.dim)->extent, params_);
                if (!ext) {
                    ok = false;
                    break;
                }
                std::int64_t span = term.coeff * (*ext - 1);
                lo += std::min<std::int64_t>(0, span);
                hi += std::max<std::int64_t>(0, span);
            }
            if (!ok)
                continue;
            const std::int64_t pad = t.padding.size() == a.indices.size() ? t.padding[d] : 0;
            const std::int64_t extent = shapeIt->second[d];
            if (lo < -pad || hi > extent - 1 + pad) {
                std::string range = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
                std::string allowed = "[" + std::to_string(-pad) + ", " + std::to_string(extent - 1 + pad) + "]";
                sink_.error(idx.loc, "index " + std::to_string(d) + " of '" + a.tensor + "' (" + print(idx) +
                                         ") ranges over " + range + ", outside the tensor's " + allowed,
                            lo < -pad ? "pad the input with padded(...) or shift the index"
                                      : "enlarge the tensor's shape or shrink the dimension's extent");
            }
        }
    }

    void checkStatement(const Statement& s, std::set<std::string>& written) {
        checkAccess(s.target, "written");
        std::vector<const Access*> reads;
        accessesOf(s.value, reads);
        for (const Access* a : reads) {
            checkAccess(*a, "read");
            const TensorDecl* t = k_.findTensor(a->tensor);
            if (t && t->role == TensorRole::Tmp && !written.count(t->name))
                sink_.error(a->loc, "temporary '" + t->name + "' is read before any statement writes it");
        }
        const TensorDecl* out = k_.findTensor(s.target.tensor);
        if (out && out->role == TensorRole::In)
            sink_.error(s.target.loc, "'" + out->name + "' is an input and cannot be written",
                        "declare it 'out' or 'inout'");
        checkReductionDims(s);
        checkTypes(s, out);
        written.insert(s.target.tensor);
    }

    void checkReductionDims(const Statement& s) {
        std::vector<std::string> outDims;
        for (const auto& idx : s.target.indices)
            for (const auto& t : idx.terms)
                outDims.push_back(t.dim);
        std::vector<std::string> used;
        dimsUsed(s.value, used);
        bool reduces = false;
        for (const auto& name : outDims) {
            const DimDecl* d = k_.findDim(name);
            if (d && d->reduction)
                sink_.error(s.target.loc, "reduction dimension '" + name + "' appears in the output '" +
                                              s.target.tensor + "'",
                            "a reduction dimension is summed away; declare '" + name + "' with 'dim' instead");
        }
        for (const auto& name : used) {
            const DimDecl* d = k_.findDim(name);
            if (!d)
                continue;
            const bool inOut = std::find(outDims.begin(), outDims.end(), name) != outDims.end();
            if (d->reduction) {
                reduces = true;
            } else if (!inOut) {
                sink_.error(s.loc, "dimension '" + name + "' is read but does not index the output '" +
                                       s.target.tensor + "'",
                            "if '" + name + "' is summed over, declare it with 'reduce'");
            }
        }
        if (reduces && s.update == Update::Assign)
            sink_.error(s.loc, "statement reduces over a dimension but assigns with '='",
                        "use '+=' for a sum or 'max=' for a maximum");
    }

    void checkTypes(const Statement& s, const TensorDecl* out) {
        auto type = inferType(s.value);
        if (!out || !type)
            return;
        if (*type != out->type)
            sink_.error(s.value.loc.line ? s.value.loc : s.loc,
                        "type mismatch: the value is " + std::string(typeName(*type)) + " but '" + out->name +
                            "' is " + std::string(typeName(out->type)),
                        "convert explicitly, as in " + std::string(typeName(out->type)) + "(...)");
        if (!isFloat(out->type) && s.value.kind == Expr::Kind::Constant &&
            s.value.constant != std::trunc(s.value.constant))
            sink_.error(s.value.loc, "non-integer constant assigned to " + std::string(typeName(out->type)) + " '" +
                                         out->name + "'");
    }

public:
    // Element type of an expression; nullopt for a bare literal (it takes its context's type) or after
    // reporting an error.
    std::optional<ScalarType> inferType(const Expr& e, bool report = true) {
        switch (e.kind) {
        case Expr::Kind::Access: {
            const TensorDecl* t = k_.findTensor(e.access.tensor);
            return t ? std::optional<ScalarType>(t->type) : std::nullopt;
        }
        case Expr::Kind::Constant: return std::nullopt;
        case Expr::Kind::Call: break;
        }
        std::vector<std::optional<ScalarType>> argTypes;
        for (const auto& a : e.args)
            argTypes.push_back(inferType(a, report));
        if (e.op == Op::Cast)
            return e.castType;
        std::optional<ScalarType> result;
        for (std::size_t i = 0; i < argTypes.size(); ++i) {
            if (!argTypes[i])
                continue;
            if (result && *result != *argTypes[i]) {
                if (report)
                    sink_.error(e.loc, "type mismatch in '" + std::string(opName(e.op)) + "': " +
                                           std::string(typeName(*result)) + " and " + std::string(typeName(*argTypes[i])),
                                "convert one operand, as in " + std::string(typeName(*result)) + "(...)");
                return std::nullopt;
            }
            result = argTypes[i];
        }
        const bool floatOnly = e.op == Op::Sigmoid || e.op == Op::Tanh || e.op == Op::Exp;
        if (report && floatOnly && result && !isFloat(*result))
            sink_.error(e.loc, "'" + std::string(opName(e.op)) + "' needs a floating-point operand, not " +
                                   std::string(typeName(*result)),
                        "convert it first, as in " + std::string(opName(e.op)) + "(f32(...))");
        if (result && !isFloat(*result))
            for (const auto& a : e.args)
                if (a.kind == Expr::Kind::Constant && a.constant != std::trunc(a.constant) && report)
                    sink_.error(a.loc, "non-integer constant in " + std::string(typeName(*result)) + " arithmetic");
        return result;
    }

private:
    DiagnosticSink& sink_;
    const Kernel& k_;
    const Target* target_;
    ParamValues params_;
    std::map<std::string, std::vector<std::int64_t>> shapes_;
};

void checkInstruction(DiagnosticSink& sink, const Instruction& ins, const Target& target) {
    if (!target.findUnit(ins.unit))
        sink.error(ins.loc, "instruction '" + ins.name + "' runs on unit '" + ins.unit +
                                "', which target '" + target.name + "' does not declare",
                   "the target's units are " + listNames(namesOf(target.units)));
    if (!(ins.throughput > 0))
        sink.error(ins.loc, "instruction '" + ins.name + "' needs a positive throughput");
    if (ins.latency < 0)
        sink.error(ins.loc, "instruction '" + ins.name + "' has a negative latency");
    KernelChecker(sink, ins.body, &target).run();
    for (const auto& l : ins.lowerings)
        if (l.backend != "llvm" && l.backend != "sim")
            sink.error(l.loc, "unknown lowering backend '" + l.backend + "'", "backends are llvm and sim");
    if (ins.kind != Instruction::Kind::Move)
        return;
    const auto& body = ins.body;
    const bool isCopy = body.statements.size() == 1 && body.statements[0].update == Update::Assign &&
                        body.statements[0].value.kind == Expr::Kind::Access;
    if (!isCopy) {
        sink.error(ins.loc, "move '" + ins.name + "' must be a single copy, as in dst[i] = src[i]");
        return;
    }
    const TensorDecl* dst = body.findTensor(body.statements[0].target.tensor);
    const TensorDecl* src = body.findTensor(body.statements[0].value.access.tensor);
    if (dst && src && !dst->memory.empty() && dst->memory == src->memory)
        sink.error(ins.loc, "move '" + ins.name + "' copies within memory '" + dst->memory + "'",
                   "a move takes data from one memory to another");
}

void checkTarget(DiagnosticSink& sink, const Target& t) {
    checkUnique(sink, t.memories, "memory");
    checkUnique(sink, t.units, "unit");
    checkUnique(sink, t.instructions, "instruction");
    if (t.memories.empty())
        sink.error(t.loc, "target '" + t.name + "' declares no memory");
    for (const auto& m : t.memories) {
        if (m.bytes == 0)
            sink.error(m.loc, "memory '" + m.name + "' needs a size: bytes = ...");
        if (!(m.bandwidth > 0))
            sink.error(m.loc, "memory '" + m.name + "' needs a positive bandwidth");
        if (m.registers < 0 || (m.registers > 0 && m.bytes % static_cast<std::uint64_t>(m.registers) != 0))
            sink.error(m.loc, "memory '" + m.name + "': its bytes must divide evenly among its registers");
        if (m.streams != 0 && (m.streams < 2 || !(m.streamsBandwidth > 0)))
            sink.error(m.loc, "memory '" + m.name + "': streams must be at least 2, with a positive streams_bandwidth");
        if (m.streams == 0 && m.streamsBandwidth != 0)
            sink.error(m.loc, "memory '" + m.name + "': streams_bandwidth needs streams = N, how many streams reach it");
        if (!m.parent.empty() && !t.findMemory(m.parent))
            sink.error(m.loc, "memory '" + m.name + "' names parent '" + m.parent + "', which is not declared",
                       "the target's memories are " + listNames(namesOf(t.memories)));
    }
    // Parents must form chains that end, never loops.
    for (const auto& m : t.memories) {
        const Memory* at = &m;
        for (std::size_t steps = 0; at && !at->parent.empty(); ++steps) {
            if (steps > t.memories.size()) {
                sink.error(m.loc, "memory '" + m.name + "' is its own ancestor through 'parent'");
                break;
            }
            at = t.findMemory(at->parent);
        }
    }
    for (const auto& u : t.units) {
        if (!(u.clock > 0))
            sink.error(u.loc, "unit '" + u.name + "' needs a clock: clock = ... GHz");
        if (u.count < 1)
            sink.error(u.loc, "unit '" + u.name + "' needs a count of at least 1");
    }
    for (const auto& ins : t.instructions)
        checkInstruction(sink, ins, t);
}

class GraphChecker {
public:
    // `brokenKernels` were reported on their own; nodes that call them are not checked again.
    GraphChecker(DiagnosticSink& sink, const Graph& g, const Module& m, const std::set<std::string>& brokenKernels)
        : sink_(sink), g_(g), m_(m), brokenKernels_(brokenKernels), params_(g.paramValues()) {}

    void run() {
        checkUnique(sink_, g_.params, "parameter");
        checkUnique(sink_, g_.tensors, "tensor");
        checkUnique(sink_, g_.nodes, "node");
        for (const auto& t : g_.tensors) {
            if (t.role == TensorRole::InOut)
                sink_.error(t.loc, "graph tensors are in, out or tmp");
            auto dims = shape(t, params_);
            if (!dims)
                sink_.error(t.loc, "the shape of '" + t.name + "' uses an undeclared parameter",
                            "the graph's parameters are " + listNames(namesOf(g_.params)));
            else if (std::any_of(dims->begin(), dims->end(), [](std::int64_t v) { return v < 1; }))
                sink_.error(t.loc, "tensor '" + t.name + "' has a dimension of size less than 1");
        }
        for (const auto& n : g_.nodes)
            checkNode(n);
        for (const auto& t : g_.tensors)
            if (t.role != TensorRole::In && !produced_.count(t.name))
                sink_.error(t.loc, "no node writes '" + t.name + "'");
    }

private:
    void checkNode(const Node& n) {
        const Kernel* k = m_.findKernel(n.kernel);
        if (!k) {
            sink_.error(n.loc, "node '" + n.name + "' calls undeclared kernel '" + n.kernel + "'",
                        "kernels in this file: " + listNames(namesOf(m_.kernels)));
            return;
        }
        if (brokenKernels_.count(k->name)) {
            markOutputsProduced(n, *k);
            return;
        }
        ParamValues args;
        for (const auto& a : n.args) {
            if (!k->findParam(a.param)) {
                sink_.error(a.loc, "kernel '" + k->name + "' has no parameter '" + a.param + "'",
                            "its parameters are " + listNames(namesOf(k->params)));
                continue;
            }
            auto v = evaluate(a.value, params_);
            if (!v)
                sink_.error(a.loc, "the value of '" + a.param + "' uses an undeclared graph parameter",
                            "the graph's parameters are " + listNames(namesOf(g_.params)));
            else
                args[a.param] = *v;
        }
        const Kernel instance = withParams(*k, args);
        // The kernel was checked with its defaults; the node's values can still break it (an access
        // out of bounds, an empty extent), so check the instance again and report at the node.
        SourceFile none;
        DiagnosticSink instanceSink(none);
        KernelChecker(instanceSink, instance, nullptr).run();
        for (const auto& d : instanceSink.diagnostics())
            if (d.severity == Severity::Error) {
                sink_.error(n.loc, "with the values node '" + n.name + "' gives, kernel '" + k->name +
                                       "' is invalid: " + d.message,
                            d.hint);
                markOutputsProduced(n, *k);
                return;
            }
        std::set<std::string> bound;
        std::vector<std::string> outputs;
        for (const auto& b : n.bindings) {
            if (!bound.insert(b.kernelTensor).second)
                sink_.error(b.loc, "'" + b.kernelTensor + "' is bound twice");
            if (checkBinding(n, instance, b)) {
                const TensorDecl* kt = instance.findTensor(b.kernelTensor);
                if (kt->role != TensorRole::In)
                    outputs.push_back(b.graphTensor);
            }
        }
        for (const auto& t : instance.tensors)
            if (t.role != TensorRole::Tmp && !bound.count(t.name))
                sink_.error(n.loc, "node '" + n.name + "' leaves kernel tensor '" + t.name + "' unbound",
                            "bind it in the braces, as in { " + t.name + " = SOME_GRAPH_TENSOR }");
        for (auto& o : outputs)
            produced_.insert(o);
    }

    // After an error at a node, its outputs count as written, so that one mistake gives one message.
    void markOutputsProduced(const Node& n, const Kernel& k) {
        for (const auto& b : n.bindings)
            if (const TensorDecl* t = k.findTensor(b.kernelTensor); t && t->role != TensorRole::In)
                produced_.insert(b.graphTensor);
    }

    bool checkBinding(const Node& n, const Kernel& k, const Binding& b) {
        const TensorDecl* kt = k.findTensor(b.kernelTensor);
        const TensorDecl* gt = g_.findTensor(b.graphTensor);
        if (!kt) {
            sink_.error(b.loc, "kernel '" + k.name + "' has no tensor '" + b.kernelTensor + "'",
                        "its tensors are " + listNames(namesOf(k.tensors)));
            return false;
        }
        if (kt->role == TensorRole::Tmp) {
            sink_.error(b.loc, "'" + kt->name + "' is internal to kernel '" + k.name + "' and cannot be bound");
            return false;
        }
        if (!gt) {
            sink_.error(b.loc, "undeclared graph tensor '" + b.graphTensor + "'",
                        "the graph declares " + listNames(namesOf(g_.tensors)));
            return false;
        }
        if (kt->type != gt->type)
            sink_.error(b.loc, "type mismatch: '" + kt->name + "' of '" + k.name + "' is " +
                                   std::string(typeName(kt->type)) + " but '" + gt->name + "' is " +
                                   std::string(typeName(gt->type)));
        if (kt->role != TensorRole::In && gt->role == TensorRole::In)
            sink_.error(b.loc, "node '" + n.name + "' writes graph input '" + gt->name + "'");
        if (kt->role != TensorRole::Out && gt->role != TensorRole::In && !produced_.count(gt->name))
            sink_.error(b.loc, "node '" + n.name + "' reads '" + gt->name + "' before any node writes it",
                        "nodes run in the order written; move the node that produces it above this one");
        auto gshape = shape(*gt, params_);
        auto kshape = shape(*kt, k.paramValues());
        auto gstrides = strides(*gt, params_);
        auto kstrides = strides(*kt, k.paramValues());
        if (!gshape || !kshape || !gstrides || !kstrides)
            return true; // reported where the shape is declared
        if (b.fixedIndices.size() > gshape->size()) {
            sink_.error(b.loc, "'" + gt->name + "' has rank " + std::to_string(gshape->size()) + " but " +
                                   std::to_string(b.fixedIndices.size()) + " indices are fixed");
            return false;
        }
        for (std::size_t i = 0; i < b.fixedIndices.size(); ++i)
            if (b.fixedIndices[i] < 0 || b.fixedIndices[i] >= (*gshape)[i])
                sink_.error(b.loc, "fixed index " + std::to_string(b.fixedIndices[i]) + " is outside dimension " +
                                       std::to_string(i) + " of '" + gt->name + "' (size " +
                                       std::to_string((*gshape)[i]) + ")");
        std::vector<std::int64_t> rest(gshape->begin() + static_cast<long>(b.fixedIndices.size()), gshape->end());
        std::vector<std::int64_t> restStrides(gstrides->begin() + static_cast<long>(b.fixedIndices.size()),
                                              gstrides->end());
        auto text = [](const std::vector<std::int64_t>& v) {
            std::string s = "[";
            for (std::size_t i = 0; i < v.size(); ++i)
                s += (i ? ", " : "") + std::to_string(v[i]);
            return s + "]";
        };
        if (rest != *kshape) {
            sink_.error(b.loc, "shape mismatch: '" + kt->name + "' of '" + k.name + "' is " + text(*kshape) +
                                   " but '" + gt->name + "' gives " + text(rest));
            return false;
        }
        if (restStrides != *kstrides)
            sink_.error(b.loc, "layout mismatch: '" + kt->name + "' of '" + k.name + "' has strides " +
                                   text(*kstrides) + " but '" + gt->name + "' has " + text(restStrides),
                        "declare both with the same layout");
        return true;
    }

    DiagnosticSink& sink_;
    const Graph& g_;
    const Module& m_;
    const std::set<std::string>& brokenKernels_;
    ParamValues params_;
    std::set<std::string> produced_;
};

} // namespace

std::vector<Diagnostic> check(const Module& m, const SourceFile& source) {
    DiagnosticSink sink(source);
    checkUnique(sink, m.kernels, "kernel");
    checkUnique(sink, m.graphs, "graph");
    checkUnique(sink, m.targets, "target");
    std::set<std::string> brokenKernels;
    for (const auto& k : m.kernels) {
        const std::size_t before = sink.errorCount();
        KernelChecker(sink, k, nullptr).run();
        if (sink.errorCount() > before)
            brokenKernels.insert(k.name);
    }
    for (const auto& g : m.graphs)
        GraphChecker(sink, g, m, brokenKernels).run();
    for (const auto& t : m.targets)
        checkTarget(sink, t);
    auto out = sink.take();
    std::stable_sort(out.begin(), out.end(), [](const Diagnostic& a, const Diagnostic& b) {
        return a.line != b.line ? a.line < b.line : a.column < b.column;
    });
    return out;
}

std::optional<ScalarType> typeOf(const Expr& e, const Kernel& k) {
    SourceFile none;
    DiagnosticSink sink(none);
    KernelChecker checker(sink, k, nullptr);
    return checker.inferType(e, false);
}

} // namespace isamap::ir
