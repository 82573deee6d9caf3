#include "ir/ir.h"

#include <algorithm>
#include <numeric>

namespace isamap::ir {

SizeExpr SizeExpr::binary(Kind k, SizeExpr a, SizeExpr b) {
    SizeExpr e;
    e.kind = k;
    e.operands = {std::move(a), std::move(b)};
    return e;
}

std::optional<std::int64_t> evaluate(const SizeExpr& e, const ParamValues& params) {
    switch (e.kind) {
    case SizeExpr::Kind::Constant: return e.value;
    case SizeExpr::Kind::Param: {
        auto it = params.find(e.param);
        if (it == params.end())
            return std::nullopt;
        return it->second;
    }
    default: break;
    }
    if (e.operands.size() != 2)
        return std::nullopt;
    auto a = evaluate(e.operands[0], params);
    auto b = evaluate(e.operands[1], params);
    if (!a || !b)
        return std::nullopt;
    switch (e.kind) {
    case SizeExpr::Kind::Add: return *a + *b;
    case SizeExpr::Kind::Sub: return *a - *b;
    case SizeExpr::Kind::Mul: return *a * *b;
    case SizeExpr::Kind::Div:
        if (*b == 0)
            return std::nullopt;
        // Floor division, so that output-size formulas behave for every sign.
        return (*a >= 0) == (*b > 0) ? *a / *b : -((-*a + std::abs(*b) - 1) / std::abs(*b));
    default: return std::nullopt;
    }
}

std::int64_t AffineExpr::coeffOf(const std::string& dim) const {
    for (const auto& t : terms)
        if (t.dim == dim)
            return t.coeff;
    return 0;
}

std::string_view opName(Op op) {
    switch (op) {
    case Op::Add: return "add";
    case Op::Sub: return "sub";
    case Op::Mul: return "mul";
    case Op::Div: return "div";
    case Op::Neg: return "neg";
    case Op::Max: return "max";
    case Op::Min: return "min";
    case Op::Relu: return "relu";
    case Op::Sigmoid: return "sigmoid";
    case Op::Tanh: return "tanh";
    case Op::Exp: return "exp";
    case Op::Cast: return "cast";
    }
    return "?";
}

int opArity(Op op) {
    switch (op) {
    case Op::Add:
    case Op::Sub:
    case Op::Mul:
    case Op::Div:
    case Op::Max:
    case Op::Min: return 2;
    default: return 1;
    }
}

Expr Expr::ofAccess(Access a) {
    Expr e;
    e.kind = Kind::Access;
    e.loc = a.loc;
    e.access = std::move(a);
    return e;
}

Expr Expr::ofConstant(double v) {
    Expr e;
    e.kind = Kind::Constant;
    e.constant = v;
    return e;
}

Expr Expr::call(Op op, std::vector<Expr> args) {
    Expr e;
    e.kind = Kind::Call;
    e.op = op;
    e.args = std::move(args);
    return e;
}

Expr Expr::cast(ScalarType to, Expr arg) {
    Expr e = call(Op::Cast, {std::move(arg)});
    e.castType = to;
    return e;
}

std::string_view roleName(TensorRole role) {
    switch (role) {
    case TensorRole::In: return "in";
    case TensorRole::Out: return "out";
    case TensorRole::InOut: return "inout";
    case TensorRole::Tmp: return "tmp";
    }
    return "?";
}

namespace {
template <typename T>
const T* findByName(const std::vector<T>& items, const std::string& name) {
    auto it = std::find_if(items.begin(), items.end(), [&](const T& x) { return x.name == name; });
    return it == items.end() ? nullptr : &*it;
}

ParamValues valuesOf(const std::vector<Param>& params) {
    ParamValues values;
    for (const auto& p : params)
        values[p.name] = p.value;
    return values;
}

void override(std::vector<Param>& params, const ParamValues& overrides) {
    for (auto& p : params)
        if (auto it = overrides.find(p.name); it != overrides.end())
            p.value = it->second;
}
} // namespace

const DimDecl* Kernel::findDim(const std::string& n) const { return findByName(dims, n); }
const TensorDecl* Kernel::findTensor(const std::string& n) const { return findByName(tensors, n); }
const Param* Kernel::findParam(const std::string& n) const { return findByName(params, n); }
ParamValues Kernel::paramValues() const { return valuesOf(params); }

const Binding* Node::findBinding(const std::string& kernelTensor) const {
    const auto b = std::find_if(bindings.begin(), bindings.end(), [&](const Binding& x) { return x.kernelTensor == kernelTensor; });
    return b == bindings.end() ? nullptr : &*b;
}

const TensorDecl* Graph::findTensor(const std::string& n) const { return findByName(tensors, n); }
ParamValues Graph::paramValues() const { return valuesOf(params); }

const Memory* Target::findMemory(const std::string& n) const { return findByName(memories, n); }
const Unit* Target::findUnit(const std::string& n) const { return findByName(units, n); }
const Instruction* Target::findInstruction(const std::string& n) const { return findByName(instructions, n); }

const Kernel* Module::findKernel(const std::string& n) const { return findByName(kernels, n); }
const Graph* Module::findGraph(const std::string& n) const { return findByName(graphs, n); }
const Target* Module::findTarget(const std::string& n) const { return findByName(targets, n); }

const Access* findAccess(const Statement& s, const std::string& tensor) {
    if (s.target.tensor == tensor)
        return &s.target;
    std::vector<const Expr*> stack{&s.value};
    while (!stack.empty()) {
        const Expr* e = stack.back();
        stack.pop_back();
        if (e->kind == Expr::Kind::Access && e->access.tensor == tensor)
            return &e->access;
        for (const auto& a : e->args)
            stack.push_back(&a);
    }
    return nullptr;
}

void forEachAccess(const Expr& e, const std::function<void(const Access&)>& f) {
    if (e.kind == Expr::Kind::Access)
        f(e.access);
    for (const auto& a : e.args)
        forEachAccess(a, f);
}

void forEachAccess(Expr& e, const std::function<void(Access&)>& f) {
    if (e.kind == Expr::Kind::Access)
        f(e.access);
    for (auto& a : e.args)
        forEachAccess(a, f);
}

bool isPlainDim(const AffineExpr& e) { return e.terms.size() == 1 && e.terms[0].coeff == 1 && e.constant == 0; }

bool plainDims(const Access& a) { return std::all_of(a.indices.begin(), a.indices.end(), isPlainDim); }

namespace {

// Positions of `first` that `point` leaves out, each a plain dimension, the rest in order; empty
// when `point` is not `first` with some plain dimensions dropped.
std::optional<std::vector<std::size_t>> droppedPositions(const std::vector<AffineExpr>& first,
                                                         const std::vector<AffineExpr>& point) {
    std::vector<std::size_t> dropped;
    std::size_t j = 0;
    for (std::size_t i = 0; i < first.size(); ++i) {
        if (j < point.size() && point[j] == first[i]) {
            ++j;
            continue;
        }
        if (!isPlainDim(first[i]))
            return std::nullopt;
        dropped.push_back(i);
    }
    if (j != point.size())
        return std::nullopt;
    return dropped;
}

// A read of the first statement's output from the epilogue: at the point itself, or at constants
// within the extents along the dropped positions and the first output's indices elsewhere.
bool readsProducedAtPoint(const Kernel& k, const Access& a, const std::vector<AffineExpr>& first,
                          const std::vector<std::size_t>& across) {
    if (a.indices.size() != first.size())
        return false;
    const ParamValues params = k.paramValues();
    for (std::size_t i = 0; i < first.size(); ++i) {
        if (std::find(across.begin(), across.end(), i) == across.end()) {
            if (a.indices[i] != first[i])
                return false;
            continue;
        }
        const auto extent = evaluate(k.findDim(first[i].terms[0].dim)->extent, params);
        if (!a.indices[i].terms.empty() || !extent || a.indices[i].constant < 0 || a.indices[i].constant >= *extent)
            return false;
    }
    return true;
}

} // namespace

std::optional<EpiloguePoint> epiloguePoint(const Kernel& k, std::string& why) {
    const Statement& first = k.statements.front();
    EpiloguePoint p;
    p.indices = first.target.indices;
    if (k.statements.size() == 1)
        return p;
    auto where = [&](std::size_t s) {
        return "statement " + std::to_string(s + 1) + " of kernel " + k.name + " (line " + std::to_string(k.statements[s].loc.line) + ")";
    };
    p.indices = k.statements[1].target.indices;
    const auto dropped = droppedPositions(first.target.indices, p.indices);
    if (!dropped) {
        why = where(1) + " writes at a point that is not " + first.target.tensor +
              "'s output point, whole or with some of its dimensions left out";
        return std::nullopt;
    }
    p.across = *dropped;
    for (std::size_t i : p.across)
        p.acrossDims.push_back(first.target.indices[i].terms[0].dim);
    std::vector<std::string> written;
    for (std::size_t s = 1; s < k.statements.size(); ++s) {
        const Statement& st = k.statements[s];
        if (st.update != Update::Assign || st.target.indices != p.indices) {
            why = where(s) + " does not assign (`=`) at the point the statements after the first share";
            return std::nullopt;
        }
        if (st.target.tensor == first.target.tensor && !p.across.empty()) {
            why = where(s) + " rewrites " + first.target.tensor + ", which the statements after the first read across " +
                  p.acrossDims.front();
            return std::nullopt;
        }
        std::string bad;
        forEachAccess(st.value, [&](const Access& a) {
            const bool produced = a.tensor == first.target.tensor;
            const bool later = std::find(written.begin(), written.end(), a.tensor) != written.end();
            if (!bad.empty() || (!produced && !later))
                return;
            if (later ? a.indices != p.indices : !readsProducedAtPoint(k, a, first.target.indices, p.across))
                bad = a.tensor;
        });
        if (!bad.empty()) {
            why = where(s) + " reads " + bad + " at other indices than it is computed" +
                  (p.across.empty() ? "" : " (or than constants along " + p.acrossDims.front() + ")") +
                  "; only the point's own values are at hand";
            return std::nullopt;
        }
        written.push_back(st.target.tensor);
    }
    return p;
}

bool isMixedRadix(const Kernel& k, const AffineExpr& idx, std::int64_t* points) {
    if (idx.terms.empty() || idx.constant != 0)
        return false;
    std::vector<AffineTerm> terms = idx.terms;
    std::sort(terms.begin(), terms.end(), [](const AffineTerm& a, const AffineTerm& b) { return a.coeff < b.coeff; });
    std::int64_t expected = 1;
    for (const auto& t : terms) {
        const DimDecl* d = k.findDim(t.dim);
        const auto extent = d ? evaluate(d->extent, k.paramValues()) : std::nullopt;
        if (t.coeff != expected || !extent)
            return false;
        expected *= *extent;
    }
    if (points)
        *points = expected;
    return true;
}

std::int64_t storageElements(const std::vector<std::int64_t>& shape, const std::vector<std::int64_t>& strides) {
    std::int64_t n = 1;
    for (std::size_t i = 0; i < shape.size(); ++i)
        n += (shape[i] - 1) * strides[i];
    return n;
}

Kernel withParams(Kernel k, const ParamValues& overrides) {
    override(k.params, overrides);
    return k;
}

std::optional<Kernel> nodeKernel(const Module& module, const Graph& graph, const Node& node) {
    const Kernel* k = module.findKernel(node.kernel);
    if (!k)
        return std::nullopt;
    const ParamValues graphParams = graph.paramValues();
    ParamValues args;
    for (const auto& a : node.args)
        if (auto v = evaluate(a.value, graphParams))
            args[a.param] = *v;
    return withParams(*k, args);
}

Graph withParams(Graph g, const ParamValues& overrides) {
    override(g.params, overrides);
    return g;
}

std::optional<std::vector<std::int64_t>> shape(const TensorDecl& t, const ParamValues& params) {
    std::vector<std::int64_t> out;
    for (const auto& e : t.shape) {
        auto v = evaluate(e, params);
        if (!v)
            return std::nullopt;
        out.push_back(*v);
    }
    return out;
}

std::optional<std::vector<std::int64_t>> strides(const TensorDecl& t, const ParamValues& params) {
    auto dims = shape(t, params);
    if (!dims)
        return std::nullopt;
    const std::size_t rank = dims->size();
    std::vector<std::int64_t> out(rank, 0);
    // Storage order, outermost first, as a permutation of logical dimensions.
    std::vector<int> order(rank);
    std::iota(order.begin(), order.end(), 0);
    switch (t.layout.kind) {
    case Layout::Kind::RowMajor: break;
    case Layout::Kind::ColMajor: std::reverse(order.begin(), order.end()); break;
    case Layout::Kind::Transposed:
        if (t.layout.permutation.size() != rank)
            return std::nullopt;
        order = t.layout.permutation;
        break;
    case Layout::Kind::Strides:
        if (t.layout.strides.size() != rank)
            return std::nullopt;
        for (std::size_t d = 0; d < rank; ++d) {
            auto s = evaluate(t.layout.strides[d], params);
            if (!s)
                return std::nullopt;
            out[d] = *s;
        }
        return out;
    }
    std::int64_t stride = 1;
    for (std::size_t i = rank; i-- > 0;) {
        int d = order[i];
        if (d < 0 || static_cast<std::size_t>(d) >= rank)
            return std::nullopt;
        out[static_cast<std::size_t>(d)] = stride;
        stride *= std::max<std::int64_t>(1, (*dims)[static_cast<std::size_t>(d)]);
    }
    return out;
}

} // namespace isamap::ir
