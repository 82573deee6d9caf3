// LLVM IR for a code plan (internal to compiler/codegen/).
#pragma once

#include "codegen/plan.h"

#include <string>

namespace llvm {
class Module;
}

namespace isamap::codegen {

// Name of the runtime entry the generated code calls to run its parallel loops (runtime.h).
inline constexpr const char* parallelForSymbol = "isamap_parallel_for";

// Adds to `module`: `<name>(T0*, T1*, ...)`, `<name>_args(void**)` and their task function.
// False with `error` on a lowering step it does not know.
bool emitPlan(const Plan& plan, llvm::Module& module, std::string& error);

} // namespace isamap::codegen
