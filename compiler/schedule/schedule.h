// Schedules: how a mapped kernel statement runs on a target's memory hierarchy.
//
// Takes a kernel, a target and one valid mapping candidate. The candidate fixes which kernel
// dimensions feed the instruction; what remains is the loop nest around it. A schedule says, for each
// memory level from the outermost down to the instruction's operands:
//   - the tile of each loop dimension that level holds (in units of the loop dimension: instruction
//     tiles for a mapped dimension, elements for a loop the instruction leaves outside),
//   - the order of the loops that step through the level's parent tile,
//   - which operands keep a copy of their tile there,
//   - whether its transfers are double-buffered;
// plus which loops of the outermost level run in parallel across units, and unroll factors.
//
//   schedule::Space space = schedule::makeSpace(kernel, target, candidate);
//   schedule::Schedule s = schedule::defaultSchedule(space);
//   if (auto why = schedule::illegal(space, s)) ...; // capacity, registers, placement
//   std::string nest = schedule::printLoopNest(space, s);
#pragma once

#include "ir/ir.h"
#include "mapping/mapping.h"
#include "support/inline_vector.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace isamap::schedule {

// One loop dimension of the schedule.
struct LoopDim {
    std::string name;            // "m", or "g.j" for fused kernel dimensions
    std::int64_t extent = 1;     // trip count of the whole loop: instruction tiles, or elements
    int instructionDim = -1;     // index of the instruction dimension it feeds; -1 for an outer loop
    std::int64_t elementsPerStep = 1; // kernel elements per unit (the instruction's extent when mapped)
};

// A kernel dimension of the statement, and the loop dimension that steps through it.
struct KernelDim {
    std::string name;
    std::int64_t extent = 1;
    int loopDim = 0;
    std::int64_t innerProduct = 1; // product of the extents fused inside it in the same loop dimension
};

// One tensor operand as the schedule sees it.
struct Operand {
    std::string tensor;
    std::string instructionOperand;
    bool output = false;
    int bytesPerElement = 4;
    std::string requiredMemory;            // where the instruction needs it
    std::vector<bool> dependsOn;           // per loop dimension
    std::vector<bool> onPath;              // per level: the level lies between the outermost memory and requiredMemory
    std::vector<std::vector<std::int64_t>> indexCoeff; // [tensor index][kernel dim]: |coefficient|
    std::vector<std::int64_t> storageStride; // per kernel dim: elements apart in storage for one step of it
    std::vector<int> byStorageStride;        // the kernel dims with a storage stride, the smallest first
    // On a CPU core, crossing into the register file costs load and store instructions (see makeSpace).
    std::int64_t lanes = 1;         // elements of the instruction operand
    bool contiguous = true;         // they are consecutive in the kernel tensor's storage
    bool inRegisters = false;       // the instruction takes it from a register file (else from memory, per call)
    double loadCycles = 0;          // issue cycles of one whole-operand transfer into the register file
    double storeCycles = 0;         // ... and out of it
    double packCycles = 0;          // per element, for an input packed into the instruction's layout first
};

// A memory level of the hierarchy, outermost first.
struct Level {
    std::string memory;
    std::uint64_t bytes = 0;
    double bandwidth = 0;   // bytes/s into this level from the one above
    double latency = 0;     // s
    std::int64_t registers = 0;
    int parent = -1;        // index of the level data comes from (the memory's parent); -1 for the outermost
    bool perUnit = false;   // below the first level under the outermost: each unit has its own
    std::int64_t streams = 0;      // the memory's `streams`: a unit's reads fill it at streamsBandwidth
    double streamsBandwidth = 0;   // along 2 to this many sequential streams at once (0: bandwidth always)
};

// Everything a schedule of one candidate may choose among, and the facts the cost model needs.
struct Space {
    std::string kernel;
    std::string target;
    std::string candidateKey;
    std::string instruction;
    std::vector<LoopDim> dims;
    std::vector<KernelDim> kernelDims;
    std::vector<Operand> operands;
    std::vector<Level> levels;
    std::int64_t units = 1;          // units that can run the instruction in parallel
    double clock = 1e9;              // Hz of the instruction's unit
    double throughput = 1;           // instruction issues per cycle per unit
    std::int64_t latencyCycles = 1;
    double usefulFlops = 0;          // 2 * multiply-adds of the kernel statement (for GFLOP/s)
    std::int64_t instructionCalls = 0; // calls for the whole statement, padding included
    double instructionPoints = 1;      // iteration points of one call (the product of its extents)
    // The instruction accumulates into a register file: consecutive calls on one output chain through
    // its latency (a CPU's FMA), unlike an accumulator memory that pipelines them (a systolic array).
    bool outputInRegisters = false;
    int registerLevel = -1;          // the level that is a register file (a CPU's vector registers); -1: none
    double reloadLatencyCycles = 0;  // an output stored and loaded again between visits: the round trip's cycles
    // Loop dimensions the kernel's fused epilogue combines across (a GRU's three gates, which its tail
    // reads at one hidden unit together; ir::epiloguePoint): the innermost level holds each whole, so
    // that every value along it is in registers when the epilogue runs.
    std::vector<int> wholeInRegisters;
};

// What a schedule can hold: makeSpace refuses a kernel or target beyond these, with that reason. The
// bundled kernels reach 7 loop dimensions (a convolution) and 3 operands, the targets 5 levels.
constexpr std::size_t kMaxLoopDims = 10;
constexpr std::size_t kMaxOperands = 8;
constexpr std::size_t kMaxLevels = 6;

using PerLoopDim = InlineVector<std::int64_t, kMaxLoopDims>;
using LoopOrder = InlineVector<int, kMaxLoopDims>;
using PerLoopDimFlag = InlineVector<bool, kMaxLoopDims>;
using PerOperandFlag = InlineVector<bool, kMaxOperands>;

// A schedule is held inline, without heap blocks: the cost model prices tens of thousands of them,
// and reads each one in sequence (support/inline_vector.h).
struct LevelSchedule {
    PerLoopDim tiles;                // per loop dimension; the outermost level holds the full extents
    LoopOrder order;                 // loop dimensions, outermost first, stepping through the parent tile
    PerOperandFlag keeps;            // per operand: a copy of its tile lives at this level
    bool doubleBuffered = false;
    bool operator==(const LevelSchedule&) const = default;
};

struct Schedule {
    InlineVector<LevelSchedule, kMaxLevels> levels; // same length as Space::levels
    PerLoopDimFlag parallel;                         // per loop dimension, at the outermost level
    PerLoopDim unroll;                               // per loop dimension, of the innermost loops
    // Per operand: an input copied into micro-panels (its register tile's calls consecutive, as BLAS
    // libraries pack their panels) at the outermost cache level that keeps it (packLevel). Inputs the
    // instruction cannot read in place are copied whatever this says.
    PerOperandFlag packed;
    bool operator==(const Schedule&) const = default;
};

// Whether the epilogue combines across loop dimension `d`, so that its innermost tile is its extent.
inline bool wholeInRegisters(const Space& space, std::size_t d) {
    for (int w : space.wholeInRegisters)
        if (static_cast<std::size_t>(w) == d)
            return true;
    return false;
}

// Whether the schedule packs operand `o` (false for a schedule that does not say).
inline bool isPacked(const Schedule& s, std::size_t o) { return o < s.packed.size() && s.packed[o]; }

// Where operand `o` would be packed: the outermost level below the outermost memory and above the
// innermost that keeps it; -1 when none does.
int packLevel(const Schedule& s, std::size_t o);

// How many times the loops read each element of operand o's copy at packLevel: the trips of the loops
// over dimensions it does not depend on, from the last loop above that level it depends on (after which
// the copy is remade) down to the register tile. 0 when no level would hold the copy.
std::int64_t readsOfPackedElement(const Space& space, const Schedule& s, std::size_t o);

// Whether operand o's tile at packLevel is one run of consecutive elements in storage (a pre-packed
// weight's block: pointwise packed=1's F[kb, c, ki] for one block of output channels).
bool packedTileIsOneRun(const Space& space, const Schedule& s, std::size_t o);

// Operand o's tile of `tiles` as runs of consecutive elements in storage (a GRU step's register tile of
// four blocks of weights: four runs of 48); no runs when its storage is not known per kernel dimension.
struct StorageRuns {
    std::int64_t runs = 0;
    std::int64_t length = 0; // elements in each
};
StorageRuns storageRuns(const Space& space, std::size_t o, const std::int64_t* tiles);

// Builds the space of one valid candidate; empty with `error` when the target cannot hold the
// instruction's operands (an operand memory outside the hierarchy), or when the kernel's epilogue
// combines across a dimension the candidate maps into the instruction or fuses with another.
std::optional<Space> makeSpace(const ir::Kernel& kernel, const ir::Target& target, const mapping::Candidate& candidate,
                               std::string& error);

// A legal starting point: each level holds as much as fits, loops in declaration order.
Schedule defaultSchedule(const Space& space);

// The blocking of GEMM-like loops that BLIS and GotoBLAS use (Goto and van de Geijn 2008; Low et al.
// 2016): for a register tile of `vectorCalls` instruction tiles along the vector dimension by
// `broadcastTile` elements along the broadcast one, the reduction is cut so that the broadcast input's
// micro-panel (reduction block by register tile) fits most of the first cache, in blocks of at most 512
// steps (longer ones measured slower), the vector input's
// block fills half of the second, and the loops run the Goto order (broadcast, reduction, vector at
// the top; the micro-panels inside). Applies to a space on a register file with exactly one vector,
// one reduction dimension and at least one broadcast one longer than one (the longest is the broadcast
// dimension); any further output dimension (a GRU's gates, a batch, a convolution's rows) is a loop
// around the nest. Empty otherwise or when the blocks do not fit. With several units, the outermost broadcast loop (or, if short, the vector loop) is split
// across them.
std::optional<Schedule> blockedSchedule(const Space& space, std::int64_t vectorCalls, std::int64_t broadcastTile);

// The column sweep of a matrix-vector-like product (as BLAS's gemv kernels stream a matrix): for a
// broadcast dimension short enough that its whole extent fits one register tile (at most 12), the
// reduction is cut into blocks of 16 steps outermost and the vector dimension swept inside, so that the
// vector input is read as 16 sequential streams (more measured slower). Applies to a space on a register
// file with one vector and one reduction dimension and at most a short broadcast one (further output
// dimensions loop around it, as for the Goto blocking); empty otherwise.
// With several units, each takes a share of the vector dimension.
std::optional<Schedule> streamedSchedule(const Space& space);

// The window sweep of a sliding-window product whose vector runs along a dimension the window does not
// slide over (a channel-last depthwise convolution, as oneDNN's depthwise kernels run it): a register
// tile of `rowTile` outputs along the innermost sliding dimension by one vector, with every tap along it,
// so that each input vector loaded serves up to that many taps; the further reductions (the window's
// rows) loop around the tile, the vectors around them, and the row tiles and further output dimensions
// outermost. Each output vector is finished in registers and stored once. Applies to a space on a
// register file with one instruction dimension and an input indexed by an output dimension plus a
// reduction; empty otherwise. With several units, each takes a share of the longest dimension around.
// With `rows` > 1 (a 2-D window), the tile holds that many output rows too, with the window's rows
// whole in it: two rows of 7 read four input rows where two tiles of one read six, and ran 1.2-1.4x
// faster on MobileNet-v1's stride-1 layers (the input rows come from the second-level cache).
// windowRowTiles gives the row tiles worth timing for that many rows: the widest that cuts the row
// evenly, and the widest the register file holds where the even one is under half of it. Applies only
// where the output vector is contiguous in memory.
std::optional<Schedule> windowSchedule(const Space& space, std::int64_t rowTile, std::int64_t rows = 1);
std::vector<std::int64_t> windowRowTiles(const Space& space, std::int64_t rows = 1);

// The analytical schedules timed beside the cost model's picks on a CPU, each with what it is in words.
struct AnalyticalSchedule {
    std::string name;    // "goto-4x6", "goto-2x12", "sweep", "window-7", "window-2x7"
    std::string label;   // "the Goto blocking, 4x6 register tile"
    Schedule schedule;
};
std::vector<AnalyticalSchedule> analyticalSchedules(const Space& space);

// The analytical schedules of each of a kernel's spaces (one per mapping candidate), each with the
// index of its space, those `allowed` refuses left out. Every candidate's are given: the one the mapper
// ranks first can be the worse one to block (a 35x700 product's vector along n, read and stored with
// a stride, measured at half the speed of its vector along m).
struct PlacedAnalyticalSchedule {
    std::size_t space;
    AnalyticalSchedule analytical;
};
std::vector<PlacedAnalyticalSchedule> analyticalSchedules(const std::vector<const Space*>& spaces,
                                                          const std::function<bool(const Space&, const Schedule&)>& allowed);

// Elements of operand `o`'s tile for tile sizes `tiles` (per loop dimension, in its units): per tensor
// index, 1 + the sum over kernel dimensions of |coefficient| * (elements covered - 1), so that the
// overlap of an index such as h + r is counted once; multiplied over the indices.
std::int64_t footprint(const Space& space, std::size_t o, const std::int64_t* tiles);
inline std::int64_t footprint(const Space& space, std::size_t o, std::span<const std::int64_t> tiles) {
    return footprint(space, o, tiles.data());
}
// The same, counting the idle lanes of a mapped dimension shorter than the instruction's (a batch of 4
// in 16 lanes): what the operand's tile takes in registers.
std::int64_t registerSlots(const Space& space, std::size_t o, const std::int64_t* tiles);

// The tensor indices of input `o` through which calls of one register tile read the same elements:
// those adding two or more loops tiled above one call (a depthwise layer's X[oh + r, ow + s] with output
// rows and window rows both in the tile), innermost last. Empty for an output or a plain product.
std::vector<std::size_t> windowIndices(const Space& space, std::size_t o, const std::int64_t* tiles);
// The registers' worth of operand `o` the register tile holds when its values are all loaded ahead of
// the calls (as LLVM schedules the steps of an unrolled sweep): its slots, except that an input read
// through a window counts as one row of it along its innermost window index. Each of its vectors serves
// a few calls and is then dead, and LLVM's scheduler interleaves the loads with those calls: a
// depthwise tile of two output rows of 7 (four input rows of 9, 36 vectors, beside 14 accumulators and 9
// weights) is generated without a spill, and ran 1.2-1.4x faster than one row (rows share the input).
// An input that no two calls of the tile share (a matrix-vector product's matrix) counts as one call's:
// each vector is loaded for its call and dead after it.
std::int64_t registerPressure(const Space& space, std::size_t o, const std::int64_t* tiles);
// The order the calls of a register tile are written in, outermost first: the dimensions of `order`
// whose tile is one, then, of the orders of the others, the one holding the fewest input values live
// (the first of `order`'s on a tie). An input value is reused by the calls that differ only in
// dimensions it does not depend on; walked in the wrong order, every value of one input stays live
// across the whole tile (twelve broadcasts held beside 24 accumulators, where BLIS holds one).
std::vector<int> registerWalkOrder(const Space& space, const std::int64_t* tiles, std::span<const int> order);
// The registers' worth of input `o` live at once when the tile's calls are written in `walk`'s order:
// a weight vector that feeds a GRU's two batch rows one after the other is dead after the second, so a
// tile of 24 accumulators holds one weight vector, not the tile's twelve. A tile that takes in reduction
// steps counts whole. A window's input, or one no two calls share, counts as registerPressure does.
std::int64_t walkedRegisterPressure(const Space& space, std::size_t o, const std::int64_t* tiles, std::span<const int> walk);

// Why the schedule cannot run, in words ("B's tile at l1 needs 48 KiB, l1 holds 32 KiB"); empty when it can.
std::optional<std::string> illegal(const Space& space, const Schedule& s);

// Pseudo-code: the loop nest with the copies and the instruction calls.
std::string printLoopNest(const Space& space, const Schedule& s);

// The schedule as text that parseSchedule reads back.
std::string printSchedule(const Space& space, const Schedule& s);
// Reads printSchedule's text for `space`; on failure `error` says where (`line N: ...`).
std::optional<Schedule> parseSchedule(const Space& space, const std::string& text, std::string& error);

} // namespace isamap::schedule
