#include "schedule/schedule.h"

#include "ir/types.h"
#include "support/integers.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <sstream>

namespace isamap::schedule {

using namespace ir;

namespace {

// The memories from the outermost down to `memory`, outermost first.
std::vector<std::string> pathTo(const Target& t, const std::string& memory) {
    std::vector<std::string> path;
    for (const Memory* m = t.findMemory(memory); m; m = m->parent.empty() ? nullptr : t.findMemory(m->parent)) {
        path.push_back(m->name);
        if (path.size() > t.memories.size())
            break; // a loop in `parent`; the checker reports it
    }
    std::reverse(path.begin(), path.end());
    return path;
}

std::string loopName(const mapping::DimBinding& b) {
    std::string name;
    for (const auto& d : b.kernelDims)
        name += (name.empty() ? "" : ".") + d;
    return name;
}

// "m=4" -> value 4; false on anything else.
bool parseAssignment(const std::string& word, std::string& name, std::int64_t& value) {
    const auto eq = word.find('=');
    if (eq == std::string::npos)
        return false;
    name = word.substr(0, eq);
    const char* begin = word.data() + eq + 1;
    const char* end = word.data() + word.size();
    auto [ptr, ec] = std::from_chars(begin, end, value);
    return ec == std::errc() && ptr == end && begin != end;
}

std::string sizeText(double bytes) { return formatQuantity(Quantity::Bytes, bytes); }

// An element access of its own: x86 cores since Haswell issue two loads and one store per cycle.
constexpr double kElementLoadCycles = 0.5;
constexpr double kElementStoreCycles = 1.0;
// A lane of an output gathered into a register and scattered back costs far more: the next visit's
// gather waits for the scatter to reach the cache. About 16 cycles a lane, round trip, measured on the
// development machine (Zen 4, LLVM 16's gathers and scatters; docs/PERFORMANCE.md, "Cost model").
constexpr double kScatteredLoadCycles = 4.0;
constexpr double kScatteredStoreCycles = 12.0;
// An accumulator stored and loaded again a few dozen instructions later waits for the store to reach
// the load, far longer than the moves' own latencies (1 and 7 cycles). 32 cycles fits the measured
// schedules best (bench_model_fit and two samples of `isamap tune --measure`, docs/PERFORMANCE.md).
constexpr double kReloadRoundTripCycles = 32.0;

// Elements of an instruction operand (constant extents).
std::int64_t elementsOf(const TensorDecl& t) {
    std::int64_t n = 1;
    for (std::int64_t extent : ir::shape(t, {}).value_or(std::vector<std::int64_t>{}))
        n *= extent;
    return n;
}

// The target's move on `unit` from memory `from` to `to` for elements of `type` (or, failing that, of the
// same size); null when the target has none.
const Instruction* findMove(const Target& t, const std::string& unit, const std::string& from, const std::string& to,
                            ScalarType type) {
    const Instruction* sameSize = nullptr;
    for (const auto& ins : t.instructions) {
        if (ins.kind != Instruction::Kind::Move || ins.throughput <= 0 || ins.unit != unit)
            continue;
        const TensorDecl *src = nullptr, *dst = nullptr;
        for (const auto& tensor : ins.body.tensors)
            (tensor.role == TensorRole::In ? src : dst) = &tensor;
        if (!src || !dst || src->memory != from || dst->memory != to || byteSize(src->type) != byteSize(type))
            continue;
        if (src->type == type)
            return &ins;
        sameSize = sameSize ? sameSize : &ins;
    }
    return sameSize;
}

// Issue cycles per byte the move carries.
double cyclesPerByte(const Instruction& move) {
    const TensorDecl& src = *std::find_if(move.body.tensors.begin(), move.body.tensors.end(),
                                          [](const TensorDecl& t) { return t.role == TensorRole::In; });
    return 1.0 / move.throughput / static_cast<double>(elementsOf(src) * byteSize(src.type));
}

// The operand's elements are consecutive in storage when its strides are the row-major ones of its shape.
bool consecutive(const TensorDecl& operand, const std::vector<std::int64_t>& strides) {
    const auto shape = ir::shape(operand, {}).value_or(std::vector<std::int64_t>{});
    std::int64_t expected = 1;
    for (std::size_t t = shape.size(); t-- > 0;) {
        if (shape[t] > 1 && (t >= strides.size() || strides[t] != expected))
            return false;
        expected *= shape[t];
    }
    return true;
}

// What feeding the instruction from a register file costs its unit, when the unit is a CPU core (the
// instruction lowers through LLVM), which issues its moves as instructions of the same stream: load and
// store instructions. (A virtual accelerator's moves are the simulator's to describe.) A contiguous
// operand moves as the target's vector moves; an output the instruction sees scattered is gathered and
// scattered lane by lane (inputs in that case are packed first, then loaded whole); a memory operand
// narrower than the output (a broadcast) is one element load per call. Leaves the space without a
// register level, and its operands without issue costs, when the unit has no such moves.
void describeIssueCosts(const Target& t, const Instruction& ins, const mapping::Candidate& candidate, Space& space) {
    const Memory* file = t.findMemory(space.levels.back().memory);
    const bool onCpu = std::any_of(ins.lowerings.begin(), ins.lowerings.end(), [](const Lowering& l) { return l.backend == "llvm"; });
    if (!file || file->registers == 0 || !onCpu)
        return;
    struct Moves {
        const Instruction* load = nullptr;
        const Instruction* store = nullptr;
    };
    std::vector<Moves> moves(space.operands.size());
    std::int64_t outputLanes = 1;
    for (std::size_t o = 0; o < space.operands.size(); ++o) {
        const TensorDecl& decl = *ins.body.findTensor(space.operands[o].instructionOperand);
        Operand& op = space.operands[o];
        op.lanes = elementsOf(decl);
        op.contiguous = consecutive(decl, candidate.operands[o].strides);
        op.inRegisters = decl.memory == file->name;
        if (op.output)
            outputLanes = op.lanes;
        if (!op.inRegisters)
            continue;
        moves[o] = {findMove(t, ins.unit, file->parent, file->name, decl.type),
                    findMove(t, ins.unit, file->name, file->parent, decl.type)};
        // An input is only loaded: a target need not store its 8- and 16-bit vectors.
        if (!moves[o].load || (op.output && !moves[o].store))
            return; // the unit does not issue its own moves: no register level
    }
    for (std::size_t o = 0; o < space.operands.size(); ++o) {
        Operand& op = space.operands[o];
        const double lanes = static_cast<double>(op.lanes);
        if (!op.inRegisters) {
            const TensorDecl& decl = *ins.body.findTensor(op.instructionOperand);
            if (decl.memory == file->parent && op.lanes < outputLanes)
                op.loadCycles = op.contiguous ? kElementLoadCycles : lanes * kElementLoadCycles;
            continue;
        }
        const auto [load, store] = moves[o];
        const double bytes = lanes * op.bytesPerElement;
        const bool scattered = op.output && !op.contiguous;
        if (!op.output && !op.contiguous)
            op.packCycles = kElementLoadCycles + kElementStoreCycles;
        op.loadCycles = scattered ? lanes * kScatteredLoadCycles : cyclesPerByte(*load) * bytes;
        op.storeCycles = scattered ? lanes * kScatteredStoreCycles : store ? cyclesPerByte(*store) * bytes : 0;
        if (op.output)
            space.reloadLatencyCycles = std::max(kReloadRoundTripCycles, static_cast<double>(store->latency + load->latency));
    }
    space.registerLevel = static_cast<int>(space.levels.size()) - 1;
}

} // namespace

namespace {

// The loop dimensions the kernel's epilogue combines across, each of which must be an outer loop of
// one kernel dimension: lanes or a fused loop would hold only part of it in one register tile.
bool markWholeInRegisters(const Kernel& kernel, const mapping::Candidate& candidate, Space& space, std::string& error) {
    if (candidate.statement != 0 || kernel.statements.size() < 2)
        return true;
    std::string why;
    const auto point = epiloguePoint(kernel, why);
    if (!point)
        return true; // code generation says why it cannot fuse; the statement alone still has its space
    for (const auto& dim : point->acrossDims) {
        const auto kd = std::find_if(space.kernelDims.begin(), space.kernelDims.end(),
                                     [&](const KernelDim& k) { return k.name == dim; });
        const LoopDim& loop = space.dims[static_cast<std::size_t>(kd->loopDim)];
        if (loop.instructionDim >= 0 || loop.extent != kd->extent) {
            error = "candidate " + candidate.key + " maps " + dim + " into " +
                    (loop.instructionDim >= 0 ? "the instruction" : "the fused loop " + loop.name) +
                    ", but kernel " + kernel.name + "'s statements after the first read all of " + dim +
                    " at once, which must be whole in one register tile";
            return false;
        }
        space.wholeInRegisters.push_back(kd->loopDim);
    }
    return true;
}

// Why a schedule of this space could not be held (schedule.h's capacities), if it could not.
std::optional<std::string> beyondScheduleCapacity(const Space& space) {
    auto tooMany = [](std::size_t count, std::size_t most, const char* what) -> std::optional<std::string> {
        if (count <= most)
            return std::nullopt;
        return std::to_string(count) + " " + what + "; a schedule holds at most " + std::to_string(most);
    };
    if (auto why = tooMany(space.dims.size(), kMaxLoopDims, "loop dimensions"))
        return why;
    if (auto why = tooMany(space.operands.size(), kMaxOperands, "operands"))
        return why;
    return tooMany(space.levels.size(), kMaxLevels, "memory levels");
}

} // namespace

std::optional<Space> makeSpace(const Kernel& kernel, const Target& target, const mapping::Candidate& candidate,
                               std::string& error) {
    const Instruction* ins = target.findInstruction(candidate.instruction);
    if (!ins || !candidate.valid) {
        error = "candidate " + candidate.key + " is not a valid mapping onto " + target.name;
        return std::nullopt;
    }
    Space space;
    space.kernel = kernel.name;
    space.target = target.name;
    space.candidateKey = candidate.key;
    space.instruction = ins->name;
    const ParamValues params = kernel.paramValues();
    auto extentOf = [&](const std::string& d) { return *evaluate(kernel.findDim(d)->extent, params); };

    // Loop dimensions: one per bound instruction dimension (in instruction tiles), one per outer loop.
    for (std::size_t e = 0; e < candidate.dims.size(); ++e) {
        const auto& b = candidate.dims[e];
        if (b.kernelDims.empty())
            continue;
        const int loop = static_cast<int>(space.dims.size());
        space.dims.push_back({loopName(b), b.tiles, static_cast<int>(e), b.instructionExtent});
        std::int64_t inner = 1;
        for (std::size_t i = b.kernelDims.size(); i-- > 0;) {
            space.kernelDims.push_back({b.kernelDims[i], extentOf(b.kernelDims[i]), loop, inner});
            inner *= extentOf(b.kernelDims[i]);
        }
    }
    for (const auto& d : candidate.outerLoops) {
        const int loop = static_cast<int>(space.dims.size());
        space.dims.push_back({d, extentOf(d), -1, 1});
        space.kernelDims.push_back({d, extentOf(d), loop, 1});
    }

    // Levels: every memory on the way to an operand's memory, outermost first.
    std::map<std::string, std::size_t> depth;
    const Statement& statement = kernel.statements[static_cast<std::size_t>(candidate.statement)];
    for (const auto& o : candidate.operands) {
        const TensorDecl* operand = ins->body.findTensor(o.instructionOperand);
        auto path = pathTo(target, operand->memory);
        for (std::size_t i = 0; i < path.size(); ++i)
            depth.emplace(path[i], i);
    }
    std::vector<std::pair<std::size_t, std::string>> ordered;
    for (const auto& [name, d] : depth)
        ordered.emplace_back(d, name);
    std::sort(ordered.begin(), ordered.end());
    for (const auto& [d, name] : ordered) {
        const Memory* m = target.findMemory(name);
        space.levels.push_back({m->name, m->bytes, m->bandwidth, m->latency, m->registers});
        space.levels.back().streams = m->streams;
        space.levels.back().streamsBandwidth = m->streamsBandwidth;
    }
    if (space.levels.empty()) {
        error = "instruction " + ins->name + " names no memory of target " + target.name;
        return std::nullopt;
    }
    // Each level's source is its memory's parent, which need not be the level listed before it when
    // the hierarchy branches (tpu-like: ddr feeds both the unified buffer and the weights).
    for (auto& level : space.levels) {
        const Memory* m = target.findMemory(level.memory);
        for (std::size_t i = 0; m && !m->parent.empty() && i < space.levels.size(); ++i)
            if (space.levels[i].memory == m->parent)
                level.parent = static_cast<int>(i);
    }
    for (auto& level : space.levels)
        level.perUnit = level.parent >= 0 && space.levels[static_cast<std::size_t>(level.parent)].parent >= 0;

    for (const auto& o : candidate.operands) {
        const TensorDecl* decl = kernel.findTensor(o.kernelTensor);
        const TensorDecl* operand = ins->body.findTensor(o.instructionOperand);
        Operand op;
        op.tensor = o.kernelTensor;
        op.instructionOperand = o.instructionOperand;
        op.output = o.output;
        op.bytesPerElement = byteSize(decl->type);
        op.requiredMemory = operand->memory;
        const auto path = pathTo(target, operand->memory);
        for (const auto& level : space.levels)
            op.onPath.push_back(std::find(path.begin(), path.end(), level.memory) != path.end());
        const Access& access = *findAccess(statement, o.kernelTensor); // the mapper matched it there
        op.dependsOn.assign(space.dims.size(), false);
        const auto tensorStrides = strides(*decl, params);
        op.storageStride.assign(space.kernelDims.size(), 0);
        for (std::size_t t = 0; tensorStrides && t < access.indices.size(); ++t)
            for (std::size_t k = 0; k < space.kernelDims.size(); ++k)
                op.storageStride[k] += std::abs(access.indices[t].coeffOf(space.kernelDims[k].name) * (*tensorStrides)[t]);
        for (std::size_t k = 0; k < op.storageStride.size(); ++k)
            if (op.storageStride[k] != 0)
                op.byStorageStride.push_back(static_cast<int>(k));
        std::stable_sort(op.byStorageStride.begin(), op.byStorageStride.end(),
                         [&](int a, int b) { return op.storageStride[static_cast<std::size_t>(a)] < op.storageStride[static_cast<std::size_t>(b)]; });
        for (const auto& index : access.indices) {
            std::vector<std::int64_t> row;
            for (const auto& kd : space.kernelDims) {
                const std::int64_t c = index.coeffOf(kd.name);
                row.push_back(c < 0 ? -c : c);
                if (c != 0)
                    op.dependsOn[static_cast<std::size_t>(kd.loopDim)] = true;
            }
            op.indexCoeff.push_back(std::move(row));
        }
        space.operands.push_back(std::move(op));
    }

    const Unit* unit = target.findUnit(ins->unit);
    space.units = unit ? unit->count : 1;
    space.clock = unit ? unit->clock : 1e9;
    space.throughput = ins->throughput;
    space.latencyCycles = ins->latency;
    space.instructionCalls = candidate.calls;
    if (const Memory* out = target.findMemory(space.operands.front().requiredMemory))
        space.outputInRegisters = out->registers > 0;
    for (const auto& b : candidate.dims)
        space.instructionPoints *= static_cast<double>(b.instructionExtent);
    double points = 1;
    for (const auto& kd : space.kernelDims)
        points *= static_cast<double>(kd.extent);
    space.usefulFlops = 2 * points;
    if (auto why = beyondScheduleCapacity(space)) {
        error = "kernel " + kernel.name + " on " + target.name + " has " + *why;
        return std::nullopt;
    }
    describeIssueCosts(target, *ins, candidate, space);
    if (!markWholeInRegisters(kernel, candidate, space, error))
        return std::nullopt;
    // The smallest tiles must fit around the dimensions held whole (a lane per gate of a short mapped
    // dimension can overflow the registers).
    if (!space.wholeInRegisters.empty())
        if (auto why = illegal(space, defaultSchedule(space))) {
            error = "candidate " + candidate.key + " cannot hold " + space.dims[static_cast<std::size_t>(space.wholeInRegisters.front())].name +
                    " whole in one register tile, as kernel " + kernel.name + "'s statements after the first need: " + *why;
            return std::nullopt;
        }
    return space;
}

namespace {

// Elements each kernel dimension covers in a tile: a fused loop fills its innermost kernel dimension
// first. Returns how many kernel dimensions it filled in (at most 16).
std::size_t coveredElements(const Space& space, const std::int64_t* tiles, std::int64_t (&covered)[16]) {
    const std::size_t nk = std::min<std::size_t>(space.kernelDims.size(), 16);
    for (std::size_t k = 0; k < nk; ++k) {
        const KernelDim& kd = space.kernelDims[k];
        const LoopDim& ld = space.dims[static_cast<std::size_t>(kd.loopDim)];
        const std::int64_t total = tiles[static_cast<std::size_t>(kd.loopDim)] * ld.elementsPerStep;
        covered[k] = std::min(kd.extent, ceilDiv(total, kd.innerProduct));
    }
    return nk;
}

// Elements of operand `o`'s tile; `padded`: counting the idle lanes of a mapped loop whose kernel
// dimensions fill fewer elements than its instruction tiles hold, as a register holds them.
std::int64_t tileElements(const Space& space, std::size_t o, const std::int64_t* tiles, bool padded) {
    const Operand& op = space.operands[o];
    std::int64_t covered[16];
    const std::size_t nk = coveredElements(space, tiles, covered);
    std::int64_t elements = 1;
    for (const auto& row : op.indexCoeff) {
        std::int64_t span = 1;
        for (std::size_t k = 0; k < nk; ++k)
            span += row[k] * (covered[k] - 1);
        elements *= span;
    }
    if (!padded)
        return elements;
    for (std::size_t d = 0; d < space.dims.size() && d < op.dependsOn.size(); ++d) {
        const LoopDim& ld = space.dims[d];
        if (ld.instructionDim < 0 || !op.dependsOn[d])
            continue;
        std::int64_t used = 1;
        for (std::size_t k = 0; k < nk; ++k)
            if (space.kernelDims[k].loopDim == static_cast<int>(d))
                used *= covered[k];
        const std::int64_t held = tiles[d] * ld.elementsPerStep;
        if (used > 0 && held > used)
            elements = elements / used * held;
    }
    return elements;
}

} // namespace

std::int64_t footprint(const Space& space, std::size_t o, const std::int64_t* tiles) {
    return tileElements(space, o, tiles, false);
}

std::int64_t registerSlots(const Space& space, std::size_t o, const std::int64_t* tiles) {
    return tileElements(space, o, tiles, true);
}

std::vector<std::size_t> windowIndices(const Space& space, std::size_t o, const std::int64_t* tiles) {
    const Operand& op = space.operands[o];
    std::vector<std::size_t> out;
    if (op.output)
        return out;
    for (std::size_t t = 0; t < op.indexCoeff.size(); ++t) {
        std::set<int> tiled;
        for (std::size_t k = 0; k < op.indexCoeff[t].size() && k < space.kernelDims.size(); ++k) {
            const int d = space.kernelDims[k].loopDim;
            if (op.indexCoeff[t][k] != 0 && tiles[static_cast<std::size_t>(d)] > 1)
                tiled.insert(d);
        }
        if (tiled.size() >= 2)
            out.push_back(t);
    }
    return out;
}

// Whether no two calls of the register tile read the same element of input `o`: every loop tiled above
// one call is one its index follows, and none adds to another (no window).
bool readOncePerTile(const Space& space, std::size_t o, const std::int64_t* tiles) {
    const Operand& op = space.operands[o];
    if (op.output || !windowIndices(space, o, tiles).empty())
        return false;
    for (std::size_t d = 0; d < space.dims.size() && d < op.dependsOn.size(); ++d)
        if (tiles[d] > 1 && !op.dependsOn[d])
            return false;
    return true;
}

std::int64_t registerPressure(const Space& space, std::size_t o, const std::int64_t* tiles) {
    if (readOncePerTile(space, o, tiles)) {
        const std::vector<std::int64_t> oneCall(space.dims.size(), 1);
        return registerSlots(space, o, oneCall.data());
    }
    const auto window = windowIndices(space, o, tiles);
    if (window.empty())
        return registerSlots(space, o, tiles);
    // The tile with the loops of the window's outer indices at one call (an output row, a window row).
    std::vector<std::int64_t> one(tiles, tiles + space.dims.size());
    for (std::size_t i = 0; i + 1 < window.size(); ++i) {
        const auto& row = space.operands[o].indexCoeff[window[i]];
        for (std::size_t k = 0; k < row.size() && k < space.kernelDims.size(); ++k)
            if (row[k] != 0)
                one[static_cast<std::size_t>(space.kernelDims[k].loopDim)] = 1;
    }
    return registerSlots(space, o, one.data());
}

std::vector<int> registerWalkOrder(const Space& space, const std::int64_t* tiles, std::span<const int> order) {
    std::vector<int> fixed, spanned;
    for (int d : order)
        (tiles[static_cast<std::size_t>(d)] > 1 ? spanned : fixed).push_back(d);
    if (spanned.size() <= 1) {
        fixed.insert(fixed.end(), spanned.begin(), spanned.end());
        return fixed;
    }
    auto liveInputs = [&](const std::vector<int>& walk) {
        std::int64_t live = 0;
        for (const auto& op : space.operands) {
            if (op.output)
                continue;
            std::int64_t held = 1;
            bool reused = false;
            for (int d : walk) { // outermost first: from the last dimension it does not depend on
                const auto i = static_cast<std::size_t>(d);
                if (!op.dependsOn[i]) {
                    held = 1;
                    reused = true;
                } else {
                    held *= tiles[i];
                }
            }
            // Depending on every dimension of the walk: each value is used by one call.
            live += reused ? held : 1;
        }
        return live;
    };
    std::vector<int> best = spanned;
    std::int64_t fewest = liveInputs(spanned);
    std::vector<int> walk = spanned;
    std::sort(walk.begin(), walk.end());
    do {
        const auto live = liveInputs(walk);
        if (live < fewest) {
            fewest = live;
            best = walk;
        }
    } while (std::next_permutation(walk.begin(), walk.end()));
    fixed.insert(fixed.end(), best.begin(), best.end());
    return fixed;
}

std::int64_t walkedRegisterPressure(const Space& space, std::size_t o, const std::int64_t* tiles, std::span<const int> walk) {
    const Operand& op = space.operands[o];
    const Operand& out = space.operands.front();
    // A tile that takes in reduction steps is straight-line code over them, and LLVM loads their
    // inputs ahead of the calls as it does an unrolled sweep's (Planner::keepSweepsRolled): the whole
    // tile counts.
    bool reduces = false;
    for (std::size_t d = 0; d < space.dims.size(); ++d)
        reduces = reduces || (tiles[d] > 1 && !out.dependsOn[d]);
    if (reduces || readOncePerTile(space, o, tiles) || !windowIndices(space, o, tiles).empty())
        return registerPressure(space, o, tiles);
    // Along the walk, a value is dead once the loop of the innermost dimension it does not depend on
    // steps on: only the tile of the dimensions inside that loop is live at once.
    std::vector<std::int64_t> held(tiles, tiles + space.dims.size());
    for (std::size_t i = walk.size(); i-- > 0;)
        if (!op.dependsOn[static_cast<std::size_t>(walk[i])]) {
            for (std::size_t j = 0; j <= i; ++j)
                held[static_cast<std::size_t>(walk[j])] = 1;
            break;
        }
    return registerSlots(space, o, held.data());
}

Schedule defaultSchedule(const Space& space) {
    Schedule s;
    const std::size_t nd = space.dims.size();
    std::vector<std::int64_t> tiles;
    for (const auto& d : space.dims)
        tiles.push_back(d.extent);
    std::vector<int> order(nd);
    for (std::size_t i = 0; i < nd; ++i)
        order[i] = static_cast<int>(i);
    for (std::size_t l = 0; l < space.levels.size(); ++l) {
        LevelSchedule level;
        level.tiles = tiles;
        level.order = order;
        for (const auto& op : space.operands)
            level.keeps.push_back(op.onPath[l]);
        s.levels.push_back(level);
    }
    s.parallel.assign(nd, false);
    s.unroll.assign(nd, 1);
    s.packed.assign(space.operands.size(), false);
    // Start every inner level at one instruction call, then, from the outside in, double each loop's
    // tile while the level can hold it: the outer levels get the large tiles, the inner ones what fits.
    for (std::size_t l = 1; l < s.levels.size(); ++l) {
        std::fill(s.levels[l].tiles.begin(), s.levels[l].tiles.end(), 1);
        for (int d : space.wholeInRegisters)
            s.levels[l].tiles[static_cast<std::size_t>(d)] = space.dims[static_cast<std::size_t>(d)].extent;
    }
    for (std::size_t l = 1; l < s.levels.size(); ++l)
        for (std::size_t d = 0; d < nd; ++d) {
            auto& tile = s.levels[l].tiles[d];
            const std::int64_t parent = s.levels[l - 1].tiles[d];
            while (tile < parent) {
                const std::int64_t before = tile;
                tile = std::min(parent, tile * 2);
                if (illegal(space, s)) {
                    tile = before;
                    break;
                }
            }
        }
    // Spread the first loop the output depends on across the units: the outermost level steps through
    // it in as many chunks as there are units, and the levels below hold one chunk at most.
    if (space.units > 1 && s.levels.size() > 1)
        for (std::size_t d = 0; d < nd; ++d)
            if (space.operands.front().dependsOn[d] && space.dims[d].extent > 1 && !wholeInRegisters(space, d)) {
                s.parallel[d] = true;
                const std::int64_t chunks = std::min(space.units, space.dims[d].extent);
                const std::int64_t chunk = ceilDiv(space.dims[d].extent, chunks);
                for (std::size_t l = 1; l < s.levels.size(); ++l)
                    s.levels[l].tiles[d] = std::min(s.levels[l].tiles[d], chunk);
                break;
            }
    return s;
}

std::optional<std::string> illegal(const Space& space, const Schedule& s) {
    const std::size_t nd = space.dims.size();
    if (s.levels.size() != space.levels.size())
        return "the schedule has " + std::to_string(s.levels.size()) + " levels, the target's hierarchy " +
               std::to_string(space.levels.size());
    for (std::size_t l = 0; l < s.levels.size(); ++l) {
        const LevelSchedule& level = s.levels[l];
        if (level.tiles.size() != nd || level.order.size() != nd || level.keeps.size() != space.operands.size())
            return "level " + space.levels[l].memory + " does not describe every loop and operand";
        std::vector<bool> seen(nd, false);
        for (int d : level.order) {
            if (d < 0 || static_cast<std::size_t>(d) >= nd || seen[static_cast<std::size_t>(d)])
                return "the loop order at " + space.levels[l].memory + " must name each loop once";
            seen[static_cast<std::size_t>(d)] = true;
        }
        for (std::size_t d = 0; d < nd; ++d) {
            const std::int64_t parent = l == 0 ? space.dims[d].extent : s.levels[l - 1].tiles[d];
            if (level.tiles[d] < 1 || level.tiles[d] > parent)
                return "the tile of " + space.dims[d].name + " at " + space.levels[l].memory + " is " +
                       std::to_string(level.tiles[d]) + "; it must be between 1 and " + std::to_string(parent);
        }
        if (l == 0 && level.tiles != [&] {
                std::vector<std::int64_t> full;
                for (const auto& d : space.dims)
                    full.push_back(d.extent);
                return full;
            }())
            return "the outermost level " + space.levels[0].memory + " holds the whole problem";
        // Capacity, double buffers included, and register counts.
        const std::vector<int> registerWalk = static_cast<int>(l) == space.registerLevel
                                                  ? registerWalkOrder(space, level.tiles.data(), level.order)
                                                  : std::vector<int>{};
        double bytes = 0;
        std::int64_t registers = 0;
        const double registerBytes = space.levels[l].registers > 0
                                         ? static_cast<double>(space.levels[l].bytes) / static_cast<double>(space.levels[l].registers)
                                         : 0;
        for (std::size_t o = 0; o < space.operands.size(); ++o) {
            const Operand& op = space.operands[o];
            if (!level.keeps[o])
                continue;
            if (!op.onPath[l])
                return op.tensor + " cannot be kept in " + space.levels[l].memory + ": it reaches " +
                       op.requiredMemory + " another way";
            // A CPU's vector register holds the idle lanes of a short mapped dimension too; a window's
            // input is held a row at a time, any other as the calls' walk holds it (walkedRegisterPressure).
            const auto elements = static_cast<int>(l) == space.registerLevel
                                      ? walkedRegisterPressure(space, o, level.tiles.data(), registerWalk)
                                      : footprint(space, o, level.tiles);
            const double tileBytes = static_cast<double>(elements) * op.bytesPerElement * (level.doubleBuffered ? 2 : 1);
            bytes += tileBytes;
            if (registerBytes > 0)
                registers += static_cast<std::int64_t>((tileBytes + registerBytes - 1) / registerBytes);
        }
        if (l > 0 && bytes > static_cast<double>(space.levels[l].bytes))
            return "the tiles kept in " + space.levels[l].memory + " need " + sizeText(bytes) + ", it holds " +
                   sizeText(static_cast<double>(space.levels[l].bytes));
        if (l > 0 && space.levels[l].registers > 0 && registers > space.levels[l].registers)
            return "the tiles kept in " + space.levels[l].memory + " need " + std::to_string(registers) +
                   " registers, it has " + std::to_string(space.levels[l].registers);
    }
    for (int d : space.wholeInRegisters) {
        const LoopDim& loop = space.dims[static_cast<std::size_t>(d)];
        if (s.levels.back().tiles[static_cast<std::size_t>(d)] != loop.extent)
            return "the innermost tile of " + loop.name + " must be its whole extent (" + std::to_string(loop.extent) +
                   "): the epilogue reads all of " + loop.name + " at once";
    }
    for (std::size_t o = 0; o < space.operands.size(); ++o) {
        const Operand& op = space.operands[o];
        for (std::size_t l = 0; l < space.levels.size(); ++l)
            if (space.levels[l].memory == op.requiredMemory && !s.levels[l].keeps[o])
                return "the instruction reads " + op.instructionOperand + " from " + op.requiredMemory + ", so " +
                       op.tensor + " must be kept there";
    }
    if (s.parallel.size() != nd || s.unroll.size() != nd)
        return "the schedule does not say, for every loop, whether it is parallel and how it is unrolled";
    if (s.packed.size() != space.operands.size())
        return "the schedule does not say, for every operand, whether it is packed";
    for (std::size_t o = 0; o < space.operands.size(); ++o) {
        if (!s.packed[o])
            continue;
        if (space.operands[o].output)
            return "pack: " + space.operands[o].tensor + " is the output; only inputs are packed";
        if (packLevel(s, o) < 0)
            return "pack: no cache level keeps " + space.operands[o].tensor + ", so there is nowhere to pack it";
    }
    for (std::size_t d = 0; d < nd; ++d) {
        if (s.parallel[d] && !space.operands.front().dependsOn[d])
            return "running " + space.dims[d].name + " in parallel would make units race on " + space.operands.front().tensor +
                   ", which does not depend on it";
        if (s.unroll[d] < 1 || s.unroll[d] > s.levels.back().tiles[d])
            return "the unroll factor of " + space.dims[d].name + " must be between 1 and its innermost tile (" +
                   std::to_string(s.levels.back().tiles[d]) + ")";
    }
    return std::nullopt;
}

namespace {

// `only`, when given, keeps the loops an operand depends on: its tile does not extend along the others.
std::string tileText(const Space& space, std::span<const std::int64_t> tiles, std::span<const int> order,
                     const std::vector<bool>* only = nullptr) {
    std::string out;
    for (int d : order)
        if (!only || (*only)[static_cast<std::size_t>(d)])
            out += (out.empty() ? "" : " ") + space.dims[static_cast<std::size_t>(d)].name + "=" +
                   std::to_string(tiles[static_cast<std::size_t>(d)]);
    return out;
}

// Trips of the loop over dimension d at level l: the level's tile in tiles of the level below.
std::int64_t tripsAt(const Schedule& s, std::size_t l, std::size_t d) {
    const std::int64_t child = l + 1 < s.levels.size() ? s.levels[l + 1].tiles[d] : 1;
    return ceilDiv(s.levels[l].tiles[d], child);
}

// How a tile reaches a level in the printed nest.
const char* moveWord(const Space& space, const Schedule& s, std::size_t o, std::size_t l) {
    if (space.operands[o].output)
        return "copy";
    const bool packedHere = isPacked(s, o) && packLevel(s, o) == static_cast<int>(l);
    return packedHere ? "pack" : "load";
}

} // namespace

int packLevel(const Schedule& s, std::size_t o) {
    for (std::size_t l = 1; l + 1 < s.levels.size(); ++l)
        if (s.levels[l].keeps[o])
            return static_cast<int>(l);
    return -1;
}

bool packedTileIsOneRun(const Space& space, const Schedule& s, std::size_t o) {
    const int level = packLevel(s, o);
    if (level < 0)
        return false;
    const std::int64_t* tiles = s.levels[static_cast<std::size_t>(level)].tiles.data();
    // Idle lanes (35 rows in vectors of 16) are read whole from a copy padded with zeros, and would be
    // masked in place.
    if (registerSlots(space, o, tiles) != footprint(space, o, tiles))
        return false;
    return storageRuns(space, o, tiles).runs == 1;
}

StorageRuns storageRuns(const Space& space, std::size_t o, const std::int64_t* tiles) {
    const Operand& op = space.operands[o];
    std::int64_t covered[16];
    const std::size_t nk = coveredElements(space, tiles, covered);
    if (op.storageStride.size() < nk)
        return {};
    // The kernel dimensions the tile spans, by their storage stride: each that starts where the ones
    // inside it end lengthens the run; the first that does not, and all outside it, repeat it.
    StorageRuns r{1, 1};
    for (int k : op.byStorageStride) {
        const auto kk = static_cast<std::size_t>(k);
        if (kk >= nk || covered[kk] <= 1)
            continue;
        if (r.runs == 1 && op.storageStride[kk] == r.length)
            r.length *= covered[kk];
        else
            r.runs *= covered[kk];
    }
    return r;
}

std::int64_t readsOfPackedElement(const Space& space, const Schedule& s, std::size_t o) {
    const int level = packLevel(s, o);
    if (level < 0)
        return 0;
    const auto& depends = space.operands[o].dependsOn;
    std::int64_t reads = 1;
    for (std::size_t l = 0; l + 1 < s.levels.size(); ++l)
        for (int d : s.levels[l].order) {
            const auto dd = static_cast<std::size_t>(d);
            const std::int64_t trips = tripsAt(s, l, dd);
            if (trips <= 1)
                continue;
            if (!depends[dd])
                reads *= trips;
            else if (static_cast<int>(l) < level)
                reads = 1; // the copy is remade at each step of this loop
        }
    return reads;
}

std::string printLoopNest(const Space& space, const Schedule& s) {
    std::ostringstream out;
    out << "// " << space.kernel << " on " << space.target << " through " << space.candidateKey << "\n";
    std::string indent;
    const std::size_t nl = s.levels.size();
    for (std::size_t l = 0; l < nl; ++l) {
        const LevelSchedule& level = s.levels[l];
        // Copies into this level happen where the enclosing level's loops have chosen a tile.
        if (l > 0)
            for (std::size_t o = 0; o < space.operands.size(); ++o)
                if (level.keeps[o])
                    out << indent << moveWord(space, s, o, l) << " " << space.operands[o].tensor
                        << " tile [" << tileText(space, level.tiles, level.order, &space.operands[o].dependsOn)
                        << "] into " << space.levels[l].memory
                        << (level.doubleBuffered ? " (double-buffered)" : "") << "\n";
        for (int d : level.order) {
            const std::size_t dd = static_cast<std::size_t>(d);
            const std::int64_t trips = tripsAt(s, l, dd);
            if (trips <= 1)
                continue;
            out << indent << (l == 0 && s.parallel[dd] ? "parallel for " : "for ") << space.dims[dd].name << " in 0.."
                << trips << (l + 1 < nl ? "  // " + space.levels[l].memory + " tile" : "  // instruction calls");
            if (l + 1 == nl && s.unroll[dd] > 1)
                out << ", unrolled x" << s.unroll[dd];
            out << "\n";
            indent += "  ";
        }
    }
    std::string operands;
    for (const auto& op : space.operands)
        operands += (operands.empty() ? "" : ", ") + op.instructionOperand + "=" + op.tensor;
    out << indent << space.instruction << "(" << operands << ")\n";
    for (std::size_t o = 0; o < space.operands.size(); ++o)
        if (space.operands[o].output)
            out << "// results written back to " << space.levels.front().memory << " as each tile of "
                << space.operands[o].tensor << " completes\n";
    return out.str();
}

std::string printSchedule(const Space& space, const Schedule& s) {
    std::ostringstream out;
    out << "schedule " << space.kernel << " on " << space.target << "\n";
    out << "candidate " << space.candidateKey << "\n";
    for (std::size_t l = 0; l < s.levels.size(); ++l) {
        const LevelSchedule& level = s.levels[l];
        out << "level " << space.levels[l].memory << " tiles " << tileText(space, level.tiles, level.order) << " keeps";
        bool any = false;
        for (std::size_t o = 0; o < space.operands.size(); ++o)
            if (level.keeps[o]) {
                out << " " << space.operands[o].tensor;
                any = true;
            }
        if (!any)
            out << " none";
        if (level.doubleBuffered)
            out << " double_buffered";
        out << "\n";
    }
    out << "parallel";
    bool any = false;
    for (std::size_t d = 0; d < space.dims.size(); ++d)
        if (s.parallel[d]) {
            out << " " << space.dims[d].name;
            any = true;
        }
    out << (any ? "" : " none") << "\nunroll";
    for (std::size_t d = 0; d < space.dims.size(); ++d)
        out << " " << space.dims[d].name << "=" << s.unroll[d];
    out << "\n";
    // Written only when something is packed, so that schedules without packing read as they always did.
    std::string packed;
    for (std::size_t o = 0; o < space.operands.size(); ++o)
        if (isPacked(s, o))
            packed += " " + space.operands[o].tensor;
    if (!packed.empty())
        out << "pack" << packed << "\n";
    return out.str();
}

std::optional<Schedule> parseSchedule(const Space& space, const std::string& text, std::string& error) {
    Schedule s = defaultSchedule(space);
    std::istringstream in(text);
    std::string line;
    int number = 0;
    std::size_t level = 0;
    auto dimIndex = [&](const std::string& name) -> int {
        for (std::size_t d = 0; d < space.dims.size(); ++d)
            if (space.dims[d].name == name)
                return static_cast<int>(d);
        return -1;
    };
    auto operandIndex = [&](const std::string& name) -> int {
        for (std::size_t o = 0; o < space.operands.size(); ++o)
            if (space.operands[o].tensor == name)
                return static_cast<int>(o);
        return -1;
    };
    auto fail = [&](const std::string& why) {
        error = "line " + std::to_string(number) + ": " + why;
        return std::nullopt;
    };
    while (std::getline(in, line)) {
        ++number;
        std::istringstream words(line);
        std::string word;
        if (!(words >> word) || word[0] == '#')
            continue;
        if (word == "schedule" || word == "candidate") {
            if (word == "candidate") {
                std::string rest = line.substr(line.find("candidate") + 10);
                if (rest != space.candidateKey)
                    return fail("the schedule is for candidate '" + rest + "', not '" + space.candidateKey + "'");
            }
            continue;
        }
        if (word == "level") {
            std::string memory;
            words >> memory;
            if (level >= space.levels.size() || space.levels[level].memory != memory)
                return fail("expected level " + (level < space.levels.size() ? space.levels[level].memory : "(none)") +
                            ", found '" + memory + "'");
            LevelSchedule& ls = s.levels[level];
            std::string section;
            ls.order.clear();
            std::fill(ls.keeps.begin(), ls.keeps.end(), false);
            ls.doubleBuffered = false;
            while (words >> word) {
                if (word == "tiles" || word == "keeps") {
                    section = word;
                    continue;
                }
                if (word == "double_buffered") {
                    ls.doubleBuffered = true;
                    continue;
                }
                if (section == "tiles") {
                    std::string name;
                    std::int64_t value = 0;
                    if (!parseAssignment(word, name, value))
                        return fail("expected LOOP=TILE, found '" + word + "'");
                    const int d = dimIndex(name);
                    if (d < 0)
                        return fail("unknown loop '" + name + "'");
                    // The order holds each loop once, and no more loops than a schedule can.
                    if (std::find(ls.order.begin(), ls.order.end(), d) != ls.order.end())
                        return fail("loop '" + name + "' is listed twice");
                    ls.tiles[static_cast<std::size_t>(d)] = value;
                    ls.order.push_back(d);
                } else if (section == "keeps" && word != "none") {
                    const int o = operandIndex(word);
                    if (o < 0)
                        return fail("unknown operand '" + word + "'");
                    ls.keeps[static_cast<std::size_t>(o)] = true;
                } else if (word != "none") {
                    return fail("unexpected '" + word + "'");
                }
            }
            ++level;
        } else if (word == "parallel" || word == "pack") {
            // A list of names ("none" for none): the loops that run in parallel, the inputs packed.
            const bool loops = word == "parallel";
            const std::span<bool> flags = loops ? std::span<bool>(s.parallel) : std::span<bool>(s.packed);
            std::fill(flags.begin(), flags.end(), false);
            while (words >> word)
                if (word != "none") {
                    const int i = loops ? dimIndex(word) : operandIndex(word);
                    if (i < 0)
                        return fail(std::string(loops ? "unknown loop '" : "unknown operand '") + word + "'");
                    flags[static_cast<std::size_t>(i)] = true;
                }
        } else if (word == "unroll") {
            while (words >> word) {
                std::string name;
                std::int64_t value = 0;
                if (!parseAssignment(word, name, value))
                    return fail("expected LOOP=FACTOR, found '" + word + "'");
                const int d = dimIndex(name);
                if (d < 0)
                    return fail("unknown loop '" + name + "'");
                s.unroll[static_cast<std::size_t>(d)] = value;
            }
        } else {
            return fail("unexpected '" + word + "'");
        }
    }
    if (level != space.levels.size())
        return fail("the schedule describes " + std::to_string(level) + " of " + std::to_string(space.levels.size()) +
                    " levels");
    return s;
}

} // namespace isamap::schedule
