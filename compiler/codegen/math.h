// Element-wise arithmetic shared by the emitters (internal to compiler/codegen/): the IR's operators
// on f32 values, scalar or vector alike, with exp, sigmoid and tanh written out as polynomials so
// that they stay vectors (a call to the C library's expf would not).
#pragma once

#include "ir/ir.h"

#include <llvm/IR/IRBuilder.h>

namespace isamap::codegen {

// A constant of `type` (f32 or a vector of f32), splatted over the lanes.
llvm::Value* realLike(llvm::IRBuilder<>& b, llvm::Type* type, double v);
// exp(x) = 2^n * p(r) with x = n ln2 + r, |r| <= ln2 / 2, p a degree-6 polynomial.
llvm::Value* emitExp(llvm::IRBuilder<>& b, llvm::Value* x);
// One call of the IR: `args` holds its operands' values (one or two, as the operator takes).
llvm::Value* emitOp(llvm::IRBuilder<>& b, ir::Op op, const std::vector<llvm::Value*>& args);

} // namespace isamap::codegen
