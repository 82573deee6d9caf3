// Semantic checks of parsed IR. Takes a Module and the source it came from (for the caret lines);
// gives one diagnostic per problem, in source order:
//   - names: undeclared dimension, tensor, parameter, kernel, memory or unit; duplicates;
//   - shapes: rank mismatch, accesses out of bounds for the declared extents, bad layouts;
//   - types: mismatched operands, assignments without a cast, float functions on integers;
//   - reductions: a reduction dimension in the output, a spatial one missing from it, `=` with one;
//   - graphs: unbound or mismatched tensors, tensors read before any node writes them;
//   - targets: operands in undeclared memories, instructions with parametric extents, bad moves.
// A module without errors is safe to hand to every later stage (interpreter, mapper, ...).
#pragma once

#include "ir/diagnostics.h"
#include "ir/ir.h"

#include <optional>
#include <vector>

namespace isamap::ir {

std::vector<Diagnostic> check(const Module& m, const SourceFile& source);

// The element type of an expression within a kernel; empty for an untyped literal or an error.
std::optional<ScalarType> typeOf(const Expr& e, const Kernel& k);

} // namespace isamap::ir
