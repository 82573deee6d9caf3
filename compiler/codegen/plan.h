// The code plan (internal to compiler/codegen/): every decision code generation takes, computed from
// the kernel, candidate, space and schedule before any LLVM IR is written, so that the emitter only
// follows it. Positions are in loop units (instruction tiles for a mapped loop, elements otherwise).
#pragma once

#include "codegen/codegen.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace isamap::codegen {

// One loop of the nest: level `level` steps through its tile of `dim` in tiles of the level below.
struct PlannedLoop {
    int level = 0;
    int dim = 0;
    std::int64_t step = 1;     // the tile of the level below (positions)
    std::int64_t tile = 1;     // the level's own tile (positions)
    bool parallel = false;     // a parallel loop of the outermost level: split over the workers
    bool keepRolled = false;   // a sweep loop LLVM must not unroll (Planner::keepSweepsRolled)
};

// How one kernel dimension is reached from the loop positions.
struct KernelDimSource {
    int loopDim = 0;
    int instructionDim = -1;   // -1: an outer loop, the position is the kernel index
    std::int64_t instructionExtent = 1;
    std::int64_t innerProduct = 1; // fused dimensions inside it in the same instruction dimension
    std::int64_t extent = 1;
};

struct PlannedOperand {
    std::size_t operand = 0;          // in Space::operands
    std::string tensor;
    std::string instructionOperand;
    ir::ScalarType type = ir::ScalarType::f32;
    bool output = false;
    std::int64_t elements = 1;        // of the instruction operand
    bool scalar = false;              // a rank-0 instruction operand (broadcast)
    // Per element of the instruction operand (row-major): the instruction index it stands for.
    std::vector<std::vector<std::int64_t>> elementIndex;
    std::vector<bool> dependsOn;      // per loop dimension

    // The tensor: storage strides and shape, and its index rows over the kernel dimensions.
    std::vector<std::int64_t> strides, shape;
    std::vector<std::vector<std::int64_t>> indexCoeff; // [tensor index][kernel dim]
    std::vector<std::int64_t> indexConstant;
    bool halo = false;

    // Direct access: offset = positionBase + Σ positionCoeff[d] * position[d] + lane offsets (element j at +j).
    bool contiguous = false;          // the operand's elements are consecutive in storage
    std::vector<std::int64_t> positionCoeff; // per loop dimension; valid when `affine`
    std::int64_t positionBase = 0;           // the offset at position zero (negative in a halo)
    bool affine = false;
    std::vector<std::int64_t> laneOffsets;   // per element, from element 0 (direct access)
    // A padded input read in place: tensor index t = haloIndexBase[t] + Σ haloIndexCoeff[t][d] * position[d]
    // + haloLaneOffsets[t][element]; lanes outside the tensor read zero.
    bool haloMask = false;
    std::vector<std::int64_t> haloIndexBase;
    std::vector<std::vector<std::int64_t>> haloIndexCoeff, haloLaneOffsets;
    std::vector<bool> haloMayLeave; // per tensor index: it can fall outside the tensor somewhere in the nest
    bool haloUniform = false;       // every lane at the same index of each dimension that can leave

    // Packing into the instruction's layout at `packLevel`, after loop `packAfter` of the nest (-1:
    // before the first), in micro-panels: a position p of dimension d, at r = p - (the tile's first
    // position), goes to call (r / packInner[d]) * packStride[d] + (r % packInner[d]) * packInnerStride[d].
    // packInner is the register tile, so the calls of one register tile are consecutive and each step
    // of the loops around it moves on by one block (the layout of BLIS's packed panels).
    bool packed = false;
    int packLevel = -1;
    int packAfter = -1;
    std::vector<int> packOrder;               // the outer layout, outermost first
    std::vector<int> copyOrder;               // the copy's loops, outermost first: the tensor's smallest stride innermost
    std::vector<std::int64_t> packInner;      // per loop dimension, positions (1: not split)
    std::vector<std::int64_t> packStride;     // per loop dimension, in calls (0 where it does not depend)
    std::vector<std::int64_t> packInnerStride;// per loop dimension, in calls
    std::int64_t packCalls = 1;
    std::string why;                        // why it is packed, in words
};

// Element-wise statements after the mapped one, fused into its loop nest: computed on each output
// register tile in registers on its last reduction visit, before the store (bias, activation).
// The statements run at the mapped statement's output point; every tensor they read or write in
// memory is reached from the output's register slot through `accesses` (same lanes, same masks).
// With `acrossLoops`, the point drops dimensions of the output that the register tile holds whole
// (a GRU's gates): the statements run once per position of the others, on all the accumulators along them.
struct PlannedEpilogue {
    std::vector<ir::Statement> statements;
    std::string produced;                 // the mapped statement's output tensor
    bool storeProduced = true;            // false when it is a temporary: only the epilogue's outputs are stored
    std::vector<std::string> values;      // tensors the statements compute, held as values at the point
    std::vector<int> acrossLoops;         // loop dimensions the statements read the produced tensor across
    std::vector<std::size_t> acrossPositions; // ... and where each sits among the produced tensor's indices
    std::vector<ir::Access> accessKeys;   // each access of a tensor in memory ...
    std::vector<PlannedOperand> accesses; // ... and how the output's lanes reach it
};

struct Plan {
    std::string functionName;
    std::string instruction;
    std::vector<std::string> steps;         // the instruction's `lower llvm` steps
    std::string outputOperand;              // the instruction's output operand
    ir::Update update = ir::Update::Sum;
    bool outputIsInOut = false;             // the kernel tensor keeps its values (no zeroing)

    std::vector<std::int64_t> extents;      // per loop dimension, positions
    std::vector<std::int64_t> registerTile; // per loop dimension: the innermost level's tile
    std::vector<int> registerOrder;         // loop dimensions, outermost first
    std::vector<std::int64_t> instructionExtents;
    std::vector<std::int64_t> kernelExtentOf; // per instruction dimension: the bound kernel extent (0: unbound)
    std::vector<int> loopOfInstructionDim;    // per instruction dimension: its loop dimension (-1: unbound)
    std::vector<KernelDimSource> kernelDims;  // per Space::kernelDims entry

    std::vector<PlannedLoop> loops;         // outermost first; loops of one trip left out
    std::size_t parallelLoops = 0;          // the first ones, over the outermost level
    std::size_t sweepBegin = 0;             // loops from here on leave the output's register tile in place
    std::vector<PlannedOperand> operands;
    std::size_t output = 0;                 // index in `operands`
    std::optional<PlannedEpilogue> epilogue;
    int threads = 1;
    std::optional<ParallelLoop> parallelLoop;

    Options::Fault fault = Options::Fault::None;

    std::vector<Argument> arguments;
    Decisions decisions;
};

// Decides everything; false with `error` when the schedule cannot be lowered.
bool makePlan(const ir::Kernel& kernel, const ir::Target& target, const mapping::Candidate& candidate,
              const schedule::Space& space, const schedule::Schedule& s, const Options& options, Plan& plan,
              std::string& error);

} // namespace isamap::codegen
