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

} // namespace isamap::codegen
