#include "codegen/emit.h"

#include "codegen/loops.h"
#include "codegen/math.h"

#include "ir/types.h"
#include "support/integers.h"

#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/PatternMatch.h>

#include <algorithm>
#include <functional>
#include <map>
#include <sstream>

namespace isamap::codegen {

using namespace llvm;

namespace {

std::vector<std::string> words(const std::string& step) {
    std::istringstream in(step);
    std::vector<std::string> out;
    for (std::string w; in >> w;)
        out.push_back(w);
    return out;
}

// The current range of positions [lo, hi) of each loop dimension.
struct Range {
    Value* lo = nullptr;
    Value* hi = nullptr;
};
using Ranges = std::vector<Range>;

// A reduction sweep of at least this many steps adds the stored output after it rather than loading it
// before (see registerTile).
constexpr std::int64_t kLongSweep = 64;
// How far ahead a copy into a packing buffer prefetches what it reads (copyAheadDistance).
constexpr std::int64_t kCopyAheadBytes = 8192;

class Emitter {
public:
    Emitter(const Plan& plan, Module& module) : p_(plan), m_(module), c_(module.getContext()), b_(c_) {
        i1_ = b_.getInt1Ty();
        i32_ = b_.getInt32Ty();
        i64_ = b_.getInt64Ty();
        ptr_ = b_.getPtrTy();
        evenDims_ = evenlyDividedDims();
        lanesMayOverhang_ = lanesMayOverhang();
    }

    bool run(std::string& error) {
        Function* task = emitTask(error);
        if (!task)
            return false;
        Function* args = emitArgsEntry(task);
        emitTypedEntry(b_, m_, p_.functionName, args, p_.arguments);
        return true;
    }

private:
    // ---- types and small helpers -------------------------------------------------------------

    Type* elementType(ir::ScalarType t) const {
        switch (t) {
        case ir::ScalarType::f32: return b_.getFloatTy();
        case ir::ScalarType::f16: return b_.getHalfTy();
        case ir::ScalarType::bf16: return b_.getInt16Ty(); // raw bits; the instruction's lowering reinterprets them
        case ir::ScalarType::i8:
        case ir::ScalarType::u8: return b_.getInt8Ty();
        case ir::ScalarType::i32: return b_.getInt32Ty();
        }
        return b_.getFloatTy();
    }
    Type* operandType(const PlannedOperand& op) const {
        Type* e = elementType(op.type);
        return op.scalar ? e : FixedVectorType::get(e, static_cast<unsigned>(op.elements));
    }
    Value* constant(std::int64_t v) { return b_.getInt64(static_cast<std::uint64_t>(v)); }
    Value* minimum(Value* a, Value* b) { return b_.CreateSelect(b_.CreateICmpSLT(a, b), a, b); }
    Value* all(const Values& conditions) {
        Value* v = b_.getTrue();
        for (Value* c : conditions)
            v = b_.CreateAnd(v, c);
        return v;
    }
    Value* elementAddress(Value* base, ir::ScalarType t, Value* offset) {
        return b_.CreateGEP(elementType(t), base, offset);
    }

    Values loop(Value* trip, const Values& carried, const std::function<Values(Value*, const Values&)>& body,
                bool rolled = false) {
        return emitLoop(b_, trip, carried, body, rolled);
    }
    Values branch(Value* condition, const std::function<Values()>& whenTrue, const std::function<Values()>& whenFalse) {
        return emitBranch(b_, condition, whenTrue, whenFalse);
    }

    // ---- the task: one worker's share of the parallel iterations --------------------------------

    Function* emitTask(std::string& error) {
        auto* type = FunctionType::get(b_.getVoidTy(), {ptr_, i64_, i64_}, false);
        // External: a caller that runs the iterations itself (Code::parallelLoop) calls it as "_range".
        Function* task = Function::Create(type, Function::ExternalLinkage, p_.functionName + "_range", m_);
        task->addParamAttr(0, Attribute::NoAlias);
        b_.SetInsertPoint(BasicBlock::Create(c_, "entry", task));
        Value* args = task->getArg(0);
        for (std::size_t i = 0; i < p_.arguments.size(); ++i) {
            Value* slot = b_.CreateGEP(ptr_, args, constant(static_cast<std::int64_t>(i)));
            tensorBase_[p_.arguments[i].tensor] = b_.CreateLoad(ptr_, slot, p_.arguments[i].tensor);
        }
        for (const auto& op : p_.operands)
            base_.push_back(tensorBase_.at(op.tensor));
        allocatePackBuffers();
        Ranges whole;
        for (auto e : p_.extents)
            whole.push_back({constant(0), constant(e)});
        Value* count = b_.CreateSub(task->getArg(2), task->getArg(1));
        loop(count, {}, [&](Value* i, const Values&) {
            Ranges r = whole;
            decomposeParallel(b_.CreateAdd(task->getArg(1), i), r);
            emitPacksAfter(static_cast<int>(p_.parallelLoops) - 1, r, true);
            emitLoops(p_.parallelLoops, r);
            return Values{};
        });
        if (!error_.empty()) {
            error = error_;
            return nullptr;
        }
        freePackBuffers();
        b_.CreateRetVoid();
        return task;
    }

    std::int64_t parallelCount() const {
        std::int64_t n = 1;
        for (std::size_t i = 0; i < p_.parallelLoops; ++i)
            n *= ceilDiv(p_.loops[i].tile, p_.loops[i].step);
        return n;
    }

    // The parallel loops' positions of flat iteration `index` (the last loop varying fastest).
    void decomposeParallel(Value* index, Ranges& r) {
        for (std::size_t i = p_.parallelLoops; i-- > 0;) {
            const auto& l = p_.loops[i];
            const std::int64_t trips = ceilDiv(l.tile, l.step);
            Value* position = b_.CreateURem(index, constant(trips));
            index = b_.CreateUDiv(index, constant(trips));
            auto& range = r[static_cast<std::size_t>(l.dim)];
            Value* lo = b_.CreateAdd(range.lo, b_.CreateMul(position, constant(l.step)));
            Value* end = b_.CreateAdd(lo, constant(l.step));
            range = {lo, evenDims_[static_cast<std::size_t>(l.dim)] ? end : minimum(end, range.hi)};
        }
    }

    void allocatePackBuffers() {
        FunctionCallee alloc = m_.getOrInsertFunction("aligned_alloc", FunctionType::get(ptr_, {i64_, i64_}, false));
        packBuffer_.assign(p_.operands.size(), nullptr);
        packLo_.assign(p_.operands.size(), Values(p_.extents.size(), nullptr));
        for (std::size_t o = 0; o < p_.operands.size(); ++o) {
            const auto& op = p_.operands[o];
            if (!op.packed)
                continue;
            std::int64_t bytes = op.packCalls * op.elements * ir::byteSize(op.type);
            bytes = (bytes + 63) / 64 * 64;
            packBuffer_[o] = b_.CreateCall(alloc, {constant(64), constant(bytes)}, op.tensor + ".packed");
        }
    }
    void freePackBuffers() {
        FunctionCallee release = m_.getOrInsertFunction("free", FunctionType::get(b_.getVoidTy(), {ptr_}, false));
        for (Value* buffer : packBuffer_)
            if (buffer)
                b_.CreateCall(release, {buffer});
    }

    // ---- the loop nest ------------------------------------------------------------------------

    void emitLoops(std::size_t i, const Ranges& r) {
        if (i == p_.sweepBegin) {
            emitRegisterTile(r);
            return;
        }
        stepLoop(i, r, {}, [&](const Ranges& child, const Values&) {
            emitLoops(i + 1, child);
            return Values{};
        });
    }

    // Loop i of the plan over the current range of its dimension, in steps of the level below.
    Values stepLoop(std::size_t i, const Ranges& r, const Values& carried,
                    const std::function<Values(const Ranges&, const Values&)>& body) {
        const auto& l = p_.loops[i];
        const Range range = r[static_cast<std::size_t>(l.dim)];
        Value* trip = b_.CreateUDiv(b_.CreateAdd(b_.CreateSub(range.hi, range.lo), constant(l.step - 1)), constant(l.step));
        return loop(trip, carried, [&](Value* counter, const Values& values) {
            Ranges child = r;
            Value* lo = b_.CreateAdd(range.lo, b_.CreateMul(counter, constant(l.step)));
            Value* end = b_.CreateAdd(lo, constant(l.step));
            child[static_cast<std::size_t>(l.dim)] = {lo, evenDims_[static_cast<std::size_t>(l.dim)] ? end : minimum(end, range.hi)};
            emitPacksAfter(static_cast<int>(i), child, false);
            return body(child, values);
        }, l.keepRolled);
    }

    // A range holds a whole register tile whose calls all reach the kernel (no masked lanes).
    Value* wholeTile(const Ranges& r, bool outputDims) {
        const auto& out = p_.operands[p_.output];
        Values conditions;
        for (std::size_t d = 0; d < p_.extents.size(); ++d) {
            if (out.dependsOn[d] != outputDims || evenDims_[d])
                continue;
            conditions.push_back(b_.CreateICmpEQ(b_.CreateSub(r[d].hi, r[d].lo), constant(p_.registerTile[d])));
            if (raggedDim(d))
                conditions.push_back(b_.CreateICmpSLT(r[d].hi, constant(p_.extents[d])));
        }
        return all(conditions);
    }
    // Dimensions whose every range is whole: each loop's step divides the range it steps through, down
    // to the register tile, and no instruction tile runs past the kernel. Their ranges need no clamp
    // and their register tiles no edge test; an edge test left in the innermost sweep splits the
    // accumulators between two paths and LLVM then spills them.
    std::vector<bool> evenlyDividedDims() const {
        std::vector<bool> even(p_.extents.size());
        for (std::size_t d = 0; d < p_.extents.size(); ++d) {
            std::int64_t range = p_.extents[d];
            bool divides = !raggedDim(d);
            for (const auto& l : p_.loops)
                if (static_cast<std::size_t>(l.dim) == d) {
                    divides = divides && range % l.step == 0;
                    range = l.step;
                }
            even[d] = divides && range == p_.registerTile[d];
        }
        return even;
    }

    // Can a call's lanes fall outside the kernel (a ragged instruction dimension, or one no loop binds)?
    bool lanesMayOverhang() const {
        for (std::size_t e = 0; e < p_.loopOfInstructionDim.size(); ++e) {
            const bool unbound = p_.loopOfInstructionDim[e] < 0;
            if (unbound ? p_.instructionExtents[e] > 1 : p_.kernelExtentOf[e] % p_.instructionExtents[e] != 0)
                return true;
        }
        return false;
    }

    // A mapped dimension whose last instruction tile runs past the kernel's extent.
    bool raggedDim(std::size_t d) const {
        for (std::size_t e = 0; e < p_.loopOfInstructionDim.size(); ++e)
            if (p_.loopOfInstructionDim[e] == static_cast<int>(d))
                return p_.kernelExtentOf[e] % p_.instructionExtents[e] != 0;
        return false;
    }

    void emitRegisterTile(const Ranges& r) {
        branch(
            wholeTile(r, true), [&] { registerTile(r, true); return Values{}; },
            [&] { registerTile(r, false); return Values{}; });
    }

    // The output's register tile: accumulators loaded (or started at the identity), the sweep, stored.
    void registerTile(const Ranges& r, bool whole) {
        const auto slots = accumulatorSlots();
        Value* first = firstVisit(r);
        Values acc;
        if (p_.update == ir::Update::Sum && sweepSteps() >= kLongSweep) {
            // Sum from zero and add the stored values after the sweep, their lines prefetched now: a
            // load before the sweep would hold every accumulator's first call until it arrives (a
            // tile of C from memory on each reduction block, about 5% of a large GEMM). A short sweep
            // has no time to hide the load behind, and measured slower this way.
            for (const auto& q : slots)
                prefetchOutput(r, q, whole);
            for (std::size_t i = 0; i < slots.size(); ++i)
                acc.push_back(identity(operandType(p_.operands[p_.output])));
            acc = sweep(p_.sweepBegin, r, acc, whole);
            acc = addStored(r, slots, whole, first, acc);
        } else {
            for (const auto& q : slots)
                acc.push_back(initialAccumulator(r, q, whole, first));
            acc = sweep(p_.sweepBegin, r, acc, whole);
        }
        auto storeAll = [&] {
            for (std::size_t i = 0; i < slots.size(); ++i)
                storeAccumulator(r, slots[i], whole, acc[i]);
            return Values{};
        };
        if (!p_.epilogue) {
            storeAll();
            return;
        }
        branch(
            lastVisit(r),
            [&] {
                epilogues(r, slots, whole, acc);
                return Values{};
            },
            storeAll);
    }

    // The epilogue once per point: per accumulator, or, when it combines across dimensions the
    // register tile holds whole (a GRU's gates), once per position of the others on all of theirs.
    void epilogues(const Ranges& r, const std::vector<std::vector<std::int64_t>>& slots, bool whole, const Values& acc) {
        const PlannedEpilogue& e = *p_.epilogue;
        for (std::size_t i = 0; i < slots.size(); ++i) {
            if (!e.acrossLoops.empty() && e.storeProduced)
                storeAccumulator(r, slots[i], whole, acc[i]);
            if (!atAcrossOrigin(slots[i]))
                continue;
            ProducedValues produced;
            for (std::size_t j = 0; j < slots.size(); ++j)
                if (sameBesideAcross(slots[i], slots[j]))
                    produced[acrossKey(slots[j])] = acc[j];
            epilogue(r, slots[i], whole, produced);
        }
    }

    // The accumulators of one epilogue point, by their positions along the dimensions it combines across.
    using ProducedValues = std::map<std::vector<std::int64_t>, Value*>;

    std::vector<std::int64_t> acrossKey(const std::vector<std::int64_t>& slot) const {
        std::vector<std::int64_t> key;
        for (int d : p_.epilogue->acrossLoops)
            key.push_back(slot[static_cast<std::size_t>(d)]);
        return key;
    }
    bool atAcrossOrigin(const std::vector<std::int64_t>& slot) const {
        const auto key = acrossKey(slot);
        return std::all_of(key.begin(), key.end(), [](std::int64_t q) { return q == 0; });
    }
    bool sameBesideAcross(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) const {
        const auto& across = p_.epilogue->acrossLoops;
        for (std::size_t d = 0; d < a.size(); ++d)
            if (a[d] != b[d] && std::find(across.begin(), across.end(), static_cast<int>(d)) == across.end())
                return false;
        return true;
    }

    // The steps of the reduction sweep around one register tile.
    std::int64_t sweepSteps() const {
        std::int64_t steps = 1;
        for (std::size_t i = p_.sweepBegin; i < p_.loops.size(); ++i)
            steps *= ceilDiv(p_.loops[i].tile, p_.loops[i].step);
        return steps;
    }

    // True on the register tile's last visit: every dimension the output does not depend on at its end.
    Value* lastVisit(const Ranges& r) {
        const auto& out = p_.operands[p_.output];
        Values conditions;
        for (std::size_t d = 0; d < p_.extents.size(); ++d)
            if (!out.dependsOn[d])
                conditions.push_back(b_.CreateICmpEQ(r[d].hi, constant(p_.extents[d])));
        return all(conditions);
    }

    // ---- the fused epilogue -------------------------------------------------------------------

    // The element-wise statements on one finished accumulator, then the stores of what they wrote.
    void epilogue(const Ranges& r, const std::vector<std::int64_t>& q, bool whole, const ProducedValues& produced) {
        const PlannedEpilogue& e = *p_.epilogue;
        Value* valid = nullptr;
        const Values pos = callPositions(r, q, whole, valid);
        std::map<std::string, Value*> values;
        if (e.acrossLoops.empty())
            values[e.produced] = produced.at({});
        std::vector<std::string> written;
        for (const auto& st : e.statements) {
            values[st.target.tensor] = epilogueValue(st.value, values, produced, pos, whole, valid);
            if (std::find(written.begin(), written.end(), st.target.tensor) == written.end())
                written.push_back(st.target.tensor);
        }
        if (e.storeProduced && e.acrossLoops.empty()) // as computed, or as a statement rewrote it (`Y = relu(Y + b)`)
            storeAccumulator(r, q, whole, values.at(e.produced));
        for (const auto& tensor : written) {
            const PlannedOperand* op = tensor == e.produced ? nullptr : epilogueAccess(tensor);
            if (op) // none: the produced tensor, stored above, or a temporary, held in registers only
                storeLanes(*op, tensorBase_.at(tensor), pos, whole, valid, values.at(tensor));
        }
    }

    const PlannedOperand* epilogueAccess(const std::string& tensor) const {
        const PlannedEpilogue& e = *p_.epilogue;
        for (std::size_t i = 0; i < e.accessKeys.size(); ++i)
            if (e.accessKeys[i].tensor == tensor)
                return &e.accesses[i];
        return nullptr;
    }

    Value* epilogueValue(const ir::Expr& x, const std::map<std::string, Value*>& values, const ProducedValues& produced,
                         const Values& pos, bool whole, Value* valid) {
        Type* type = operandType(p_.operands[p_.output]);
        const PlannedEpilogue& e = *p_.epilogue;
        switch (x.kind) {
        case ir::Expr::Kind::Constant: return realLike(b_, type, x.constant);
        case ir::Expr::Kind::Access: {
            if (const auto it = values.find(x.access.tensor); it != values.end())
                return it->second;
            if (x.access.tensor == e.produced) { // at constants along the dimensions the point drops
                std::vector<std::int64_t> key;
                for (std::size_t i : e.acrossPositions)
                    key.push_back(x.access.indices[i].constant);
                return produced.at(key);
            }
            const auto key = std::find(e.accessKeys.begin(), e.accessKeys.end(), x.access) - e.accessKeys.begin();
            const PlannedOperand& op = e.accesses[static_cast<std::size_t>(key)];
            return loadLanes(op, tensorBase_.at(op.tensor), pos, whole, valid);
        }
        case ir::Expr::Kind::Call: break;
        }
        Values args;
        for (const auto& a : x.args)
            args.push_back(epilogueValue(a, values, produced, pos, whole, valid));
        return emitOp(b_, x.op, args);
    }

    // The output's lanes of another tensor: one element broadcast, a vector, or a gather.
    Value* loadLanes(const PlannedOperand& op, Value* base, const Values& pos, bool whole, Value* valid) {
        Type* type = operandType(op);
        const Align align(ir::byteSize(op.type));
        Value* address = directAddress(base, op, pos);
        const bool broadcast = std::all_of(op.laneOffsets.begin(), op.laneOffsets.end(), [](std::int64_t o) { return o == 0; });
        // Lane zero at clamped positions is always a real point, so a single element can be read unmasked.
        if (op.scalar || broadcast) {
            Value* one = b_.CreateAlignedLoad(elementType(op.type), address, align);
            return op.scalar ? one : b_.CreateVectorSplat(static_cast<unsigned>(op.elements), one);
        }
        if (op.contiguous && whole)
            return b_.CreateAlignedLoad(type, address, align);
        Value* mask = b_.CreateAnd(laneMask(op, pos), b_.CreateVectorSplat(static_cast<unsigned>(op.elements), valid));
        return op.contiguous ? b_.CreateMaskedLoad(type, address, align, mask, Constant::getNullValue(type))
                             : b_.CreateMaskedGather(type, elementPointers(op, address), align, mask, Constant::getNullValue(type));
    }

    Values sweep(std::size_t i, const Ranges& r, const Values& acc, bool wholeOutput) {
        if (i == p_.loops.size()) {
            if (!wholeOutput)
                return calls(r, acc, false);
            return branch(
                wholeTile(r, false), [&] { return calls(r, acc, true); }, [&] { return calls(r, acc, false); });
        }
        return stepLoop(i, r, acc, [&](const Ranges& child, const Values& values) {
            return sweep(i + 1, child, values, wholeOutput);
        });
    }

    // The accumulators: one per register-tile position of the dimensions the output depends on.
    std::vector<std::vector<std::int64_t>> accumulatorSlots() const {
        const auto& out = p_.operands[p_.output];
        std::vector<std::vector<std::int64_t>> slots{std::vector<std::int64_t>(p_.extents.size(), 0)};
        for (std::size_t d = 0; d < p_.extents.size(); ++d) {
            if (!out.dependsOn[d])
                continue;
            std::vector<std::vector<std::int64_t>> grown;
            for (const auto& s : slots)
                for (std::int64_t q = 0; q < p_.registerTile[d]; ++q) {
                    auto t = s;
                    t[d] = q;
                    grown.push_back(t);
                }
            slots = std::move(grown);
        }
        return slots;
    }
    std::size_t slotOf(const std::vector<std::int64_t>& q) const {
        const auto& out = p_.operands[p_.output];
        std::size_t slot = 0;
        for (std::size_t d = 0; d < p_.extents.size(); ++d)
            if (out.dependsOn[d])
                slot = slot * static_cast<std::size_t>(p_.registerTile[d]) + static_cast<std::size_t>(q[d]);
        return slot;
    }

    // True on the register tile's first visit: every dimension the output does not depend on at 0.
    Value* firstVisit(const Ranges& r) {
        const auto& out = p_.operands[p_.output];
        Values conditions;
        for (std::size_t d = 0; d < p_.extents.size(); ++d)
            if (!out.dependsOn[d])
                conditions.push_back(b_.CreateICmpEQ(r[d].lo, constant(0)));
        return all(conditions);
    }

    // Positions of a call at offset `q` in the register tile; clamped into the range when the tile is
    // cut by an edge, with `valid` saying whether the call is real.
    Values callPositions(const Ranges& r, const std::vector<std::int64_t>& q, bool whole, Value*& valid) {
        Values pos;
        Values conditions;
        for (std::size_t d = 0; d < p_.extents.size(); ++d) {
            Value* at = b_.CreateAdd(r[d].lo, constant(q[d]));
            if (!whole && q[d] > 0) {
                Value* inside = b_.CreateICmpSLT(at, r[d].hi);
                conditions.push_back(inside);
                at = b_.CreateSelect(inside, at, b_.CreateSub(r[d].hi, constant(1)));
            }
            pos.push_back(at);
        }
        valid = all(conditions);
        return pos;
    }

    // Per element of the operand: is it a real kernel point at these positions (not padding)?
    Value* laneMask(const PlannedOperand& op, const Values& pos) {
        const auto lanes = static_cast<unsigned>(op.elements);
        Value* mask = ConstantVector::getSplat(ElementCount::getFixed(lanes), b_.getTrue());
        for (std::size_t e = 0; e < p_.instructionExtents.size(); ++e) {
            std::vector<Constant*> index;
            for (const auto& element : op.elementIndex)
                index.push_back(b_.getInt64(static_cast<std::uint64_t>(element[e])));
            Value* lane = ConstantVector::get(index);
            Value* remaining;
            if (p_.loopOfInstructionDim[e] < 0)
                remaining = constant(1);
            else
                remaining = b_.CreateSub(constant(p_.kernelExtentOf[e]),
                                         b_.CreateMul(pos[static_cast<std::size_t>(p_.loopOfInstructionDim[e])],
                                                      constant(p_.instructionExtents[e])));
            mask = b_.CreateAnd(mask, b_.CreateICmpSLT(lane, b_.CreateVectorSplat(lanes, remaining)));
        }
        return mask;
    }

    // The address of `op`'s element at `pos`, as one pointer that the calls of a register tile share
    // plus a constant: a call's position is its tile's start plus its offset in the tile, and that
    // offset goes into the constant. Summed as one index, each call's address was a value of its own to
    // LLVM, which kept one register per call (14 for a tile of 14 broadcasts) and spilled them.
    Value* directAddress(Value* base, const PlannedOperand& op, const Values& pos) {
        std::int64_t fixed = op.positionBase;
        Value* varying = nullptr;
        for (std::size_t d = 0; d < pos.size(); ++d) {
            if (op.positionCoeff[d] == 0)
                continue;
            Value* start = pos[d];
            if (const auto* whole = dyn_cast<ConstantInt>(start)) {
                fixed += whole->getSExtValue() * op.positionCoeff[d];
                continue;
            }
            // (The matcher binds its first operand before it looks at the second: bind into a copy.)
            Value* tileStart = nullptr;
            ConstantInt* step = nullptr;
            if (PatternMatch::match(start, PatternMatch::m_Add(PatternMatch::m_Value(tileStart), PatternMatch::m_ConstantInt(step)))) {
                start = tileStart;
                fixed += step->getSExtValue() * op.positionCoeff[d];
            }
            Value* term = b_.CreateMul(start, constant(op.positionCoeff[d]));
            varying = varying ? b_.CreateAdd(varying, term) : term;
        }
        Value* tile = varying ? elementAddress(base, op.type, varying) : base;
        return elementAddress(tile, op.type, constant(fixed));
    }

    // Pointers to each element of a non-consecutive output, for gathers and scatters.
    Value* elementPointers(const PlannedOperand& op, Value* base) {
        std::vector<Constant*> offsets;
        for (auto o : op.laneOffsets)
            offsets.push_back(b_.getInt64(static_cast<std::uint64_t>(o)));
        return b_.CreateGEP(elementType(op.type), base, ConstantVector::get(offsets));
    }

    Value* initialAccumulator(const Ranges& r, const std::vector<std::int64_t>& q, bool whole, Value* first) {
        Type* type = operandType(p_.operands[p_.output]);
        if (p_.update == ir::Update::Assign)
            return Constant::getNullValue(type);
        Value* loaded = storedOutput(r, q, whole);
        if (p_.outputIsInOut)
            return loaded;
        return b_.CreateSelect(first, identity(type), loaded);
    }

    // A sum computed from zero, plus what the output holds unless this is the tile's first visit.
    // One branch for the whole tile: a select per accumulator became a branch per accumulator around
    // its load, with the sums spilled to the stack between them.
    Values addStored(const Ranges& r, const std::vector<std::vector<std::int64_t>>& slots, bool whole, Value* first,
                     const Values& sums) {
        auto added = [&] {
            Values totals;
            for (std::size_t i = 0; i < slots.size(); ++i) {
                Value* loaded = storedOutput(r, slots[i], whole);
                totals.push_back(sums[i]->getType()->isFPOrFPVectorTy() ? b_.CreateFAdd(loaded, sums[i])
                                                                        : b_.CreateAdd(loaded, sums[i]));
            }
            return totals;
        };
        if (p_.outputIsInOut)
            return added();
        return branch(first, [&] { return sums; }, added);
    }

    void prefetchOutput(const Ranges& r, const std::vector<std::int64_t>& q, bool whole) {
        const auto& out = p_.operands[p_.output];
        if (!out.scalar && !out.contiguous)
            return;
        Value* valid = nullptr;
        const Values pos = callPositions(r, q, whole, valid);
        Value* address = directAddress(base_[p_.output], out, pos);
        // For writing, kept close (locality 3), data cache.
        b_.CreateIntrinsic(Intrinsic::prefetch, {ptr_}, {address, b_.getInt32(1), b_.getInt32(3), b_.getInt32(1)});
    }

    // The output's values at one accumulator slot (zero in lanes past the edge).
    Value* storedOutput(const Ranges& r, const std::vector<std::int64_t>& q, bool whole) {
        const auto& out = p_.operands[p_.output];
        Type* type = operandType(out);
        Value* valid = nullptr;
        const Values pos = callPositions(r, q, whole, valid);
        Value* address = directAddress(base_[p_.output], out, pos);
        const Align align(ir::byteSize(out.type));
        Value* loaded;
        if (out.scalar)
            loaded = b_.CreateAlignedLoad(type, address, align);
        else if (out.contiguous && whole)
            loaded = b_.CreateAlignedLoad(type, address, align);
        else {
            Value* mask = b_.CreateAnd(laneMask(out, pos), b_.CreateVectorSplat(static_cast<unsigned>(out.elements), valid));
            loaded = out.contiguous ? b_.CreateMaskedLoad(type, address, align, mask, Constant::getNullValue(type))
                                    : b_.CreateMaskedGather(type, elementPointers(out, address), align, mask,
                                                            Constant::getNullValue(type));
        }
        return loaded;
    }

    Value* identity(Type* type) {
        if (p_.update != ir::Update::Max)
            return Constant::getNullValue(type);
        Type* e = type->getScalarType();
        Constant* lowest = e->isFloatingPointTy() ? ConstantFP::getInfinity(e, true)
                                                  : ConstantInt::get(e, APInt::getSignedMinValue(e->getIntegerBitWidth()));
        return type->isVectorTy() ? ConstantVector::getSplat(cast<VectorType>(type)->getElementCount(), lowest) : lowest;
    }

    void storeAccumulator(const Ranges& r, const std::vector<std::int64_t>& q, bool whole, Value* value) {
        Value* valid = nullptr;
        const Values pos = callPositions(r, q, whole, valid);
        storeLanes(p_.operands[p_.output], base_[p_.output], pos, whole, valid, value);
    }

    // Writes the output's lanes into `op`'s tensor: whole vectors where they can, masked or scattered
    // at the edges.
    void storeLanes(const PlannedOperand& op, Value* base, const Values& pos, bool whole, Value* valid, Value* value) {
        Value* address = directAddress(base, op, pos);
        const Align align(ir::byteSize(op.type));
        if (op.scalar) {
            if (whole) {
                b_.CreateAlignedStore(value, address, align);
                return;
            }
            branch(valid, [&] { b_.CreateAlignedStore(value, address, align); return Values{}; }, [] { return Values{}; });
            return;
        }
        if (op.contiguous && whole) {
            b_.CreateAlignedStore(value, address, align);
            return;
        }
        Value* mask = b_.CreateAnd(laneMask(op, pos), b_.CreateVectorSplat(static_cast<unsigned>(op.elements), valid));
        if (op.contiguous)
            b_.CreateMaskedStore(value, address, align, mask);
        else
            b_.CreateMaskedScatter(value, elementPointers(op, address), align, mask);
    }

    // ---- the calls of one register tile -------------------------------------------------------

    // The loads of one register tile, by operand and the tensor index (or offset) they read.
    using TileLoads = std::map<std::vector<std::int64_t>, Value*>;

    Values calls(const Ranges& r, Values acc, bool whole) {
        std::vector<std::int64_t> q(p_.extents.size(), 0);
        TileLoads loads;
        std::function<void(std::size_t)> walk = [&](std::size_t i) {
            if (i == p_.registerOrder.size()) {
                oneCall(r, q, whole, acc, loads);
                return;
            }
            const auto d = static_cast<std::size_t>(p_.registerOrder[i]);
            for (q[d] = 0; q[d] < p_.registerTile[d]; ++q[d])
                walk(i + 1);
            q[d] = 0;
        };
        walk(0);
        return acc;
    }

    void oneCall(const Ranges& r, const std::vector<std::int64_t>& q, bool whole, Values& acc, TileLoads& loads) {
        Value* valid = nullptr;
        const Values pos = callPositions(r, q, whole, valid);
        std::map<std::string, Value*> env;
        for (std::size_t o = 0; o < p_.operands.size(); ++o)
            if (o != p_.output)
                env[p_.operands[o].instructionOperand] = reusedLoad(o, q, pos, whole, loads);
        const std::size_t slot = slotOf(q);
        env[p_.outputOperand] = acc[slot];
        Value* result = lowerSteps(env);
        if (!result)
            return;
        acc[slot] = whole ? result : b_.CreateSelect(valid, result, acc[slot]);
    }

    // Calls of one whole register tile that read the same elements share one load. A window's taps
    // (a depthwise convolution's X[ow + s]) reach the same pixel from several calls, through index
    // expressions and halo masks that LLVM does not see are equal.
    Value* reusedLoad(std::size_t o, const std::vector<std::int64_t>& q, const Values& pos, bool whole, TileLoads& loads) {
        const auto& op = p_.operands[o];
        if (!whole || op.packed || !(op.haloMask || op.affine))
            return loadInput(o, pos, whole);
        // The tensor indices (halo) or the offset (direct) relative to the tile's first call.
        std::vector<std::int64_t> key{static_cast<std::int64_t>(o)};
        if (op.haloMask) {
            for (const auto& row : op.haloIndexCoeff)
                key.push_back(dot(row, q));
        } else {
            key.push_back(dot(op.positionCoeff, q));
        }
        auto [it, fresh] = loads.try_emplace(std::move(key), nullptr);
        if (fresh)
            it->second = loadInput(o, pos, whole);
        return it->second;
    }

    static std::int64_t dot(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
        std::int64_t sum = 0;
        for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
            sum += a[i] * b[i];
        return sum;
    }

    Value* loadInput(std::size_t o, const Values& pos, bool whole) {
        const auto& op = p_.operands[o];
        if (op.packed)
            return b_.CreateAlignedLoad(operandType(op), packedAddress(o, pos), Align(ir::byteSize(op.type)));
        if (op.haloMask)
            return loadWithHalo(op, pos, directAddress(base_[o], op, pos), whole);
        return loadInPlace(o, pos, !whole);
    }

    // An input read from its tensor as the instruction takes it: whole, or `masked` to the lanes that
    // reach the kernel (zero past its edge).
    Value* loadInPlace(std::size_t o, const Values& pos, bool masked) {
        const auto& op = p_.operands[o];
        Type* type = operandType(op);
        const Align align(ir::byteSize(op.type));
        Value* address = directAddress(base_[o], op, pos);
        if (!masked || op.scalar)
            return b_.CreateAlignedLoad(type, address, align);
        return b_.CreateMaskedLoad(type, address, align, laneMask(op, pos), Constant::getNullValue(type));
    }

    // A padded input read in place: lanes whose tensor index falls outside the tensor read zero.
    Value* loadWithHalo(const PlannedOperand& op, const Values& pos, Value* address, bool whole) {
        if (op.scalar || op.haloUniform)
            return loadWithUniformHalo(op, pos, address, whole);
        Type* type = operandType(op);
        const auto lanes = static_cast<unsigned>(op.elements);
        Value* mask = ConstantVector::getSplat(ElementCount::getFixed(lanes), b_.getTrue());
        for (std::size_t t = 0; t < op.haloIndexBase.size(); ++t) {
            if (!op.haloMayLeave[t])
                continue;
            std::vector<Constant*> offsets;
            for (auto o : op.haloLaneOffsets[t])
                offsets.push_back(b_.getInt64(static_cast<std::uint64_t>(o)));
            Value* at = b_.CreateAdd(b_.CreateVectorSplat(lanes, haloIndex(op, pos, t)), ConstantVector::get(offsets));
            Value* low = b_.CreateVectorSplat(lanes, constant(0));
            Value* high = b_.CreateVectorSplat(lanes, constant(op.shape[t]));
            mask = b_.CreateAnd(mask, b_.CreateAnd(b_.CreateICmpSGE(at, low), b_.CreateICmpSLT(at, high)));
        }
        if (!whole)
            mask = b_.CreateAnd(mask, laneMask(op, pos));
        return b_.CreateMaskedLoad(type, address, alignOf(op), mask, Constant::getNullValue(type));
    }

    // Every lane at the same index of each padded dimension (a channel-last window: the vector runs
    // along the channels): one condition for the whole vector, and a load from the nearest element
    // inside the tensor, replaced by zero outside it. No load, masked or not, touches memory past
    // the buffer: a masked load whose disabled lanes fall on an unmapped page made a depthwise layer
    // five times slower on the development machine, depending on where its input was allocated.
    Value* loadWithUniformHalo(const PlannedOperand& op, const Values& pos, Value* address, bool whole) {
        Type* type = operandType(op);
        Value* inside = b_.getTrue();
        Value* shift = constant(0); // in elements, from the index to its clamped one
        for (std::size_t t = 0; t < op.haloIndexBase.size(); ++t) {
            if (!op.haloMayLeave[t])
                continue;
            Value* at = haloIndex(op, pos, t);
            if (!op.haloLaneOffsets[t].empty() && op.haloLaneOffsets[t][0] != 0)
                at = b_.CreateAdd(at, constant(op.haloLaneOffsets[t][0]));
            inside = b_.CreateAnd(inside, b_.CreateAnd(b_.CreateICmpSGE(at, constant(0)), b_.CreateICmpSLT(at, constant(op.shape[t]))));
            Value* clamped = b_.CreateBinaryIntrinsic(Intrinsic::smin, b_.CreateBinaryIntrinsic(Intrinsic::smax, at, constant(0)),
                                                      constant(op.shape[t] - 1));
            shift = b_.CreateAdd(shift, b_.CreateMul(b_.CreateSub(clamped, at), constant(op.strides[t])));
        }
        Value* safe = b_.CreateGEP(elementType(op.type), address, shift);
        Value* zero = Constant::getNullValue(type);
        if (op.scalar)
            return b_.CreateSelect(inside, b_.CreateAlignedLoad(type, safe, alignOf(op)), zero);
        const auto lanes = static_cast<unsigned>(op.elements);
        Value* mask = b_.CreateVectorSplat(lanes, inside);
        if (!whole)
            mask = b_.CreateAnd(mask, laneMask(op, pos));
        return b_.CreateMaskedLoad(type, safe, alignOf(op), mask, zero);
    }

    Value* haloIndex(const PlannedOperand& op, const Values& pos, std::size_t t) {
        Value* index = constant(op.haloIndexBase[t]);
        for (std::size_t d = 0; d < pos.size(); ++d)
            if (op.haloIndexCoeff[t][d] != 0)
                index = b_.CreateAdd(index, b_.CreateMul(pos[d], constant(op.haloIndexCoeff[t][d])));
        return index;
    }

    static Align alignOf(const PlannedOperand& op) { return Align(ir::byteSize(op.type)); }

    // ---- the instruction's own lowering -------------------------------------------------------

    // Runs the `lower llvm` steps over the operands' values; the last step's value is the output's.
    Value* lowerSteps(std::map<std::string, Value*>& env) {
        Type* outType = env.at(p_.outputOperand)->getType();
        const unsigned outBits = outType->getPrimitiveSizeInBits().getFixedValue();
        Value* last = nullptr;
        for (const auto& step : p_.steps) {
            const auto w = words(step);
            if (w.empty())
                continue;
            auto operand = [&](std::size_t i) -> Value* {
                if (i >= w.size()) {
                    fail("step \"" + step + "\" of " + p_.instruction + " lacks an operand");
                    return nullptr;
                }
                const auto it = env.find(w[i]);
                if (it != env.end())
                    return it->second;
                char* end = nullptr;
                const long long literal = std::strtoll(w[i].c_str(), &end, 10);
                if (end && *end == 0)
                    return b_.getInt32(static_cast<std::uint32_t>(literal));
                fail("step \"" + step + "\" of " + p_.instruction + " names " + w[i] + ", which is no operand");
                return nullptr;
            };
            if (w[0] == "splat" || w[0] == "splat32") {
                Value* v = operand(1);
                if (!v)
                    return nullptr;
                if (w[0] == "splat32")
                    v = asInt32(v);
                const unsigned lanes = outBits / v->getType()->getPrimitiveSizeInBits().getFixedValue();
                env[w[1]] = last = b_.CreateVectorSplat(lanes, v);
            } else if (w[0] == "zero") {
                env["zero"] = last = Constant::getNullValue(outType);
            } else if (w[0] == "fadd" || w[0] == "fmul" || w[0] == "fsub" || w[0] == "add" || w[0] == "mul") {
                Value* a = operand(1);
                Value* c = operand(2);
                if (!a || !c)
                    return nullptr;
                const auto opcode = w[0] == "fadd" ? Instruction::FAdd
                                    : w[0] == "fmul" ? Instruction::FMul
                                    : w[0] == "fsub" ? Instruction::FSub
                                    : w[0] == "add"  ? Instruction::Add
                                                     : Instruction::Mul;
                last = b_.CreateBinOp(opcode, a, c);
            } else if (w[0].rfind("llvm.", 0) == 0) {
                last = callIntrinsic(step, w, operand, outType);
                if (!last)
                    return nullptr;
            } else {
                fail("step \"" + step + "\" of " + p_.instruction + " is not a known lowering step (see docs/targets.md)");
                return nullptr;
            }
        }
        if (!last) {
            fail("instruction " + p_.instruction + " has no lowering steps");
            return nullptr;
        }
        return b_.CreateBitCast(last, outType);
    }

    // A 32-bit group of elements as one integer (a plain vector load is redone as a scalar load, which
    // the backend can fold into a broadcast).
    Value* asInt32(Value* v) {
        if (auto* load = dyn_cast<LoadInst>(v); load && v->getType()->isVectorTy())
            return b_.CreateAlignedLoad(i32_, load->getPointerOperand(), load->getAlign());
        return b_.CreateBitCast(v, i32_);
    }

    Value* callIntrinsic(const std::string& step, const std::vector<std::string>& w,
                         const std::function<Value*(std::size_t)>& operand, Type* outType) {
        const Intrinsic::ID id = Function::lookupIntrinsicID(w[0]);
        if (id == Intrinsic::not_intrinsic) {
            fail("step \"" + step + "\" of " + p_.instruction + " calls " + w[0] + ", which LLVM does not know");
            return nullptr;
        }
        Function* callee = Intrinsic::isOverloaded(id) ? Intrinsic::getDeclaration(&m_, id, {outType})
                                                       : Intrinsic::getDeclaration(&m_, id);
        FunctionType* type = callee->getFunctionType();
        if (type->getNumParams() != w.size() - 1) {
            fail("step \"" + step + "\": " + w[0] + " takes " + std::to_string(type->getNumParams()) + " operands");
            return nullptr;
        }
        Values args;
        for (std::size_t i = 1; i < w.size(); ++i) {
            Value* v = operand(i);
            if (!v)
                return nullptr;
            Type* want = type->getParamType(static_cast<unsigned>(i - 1));
            if (v->getType() != want) {
                if (v->getType()->getPrimitiveSizeInBits() != want->getPrimitiveSizeInBits()) {
                    fail("step \"" + step + "\": operand " + w[i] + " has the wrong size for " + w[0]);
                    return nullptr;
                }
                // LLVM 16's vector-combine pass recurses without end on a bitcast of a shuffle into a
                // bfloat vector; a freeze between them keeps it out (and changes nothing else).
                if (want->getScalarType()->isBFloatTy() && isa<ShuffleVectorInst>(v))
                    v = b_.CreateFreeze(v);
                v = b_.CreateBitCast(v, want);
            }
            args.push_back(v);
        }
        return b_.CreateCall(callee, args);
    }

    // ---- packing ------------------------------------------------------------------------------

    void emitPacksAfter(int loopIndex, const Ranges& r, bool atTaskStart) {
        for (std::size_t o = 0; o < p_.operands.size(); ++o) {
            const auto& op = p_.operands[o];
            if (op.packed && (op.packAfter == loopIndex || (atTaskStart && op.packAfter < loopIndex)))
                pack(o, r);
        }
    }

    // Copies operand o's tile into its buffer in the instruction's layout, zero past the edges.
    void pack(std::size_t o, const Ranges& r) {
        const auto& op = p_.operands[o];
        for (int d : op.packOrder)
            packLo_[o][static_cast<std::size_t>(d)] = r[static_cast<std::size_t>(d)].lo;
        Values pos(p_.extents.size(), constant(0));
        Value* ahead = copyAheadDistance(o, r);
        std::function<void(std::size_t)> nest = [&](std::size_t i) {
            if (i == op.copyOrder.size()) {
                packCall(o, pos, ahead);
                return;
            }
            const auto d = static_cast<std::size_t>(op.copyOrder[i]);
            loop(b_.CreateSub(r[d].hi, r[d].lo), {}, [&](Value* counter, const Values&) {
                pos[d] = b_.CreateAdd(r[d].lo, counter);
                nest(i + 1);
                return Values{};
            });
        };
        nest(0);
    }

    // Whether a packing copy reads the operand in place, a whole vector per call.
    static bool copiesVectors(const PlannedOperand& op) { return op.affine && op.contiguous && !op.halo && !op.scalar; }

    // How many steps of the outermost copy loop ahead to prefetch the source, when the copy reads it
    // in place, one vector per call: about 8 KiB ahead. A Goto blocking's block of A, read a column at a
    // time from a tensor larger than the caches, waited on each column (5124x700x2048: the copy took 9%
    // of the time in int8 and 6% in f32, 3-5% with the prefetch). None (null) when the copy has one loop.
    Value* copyAheadDistance(std::size_t o, const Ranges& r) {
        const auto& op = p_.operands[o];
        if (!copiesVectors(op) || op.copyOrder.size() < 2)
            return nullptr;
        Value* stepBytes = constant(op.elements * ir::byteSize(op.type));
        for (std::size_t i = 1; i < op.copyOrder.size(); ++i) {
            const auto d = static_cast<std::size_t>(op.copyOrder[i]);
            stepBytes = b_.CreateMul(stepBytes, b_.CreateSub(r[d].hi, r[d].lo));
        }
        // An empty range would divide by zero (a trap on x86), though the copy then never runs.
        stepBytes = b_.CreateSelect(b_.CreateICmpEQ(stepBytes, constant(0)), constant(1), stepBytes);
        Value* steps = b_.CreateUDiv(constant(kCopyAheadBytes), stepBytes);
        return b_.CreateSelect(b_.CreateICmpULT(steps, constant(1)), constant(1), steps);
    }

    // A prefetch of the call `distance` steps further along the copy's outermost loop. Past the
    // tile's end it touches the next tile's data or nothing (a prefetch never faults).
    void prefetchAhead(std::size_t o, const Values& pos, Value* distance) {
        const auto& op = p_.operands[o];
        Values ahead = pos;
        const auto d = static_cast<std::size_t>(op.copyOrder.front());
        ahead[d] = b_.CreateAdd(pos[d], distance);
        Value* address = directAddress(base_[o], op, ahead);
        // For reading (0), kept close (locality 3), data cache (1).
        b_.CreateIntrinsic(Intrinsic::prefetch, {ptr_}, {address, b_.getInt32(0), b_.getInt32(3), b_.getInt32(1)});
    }

    // The address of the call at `pos` in operand o's buffer (the micro-panel layout of PlannedOperand).
    Value* packedAddress(std::size_t o, const Values& pos) {
        const auto& op = p_.operands[o];
        Value* index = constant(0);
        for (std::size_t d = 0; d < pos.size(); ++d) {
            if (op.packStride[d] == 0)
                continue;
            Value* r = b_.CreateSub(pos[d], packLo_[o][d]);
            if (op.packInner[d] == 1) {
                index = b_.CreateAdd(index, b_.CreateMul(r, constant(op.packStride[d])));
                continue;
            }
            Value* inner = constant(op.packInner[d]);
            index = b_.CreateAdd(index, b_.CreateMul(b_.CreateUDiv(r, inner), constant(op.packStride[d])));
            index = b_.CreateAdd(index, b_.CreateMul(b_.CreateURem(r, inner), constant(op.packInnerStride[d])));
        }
        return elementAddress(packBuffer_[o], op.type, b_.CreateMul(index, constant(op.elements)));
    }

    // `ahead`: the prefetch distance of copyAheadDistance, or null for none.
    void packCall(std::size_t o, const Values& pos, Value* ahead) {
        const auto& op = p_.operands[o];
        Type* e = elementType(op.type);
        Value* destination = packedAddress(o, pos);
        if (copiesVectors(op)) {
            // Read in place as the unpacked calls would, one vector per call.
            if (ahead)
                prefetchAhead(o, pos, ahead);
            b_.CreateAlignedStore(loadInPlace(o, pos, lanesMayOverhang_), destination, Align(ir::byteSize(op.type)));
            return;
        }
        for (std::size_t j = 0; j < op.elementIndex.size(); ++j) {
            Value* ok = nullptr;
            Value* offset = tensorOffset(op, pos, op.elementIndex[j], ok);
            Value* value = b_.CreateAlignedLoad(e, elementAddress(base_[o], op.type, b_.CreateSelect(ok, offset, constant(0))),
                                                Align(ir::byteSize(op.type)));
            value = b_.CreateSelect(ok, value, Constant::getNullValue(e));
            b_.CreateAlignedStore(value, b_.CreateGEP(e, destination, constant(static_cast<std::int64_t>(j))),
                                  Align(ir::byteSize(op.type)));
        }
    }

    // The tensor offset of one instruction element at loop positions `pos`; `ok` when it is a real
    // kernel point inside the tensor (outside: the zero halo or the padding of a partial tile).
    Value* tensorOffset(const PlannedOperand& op, const Values& pos, const std::vector<std::int64_t>& lane, Value*& ok) {
        Values conditions;
        for (std::size_t e = 0; e < lane.size(); ++e) {
            const int d = p_.loopOfInstructionDim[e];
            if (d < 0) {
                if (lane[e] != 0)
                    conditions.push_back(b_.getFalse());
                continue;
            }
            Value* f = b_.CreateAdd(b_.CreateMul(pos[static_cast<std::size_t>(d)], constant(p_.instructionExtents[e])),
                                    constant(lane[e]));
            conditions.push_back(b_.CreateICmpSLT(f, constant(p_.kernelExtentOf[e])));
        }
        Values kernelPoint;
        for (const auto& src : p_.kernelDims) {
            Value* f = pos[static_cast<std::size_t>(src.loopDim)];
            if (src.instructionDim >= 0)
                f = b_.CreateAdd(b_.CreateMul(f, constant(src.instructionExtent)),
                                 constant(lane[static_cast<std::size_t>(src.instructionDim)]));
            if (src.innerProduct != 1)
                f = b_.CreateUDiv(f, constant(src.innerProduct));
            if (src.instructionDim >= 0)
                f = b_.CreateURem(f, constant(src.extent));
            kernelPoint.push_back(f);
        }
        Value* offset = constant(0);
        for (std::size_t t = 0; t < op.indexCoeff.size(); ++t) {
            Value* v = constant(op.indexConstant[t]);
            for (std::size_t k = 0; k < kernelPoint.size(); ++k)
                if (op.indexCoeff[t][k] != 0)
                    v = b_.CreateAdd(v, b_.CreateMul(kernelPoint[k], constant(op.indexCoeff[t][k])));
            if (op.halo) {
                conditions.push_back(b_.CreateICmpSGE(v, constant(0)));
                conditions.push_back(b_.CreateICmpSLT(v, constant(op.shape[t])));
            }
            offset = b_.CreateAdd(offset, b_.CreateMul(v, constant(op.strides[t])));
        }
        ok = all(conditions);
        return offset;
    }

    // ---- entries ------------------------------------------------------------------------------

    Function* emitArgsEntry(Function* task) {
        auto* type = FunctionType::get(b_.getVoidTy(), {ptr_}, false);
        Function* f = Function::Create(type, Function::ExternalLinkage, p_.functionName + "_args", m_);
        b_.SetInsertPoint(BasicBlock::Create(c_, "entry", f));
        plantFault();
        Value* args = f->getArg(0);
        if (p_.threads > 1) {
            FunctionCallee parallelFor = m_.getOrInsertFunction(
                parallelForSymbol, FunctionType::get(b_.getVoidTy(), {ptr_, ptr_, i64_, i64_}, false));
            b_.CreateCall(parallelFor, {task, args, constant(parallelCount()), constant(p_.threads)});
        } else {
            b_.CreateCall(task, {args, constant(0), constant(parallelCount())});
        }
        b_.CreateRetVoid();
        return f;
    }

    void plantFault() {
        if (p_.fault == Options::Fault::Crash) {
            b_.CreateStore(b_.getInt32(0), ConstantPointerNull::get(cast<PointerType>(ptr_)), true);
        } else if (p_.fault == Options::Fault::Hang) {
            Function* f = b_.GetInsertBlock()->getParent();
            Value* slot = b_.CreateAlloca(i32_);
            BasicBlock* spin = BasicBlock::Create(c_, "hang", f);
            b_.CreateBr(spin);
            b_.SetInsertPoint(spin);
            b_.CreateLoad(i32_, slot, true);
            b_.CreateBr(spin);
            b_.SetInsertPoint(BasicBlock::Create(c_, "never", f));
        }
    }

    void fail(const std::string& message) {
        if (error_.empty())
            error_ = message;
    }

    const Plan& p_;
    Module& m_;
    LLVMContext& c_;
    mutable IRBuilder<> b_;
    Type* i1_ = nullptr;
    Type* i32_ = nullptr;
    Type* i64_ = nullptr;
    Type* ptr_ = nullptr;
    Values base_; // per planned operand
    std::map<std::string, Value*> tensorBase_;
    Values packBuffer_;
    std::vector<Values> packLo_;
    std::vector<bool> evenDims_; // per loop dimension: every range of it is whole (evenlyDividedDims)
    bool lanesMayOverhang_ = true;
    std::string error_;
};

} // namespace

bool emitPlan(const Plan& plan, Module& module, std::string& error) {
    return Emitter(plan, module).run(error);
}

} // namespace isamap::codegen
