// LLVM set-up shared by code generation and the JIT (internal to compiler/codegen/).
#pragma once

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include <memory>
#include <string>

namespace isamap::codegen {

// The native target registered once; a machine for this CPU with all its features.
std::unique_ptr<llvm::TargetMachine> hostMachine(std::string& error);
std::string hostFeatureString();
// Marks every defined function for this CPU and runs the O3 pipeline.
void optimise(llvm::Module& module, llvm::TargetMachine& machine);
// Verifies the freshly emitted module and optimises it; false with `error` when it does not verify.
bool verifyAndOptimise(llvm::Module& module, llvm::TargetMachine& machine, std::string& error);
// The exported symbol: the requested name, or "isamap_" + the kernel's, made a C identifier.
std::string symbolName(const std::string& requested, const std::string& kernel);

} // namespace isamap::codegen
