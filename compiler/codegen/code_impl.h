// What a Code holds (internal to compiler/codegen/): the plan and its optimised LLVM module.
#pragma once

#include "codegen/codegen.h"
#include "codegen/plan.h"

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include <memory>

namespace isamap::codegen {

struct Code::Impl {
    std::unique_ptr<llvm::LLVMContext> context;
    std::unique_ptr<llvm::Module> module;
    std::unique_ptr<llvm::TargetMachine> machine;
    Plan plan;
};

} // namespace isamap::codegen
