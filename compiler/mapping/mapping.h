// Instruction mapping: every way a target's compute instructions can perform a kernel's statement,
// each valid one with what it costs in padding and layout changes, each rejected one with the reason.
//
// Takes a checked kernel (its parameters give the extents) and a checked target. For each statement of
// the kernel and each compute instruction of the target:
//   1. the instruction's statement is matched against the kernel's, operator by operator (commutative
//      operators either way round), which assigns kernel tensors to instruction operands;
//   2. each instruction dimension is bound to a kernel dimension, to a fusion of adjacent kernel
//      dimensions whose storage strides stay affine, or to nothing (a tile of one);
//   3. a binding is valid when each instruction operand depends on exactly the instruction dimensions
//      its kernel tensor depends on, through the bound kernel dimensions. Nothing here knows operator
//      names: a GEMM written with renamed, reordered or transposed operands maps as a GEMM does.
// The strides each operand then shows the instruction decide the layout changes (packing, transposing,
// an overlapping view of an input); the extents decide the padding and utilisation.
//
//   auto result = mapping::mapKernel(kernel, target);
//   for (const auto& c : result.candidates) if (c.valid) ...;
#pragma once

#include "ir/ir.h"

#include <cstdint>
#include <string>
#include <vector>

namespace isamap::mapping {

// How one instruction dimension is realised by the kernel.
struct DimBinding {
    std::string instructionDim;
    // Empty: a tile of one (the instruction runs with this index at 0); one name: a kernel dimension;
    // several: adjacent kernel dimensions fused, outermost first.
    std::vector<std::string> kernelDims;
    std::int64_t instructionExtent = 1;
    std::int64_t kernelExtent = 1; // product of the bound dimensions' extents
    std::int64_t tiles = 1;        // instruction calls along this dimension: ceil(kernelExtent / instructionExtent)
    double padding = 0;            // fraction of the tiles' slots beyond the kernel's extent
    bool reduction = false;        // the instruction dimension is a reduction

    // The kernel expression for the instruction index: "m", "g*512 + j", or "0".
    std::string expression(const ir::Kernel& k) const;
};

// A kernel tensor fed to an instruction operand, and what the instruction sees of its layout.
struct OperandBinding {
    std::string instructionOperand;
    std::string kernelTensor;
    bool output = false;
    // Stride in elements of the kernel tensor along each index of the instruction operand.
    std::vector<std::int64_t> strides;
    bool overlapping = false; // distinct instruction elements alias one tensor element (inputs only)
};

struct Candidate {
    int id = 0;                 // position in the result, 1-based; stable for the same kernel and target
    std::string key;            // the binding in words, unique within a result
    std::string instruction;
    int statement = 0;          // which statement of the kernel (0-based)
    bool valid = false;
    std::string reason;         // why not, for a rejected candidate
    std::vector<DimBinding> dims;     // bound so far (all of them for a valid candidate)
    std::vector<OperandBinding> operands;
    std::vector<std::string> layoutChanges; // packing, transposition, overlapping views, in words
    std::vector<std::string> outerLoops;    // kernel dimensions left around the instruction
    double utilisation = 0;     // useful fraction of the instruction's work
    double padding = 0;         // fraction of instruction slots spent on padding (bound dimensions)
    int symmetricCount = 1;     // candidates this one stands for (operand choices that change nothing)
    // A valid candidate that only leaves some instruction dimensions at a tile of one where another
    // valid candidate binds them, with the same operands, for a higher utilisation. Listed last.
    bool dominated = false;
    std::int64_t calls = 0;     // instruction calls to run the whole statement
};

struct MappingOptions {
    int maxFusion = 3;          // longest run of adjacent kernel dimensions fused into one
    bool keepRejected = true;   // record rejected candidates with their reasons
    std::string onlyInstruction; // map onto this instruction only (empty: every compute instruction)
};

struct MappingResult {
    std::string kernel;
    std::string target;
    std::vector<Candidate> candidates; // valid first (by utilisation, then fewer layout changes), then rejected
    int validCount() const;
};

MappingResult mapKernel(const ir::Kernel& kernel, const ir::Target& target, const MappingOptions& options = {});

// The rejected candidates that came closest (most instruction dimensions bound before failing).
std::vector<const Candidate*> nearestMisses(const MappingResult& result, std::size_t count);

} // namespace isamap::mapping
