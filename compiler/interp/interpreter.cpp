#include "interp/interpreter.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace isamap::interp {

using namespace ir;

double identityOf(Update u) { return u == Update::Max ? -std::numeric_limits<double>::infinity() : 0.0; }

std::int64_t Buffer::elementCount() const {
    std::int64_t n = 1;
    for (auto s : shape)
        n *= s;
    return n;
}

std::int64_t Buffer::offsetOf(const std::vector<std::int64_t>& index) const {
    std::int64_t off = offset;
    for (std::size_t d = 0; d < index.size(); ++d)
        off += index[d] * strides[d];
    return off;
}

std::optional<Buffer> allocate(const TensorDecl& t, const ParamValues& params) {
    auto dims = shape(t, params);
    auto st = strides(t, params);
    if (!dims || !st)
        return std::nullopt;
    Buffer b;
    b.type = t.type;
    b.shape = *dims;
    b.strides = *st;
    std::int64_t span = 1; // one past the largest offset
    for (std::size_t d = 0; d < dims->size(); ++d)
        span += ((*dims)[d] - 1) * std::max<std::int64_t>(0, (*st)[d]);
    b.storage = std::make_shared<std::vector<double>>(static_cast<std::size_t>(std::max<std::int64_t>(1, span)), 0.0);
    return b;
}

namespace {

// splitmix64: small, fast and the same on every platform, so a seed means the same inputs everywhere.
// It mixes a counter stepped by a constant, so its n-th value needs none before it: random inputs are
// filled in storage order and keep each element's value at its row-major position.
struct Random {
    std::uint64_t seed;
    std::uint64_t nth(std::uint64_t n) const { // n from 0
        std::uint64_t z = seed + (n + 1) * 0x9E3779B97F4A7C15ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    static double uniform(std::uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1.0p-53; }
    static std::int64_t between(std::uint64_t bits, std::int64_t lo, std::int64_t hi) {
        return lo + static_cast<std::int64_t>(bits % static_cast<std::uint64_t>(hi - lo + 1));
    }
};

std::uint64_t hashName(const std::string& s) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s)
        h = (h ^ c) * 1099511628211ull;
    return h;
}

// An access compiled against a buffer: offset = base + sum(coeff[d] * i[d]) over the statement's dims.
struct CompiledAccess {
    Buffer* buffer = nullptr;
    std::int64_t base = 0;
    std::vector<std::int64_t> coeff;
    // For padded inputs: per tensor dimension, the index's coefficients and constant, to test bounds.
    bool checkBounds = false;
    std::vector<std::vector<std::int64_t>> indexCoeff;
    std::vector<std::int64_t> indexConstant;

    // The value at storage offset `at`, which the point's indices reach (zero in a padded input's halo).
    double read(const std::vector<std::int64_t>& point, std::int64_t at) const {
        if (checkBounds) {
            for (std::size_t d = 0; d < indexCoeff.size(); ++d) {
                std::int64_t v = indexConstant[d];
                for (std::size_t j = 0; j < point.size(); ++j)
                    v += indexCoeff[d][j] * point[j];
                if (v < 0 || v >= buffer->shape[d])
                    return 0.0; // the zero halo
            }
        }
        return (*buffer->storage)[static_cast<std::size_t>(at)];
    }
};

CompiledAccess compileAccess(const Access& a, Buffer& b, const std::vector<std::string>& dims, bool padded) {
    CompiledAccess c;
    c.buffer = &b;
    c.base = b.offset;
    c.coeff.assign(dims.size(), 0);
    c.checkBounds = padded;
    for (std::size_t d = 0; d < a.indices.size(); ++d) {
        const AffineExpr& idx = a.indices[d];
        c.base += idx.constant * b.strides[d];
        std::vector<std::int64_t> perDim(dims.size(), 0);
        for (const auto& t : idx.terms) {
            auto j = static_cast<std::size_t>(std::find(dims.begin(), dims.end(), t.dim) - dims.begin());
            c.coeff[j] += t.coeff * b.strides[d];
            perDim[j] = t.coeff;
        }
        c.indexCoeff.push_back(std::move(perDim));
        c.indexConstant.push_back(idx.constant);
    }
    return c;
}

// An expression compiled to a tree over compiled accesses.
struct Node {
    Expr::Kind kind;
    Op op = Op::Add;
    ScalarType castType = ScalarType::f32;
    double constant = 0;
    int access = -1;
    std::vector<Node> args;
};

double apply(Op op, double a, double b) {
    switch (op) {
    case Op::Add: return a + b;
    case Op::Sub: return a - b;
    case Op::Mul: return a * b;
    case Op::Div: return a / b;
    case Op::Neg: return -a;
    case Op::Max: return std::max(a, b);
    case Op::Min: return std::min(a, b);
    case Op::Relu: return a > 0 ? a : 0.0;
    case Op::Sigmoid: return 1.0 / (1.0 + std::exp(-a));
    case Op::Tanh: return std::tanh(a);
    case Op::Exp: return std::exp(a);
    case Op::Cast: return a;
    }
    return a;
}

class StatementRunner {
public:
    StatementRunner(const Kernel& k, const Statement& s, Buffers& buffers) : k_(k), s_(s), buffers_(buffers) {
        // The statement iterates over the dimensions it uses, in declaration order (outermost first).
        std::set<std::string> used;
        collectDims(s.target, used);
        collectDims(s.value, used);
        for (const auto& d : k.dims)
            if (used.count(d.name)) {
                dims_.push_back(d.name);
                extents_.push_back(*evaluate(d.extent, k.paramValues()));
            }
        target_ = compileAccess(s.target, buffers.at(s.target.tensor), dims_, false);
        root_ = compile(s.value);
    }

    void run() {
        std::vector<std::int64_t> point;
        if (!firstPoint(extents_, point))
            return;
        startAtFirstPoint();
        do {
            const double v = eval(root_, point);
            accumulate(s_.update, slot(), v);
        } while (nextPoint(extents_, point, [this](std::size_t d, std::int64_t steps) { move(d, steps); }));
    }

    const std::vector<std::int64_t>& extents() const { return extents_; }

    // Runs statements over the same iteration space point by point together: each point of the
    // space visits every runner before the next. Runners of one statement pinned at different
    // outputs (valuesAt) then read their inputs side by side instead of each sweeping them whole.
    // (One runner alone takes run(): through the loop over runners the interpreter ran 20% slower.)
    static void runTogether(const std::vector<StatementRunner*>& runners) {
        const std::vector<std::int64_t>& extents = runners.front()->extents_;
        std::vector<std::int64_t> point;
        if (!firstPoint(extents, point))
            return;
        for (StatementRunner* r : runners)
            r->startAtFirstPoint();
        auto moveAll = [&runners](std::size_t d, std::int64_t steps) {
            for (StatementRunner* r : runners)
                r->move(d, steps);
        };
        do {
            for (StatementRunner* r : runners) {
                const double v = r->eval(r->root_, point);
                accumulate(r->s_.update, r->slot(), v);
            }
        } while (nextPoint(extents, point, moveAll));
    }

private:
    // The accesses' storage offsets follow the point as it steps, one addition per access and step,
    // rather than each computed again from every index at every point.
    void startAtFirstPoint() {
        targetAt_ = target_.base;
        at_.resize(accesses_.size());
        for (std::size_t a = 0; a < accesses_.size(); ++a)
            at_[a] = accesses_[a].base;
    }
    void move(std::size_t d, std::int64_t steps) {
        targetAt_ += target_.coeff[d] * steps;
        for (std::size_t a = 0; a < accesses_.size(); ++a)
            at_[a] += accesses_[a].coeff[d] * steps;
    }
    double& slot() { return (*target_.buffer->storage)[static_cast<std::size_t>(targetAt_)]; }

    // The iteration space's first point (all zeros); false when the space is empty.
    static bool firstPoint(const std::vector<std::int64_t>& extents, std::vector<std::int64_t>& point) {
        point.assign(extents.size(), 0);
        return std::all_of(extents.begin(), extents.end(), [](std::int64_t e) { return e > 0; });
    }
    // Steps `point` on in row-major order, telling `moved` each dimension that changed and by how
    // many steps; false after the last point.
    template <typename Moved>
    static bool nextPoint(const std::vector<std::int64_t>& extents, std::vector<std::int64_t>& point, Moved moved) {
        for (std::size_t d = point.size(); d-- > 0;) {
            if (++point[d] < extents[d]) {
                moved(d, 1);
                return true;
            }
            moved(d, -(extents[d] - 1));
            point[d] = 0;
        }
        return false;
    }

    static void collectDims(const Access& a, std::set<std::string>& out) {
        for (const auto& idx : a.indices)
            for (const auto& t : idx.terms)
                out.insert(t.dim);
    }
    static void collectDims(const Expr& e, std::set<std::string>& out) {
        if (e.kind == Expr::Kind::Access)
            collectDims(e.access, out);
        for (const auto& a : e.args)
            collectDims(a, out);
    }

    Node compile(const Expr& e) {
        Node n;
        n.kind = e.kind;
        n.op = e.op;
        n.castType = e.castType;
        n.constant = e.constant;
        if (e.kind == Expr::Kind::Access) {
            const TensorDecl* t = k_.findTensor(e.access.tensor);
            n.access = static_cast<int>(accesses_.size());
            accesses_.push_back(compileAccess(e.access, buffers_.at(e.access.tensor), dims_, !t->padding.empty()));
        }
        for (const auto& a : e.args)
            n.args.push_back(compile(a));
        return n;
    }

    double eval(const Node& n, const std::vector<std::int64_t>& point) const {
        switch (n.kind) {
        case Expr::Kind::Constant: return n.constant;
        case Expr::Kind::Access: {
            const auto a = static_cast<std::size_t>(n.access);
            return accesses_[a].read(point, at_[a]);
        }
        case Expr::Kind::Call: break;
        }
        double a = eval(n.args[0], point);
        if (n.op == Op::Cast)
            return roundToType(a, n.castType);
        double b = n.args.size() > 1 ? eval(n.args[1], point) : 0.0;
        return apply(n.op, a, b);
    }

    const Kernel& k_;
    const Statement& s_;
    Buffers& buffers_;
    std::vector<std::string> dims_;
    std::vector<std::int64_t> extents_;
    CompiledAccess target_;
    std::vector<CompiledAccess> accesses_;
    Node root_;
    std::int64_t targetAt_ = 0;     // the storage offsets of the current point (startAtFirstPoint, move)
    std::vector<std::int64_t> at_;
};

// Sets every element of `b` to `value`: an output's identity before a statement accumulates into it.
void fillBuffer(Buffer& b, double value) {
    std::vector<double>& values = *b.storage;
    b.forEachStored([&](std::int64_t at, std::int64_t) { values[static_cast<std::size_t>(at)] = value; });
}

void roundBuffer(Buffer& b) {
    std::vector<double>& values = *b.storage;
    b.forEachStored([&](std::int64_t at, std::int64_t) {
        double& v = values[static_cast<std::size_t>(at)];
        v = roundToType(v, b.type);
    });
}

std::string shapeText(const std::vector<std::int64_t>& s) {
    std::string out = "[";
    for (std::size_t i = 0; i < s.size(); ++i)
        out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
}

} // namespace

void fillRandom(Buffer& b, std::uint64_t seed) {
    const Random rng{seed};
    std::vector<double>& values = *b.storage;
    b.forEachStored([&](std::int64_t at, std::int64_t position) {
        const std::uint64_t bits = rng.nth(static_cast<std::uint64_t>(position));
        double v = 0;
        switch (b.type) {
        case ScalarType::f32:
        case ScalarType::f16:
        case ScalarType::bf16: v = roundToType(Random::uniform(bits) * 2.0 - 1.0, b.type); break;
        case ScalarType::i8: v = static_cast<double>(Random::between(bits, -128, 127)); break;
        case ScalarType::u8: v = static_cast<double>(Random::between(bits, 0, 255)); break;
        case ScalarType::i32: v = static_cast<double>(Random::between(bits, -1000, 1000)); break;
        }
        values[static_cast<std::size_t>(at)] = v;
    });
}

namespace {
Buffers randomBuffers(const std::vector<TensorDecl>& tensors, const ParamValues& params, std::uint64_t seed) {
    Buffers out;
    for (const auto& t : tensors) {
        if (t.role == TensorRole::Tmp)
            continue;
        auto b = allocate(t, params);
        if (!b)
            continue;
        if (t.role == TensorRole::In || t.role == TensorRole::InOut)
            fillRandom(*b, seed ^ hashName(t.name));
        out[t.name] = std::move(*b);
    }
    return out;
}
} // namespace

Buffers randomInputs(const Kernel& k, std::uint64_t seed) { return randomBuffers(k.tensors, k.paramValues(), seed); }
Buffers randomInputs(const Graph& g, std::uint64_t seed) { return randomBuffers(g.tensors, g.paramValues(), seed); }

namespace {
// The buffers a kernel runs on: the given ones (outputs allocated when absent, shapes checked) and its
// temporaries. Views share storage, so writes land in the caller's buffers.
std::optional<std::string> kernelBuffers(const Kernel& k, Buffers& buffers, Buffers& all) {
    const ParamValues params = k.paramValues();
    Buffers local; // the kernel's own temporaries
    for (const auto& t : k.tensors) {
        auto expected = shape(t, params);
        if (!expected)
            return "kernel '" + k.name + "': the shape of '" + t.name + "' does not evaluate";
        if (t.role == TensorRole::Tmp) {
            local[t.name] = *allocate(t, params);
            continue;
        }
        auto it = buffers.find(t.name);
        if (it == buffers.end()) {
            if (t.role == TensorRole::In || t.role == TensorRole::InOut)
                return "kernel '" + k.name + "': no values given for input '" + t.name + "'";
            buffers[t.name] = *allocate(t, params);
            continue;
        }
        if (it->second.shape != *expected)
            return "kernel '" + k.name + "': '" + t.name + "' should have shape " + shapeText(*expected) +
                   " but the values given have shape " + shapeText(it->second.shape);
    }
    all = buffers;
    for (auto& [name, b] : local)
        all[name] = b;
    return std::nullopt;
}

// Runs kernels that differ only in their access constants (one kernel pinned at several outputs),
// each on its own buffers, statement by statement, the statements' iteration points together.
std::optional<std::string> runTogether(const std::vector<const Kernel*>& kernels, const std::vector<Buffers*>& buffers) {
    std::vector<Buffers> all(kernels.size());
    for (std::size_t i = 0; i < kernels.size(); ++i)
        if (auto error = kernelBuffers(*kernels[i], *buffers[i], all[i]))
            return error;
    // Outputs start at the identity of the first statement that writes them; inouts keep their values.
    std::set<std::string> initialised;
    const Kernel& first = *kernels.front();
    for (std::size_t s = 0; s < first.statements.size(); ++s) {
        const TensorDecl* t = first.findTensor(first.statements[s].target.tensor);
        const bool initialise = t->role != TensorRole::InOut && initialised.insert(t->name).second;
        std::vector<StatementRunner> runners;
        runners.reserve(kernels.size());
        for (std::size_t i = 0; i < kernels.size(); ++i) {
            if (initialise)
                fillBuffer(all[i].at(t->name), identityOf(first.statements[s].update));
            runners.emplace_back(*kernels[i], kernels[i]->statements[s], all[i]);
        }
        std::vector<StatementRunner*> together;
        for (auto& r : runners) {
            if (r.extents() != runners.front().extents())
                return "kernel '" + first.name + "': the kernels run together iterate over different spaces";
            together.push_back(&r);
        }
        if (together.size() == 1)
            together.front()->run();
        else
            StatementRunner::runTogether(together);
        for (auto& a : all)
            roundBuffer(a.at(t->name));
    }
    return std::nullopt;
}
} // namespace

std::optional<std::string> run(const Kernel& k, Buffers& buffers) {
    return runTogether({&k}, {&buffers});
}

namespace {
// A kernel with only statement `s`, every tensor it may write already holding its values.
Kernel singleStatement(const Kernel& k, const Statement& s) {
    Kernel one = k;
    one.statements = {s};
    for (auto& t : one.tensors)
        if (t.role != TensorRole::In)
            t.role = TensorRole::InOut;
    return one;
}
} // namespace

std::optional<std::string> runReplacing(const Kernel& k, Buffers& buffers, int replaced,
                                        const std::function<std::optional<std::string>(Buffers&)>& replacement) {
    const ParamValues params = k.paramValues();
    for (const auto& t : k.tensors) {
        if (buffers.count(t.name))
            continue;
        if (t.role == TensorRole::In || t.role == TensorRole::InOut)
            return "no values given for input '" + t.name + "'";
        auto b = allocate(t, params);
        if (!b)
            return "the shape of '" + t.name + "' does not evaluate";
        buffers[t.name] = std::move(*b);
    }
    std::set<std::string> initialised;
    for (std::size_t s = 0; s < k.statements.size(); ++s) {
        const Statement& st = k.statements[s];
        const TensorDecl* target = k.findTensor(st.target.tensor);
        if (target->role != TensorRole::InOut && initialised.insert(target->name).second) {
            fillBuffer(buffers.at(target->name), identityOf(st.update));
        }
        if (static_cast<int>(s) != replaced) {
            if (auto error = run(singleStatement(k, st), buffers))
                return error;
            continue;
        }
        if (auto error = replacement(buffers))
            return error;
        Buffer& b = buffers.at(target->name);
        roundBuffer(b);
    }
    return std::nullopt;
}

namespace {
// The kernel with the output's dimensions fixed at `point`: every tensor a statement writes becomes
// one element (the last statement's named `scratch`), the tensors only read stay whole.
Kernel pinnedAt(const Kernel& k, const EpiloguePoint& at, const std::vector<std::int64_t>& point, const std::string& scratch) {
    Kernel one = k;
    std::map<std::string, std::int64_t> fixed;
    const auto& outputIndices = at.indices;
    for (std::size_t i = 0; i < outputIndices.size(); ++i) {
        // Terms by falling coefficient: each dimension's value is what the larger terms leave over.
        std::vector<AffineTerm> terms = outputIndices[i].terms;
        std::sort(terms.begin(), terms.end(), [](const AffineTerm& a, const AffineTerm& b) { return a.coeff > b.coeff; });
        std::int64_t rest = point[i] - outputIndices[i].constant;
        for (const auto& t : terms) {
            fixed[t.dim] = rest / t.coeff;
            rest %= t.coeff;
        }
    }
    std::set<std::string> written;
    for (const auto& s : k.statements)
        written.insert(s.target.tensor);
    const std::string last = k.statements.back().target.tensor;
    const Statement& first = k.statements.front();
    auto renamed = [&](const std::string& t) { return t == last ? scratch : t; };
    auto pinAccess = [&](Access& a) {
        if (written.count(a.tensor) && a.tensor == first.target.tensor && !at.across.empty()) {
            // The first output is computed along the dimensions the point drops: it keeps those indices.
            std::vector<AffineExpr> kept;
            for (std::size_t i : at.across)
                kept.push_back(a.indices[i]);
            a.indices = std::move(kept);
            return;
        }
        if (written.count(a.tensor)) {
            a.tensor = renamed(a.tensor);
            a.indices = {AffineExpr{}};
            return;
        }
        for (auto& idx : a.indices) {
            std::vector<AffineTerm> kept;
            for (const auto& t : idx.terms) {
                const auto it = fixed.find(t.dim);
                if (it == fixed.end())
                    kept.push_back(t);
                else
                    idx.constant += t.coeff * it->second;
            }
            idx.terms = std::move(kept);
        }
    };
    std::function<void(Expr&)> pin = [&](Expr& e) {
        if (e.kind == Expr::Kind::Access)
            pinAccess(e.access);
        for (auto& a : e.args)
            pin(a);
    };
    for (auto& s : one.statements) {
        pin(s.value);
        pinAccess(s.target);
    }
    // The whole outputs are not needed: one element each saves allocating them for every sampled point.
    for (auto& t : one.tensors)
        if (written.count(t.name)) {
            t.name = renamed(t.name);
            t.shape = {SizeExpr::constant(1)};
            if (t.name == first.target.tensor && !at.across.empty()) {
                t.shape.clear();
                for (const auto& dim : at.acrossDims)
                    t.shape.push_back(k.findDim(dim)->extent);
            }
            t.layout = Layout{};
            t.padding.clear();
            if (t.name == scratch)
                t.role = TensorRole::Out;
        }
    return one;
}
} // namespace

std::optional<std::string> valuesAt(const Kernel& k, const Buffers& inputs,
                                    const std::vector<std::vector<std::int64_t>>& points, std::vector<double>& values) {
    std::string why;
    const auto at = epiloguePoint(k, why);
    if (!at)
        return why;
    for (const auto& idx : at->indices)
        if (!isMixedRadix(k, idx))
            return "kernel '" + k.name + "' writes its output through an index expression that is not one "
                   "dimension or a mixed radix of them (`128*jb + ji`)";
    for (const auto& s : k.statements)
        if (k.findTensor(s.target.tensor)->role == TensorRole::InOut) {
            // An inout output starts from its own value: fold it in after the statement.
            return "kernel '" + k.name + "' accumulates into an inout tensor; sample it whole instead";
        }
    const std::string scratch = "__value";
    values.clear();
    // The points' reductions run side by side, a batch at a time: a 512 x 500000 GEMM's sampled
    // outputs each swept their row of A alone, a page apart from one element to the next.
    constexpr std::size_t kBatch = 512;
    for (std::size_t from = 0; from < points.size(); from += kBatch) {
        std::vector<Kernel> pinned;
        std::vector<Buffers> buffers;
        for (std::size_t p = from; p < std::min(points.size(), from + kBatch); ++p) {
            pinned.push_back(pinnedAt(k, *at, points[p], scratch));
            Buffers& b = buffers.emplace_back();
            for (const auto& t : k.tensors)
                if (t.role == TensorRole::In)
                    b[t.name] = inputs.at(t.name);
        }
        std::vector<const Kernel*> kernels;
        std::vector<Buffers*> views;
        for (std::size_t i = 0; i < pinned.size(); ++i) {
            kernels.push_back(&pinned[i]);
            views.push_back(&buffers[i]);
        }
        if (auto error = runTogether(kernels, views))
            return error;
        for (const auto& b : buffers)
            values.push_back(b.at(scratch).at({0}));
    }
    return std::nullopt;
}

std::optional<std::string> run(const Graph& g, const Module& module, Buffers& buffers) {
    const ParamValues params = g.paramValues();
    for (const auto& t : g.tensors) {
        if (buffers.count(t.name))
            continue;
        if (t.role == TensorRole::In)
            return "graph '" + g.name + "': no values given for input '" + t.name + "'";
        auto b = allocate(t, params);
        if (!b)
            return "graph '" + g.name + "': the shape of '" + t.name + "' does not evaluate";
        buffers[t.name] = std::move(*b);
    }
    for (const auto& n : g.nodes) {
        auto instance = nodeKernel(module, g, n);
        if (!instance)
            return "graph '" + g.name + "': node '" + n.name + "' calls unknown kernel '" + n.kernel + "'";
        Buffers views;
        for (const auto& b : n.bindings)
            views[b.kernelTensor] = sliceOf(buffers.at(b.graphTensor), b.fixedIndices);
        if (auto error = run(*instance, views))
            return "node '" + n.name + "': " + *error;
    }
    return std::nullopt;
}

Buffer sliceOf(const Buffer& whole, const std::vector<std::int64_t>& fixedIndices) {
    Buffer view = whole;
    const std::size_t fixed = fixedIndices.size();
    for (std::size_t i = 0; i < fixed; ++i)
        view.offset += fixedIndices[i] * whole.strides[i];
    view.shape.assign(whole.shape.begin() + static_cast<long>(fixed), whole.shape.end());
    view.strides.assign(whole.strides.begin() + static_cast<long>(fixed), whole.strides.end());
    return view;
}

Checksum checksum(const Buffer& b) {
    Checksum c;
    std::int64_t i = 0;
    b.forEach([&](const std::vector<std::int64_t>& idx) {
        double v = b.at(idx);
        c.sum += v;
        c.weighted += v * static_cast<double>(1 + (i % 7));
        ++i;
    });
    return c;
}

std::optional<Difference> compare(const Buffer& a, const Buffer& b) {
    if (a.shape != b.shape)
        return std::nullopt;
    Difference d;
    a.forEach([&](const std::vector<std::int64_t>& idx) {
        double diff = std::fabs(a.at(idx) - b.at(idx));
        if (diff > d.largest || (std::isnan(diff) && !std::isnan(d.largest))) {
            d.largest = diff;
            d.index = idx;
        }
    });
    return d;
}

} // namespace isamap::interp
