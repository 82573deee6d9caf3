#include "sim/functional.h"

#include "interp/interpreter.h"
#include "ir/types.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>

namespace isamap::sim {

using namespace ir;

namespace {

// One affine index: constant + sum of coefficient * variable.
struct IndexRow {
    std::int64_t constant = 0;
    std::vector<std::pair<std::size_t, std::int64_t>> terms; // (variable, coefficient)
    std::int64_t at(const std::vector<std::int64_t>& point) const {
        std::int64_t v = constant;
        for (const auto& [var, c] : terms)
            v += c * point[var];
        return v;
    }
};

std::vector<IndexRow> rowsOf(const Access& a, const std::map<std::string, std::size_t>& variables) {
    std::vector<IndexRow> rows;
    for (const auto& e : a.indices) {
        IndexRow row;
        row.constant = e.constant;
        for (const auto& t : e.terms)
            row.terms.emplace_back(variables.at(t.dim), t.coeff);
        rows.push_back(std::move(row));
    }
    return rows;
}

// Advances a counter within [lo, hi) per index, last index fastest; false once it wraps.
bool advance(std::vector<std::int64_t>& index, const std::vector<std::int64_t>& lo, const std::vector<std::int64_t>& hi) {
    for (std::size_t d = index.size(); d-- > 0;) {
        if (++index[d] < hi[d])
            return true;
        index[d] = lo[d];
    }
    return false;
}

// A level's copy of one operand tile: a box of the kernel tensor's index space, clamped to its shape.
struct Copy {
    std::vector<std::int64_t> lo, hi;
    std::vector<double> values;
    std::vector<bool> dirty; // written here since the copy was made: what a write-back carries up

    bool empty() const {
        for (std::size_t d = 0; d < lo.size(); ++d)
            if (lo[d] >= hi[d])
                return true;
        return false;
    }
    bool contains(const std::vector<std::int64_t>& index) const {
        for (std::size_t d = 0; d < index.size(); ++d)
            if (index[d] < lo[d] || index[d] >= hi[d])
                return false;
        return true;
    }
    std::size_t offsetOf(const std::vector<std::int64_t>& index) const {
        std::int64_t offset = 0;
        for (std::size_t d = 0; d < index.size(); ++d)
            offset = offset * (hi[d] - lo[d]) + (index[d] - lo[d]);
        return static_cast<std::size_t>(offset);
    }
    void allocate() {
        std::int64_t n = 1;
        for (std::size_t d = 0; d < lo.size(); ++d)
            n *= std::max<std::int64_t>(0, hi[d] - lo[d]);
        values.assign(static_cast<std::size_t>(n), 0.0);
        dirty.assign(static_cast<std::size_t>(n), false);
    }
    template <typename F>
    void forEach(F f) const {
        if (empty())
            return;
        std::vector<std::int64_t> index = lo;
        do
            f(index);
        while (advance(index, lo, hi));
    }
};


Instruction withoutIdleLanes(const Instruction& ins, const mapping::Candidate& c) {
    Instruction cut = ins;
    for (std::size_t e = 0; e < cut.body.dims.size() && e < c.dims.size(); ++e)
        if (c.dims[e].kernelDims.empty())
            cut.body.dims[e].extent = SizeExpr::constant(1);
    return cut;
}

interp::Buffers deepCopy(const interp::Buffers& buffers) {
    interp::Buffers out;
    for (const auto& [name, b] : buffers) {
        interp::Buffer c = b;
        c.storage = std::make_shared<interp::Values>(*b.storage);
        out[name] = c;
    }
    return out;
}

class MappedRun {
public:
    MappedRun(const Kernel& k, const Instruction& ins, const mapping::Candidate& c, const schedule::Space& space,
              const schedule::Schedule& s, const LoopNest& nest, std::chrono::steady_clock::time_point deadline)
        : k_(k), ins_(withoutIdleLanes(ins, c)), c_(c), space_(space), s_(s), nest_(nest), deadline_(deadline),
          kernelStatement_(k.statements[static_cast<std::size_t>(c.statement)]),
          instructionStatement_(ins_.body.statements.front()) {}

    std::optional<std::string> run(interp::Buffers& buffers) {
        if (auto why = prepare(buffers))
            return why;
        const auto byWorker = nest_.outerByWorker();
        for (const auto& iterations : byWorker) {
            Residency residency(space_, s_);
            std::vector<std::vector<Copy>> copies(nest_.levels(), std::vector<Copy>(space_.operands.size()));
            auto fetch = [&](std::size_t o, std::size_t l) {
                fetchInto(copies, residency, o, l);
            };
            auto writeBack = [&](std::size_t o, std::size_t l) {
                writeBackFrom(copies, residency, o, l);
            };
            std::function<void(std::size_t, const Ranges&)> walk = [&](std::size_t l, const Ranges& tile) {
                if (!error_.empty())
                    return;
                if (l + 1 == nest_.levels()) {
                    nest_.forEachCall(tile, [&](const std::vector<std::int64_t>& position) {
                        if (error_.empty())
                            runCall(copies, residency, position);
                    });
                    return;
                }
                nest_.forEachChild(l, tile, [&](const Ranges& child) {
                    residency.enter(l + 1, child, fetch, writeBack);
                    walk(l + 1, child);
                });
            };
            for (std::int64_t index : iterations) {
                const Ranges tile = nest_.outerTile(index);
                if (nest_.levels() < 2) {
                    walk(0, tile);
                    continue;
                }
                residency.enter(1, tile, fetch, writeBack);
                walk(1, tile);
            }
            residency.flush(writeBack);
            if (!error_.empty())
                return error_;
        }
        // Level 0 is the kernel's memory: its copies go back into the tensors.
        for (std::size_t o = 0; o < space_.operands.size(); ++o)
            if (space_.operands[o].output) {
                interp::Buffer& b = buffers.at(space_.operands[o].tensor);
                level0_[o].forEach([&](const std::vector<std::int64_t>& index) {
                    b.at(index) = level0_[o].values[level0_[o].offsetOf(index)];
                });
            }
        return std::nullopt;
    }

private:
    std::optional<std::string> prepare(const interp::Buffers& buffers) {
        for (std::size_t i = 0; i < space_.kernelDims.size(); ++i)
            kernelDimIndex_[space_.kernelDims[i].name] = i;
        std::map<std::string, std::size_t> instructionDims;
        for (std::size_t e = 0; e < ins_.body.dims.size(); ++e) {
            instructionDims[ins_.body.dims[e].name] = e;
            instructionExtents_.push_back(*evaluate(ins_.body.dims[e].extent, {}));
        }
        for (const auto& t : ins_.body.tensors)
            operandBuffers_[t.name] = *interp::allocate(t, {});
        for (std::size_t o = 0; o < space_.operands.size(); ++o) {
            const auto& op = space_.operands[o];
            const Access* ka = findAccess(kernelStatement_, op.tensor);
            const Access* ia = findAccess(instructionStatement_, op.instructionOperand);
            if (!ka || !ia)
                return "operand " + op.tensor + " is not read by the statement as the candidate says";
            kernelRows_.push_back(rowsOf(*ka, kernelDimIndex_));
            instructionRows_.push_back(rowsOf(*ia, instructionDims));
            const interp::Buffer& b = buffers.at(op.tensor);
            shapes_.push_back(b.shape);
            halo_.push_back(!k_.findTensor(op.tensor)->padding.empty());
            Copy whole;
            whole.lo.assign(b.shape.size(), 0);
            whole.hi = b.shape;
            whole.allocate();
            whole.forEach([&](const std::vector<std::int64_t>& index) { whole.values[whole.offsetOf(index)] = b.at(index); });
            level0_.push_back(std::move(whole));
        }
        // Each loop dimension's kernel elements: the fused extent its kernel dimensions make together.
        loopElements_.assign(space_.dims.size(), 1);
        for (const auto& kd : space_.kernelDims)
            loopElements_[static_cast<std::size_t>(kd.loopDim)] *= kd.extent;
        const TensorDecl* out = ins_.body.findTensor(instructionStatement_.target.tensor);
        outputAccumulates_ = out->role == TensorRole::Out && instructionStatement_.update != Update::Assign;
        return std::nullopt;
    }

    // The kernel elements a tile covers per kernel dimension; a fused loop fills its innermost first.
    std::vector<Range> kernelRanges(const Ranges& tile) const {
        std::vector<Range> out;
        for (const auto& kd : space_.kernelDims) {
            const auto d = static_cast<std::size_t>(kd.loopDim);
            const std::int64_t perStep = space_.dims[d].elementsPerStep;
            const std::int64_t first = tile[d].lo * perStep;
            const std::int64_t last = std::min(tile[d].hi * perStep, loopElements_[d]) - 1;
            const std::int64_t q0 = first / kd.innerProduct, q1 = last / kd.innerProduct;
            if (q1 - q0 + 1 >= kd.extent || q0 % kd.extent > q1 % kd.extent)
                out.push_back({0, kd.extent});
            else
                out.push_back({q0 % kd.extent, q1 % kd.extent + 1});
        }
        return out;
    }

    // The box of operand `o` a tile needs: each index's range over the tile's kernel elements.
    Copy boxOf(std::size_t o, const Ranges& tile) const {
        const auto ranges = kernelRanges(tile);
        Copy box;
        for (std::size_t i = 0; i < kernelRows_[o].size(); ++i) {
            const IndexRow& row = kernelRows_[o][i];
            std::int64_t lo = row.constant, hi = row.constant;
            for (const auto& [k, c] : row.terms) {
                lo += c > 0 ? c * ranges[k].lo : c * (ranges[k].hi - 1);
                hi += c > 0 ? c * (ranges[k].hi - 1) : c * ranges[k].lo;
            }
            box.lo.push_back(std::max<std::int64_t>(0, lo));
            box.hi.push_back(std::min(shapes_[o][i], hi + 1));
        }
        box.allocate();
        return box;
    }

    const Copy& copyAt(const std::vector<std::vector<Copy>>& copies, std::size_t o, std::size_t l) const {
        return l == 0 ? level0_[o] : copies[l][o];
    }
    Copy& copyAt(std::vector<std::vector<Copy>>& copies, std::size_t o, std::size_t l) {
        return l == 0 ? level0_[o] : copies[l][o];
    }

    void fetchInto(std::vector<std::vector<Copy>>& copies, const Residency& residency, std::size_t o, std::size_t l) {
        const Copy& source = copyAt(copies, o, residency.sourceOf(o, l));
        Copy tile = boxOf(o, residency.tileOf(o, l));
        tile.forEach([&](const std::vector<std::int64_t>& index) {
            if (!source.contains(index)) {
                error_ = "simulator fault: " + space_.operands[o].tensor + "'s tile at " + space_.levels[l].memory +
                         " reaches outside the copy it is fetched from";
                return;
            }
            tile.values[tile.offsetOf(index)] = source.values[source.offsetOf(index)];
        });
        copies[l][o] = std::move(tile);
    }

    void writeBackFrom(std::vector<std::vector<Copy>>& copies, const Residency& residency, std::size_t o, std::size_t l) {
        const Copy& tile = copies[l][o];
        Copy& target = copyAt(copies, o, residency.sourceOf(o, l));
        tile.forEach([&](const std::vector<std::int64_t>& index) {
            const std::size_t at = tile.offsetOf(index);
            if (!tile.dirty[at])
                return;
            if (!target.contains(index)) {
                error_ = "simulator fault: " + space_.operands[o].tensor + "'s tile at " + space_.levels[l].memory +
                         " writes back outside the copy above it";
                return;
            }
            target.values[target.offsetOf(index)] = tile.values[at];
            target.dirty[target.offsetOf(index)] = true;
        });
    }

    // One instruction call at `position` (per loop dimension): gather, run, scatter.
    void runCall(std::vector<std::vector<Copy>>& copies, const Residency& residency,
                 const std::vector<std::int64_t>& position) {
        if ((++calls_ & 63) == 0 && std::chrono::steady_clock::now() > deadline_) {
            error_ = "the functional run went past the host-time budget (SimOptions::maxSeconds) after " +
                     std::to_string(calls_) + " instruction calls";
            return;
        }
        for (auto& [name, b] : operandBuffers_)
            std::fill(b.storage->begin(), b.storage->end(), 0.0);
        std::vector<std::int64_t> tileOf(instructionExtents_.size(), 0);
        std::vector<std::int64_t> kernelPoint(space_.kernelDims.size(), 0);
        for (std::size_t d = 0; d < space_.dims.size(); ++d) {
            if (space_.dims[d].instructionDim >= 0)
                tileOf[static_cast<std::size_t>(space_.dims[d].instructionDim)] = position[d];
            else
                kernelPoint[kernelDimIndex_.at(space_.dims[d].name)] = position[d];
        }
        // Only the instruction points that reach the kernel are gathered; the rest stays zero, the
        // padding the instruction runs over.
        std::vector<std::int64_t> reach(instructionExtents_.size(), 1);
        for (std::size_t e = 0; e < c_.dims.size(); ++e)
            if (!c_.dims[e].kernelDims.empty())
                reach[e] = std::min(instructionExtents_[e], c_.dims[e].kernelExtent - tileOf[e] * c_.dims[e].instructionExtent);
        std::vector<std::pair<std::size_t, std::vector<std::int64_t>>> outputSlots;
        std::vector<std::int64_t> j(instructionExtents_.size(), 0);
        const std::vector<std::int64_t> zero(j.size(), 0);
        std::vector<std::int64_t> operandIndex, tensorIndex;
        do {
            for (std::size_t e = 0; e < c_.dims.size(); ++e) {
                const auto& b = c_.dims[e];
                std::int64_t f = tileOf[e] * b.instructionExtent + j[e];
                for (std::size_t i = b.kernelDims.size(); i-- > 0;) {
                    const std::size_t k = kernelDimIndex_.at(b.kernelDims[i]);
                    kernelPoint[k] = f % space_.kernelDims[k].extent;
                    f /= space_.kernelDims[k].extent;
                }
            }
            for (std::size_t o = 0; o < space_.operands.size(); ++o) {
                const auto& op = space_.operands[o];
                interp::Buffer& operand = operandBuffers_.at(op.instructionOperand);
                operandIndex.clear();
                for (const auto& row : instructionRows_[o])
                    operandIndex.push_back(row.at(j));
                tensorIndex.clear();
                bool inside = true;
                for (std::size_t i = 0; i < kernelRows_[o].size(); ++i) {
                    tensorIndex.push_back(kernelRows_[o][i].at(kernelPoint));
                    inside = inside && tensorIndex.back() >= 0 && tensorIndex.back() < shapes_[o][i];
                }
                const Copy& from = copyAt(copies, o, residency.innermostOf(o));
                double value = 0;
                if (inside) {
                    if (!from.contains(tensorIndex)) {
                        error_ = "simulator fault: a call reads " + op.tensor + " outside its tile at " +
                                 space_.levels[residency.innermostOf(o)].memory;
                        return;
                    }
                    value = from.values[from.offsetOf(tensorIndex)];
                } else if (!halo_[o]) {
                    error_ = "the schedule reads " + op.tensor + " out of bounds";
                    return;
                }
                if (op.output && outputAccumulates_)
                    value = interp::identityOf(instructionStatement_.update);
                const std::size_t slot = static_cast<std::size_t>(operand.offsetOf(operandIndex));
                (*operand.storage)[slot] = value;
                if (op.output)
                    outputSlots.emplace_back(slot, tensorIndex);
            }
        } while (advance(j, zero, reach));

        if (auto why = interp::run(ins_.body, operandBuffers_)) {
            error_ = "running " + ins_.name + ": " + *why;
            return;
        }
        for (std::size_t o = 0; o < space_.operands.size(); ++o) {
            if (!space_.operands[o].output)
                continue;
            const interp::Buffer& result = operandBuffers_.at(space_.operands[o].instructionOperand);
            Copy& to = copyAt(copies, o, residency.innermostOf(o));
            for (const auto& [slot, index] : outputSlots) {
                const double v = (*result.storage)[slot];
                const std::size_t at = to.offsetOf(index);
                interp::accumulate(outputAccumulates_ ? instructionStatement_.update : Update::Assign, to.values[at], v);
                to.dirty[at] = true;
            }
        }
    }

    const Kernel& k_;
    const Instruction ins_;
    const mapping::Candidate& c_;
    const schedule::Space& space_;
    const schedule::Schedule& s_;
    const LoopNest& nest_;
    std::chrono::steady_clock::time_point deadline_;
    const Statement& kernelStatement_;
    const Statement& instructionStatement_;
    std::map<std::string, std::size_t> kernelDimIndex_;
    std::vector<std::int64_t> instructionExtents_;
    std::vector<std::int64_t> loopElements_;
    interp::Buffers operandBuffers_;
    std::vector<std::vector<IndexRow>> kernelRows_, instructionRows_;
    std::vector<std::vector<std::int64_t>> shapes_;
    std::vector<bool> halo_;
    std::vector<Copy> level0_;
    bool outputAccumulates_ = false;
    std::int64_t calls_ = 0;
    std::string error_;
};

// Runs the kernel with the mapped statement going through the simulated machine.
std::optional<std::string> runSimulated(const Kernel& kernel, MappedRun& mapped, int statement, interp::Buffers& buffers) {
    return interp::runReplacing(kernel, buffers, statement, [&](interp::Buffers& b) { return mapped.run(b); });
}

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}

} // namespace

std::optional<FunctionalOutcome> runFunctional(const Kernel& kernel, const Instruction& instruction,
                                               const mapping::Candidate& candidate, const schedule::Space& space,
                                               const schedule::Schedule& s, const LoopNest& nest, std::uint64_t seed,
                                               std::chrono::steady_clock::time_point deadline, std::string& error) {
    interp::Buffers reference = interp::randomInputs(kernel, seed);
    interp::Buffers simulated = deepCopy(reference);
    if (auto why = interp::run(kernel, reference)) {
        error = "the reference interpreter failed: " + *why;
        return std::nullopt;
    }
    MappedRun mapped(kernel, instruction, candidate, space, s, nest, deadline);
    if (auto why = runSimulated(kernel, mapped, candidate.statement, simulated)) {
        error = "the functional run failed: " + *why;
        return std::nullopt;
    }
    FunctionalOutcome outcome;
    std::string compared;
    for (const auto& t : kernel.tensors) {
        if (t.role == TensorRole::In)
            continue;
        const interp::Buffer& want = reference.at(t.name);
        const interp::Buffer& got = simulated.at(t.name);
        const bool exact = !isFloat(t.type);
        std::vector<std::int64_t> worst;
        double worstExcess = 0;
        want.forEach([&](const std::vector<std::int64_t>& index) {
            const double w = want.at(index), g = got.at(index);
            const double difference = std::fabs(w - g);
            outcome.largestError = std::max(outcome.largestError, difference);
            const double allowed = exact ? 0.0 : 1e-4 * std::max(1.0, std::fabs(w));
            if (!(difference <= allowed) && (worst.empty() || difference - allowed > worstExcess)) {
                worst = index;
                worstExcess = difference - allowed;
            }
        });
        if (!worst.empty()) {
            std::string at;
            for (auto i : worst)
                at += (at.empty() ? "" : ", ") + std::to_string(i);
            error = "the simulated result differs from the reference: " + t.name + "[" + at + "] is " +
                    number(got.at(worst)) + ", the reference interpreter gives " + number(want.at(worst)) +
                    (exact ? " (integers must match exactly)" : " (beyond 1e-4 relative)");
            return std::nullopt;
        }
        compared += (compared.empty() ? "" : ", ") + t.name;
    }
    outcome.verification = "verified: " + compared + " match the reference interpreter (random inputs, seed " +
                           std::to_string(seed) + "); largest difference " + number(outcome.largestError);
    return outcome;
}

} // namespace isamap::sim
