// IR shapes shared by the emitters (internal to compiler/codegen/): counted loops that carry values
// through phis, two-way branches that merge them, and the typed C entry.
#pragma once

#include "codegen/codegen.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include <functional>
#include <vector>

namespace isamap::codegen {

using Values = std::vector<llvm::Value*>;

// for (i = 0; i < trip; ++i), `trip` at least one; `body` gets the counter and the carried values and
// gives those of the next iteration. Returns the values after the last iteration. `rolled` asks LLVM
// not to unroll the loop (`llvm.loop.unroll.disable`).
inline Values emitLoop(llvm::IRBuilder<>& b, llvm::Value* trip, const Values& carried,
                       const std::function<Values(llvm::Value*, const Values&)>& body, bool rolled = false) {
    using namespace llvm;
    Function* f = b.GetInsertBlock()->getParent();
    BasicBlock* before = b.GetInsertBlock();
    BasicBlock* header = BasicBlock::Create(b.getContext(), "loop", f);
    BasicBlock* exit = BasicBlock::Create(b.getContext(), "loop.end", f);
    b.CreateBr(header);
    b.SetInsertPoint(header);
    PHINode* counter = b.CreatePHI(b.getInt64Ty(), 2);
    counter->addIncoming(b.getInt64(0), before);
    std::vector<PHINode*> phis;
    Values current;
    for (Value* v : carried) {
        PHINode* phi = b.CreatePHI(v->getType(), 2);
        phi->addIncoming(v, before);
        phis.push_back(phi);
        current.push_back(phi);
    }
    Values next = body(counter, current);
    Value* advanced = b.CreateAdd(counter, b.getInt64(1));
    BasicBlock* latch = b.GetInsertBlock();
    counter->addIncoming(advanced, latch);
    for (std::size_t i = 0; i < phis.size(); ++i)
        phis[i]->addIncoming(next[i], latch);
    BranchInst* back = b.CreateCondBr(b.CreateICmpSLT(advanced, trip), header, exit);
    if (rolled) {
        LLVMContext& c = b.getContext();
        // A loop's identity is a distinct node whose first operand is itself.
        MDNode* loopId = MDNode::getDistinct(c, {nullptr, MDNode::get(c, {MDString::get(c, "llvm.loop.unroll.disable")})});
        loopId->replaceOperandWith(0, loopId);
        back->setMetadata(LLVMContext::MD_loop, loopId);
    }
    b.SetInsertPoint(exit);
    return next;
}

// Runs `whenTrue` or `whenFalse` on `condition`, merging the values each gives.
inline Values emitBranch(llvm::IRBuilder<>& b, llvm::Value* condition, const std::function<Values()>& whenTrue,
                         const std::function<Values()>& whenFalse) {
    using namespace llvm;
    // A condition known at generation time (an edge test on a dimension that divides evenly) leaves
    // one path, so the values it carries are not merged with a dead one.
    if (auto* known = dyn_cast<ConstantInt>(condition))
        return known->isOne() ? whenTrue() : whenFalse();
    Function* f = b.GetInsertBlock()->getParent();
    BasicBlock* yes = BasicBlock::Create(b.getContext(), "then", f);
    BasicBlock* no = BasicBlock::Create(b.getContext(), "else", f);
    BasicBlock* join = BasicBlock::Create(b.getContext(), "join", f);
    b.CreateCondBr(condition, yes, no);
    b.SetInsertPoint(yes);
    Values a = whenTrue();
    BasicBlock* yesEnd = b.GetInsertBlock();
    b.CreateBr(join);
    b.SetInsertPoint(no);
    Values c = whenFalse();
    BasicBlock* noEnd = b.GetInsertBlock();
    b.CreateBr(join);
    b.SetInsertPoint(join);
    Values merged;
    for (std::size_t i = 0; i < a.size(); ++i) {
        PHINode* phi = b.CreatePHI(a[i]->getType(), 2);
        phi->addIncoming(a[i], yesEnd);
        phi->addIncoming(c[i], noEnd);
        merged.push_back(phi);
    }
    return merged;
}

// `name(T0*, T1*, ...)`, the C entry: puts its pointers in an array and calls `argsEntry(void**)`.
inline void emitTypedEntry(llvm::IRBuilder<>& b, llvm::Module& m, const std::string& name, llvm::Function* argsEntry,
                           const std::vector<Argument>& arguments) {
    using namespace llvm;
    std::vector<Type*> params(arguments.size(), b.getPtrTy());
    Function* f = Function::Create(FunctionType::get(b.getVoidTy(), params, false), Function::ExternalLinkage, name, m);
    b.SetInsertPoint(BasicBlock::Create(m.getContext(), "entry", f));
    Type* arrayType = ArrayType::get(b.getPtrTy(), arguments.size());
    Value* array = b.CreateAlloca(arrayType);
    for (std::size_t i = 0; i < arguments.size(); ++i) {
        llvm::Argument* arg = f->getArg(static_cast<unsigned>(i));
        arg->setName(arguments[i].tensor);
        b.CreateStore(arg, b.CreateConstGEP2_64(arrayType, array, 0, i));
    }
    b.CreateCall(argsEntry, {array});
    b.CreateRetVoid();
}

} // namespace isamap::codegen
