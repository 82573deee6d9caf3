#include "interp/interpreter.h"

#include "support/integers.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include <sys/mman.h>

namespace isamap::interp {

using namespace ir;

namespace {
// Arrays from 8 MB up are worth their own huge pages; below, the heap's pages are shared and warm.
constexpr std::size_t kLargePage = std::size_t{2} << 20;
constexpr std::size_t kLargeArray = 4 * kLargePage;
} // namespace

void* allocateValues(std::size_t bytes) {
    if (bytes < kLargeArray)
        return ::operator new(bytes);
    void* p = ::operator new(bytes, std::align_val_t{kLargePage});
    madvise(p, bytes, MADV_HUGEPAGE); // a request: without transparent huge pages, 4 KB pages as before
    return p;
}

void freeValues(void* p, std::size_t bytes) {
    if (bytes < kLargeArray)
        ::operator delete(p);
    else
        ::operator delete(p, std::align_val_t{kLargePage});
}

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
    b.storage = std::make_shared<Values>(static_cast<std::size_t>(std::max<std::int64_t>(1, span)), 0.0);
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
    double* values = nullptr; // the buffer's storage, which no run resizes
    std::int64_t base = 0;
    std::vector<std::int64_t> coeff;
    // For padded inputs: per tensor dimension, the index's coefficients and constant, to test bounds.
    bool checkBounds = false;
    std::vector<std::vector<std::int64_t>> indexCoeff;
    std::vector<std::int64_t> indexConstant;

    // The value at storage offset `at`, whose tensor indices are `index`: zero in a padded input's halo.
    double readChecked(const std::vector<std::int64_t>& index, std::int64_t at) const {
        for (std::size_t d = 0; d < index.size(); ++d)
            if (index[d] < 0 || index[d] >= buffer->shape[d])
                return 0.0;
        return values[at];
    }
};

CompiledAccess compileAccess(const Access& a, Buffer& b, const std::vector<std::string>& dims, bool padded) {
    CompiledAccess c;
    c.buffer = &b;
    c.values = b.storage->data();
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

// One step of an expression compiled for a small stack: a value pushed, or an operator applied to the
// values on top. The steps list each operand before its operator, in the order the tree evaluates
// them, so that a point costs one pass over an array instead of a walk down a tree.
struct Step {
    enum class Kind : std::uint8_t { Constant, Read, ReadChecked, Apply, Round };
    Kind kind = Kind::Constant;
    Op op = Op::Add;
    bool binary = false;                // Apply: two operands; one (and 0 as the second) otherwise
    ScalarType type = ScalarType::f32;  // Round: the type rounded to
    int access = -1;                    // Read, ReadChecked
    double constant = 0;                // Constant
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

// Runs one statement over its iteration space in row-major order, the innermost dimension as a row:
// the accesses' storage offsets are set at each row's start and stepped along it, one addition per
// access and point.
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
        if (dims_.empty()) { // one pinned element: a single point, as one unnamed dimension of extent 1
            dims_.emplace_back();
            extents_.push_back(1);
        }
        target_ = compileAccess(s.target, buffers.at(s.target.tensor), dims_, false);
        compile(s.value, 0);
        stack_.resize(stackDepth_);
        const std::size_t inner = dims_.size() - 1;
        for (const auto& a : accesses_) {
            innerStep_.push_back(a.coeff[inner]);
            std::vector<std::int64_t> indexSteps;
            if (a.checkBounds)
                for (const auto& perDim : a.indexCoeff)
                    indexSteps.push_back(perDim[inner]);
            innerIndexStep_.push_back(std::move(indexSteps));
        }
        auto isRead = [](const Step& step) { return step.kind == Step::Kind::Read || step.kind == Step::Kind::ReadChecked; };
        sumsProducts_ = s.update == Update::Sum && program_.size() == 3 && isRead(program_[0]) &&
                        isRead(program_[1]) && program_[2].kind == Step::Kind::Apply &&
                        program_[2].op == Op::Mul && accesses_[0].values != target_.values &&
                        accesses_[1].values != target_.values;
    }

    const std::vector<std::int64_t>& extents() const { return extents_; }

    // Runs statements over the same iteration space together: each row is cut into spans and every
    // runner takes a span before the next span begins. Runners of one statement pinned at different
    // outputs (valuesAt) then read the same stretch of their inputs while it is in cache, instead of
    // each sweeping them whole (a 512 x 500000 GEMM's samples, a page apart from one element to the
    // next). Each runner still visits its points in order, so its sums are the same, bit for bit.
    static void runTogether(const std::vector<StatementRunner*>& runners) {
        const std::vector<std::int64_t>& extents = runners.front()->extents_;
        std::vector<std::int64_t> point;
        if (!firstPoint(extents, point))
            return;
        for (StatementRunner* r : runners)
            r->startAtFirstRow();
        auto moveAll = [&runners](std::size_t d, std::int64_t steps) {
            for (StatementRunner* r : runners)
                r->moveRow(d, steps);
        };
        const std::int64_t length = extents.back();
        const std::int64_t span = runners.size() == 1 ? length : 64;
        do {
            for (std::int64_t from = 0; from < length; from += span)
                for (StatementRunner* r : runners)
                    r->runSpan(from, std::min(length, from + span));
        } while (nextRow(extents, point, moveAll));
    }

private:
    void startAtFirstRow() {
        rowTargetAt_ = target_.base;
        rowAt_.resize(accesses_.size());
        for (std::size_t a = 0; a < accesses_.size(); ++a)
            rowAt_[a] = accesses_[a].base;
        at_.resize(accesses_.size());
        rowIndex_.assign(accesses_.size(), {});
        for (std::size_t a = 0; a < accesses_.size(); ++a)
            if (accesses_[a].checkBounds)
                rowIndex_[a] = accesses_[a].indexConstant;
        index_ = rowIndex_;
    }
    void moveRow(std::size_t d, std::int64_t steps) {
        rowTargetAt_ += target_.coeff[d] * steps;
        for (std::size_t a = 0; a < accesses_.size(); ++a) {
            rowAt_[a] += accesses_[a].coeff[d] * steps;
            std::vector<std::int64_t>& index = rowIndex_[a];
            for (std::size_t t = 0; t < index.size(); ++t)
                index[t] += accesses_[a].indexCoeff[t][d] * steps;
        }
    }

    // The current row's points from `from` to `to` (exclusive), in order.
    void runSpan(std::int64_t from, std::int64_t to) {
        if (sumsProducts_) {
            if (accesses_[0].checkBounds || accesses_[1].checkBounds)
                sumProducts<true>(from, to);
            else
                sumProducts<false>(from, to);
            return;
        }
        const std::size_t inner = extents_.size() - 1;
        const std::int64_t targetStep = target_.coeff[inner];
        std::int64_t targetAt = rowTargetAt_ + from * targetStep;
        for (std::size_t a = 0; a < accesses_.size(); ++a) {
            at_[a] = rowAt_[a] + from * innerStep_[a];
            for (std::size_t t = 0; t < index_[a].size(); ++t)
                index_[a][t] = rowIndex_[a][t] + from * innerIndexStep_[a][t];
        }
        for (std::int64_t i = from; i < to; ++i) {
            accumulate(s_.update, target_.values[targetAt], value());
            targetAt += targetStep;
            for (std::size_t a = 0; a < accesses_.size(); ++a) {
                at_[a] += innerStep_[a];
                for (std::size_t t = 0; t < index_[a].size(); ++t)
                    index_[a][t] += innerIndexStep_[a][t];
            }
        }
    }

    // `out += a * b`, the commonest statement (every product and convolution), with its row written
    // out: the same additions in the same order as runSpan's loop, the sum kept in a register when
    // the output stays put along the row. A padded input's halo reads as 0.0 and is still multiplied
    // and added, as there, so that signed zeros and non-finite values come out the same.
    template <bool padded>
    void sumProducts(std::int64_t from, std::int64_t to) const {
        const std::size_t inner = extents_.size() - 1;
        const std::int64_t stepA = innerStep_[0], stepB = innerStep_[1], stepOut = target_.coeff[inner];
        const double* a = accesses_[0].values;
        const double* b = accesses_[1].values;
        double* out = target_.values;
        std::int64_t atA = rowAt_[0] + from * stepA, atB = rowAt_[1] + from * stepB;
        std::int64_t atOut = rowTargetAt_ + from * stepOut;
        std::int64_t firstA = from, endA = to, firstB = from, endB = to; // where each read is inside
        if constexpr (padded) {
            insideSpan(0, firstA, endA);
            insideSpan(1, firstB, endB);
        }
        auto product = [&](std::int64_t i) {
            if constexpr (padded) {
                const double x = i >= firstA && i < endA ? a[atA] : 0.0;
                const double y = i >= firstB && i < endB ? b[atB] : 0.0;
                return x * y;
            }
            return a[atA] * b[atB];
        };
        if (stepOut == 0) {
            double sum = out[atOut];
            for (std::int64_t i = from; i < to; ++i, atA += stepA, atB += stepB)
                sum += product(i);
            out[atOut] = sum;
            return;
        }
        for (std::int64_t i = from; i < to; ++i, atA += stepA, atB += stepB, atOut += stepOut)
            out[atOut] += product(i);
    }

    // Narrows [first, end) of the current row to where access `a`'s tensor indices are all in bounds.
    void insideSpan(std::size_t a, std::int64_t& first, std::int64_t& end) const {
        const CompiledAccess& access = accesses_[a];
        if (!access.checkBounds)
            return;
        for (std::size_t t = 0; t < rowIndex_[a].size(); ++t) {
            // index = start + step * i must lie in [0, size).
            const std::int64_t start = rowIndex_[a][t], step = innerIndexStep_[a][t], size = access.buffer->shape[t];
            if (step == 0) {
                if (start < 0 || start >= size)
                    end = first;
                continue;
            }
            const std::int64_t lowest = step > 0 ? ceilDiv(-start, step) : ceilDiv(start - size + 1, -step);
            const std::int64_t beyond = step > 0 ? ceilDiv(size - start, step) : floorDiv(start, -step) + 1;
            first = std::max(first, lowest);
            end = std::min(end, beyond);
        }
    }
    double value() {
        double* stack = stack_.data();
        std::size_t top = 0;
        for (const Step& s : program_) {
            switch (s.kind) {
            case Step::Kind::Constant: stack[top++] = s.constant; break;
            case Step::Kind::Read: {
                const auto a = static_cast<std::size_t>(s.access);
                stack[top++] = accesses_[a].values[at_[a]];
                break;
            }
            case Step::Kind::ReadChecked: {
                const auto a = static_cast<std::size_t>(s.access);
                stack[top++] = accesses_[a].readChecked(index_[a], at_[a]);
                break;
            }
            case Step::Kind::Round: stack[top - 1] = roundToType(stack[top - 1], s.type); break;
            case Step::Kind::Apply:
                if (s.binary) {
                    --top;
                    stack[top - 1] = apply(s.op, stack[top - 1], stack[top]);
                } else {
                    stack[top - 1] = apply(s.op, stack[top - 1], 0.0);
                }
                break;
            }
        }
        return stack[0];
    }

    // The iteration space's first point (all zeros); false when the space is empty.
    static bool firstPoint(const std::vector<std::int64_t>& extents, std::vector<std::int64_t>& point) {
        point.assign(extents.size(), 0);
        return std::all_of(extents.begin(), extents.end(), [](std::int64_t e) { return e > 0; });
    }
    // Steps `point` to the start of the next row in row-major order, telling `moved` each outer
    // dimension that changed and by how many steps; false after the last row.
    template <typename Moved>
    static bool nextRow(const std::vector<std::int64_t>& extents, std::vector<std::int64_t>& point, Moved moved) {
        for (std::size_t d = point.size() - 1; d-- > 0;) {
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

    // Appends the steps of `e`, whose value lands `depth` values deep on the stack.
    void compile(const Expr& e, std::size_t depth) {
        stackDepth_ = std::max(stackDepth_, depth + 1);
        Step step;
        switch (e.kind) {
        case Expr::Kind::Constant:
            step.constant = e.constant;
            program_.push_back(step);
            return;
        case Expr::Kind::Access: {
            const TensorDecl* t = k_.findTensor(e.access.tensor);
            const bool padded = !t->padding.empty();
            step.kind = padded ? Step::Kind::ReadChecked : Step::Kind::Read;
            step.access = static_cast<int>(accesses_.size());
            accesses_.push_back(compileAccess(e.access, buffers_.at(e.access.tensor), dims_, padded));
            program_.push_back(step);
            return;
        }
        case Expr::Kind::Call: break;
        }
        compile(e.args[0], depth);
        if (e.op == Op::Cast) {
            step.kind = Step::Kind::Round;
            step.type = e.castType;
        } else {
            step.kind = Step::Kind::Apply;
            step.op = e.op;
            step.binary = e.args.size() > 1;
            if (step.binary)
                compile(e.args[1], depth + 1);
        }
        program_.push_back(step);
    }

    const Kernel& k_;
    const Statement& s_;
    Buffers& buffers_;
    std::vector<std::string> dims_;
    std::vector<std::int64_t> extents_;
    CompiledAccess target_;
    std::vector<CompiledAccess> accesses_;
    std::vector<std::int64_t> innerStep_; // each access's offset step along the innermost dimension
    std::vector<Step> program_;
    std::size_t stackDepth_ = 0;
    std::vector<double> stack_;
    bool sumsProducts_ = false;           // the statement is `out += a * b` (sumProducts)
    std::int64_t rowTargetAt_ = 0;        // the storage offsets at the current row's start
    std::vector<std::int64_t> rowAt_;
    std::vector<std::int64_t> at_;        // the storage offsets at runSpan's current point
    // A padded input's tensor indices, followed as its offsets are, to tell its halo: at the row's
    // start, at the current point, and the step along the row (all empty for other accesses).
    std::vector<std::vector<std::int64_t>> rowIndex_, index_, innerIndexStep_;
};

// Sets every element of `b` to `value`: an output's identity before a statement accumulates into it.
void fillBuffer(Buffer& b, double value) {
    Values& values = *b.storage;
    b.forEachStored([&](std::int64_t at, std::int64_t) { values[static_cast<std::size_t>(at)] = value; });
}

void roundBuffer(Buffer& b) {
    Values& values = *b.storage;
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
    Values& values = *b.storage;
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
