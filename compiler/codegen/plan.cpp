#include "codegen/plan.h"

#include "codegen/llvm_support.h"

#include "ir/types.h"
#include "support/integers.h"
#include "targets/host.h"

#include <algorithm>
#include <map>
#include <numeric>

namespace isamap::codegen {

using namespace ir;

namespace {

std::string joined(const std::vector<std::string>& parts, const char* separator) {
    std::string out;
    for (const auto& p : parts)
        out += (out.empty() ? "" : separator) + p;
    return out;
}

// The instruction index each element of an instruction operand stands for. The bundled instructions
// index their operands by plain dimensions (`a[i, p]`); anything else has no lowering here.
bool elementIndices(const Instruction& ins, const TensorDecl& decl, const Access& access,
                    std::vector<std::vector<std::int64_t>>& out, std::string& error) {
    std::vector<int> dimOfIndex;
    for (const auto& idx : access.indices) {
        if (!isPlainDim(idx)) {
            error = "instruction " + ins.name + " indexes operand " + decl.name +
                    " by an expression; code generation needs plain dimensions";
            return false;
        }
        const auto it = std::find_if(ins.body.dims.begin(), ins.body.dims.end(),
                                     [&](const DimDecl& d) { return d.name == idx.terms[0].dim; });
        dimOfIndex.push_back(static_cast<int>(it - ins.body.dims.begin()));
    }
    const auto shape = ir::shape(decl, {});
    std::int64_t count = 1;
    for (auto e : *shape)
        count *= e;
    for (std::int64_t flat = 0; flat < count; ++flat) {
        std::vector<std::int64_t> index(ins.body.dims.size(), 0);
        std::int64_t rest = flat;
        for (std::size_t t = shape->size(); t-- > 0;) {
            index[static_cast<std::size_t>(dimOfIndex[t])] = rest % (*shape)[t];
            rest /= (*shape)[t];
        }
        out.push_back(std::move(index));
    }
    return true;
}

class Planner {
public:
    Planner(const Kernel& k, const Target& t, const mapping::Candidate& c, const schedule::Space& space,
            const schedule::Schedule& s, const Options& options, Plan& plan)
        : k_(k), t_(t), c_(c), space_(space), s_(s), options_(options), plan_(plan) {}

    bool run(std::string& error) {
        return checkTarget(error) && planDims(error) && planLoops(error) && planOperands(error) && planSweep(error) &&
               planEpilogue(error) && planArguments(error);
    }

private:
    bool checkTarget(std::string& error) {
        if (c_.statement != 0) {
            error = "candidate " + std::to_string(c_.id) + " maps statement " + std::to_string(c_.statement + 1) +
                    " of kernel " + k_.name + "; code generation maps the first statement and fuses the element-wise "
                    "ones after it";
            return false;
        }
        ins_ = t_.findInstruction(c_.instruction);
        if (!ins_) {
            error = "target " + t_.name + " has no instruction " + c_.instruction;
            return false;
        }
        for (const auto& l : ins_->lowerings)
            if (l.backend == "llvm")
                plan_.steps = l.steps;
        if (plan_.steps.empty()) {
            error = "instruction " + ins_->name + " of target " + t_.name +
                    " has no `lower llvm` steps: it is not a host instruction (a virtual target runs on the simulator)";
            return false;
        }
        const auto missing = targets::missingFeatures(targets::detectHost(), t_.features);
        if (!missing.empty()) {
            error = "this CPU lacks " + joined(missing, ", ") + ", which target " + t_.name + " needs";
            return false;
        }
        if (auto why = schedule::illegal(space_, s_)) {
            error = "the schedule is illegal: " + *why;
            return false;
        }
        const Statement& st = ins_->body.statements.front();
        plan_.instruction = ins_->name;
        plan_.outputOperand = st.target.tensor;
        plan_.update = st.update;
        plan_.fault = options_.fault;
        plan_.functionName = symbolName(options_.functionName, k_.name);
        return true;
    }

    bool planDims(std::string& error) {
        for (const auto& d : ins_->body.dims)
            plan_.instructionExtents.push_back(*evaluate(d.extent, {}));
        plan_.kernelExtentOf.assign(plan_.instructionExtents.size(), 0);
        plan_.loopOfInstructionDim.assign(plan_.instructionExtents.size(), -1);
        for (std::size_t e = 0; e < c_.dims.size() && e < plan_.instructionExtents.size(); ++e)
            if (!c_.dims[e].kernelDims.empty())
                plan_.kernelExtentOf[e] = c_.dims[e].kernelExtent;
        for (std::size_t d = 0; d < space_.dims.size(); ++d) {
            plan_.extents.push_back(space_.dims[d].extent);
            if (space_.dims[d].instructionDim >= 0)
                plan_.loopOfInstructionDim[static_cast<std::size_t>(space_.dims[d].instructionDim)] = static_cast<int>(d);
        }
        for (const auto& kd : space_.kernelDims) {
            KernelDimSource src;
            src.loopDim = kd.loopDim;
            src.instructionDim = space_.dims[static_cast<std::size_t>(kd.loopDim)].instructionDim;
            src.instructionExtent = space_.dims[static_cast<std::size_t>(kd.loopDim)].elementsPerStep;
            src.innerProduct = kd.innerProduct;
            src.extent = kd.extent;
            plan_.kernelDims.push_back(src);
        }
        const auto& regs = s_.levels.back();
        plan_.registerTile.assign(regs.tiles.begin(), regs.tiles.end());
        plan_.registerOrder = schedule::registerWalkOrder(space_, regs.tiles.data(), regs.order);
        if (space_.levels.size() < 3) {
            error = "target " + t_.name + " has fewer than three memory levels; code generation needs memory, a cache "
                    "level and registers";
            return false;
        }
        return true;
    }

    bool planLoops(std::string& error) {
        const std::size_t innermost = s_.levels.size() - 1;
        std::vector<PlannedLoop> parallel, rest;
        for (std::size_t l = 0; l < innermost; ++l)
            for (int d : s_.levels[l].order) {
                const auto du = static_cast<std::size_t>(d);
                PlannedLoop loop;
                loop.level = static_cast<int>(l);
                loop.dim = d;
                loop.tile = l == 0 ? space_.dims[du].extent : s_.levels[l].tiles[du];
                loop.step = s_.levels[l + 1].tiles[du];
                if (ceilDiv(loop.tile, loop.step) <= 1)
                    continue;
                loop.parallel = l == 0 && du < s_.parallel.size() && s_.parallel[du];
                (loop.parallel ? parallel : rest).push_back(loop);
            }
        plan_.parallelLoops = parallel.size();
        plan_.loops = parallel;
        plan_.loops.insert(plan_.loops.end(), rest.begin(), rest.end());
        const Unit* unit = t_.findUnit(ins_->unit);
        const int units = unit ? static_cast<int>(unit->count) : 1;
        plan_.threads = parallel.empty() ? 1 : std::max(1, options_.threads > 0 ? options_.threads : units);
        if (parallel.size() == 1)
            plan_.parallelLoop = plainParallelLoop(parallel.front());
        return true;
    }

    // The parallel loop in kernel indices, when it steps one kernel dimension of its own.
    std::optional<ParallelLoop> plainParallelLoop(const PlannedLoop& loop) const {
        const auto& dim = space_.dims[static_cast<std::size_t>(loop.dim)];
        const schedule::KernelDim* only = nullptr;
        for (const auto& kd : space_.kernelDims)
            if (kd.loopDim == loop.dim) {
                if (only)
                    return std::nullopt;
                only = &kd;
            }
        if (!only || dim.instructionDim >= 0 || only->innerProduct != 1)
            return std::nullopt;
        return ParallelLoop{only->name, loop.step, only->extent, ceilDiv(loop.tile, loop.step)};
    }

    // Offset in elements of instruction element `lane` (an instruction index) at loop positions `pos`,
    // and whether that element lies inside the tensor; also whether the lane is a real kernel point.
    struct Element {
        std::int64_t offset = 0;
        bool inside = true;
        bool real = true;
        std::vector<std::int64_t> index; // the tensor index
    };
    Element element(const PlannedOperand& op, const std::vector<std::int64_t>& pos,
                    const std::vector<std::int64_t>& lane) const {
        Element out;
        std::vector<std::int64_t> kp(plan_.kernelDims.size(), 0);
        for (std::size_t e = 0; e < lane.size(); ++e) {
            if (plan_.loopOfInstructionDim[e] < 0 && lane[e] != 0)
                out.real = false;
            else if (plan_.loopOfInstructionDim[e] >= 0 &&
                     pos[static_cast<std::size_t>(plan_.loopOfInstructionDim[e])] * plan_.instructionExtents[e] + lane[e] >=
                         plan_.kernelExtentOf[e])
                out.real = false;
        }
        for (std::size_t k = 0; k < kp.size(); ++k) {
            const auto& src = plan_.kernelDims[k];
            std::int64_t f = pos[static_cast<std::size_t>(src.loopDim)];
            if (src.instructionDim >= 0)
                f = f * src.instructionExtent + lane[static_cast<std::size_t>(src.instructionDim)];
            kp[k] = (f / src.innerProduct) % src.extent;
        }
        for (std::size_t t = 0; t < op.indexCoeff.size(); ++t) {
            std::int64_t v = op.indexConstant[t];
            for (std::size_t k = 0; k < kp.size(); ++k)
                v += op.indexCoeff[t][k] * kp[k];
            out.inside = out.inside && v >= 0 && v < op.shape[t];
            out.offset += v * op.strides[t];
            out.index.push_back(v);
        }
        return out;
    }

    // An element the instruction computes but no kernel point feeds, wherever the call is: it lies
    // off lane zero of an instruction dimension the candidate leaves unbound.
    bool idleLane(const std::vector<std::int64_t>& lane) const {
        for (std::size_t e = 0; e < lane.size(); ++e)
            if (lane[e] != 0 && plan_.loopOfInstructionDim[e] < 0)
                return true;
        return false;
    }

    // A lane past the kernel's edge only along dimensions the output runs along (the last vector of a
    // GEMM's rows when 16 does not divide M): whatever it reads lands in an output lane that is never
    // stored, and the tiles where it can occur read it masked to zero. Past the edge of a reduction,
    // a neighbour's value would be added into a real output.
    bool pastOutputEdge(const std::vector<std::int64_t>& pos, const std::vector<std::int64_t>& lane) const {
        const auto output = std::find_if(space_.operands.begin(), space_.operands.end(), [](const auto& o) { return o.output; });
        for (std::size_t e = 0; e < lane.size(); ++e) {
            const int d = plan_.loopOfInstructionDim[e];
            if (d < 0)
                continue;
            const bool past = pos[static_cast<std::size_t>(d)] * plan_.instructionExtents[e] + lane[e] >= plan_.kernelExtentOf[e];
            if (past && !output->dependsOn[static_cast<std::size_t>(d)])
                return false;
        }
        return true;
    }

    // Direct access needs the offset affine in each position, and the operand's elements consecutive.
    void checkDirectAccess(PlannedOperand& op) const {
        const std::size_t dims = plan_.extents.size();
        const std::vector<std::int64_t> origin(dims, 0);
        const std::vector<std::int64_t> lane0(plan_.instructionExtents.size(), 0);
        // Nonzero for a padded input, whose first window starts in the halo.
        const std::int64_t base = element(op, origin, lane0).offset;
        op.positionBase = base;
        op.affine = true;
        op.positionCoeff.assign(dims, 0);
        for (std::size_t d = 0; d < dims && op.affine; ++d) {
            std::vector<std::int64_t> pos = origin;
            pos[d] = 1;
            op.positionCoeff[d] = plan_.extents[d] > 1 ? element(op, pos, lane0).offset - base : 0;
            for (std::int64_t p = 2; p < plan_.extents[d] && op.affine; ++p) {
                pos[d] = p;
                op.affine = element(op, pos, lane0).offset == base + p * op.positionCoeff[d];
            }
        }
        op.contiguous = op.affine;
        for (const auto& lane : op.elementIndex) {
            const Element e = element(op, origin, lane);
            op.laneOffsets.push_back(e.real ? e.offset - base : 0);
        }
        // The same lane offsets at the far corner, or the operand cannot be reached by them.
        std::vector<std::int64_t> far(dims, 0);
        for (std::size_t d = 0; d < dims; ++d)
            far[d] = std::max<std::int64_t>(0, plan_.extents[d] - 2);
        const std::int64_t farBase = element(op, far, lane0).offset;
        for (std::size_t j = 0; j < op.elementIndex.size() && op.affine; ++j) {
            const Element e = element(op, far, op.elementIndex[j]);
            if (e.real && e.offset - farBase != op.laneOffsets[j])
                op.affine = false;
        }
        for (std::size_t d = 0; d < dims && op.contiguous; ++d)
            for (std::int64_t p : {std::int64_t{0}, plan_.extents[d] - 1}) {
                std::vector<std::int64_t> pos = origin;
                pos[d] = p;
                const std::int64_t at = element(op, pos, lane0).offset;
                for (std::size_t j = 0; j < op.elementIndex.size() && op.contiguous; ++j) {
                    const Element e = element(op, pos, op.elementIndex[j]);
                    if (!e.real && (idleLane(op.elementIndex[j]) || (!op.output && !pastOutputEdge(pos, op.elementIndex[j]))))
                        op.contiguous = false; // an idle lane would read or write a neighbour's value
                    else if (e.real && e.offset != at + static_cast<std::int64_t>(j))
                        op.contiguous = false;
                }
            }
    }

    bool planOperands(std::string& error) {
        const Statement& ks = k_.statements.front();
        const Statement& is = ins_->body.statements.front();
        const ParamValues params = k_.paramValues();
        for (std::size_t i = 0; i < space_.kernelDims.size(); ++i)
            kernelDimIndex_[space_.kernelDims[i].name] = i;
        for (std::size_t o = 0; o < space_.operands.size(); ++o) {
            const auto& so = space_.operands[o];
            PlannedOperand op;
            op.operand = o;
            op.tensor = so.tensor;
            op.instructionOperand = so.instructionOperand;
            op.output = so.output;
            op.dependsOn = so.dependsOn;
            const TensorDecl* kt = k_.findTensor(so.tensor);
            const TensorDecl* it = ins_->body.findTensor(so.instructionOperand);
            const Access* ka = findAccess(ks, so.tensor);
            const Access* ia = findAccess(is, so.instructionOperand);
            if (!kt || !it || !ka || !ia) {
                error = "operand " + so.tensor + " is not accessed as the candidate says";
                return false;
            }
            op.type = kt->type;
            op.halo = !kt->padding.empty();
            op.strides = *ir::strides(*kt, params);
            op.shape = *ir::shape(*kt, params);
            for (const auto& idx : ka->indices) {
                std::vector<std::int64_t> row(space_.kernelDims.size(), 0);
                for (const auto& term : idx.terms)
                    row[kernelDimIndex_.at(term.dim)] = term.coeff;
                op.indexCoeff.push_back(std::move(row));
                op.indexConstant.push_back(idx.constant);
            }
            if (!elementIndices(*ins_, *it, *ia, op.elementIndex, error))
                return false;
            op.elements = static_cast<std::int64_t>(op.elementIndex.size());
            op.scalar = ia->indices.empty();
            checkDirectAccess(op);
            if (op.output) {
                if (!op.affine || op.halo) {
                    error = "output " + op.tensor + "'s offset is not affine in the loop positions; code generation "
                            "cannot write it in place";
                    return false;
                }
                plan_.output = plan_.operands.size();
                plan_.outputIsInOut = kt->role == TensorRole::InOut;
                plan_.decisions.lines.push_back(
                    op.tensor + ": " +
                    (op.contiguous ? "loaded and stored as whole vectors"
                                   : "loaded and stored lane by lane (its elements are not consecutive in memory)"));
            } else {
                planPacking(op);
            }
            plan_.operands.push_back(std::move(op));
        }
        return true;
    }

    // A padded input read in place: each tensor index affine in the positions and the lanes, so that the
    // zero halo is a mask computed per call instead of a copy of the whole tile.
    bool planHaloMask(PlannedOperand& op) const {
        if (!op.halo || !op.contiguous || !op.affine)
            return false;
        const std::size_t dims = plan_.extents.size();
        const std::vector<std::int64_t> origin(dims, 0);
        const std::vector<std::int64_t> lane0(plan_.instructionExtents.size(), 0);
        const auto base = element(op, origin, lane0).index;
        op.haloIndexBase = base;
        op.haloIndexCoeff.assign(base.size(), std::vector<std::int64_t>(dims, 0));
        for (std::size_t d = 0; d < dims; ++d) {
            if (plan_.extents[d] < 2)
                continue;
            std::vector<std::int64_t> pos = origin;
            pos[d] = 1;
            const auto at = element(op, pos, lane0).index;
            for (std::size_t t = 0; t < base.size(); ++t)
                op.haloIndexCoeff[t][d] = at[t] - base[t];
        }
        op.haloLaneOffsets.assign(base.size(), {});
        for (const auto& lane : op.elementIndex) {
            const auto at = element(op, origin, lane).index;
            for (std::size_t t = 0; t < base.size(); ++t)
                op.haloLaneOffsets[t].push_back(at[t] - base[t]);
        }
        // The same formula must give every index at the far corner.
        std::vector<std::int64_t> far(dims, 0);
        for (std::size_t d = 0; d < dims; ++d)
            far[d] = std::max<std::int64_t>(0, plan_.extents[d] - 1);
        for (std::size_t j = 0; j < op.elementIndex.size(); ++j) {
            const auto at = element(op, far, op.elementIndex[j]).index;
            for (std::size_t t = 0; t < base.size(); ++t) {
                std::int64_t predicted = base[t] + op.haloLaneOffsets[t][j];
                for (std::size_t d = 0; d < dims; ++d)
                    predicted += op.haloIndexCoeff[t][d] * far[d];
                if (predicted != at[t])
                    return false;
            }
        }
        op.haloUniform = true;
        for (std::size_t t = 0; t < base.size(); ++t) {
            const auto& lanes = op.haloLaneOffsets[t];
            op.haloMayLeave.push_back(mayLeave(op, t));
            if (op.haloMayLeave.back() && std::any_of(lanes.begin(), lanes.end(), [&](auto o) { return o != lanes.front(); }))
                op.haloUniform = false;
        }
        return true;
    }

    // Can tensor index t fall outside the tensor anywhere in the loop nest (into the zero halo)?
    bool mayLeave(const PlannedOperand& op, std::size_t t) const {
        std::int64_t low = op.haloIndexBase[t], high = low;
        for (std::size_t d = 0; d < plan_.extents.size(); ++d) {
            const std::int64_t span = op.haloIndexCoeff[t][d] * (plan_.extents[d] - 1);
            low += std::min<std::int64_t>(0, span);
            high += std::max<std::int64_t>(0, span);
        }
        const auto& lanes = op.haloLaneOffsets[t];
        if (!lanes.empty()) {
            low += *std::min_element(lanes.begin(), lanes.end());
            high += *std::max_element(lanes.begin(), lanes.end());
        }
        return low < 0 || high >= op.shape[t];
    }

    void planPacking(PlannedOperand& op) {
        const int kept = schedule::packLevel(s_, op.operand);
        const bool packKept = kept >= 0 && schedule::isPacked(s_, op.operand);
        op.haloMask = !packKept && planHaloMask(op);
        if (op.halo && !op.haloMask)
            op.why = "its reads past the edge must give the zero halo";
        else if (!op.affine)
            op.why = "its offset is not affine in the loop positions";
        else if (!op.contiguous)
            op.why = "the instruction reads its " + std::to_string(op.elements) +
                     " elements as one vector but they are not consecutive in memory";
        else if (packKept)
            op.why = "the schedule packs it (the loops read each element " +
                     std::to_string(schedule::readsOfPackedElement(space_, s_, op.operand)) + " times)";
        op.packed = !op.why.empty();
        if (!op.packed) {
            plan_.decisions.lines.push_back(op.tensor + ": read in place" +
                                            (op.scalar ? " (one element per call, broadcast)" : " as whole vectors") +
                                            (op.haloMask ? ", lanes in the zero halo masked off" : ""));
            return;
        }
        op.packLevel = kept >= 0 ? kept : 1;
        op.packAfter = lastLoopAbove(op, op.packLevel);
        planPackLayout(op);
        const std::int64_t panel = panelCalls(op);
        plan_.decisions.lines.push_back(op.tensor + ": packed into " +
                                        (panel > 1 ? "micro-panels of " + std::to_string(panel) + " calls (the instruction's layout)"
                                                   : std::string("the instruction's layout")) + " at " +
                                        space_.levels[static_cast<std::size_t>(op.packLevel)].memory + " (" +
                                        std::to_string(op.packCalls * op.elements * byteSize(op.type) / 1024) +
                                        " KiB per worker), because " + op.why);
    }

    // The last loop above `level` that the operand depends on (-1: none): a copy made at that level is
    // remade after each of its steps.
    int lastLoopAbove(const PlannedOperand& op, int level) const {
        int last = -1;
        for (std::size_t i = 0; i < plan_.loops.size(); ++i)
            if (plan_.loops[i].level < level && op.dependsOn[static_cast<std::size_t>(plan_.loops[i].dim)])
                last = static_cast<int>(i);
        return last;
    }

    static std::int64_t panelCalls(const PlannedOperand& op) {
        std::int64_t calls = 1;
        for (auto inner : op.packInner)
            calls *= inner;
        return calls;
    }

    // The micro-panel layout (see PlannedOperand): the register tile innermost, in the order its calls
    // are written; outside it, dimensions stepped innermost by the loops go innermost.
    void planPackLayout(PlannedOperand& op) {
        const std::size_t dims = plan_.extents.size();
        std::vector<int> lastUse(dims, -1);
        for (std::size_t i = 0; i < plan_.loops.size(); ++i)
            lastUse[static_cast<std::size_t>(plan_.loops[i].dim)] = static_cast<int>(i);
        for (std::size_t d = 0; d < dims; ++d)
            if (op.dependsOn[d])
                op.packOrder.push_back(static_cast<int>(d));
        std::stable_sort(op.packOrder.begin(), op.packOrder.end(),
                         [&](int a, int b) { return lastUse[static_cast<std::size_t>(a)] < lastUse[static_cast<std::size_t>(b)]; });
        const auto& tiles = s_.levels[static_cast<std::size_t>(op.packLevel)].tiles;
        op.packInner.assign(dims, 1);
        op.packStride.assign(dims, 0);
        op.packInnerStride.assign(dims, 0);
        std::int64_t stride = 1;
        for (auto it = plan_.registerOrder.rbegin(); it != plan_.registerOrder.rend(); ++it) {
            const auto d = static_cast<std::size_t>(*it);
            if (!op.dependsOn[d] || plan_.registerTile[d] <= 1)
                continue;
            op.packInner[d] = std::min(plan_.registerTile[d], tiles[d]);
            op.packInnerStride[d] = stride;
            stride *= op.packInner[d];
        }
        for (auto it = op.packOrder.rbegin(); it != op.packOrder.rend(); ++it) {
            const auto d = static_cast<std::size_t>(*it);
            op.packStride[d] = stride;
            stride *= ceilDiv(tiles[d], op.packInner[d]);
        }
        op.packCalls = stride;
        // The copy reads the tensor in storage order: its smallest stride innermost.
        op.copyOrder = op.packOrder;
        if (op.affine)
            std::stable_sort(op.copyOrder.begin(), op.copyOrder.end(), [&](int a, int b) {
                return std::abs(op.positionCoeff[static_cast<std::size_t>(a)]) > std::abs(op.positionCoeff[static_cast<std::size_t>(b)]);
            });
    }

    // LLVM unrolls a short sweep loop whole and hoists every step's loads ahead of the calls. Around a
    // large register tile the copies of its inputs then outgrow the registers and spill: a pointwise
    // tile of 8 accumulators, 8 filter vectors and 4 broadcasts, its 4 reduction steps unrolled, spilled
    // 24 vectors and ran at 56.5 GFLOP/s, 108 kept rolled. A sweep loop is kept rolled when its
    // steps' inputs would not fit beside the accumulators; a small tile is still unrolled (a depthwise
    // tile whose sweep, kept rolled, went from 26 to 19 GFLOP/s).
    void keepSweepsRolled(std::int64_t accumulators) {
        if (space_.registerLevel < 0)
            return;
        const auto r = static_cast<std::size_t>(space_.registerLevel);
        const std::int64_t registers = space_.levels[r].registers;
        if (registers <= 0)
            return;
        std::int64_t inputsPerStep = 0;
        for (std::size_t o = 0; o < space_.operands.size(); ++o) {
            const auto& op = space_.operands[o];
            if (!op.output)
                inputsPerStep += ceilDiv(schedule::registerPressure(space_, o, s_.levels[r].tiles.data()), std::max<std::int64_t>(1, op.lanes));
        }
        for (std::size_t i = plan_.sweepBegin; i < plan_.loops.size(); ++i) {
            auto& l = plan_.loops[i];
            l.keepRolled = accumulators + ceilDiv(l.tile, l.step) * inputsPerStep > registers;
        }
    }

    bool planSweep(std::string& error) {
        const PlannedOperand& out = plan_.operands[plan_.output];
        // A parallel loop over a dimension the output does not depend on would race on the output.
        for (std::size_t i = 0; i < plan_.parallelLoops; ++i)
            if (!out.dependsOn[static_cast<std::size_t>(plan_.loops[i].dim)]) {
                error = "the schedule runs loop " + space_.dims[static_cast<std::size_t>(plan_.loops[i].dim)].name +
                        " in parallel, but " + out.tensor + " does not depend on it: the workers would race";
                return false;
            }
        plan_.sweepBegin = plan_.loops.size();
        while (plan_.sweepBegin > plan_.parallelLoops &&
               !out.dependsOn[static_cast<std::size_t>(plan_.loops[plan_.sweepBegin - 1].dim)])
            --plan_.sweepBegin;
        std::int64_t accumulators = 1;
        for (std::size_t d = 0; d < plan_.extents.size(); ++d)
            if (out.dependsOn[d])
                accumulators *= plan_.registerTile[d];
        keepSweepsRolled(accumulators);
        std::vector<std::string> swept;
        for (std::size_t i = plan_.sweepBegin; i < plan_.loops.size(); ++i)
            swept.push_back(space_.dims[static_cast<std::size_t>(plan_.loops[i].dim)].name + " (" +
                            space_.levels[static_cast<std::size_t>(plan_.loops[i].level)].memory + ")" +
                            (plan_.loops[i].keepRolled ? ", kept rolled" : ""));
        plan_.decisions.lines.push_back(
            out.tensor + ": " + std::to_string(accumulators) + " accumulator" + (accumulators == 1 ? "" : "s") +
            " in registers" + (swept.empty() ? ", loaded and stored around every register tile" : " across the loops over " + joined(swept, ", ")));
        plan_.decisions.lines.push_back(
            plan_.threads > 1 ? std::to_string(plan_.parallelLoops) + " parallel loop(s) over " + std::to_string(plan_.threads) + " workers"
                              : "one worker");
        return true;
    }

    // ---- statements fused after the mapped one ------------------------------------------------

    // The statements after the first, which must be element-wise at the first statement's output point
    // or at that point with dimensions dropped that the register tile holds whole (ir::epiloguePoint).
    bool planEpilogue(std::string& error) {
        if (k_.statements.size() == 1)
            return true;
        const Statement& first = k_.statements.front();
        const TensorDecl* produced = k_.findTensor(first.target.tensor);
        auto where = [&](std::size_t s) {
            return "statement " + std::to_string(s + 1) + " of kernel " + k_.name + " (line " +
                   std::to_string(k_.statements[s].loc.line) + ")";
        };
        if (produced->type != ScalarType::f32) {
            error = where(1) + " cannot be fused: the epilogue computes on f32 outputs, and " + produced->name + " is " +
                    std::string(typeName(produced->type));
            return false;
        }
        std::string why;
        const auto point = epiloguePoint(k_, why);
        if (!point) {
            error = why + "; it cannot be fused into the mapped statement's loop nest";
            return false;
        }
        PlannedEpilogue e;
        e.produced = produced->name;
        e.storeProduced = produced->role != TensorRole::Tmp;
        if (!planAcross(*point, e, error))
            return false;
        for (std::size_t s = 1; s < k_.statements.size(); ++s) {
            const Statement& st = k_.statements[s];
            const TensorDecl* target = k_.findTensor(st.target.tensor);
            if (target->type != ScalarType::f32) {
                error = where(s) + " writes " + target->name + ", which is " + std::string(typeName(target->type)) +
                        "; the epilogue computes in f32";
                return false;
            }
            if (!planEpilogueReads(st.value, e, where(s), error))
                return false;
            const bool held = st.target.tensor == e.produced ||
                              std::find(e.values.begin(), e.values.end(), target->name) != e.values.end();
            if (!held && target->role != TensorRole::Tmp && !planEpilogueAccess(st.target, e, where(s), error))
                return false;
            if (!held)
                e.values.push_back(target->name);
            e.statements.push_back(st);
        }
        std::vector<std::string> names;
        for (std::size_t s = 1; s < k_.statements.size(); ++s)
            names.push_back(k_.statements[s].target.tensor);
        plan_.decisions.lines.push_back(
            std::to_string(e.statements.size()) + " element-wise statement(s) fused as an epilogue (writing " +
            joined(names, ", ") + "): computed on the register tile on its last reduction visit, before the store" +
            (point->across.empty() ? "" : "; they combine the accumulators across " + joined(point->acrossDims, ", ") +
                                              ", which the register tile holds whole") +
            (e.storeProduced ? "" : "; " + e.produced + " is a temporary, its final values never stored"));
        plan_.epilogue = std::move(e);
        return true;
    }

    // The dimensions the epilogue combines across: each the only kernel dimension of a loop the
    // register tile holds whole, so that the accumulators of all its positions are at hand together.
    bool planAcross(const EpiloguePoint& point, PlannedEpilogue& e, std::string& error) {
        for (std::size_t a = 0; a < point.across.size(); ++a) {
            const std::string& dim = point.acrossDims[a];
            const std::size_t k = kernelDimIndex_.at(dim);
            const auto loop = static_cast<std::size_t>(space_.kernelDims[k].loopDim);
            if (space_.dims[loop].instructionDim >= 0 || space_.dims[loop].extent != space_.kernelDims[k].extent ||
                plan_.registerTile[loop] != plan_.extents[loop]) {
                error = "kernel " + k_.name + "'s statements after the first read all of " + dim +
                        " at once, so the register tile must hold " + dim + " whole (" +
                        std::to_string(space_.kernelDims[k].extent) + "); this schedule's holds " +
                        std::to_string(plan_.registerTile[loop]) + (space_.dims[loop].instructionDim >= 0 ? " instruction tiles" : "");
                return false;
            }
            e.acrossLoops.push_back(static_cast<int>(loop));
            e.acrossPositions.push_back(point.across[a]);
        }
        return true;
    }

    // Every tensor the statement reads that is neither the produced one nor computed before it must
    // be an input, reached from the output's lanes.
    bool planEpilogueReads(const Expr& value, PlannedEpilogue& e, const std::string& where, std::string& error) {
        if (value.kind == Expr::Kind::Call && value.op == Op::Cast && value.castType != ScalarType::f32) {
            error = where + " casts to " + std::string(typeName(value.castType)) + "; the epilogue computes in f32";
            return false;
        }
        for (const auto& arg : value.args)
            if (!planEpilogueReads(arg, e, where, error))
                return false;
        if (value.kind != Expr::Kind::Access)
            return true;
        const Access& a = value.access;
        if (a.tensor == e.produced || std::find(e.values.begin(), e.values.end(), a.tensor) != e.values.end())
            return true; // at the point, as ir::epiloguePoint checked
        const TensorDecl* t = k_.findTensor(a.tensor);
        if (t->role != TensorRole::In) {
            error = where + " reads " + a.tensor + " before the epilogue computes it";
            return false;
        }
        return planEpilogueAccess(a, e, where, error);
    }

    // How the output's lanes reach `access`: its offset affine in the loop positions, per lane a constant.
    bool planEpilogueAccess(const Access& access, PlannedEpilogue& e, const std::string& where, std::string& error) {
        if (std::find(e.accessKeys.begin(), e.accessKeys.end(), access) != e.accessKeys.end())
            return true;
        const PlannedOperand& out = plan_.operands[plan_.output];
        const TensorDecl* t = k_.findTensor(access.tensor);
        if (t->type != ScalarType::f32 || !t->padding.empty()) {
            error = where + ": " + t->name + " is " + std::string(typeName(t->type)) +
                    (t->padding.empty() ? "" : " with a zero halo") + "; the epilogue reads and writes plain f32 tensors";
            return false;
        }
        PlannedOperand op;
        op.tensor = t->name;
        op.type = t->type;
        op.output = true; // its lanes are the output's: masked where the output's are
        op.elements = out.elements;
        op.scalar = out.scalar;
        op.elementIndex = out.elementIndex;
        op.dependsOn = out.dependsOn;
        op.strides = *ir::strides(*t, k_.paramValues());
        op.shape = *ir::shape(*t, k_.paramValues());
        for (const auto& idx : access.indices) {
            std::vector<std::int64_t> row(space_.kernelDims.size(), 0);
            for (const auto& term : idx.terms) {
                const auto it = kernelDimIndex_.find(term.dim);
                if (it == kernelDimIndex_.end()) {
                    error = where + " indexes " + t->name + " by " + term.dim + ", which the mapped statement does not use";
                    return false;
                }
                row[it->second] = term.coeff;
            }
            op.indexCoeff.push_back(std::move(row));
            op.indexConstant.push_back(idx.constant);
        }
        checkDirectAccess(op);
        if (!op.affine) {
            error = where + ": " + t->name + "'s offset is not affine in the output's loop positions";
            return false;
        }
        e.accessKeys.push_back(access);
        e.accesses.push_back(std::move(op));
        return true;
    }

    bool planArguments(std::string& error) {
        for (const auto& t : k_.tensors) {
            const bool held = plan_.epilogue && (t.name == plan_.epilogue->produced ||
                                                 std::find(plan_.epilogue->values.begin(), plan_.epilogue->values.end(),
                                                           t.name) != plan_.epilogue->values.end());
            const bool scratch = t.role == TensorRole::Tmp && plan_.epilogue && t.name == plan_.epilogue->produced;
            if (t.role == TensorRole::Tmp && held && !scratch)
                continue; // an epilogue temporary lives in registers only
            if (t.role == TensorRole::Tmp && !scratch) {
                error = "kernel " + k_.name + " has a temporary tensor " + t.name +
                        " outside a fused epilogue; code generation lowers kernels without";
                return false;
            }
            Argument a;
            a.tensor = t.name;
            a.type = t.type;
            a.shape = *ir::shape(t, k_.paramValues());
            const auto strides = *ir::strides(t, k_.paramValues());
            a.storageElements = storageElements(a.shape, strides);
            a.output = t.role != TensorRole::In;
            a.scratch = scratch;
            plan_.arguments.push_back(std::move(a));
        }
        return true;
    }

    const Kernel& k_;
    const Target& t_;
    const mapping::Candidate& c_;
    const schedule::Space& space_;
    const schedule::Schedule& s_;
    const Options& options_;
    Plan& plan_;
    const Instruction* ins_ = nullptr;
    std::map<std::string, std::size_t> kernelDimIndex_; // kernel dimension -> its index in Space::kernelDims
};

} // namespace

bool makePlan(const Kernel& kernel, const Target& target, const mapping::Candidate& candidate,
              const schedule::Space& space, const schedule::Schedule& s, const Options& options, Plan& plan,
              std::string& error) {
    return Planner(kernel, target, candidate, space, s, options, plan).run(error);
}

} // namespace isamap::codegen
