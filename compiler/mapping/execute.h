// Execution through a mapping: the proof that a candidate is sound.
//
// Runs a kernel with the candidate's statement performed by the instruction itself: for every tile,
// the instruction's operands are gathered from the kernel's tensors as the binding says (zero where a
// tile runs past the kernel's extents), the instruction's own statement runs in the reference
// interpreter, and its result is scattered back. The kernel's other statements run in the reference
// interpreter. A sound candidate gives the reference result; an unsound one is caught, either as a
// different result or, earlier, as two instruction elements that the binding maps to different
// kernel values.
#pragma once

#include "interp/interpreter.h"
#include "ir/ir.h"
#include "mapping/mapping.h"

#include <optional>
#include <string>

namespace isamap::mapping {

// Returns an error message, or nothing when the kernel ran (results in `buffers`, as interp::run gives).
std::optional<std::string> runMapped(const ir::Kernel& kernel, const ir::Instruction& instruction,
                                     const Candidate& candidate, interp::Buffers& buffers);

} // namespace isamap::mapping
