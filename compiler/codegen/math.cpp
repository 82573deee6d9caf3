#include "codegen/math.h"

#include <llvm/IR/Intrinsics.h>

namespace isamap::codegen {

using namespace llvm;

Value* realLike(IRBuilder<>& b, Type* type, double v) { return ConstantFP::get(type, v); }

Value* emitExp(IRBuilder<>& b, Value* x) {
    Type* type = x->getType();
    auto real = [&](double v) { return realLike(b, type, v); };
    Type* bitsType = type->isVectorTy() ? static_cast<Type*>(VectorType::get(b.getInt32Ty(), cast<VectorType>(type)->getElementCount()))
                                        : b.getInt32Ty();
    // Clamped so that 2^n stays a normal float; below and above the clamp the value is 0 or infinity.
    Value* clamped = b.CreateMinNum(b.CreateMaxNum(x, real(-87.3)), real(88.7));
    Value* n = b.CreateUnaryIntrinsic(Intrinsic::rint, b.CreateFMul(clamped, real(1.4426950408889634)));
    Value* r = b.CreateFSub(clamped, b.CreateFMul(n, real(0.693145751953125)));
    r = b.CreateFSub(r, b.CreateFMul(n, real(1.428606765330187e-06)));
    const double c[] = {1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1.0, 1.0};
    Value* p = real(c[0]);
    for (int i = 1; i < 7; ++i)
        p = b.CreateFAdd(b.CreateFMul(p, r), real(c[i]));
    Value* bits = b.CreateShl(b.CreateAdd(b.CreateFPToSI(n, bitsType), ConstantInt::get(bitsType, 127)), 23);
    Value* scaled = b.CreateFMul(p, b.CreateBitCast(bits, type));
    scaled = b.CreateSelect(b.CreateFCmpOLT(x, real(-87.3)), real(0), scaled);
    return b.CreateSelect(b.CreateFCmpOGT(x, real(88.7)), ConstantFP::getInfinity(type), scaled);
}

Value* emitOp(IRBuilder<>& b, ir::Op op, const std::vector<Value*>& args) {
    Value* a = args[0];
    Value* c = args.size() > 1 ? args[1] : nullptr;
    auto real = [&](double v) { return realLike(b, a->getType(), v); };
    switch (op) {
    case ir::Op::Add: return b.CreateFAdd(a, c);
    case ir::Op::Sub: return b.CreateFSub(a, c);
    case ir::Op::Mul: return b.CreateFMul(a, c);
    case ir::Op::Div: return b.CreateFDiv(a, c);
    case ir::Op::Neg: return b.CreateFNeg(a);
    case ir::Op::Max: return b.CreateMaxNum(a, c);
    case ir::Op::Min: return b.CreateMinNum(a, c);
    case ir::Op::Relu: return b.CreateMaxNum(a, real(0));
    case ir::Op::Exp: return emitExp(b, a);
    case ir::Op::Sigmoid: return b.CreateFDiv(real(1), b.CreateFAdd(real(1), emitExp(b, b.CreateFNeg(a))));
    case ir::Op::Tanh: {
        // 1 - 2 / (exp(2x) + 1): exact at both ends, where exp overflows to infinity or reaches zero.
        Value* e2 = emitExp(b, b.CreateFMul(a, real(2)));
        return b.CreateFSub(real(1), b.CreateFDiv(real(2), b.CreateFAdd(e2, real(1))));
    }
    case ir::Op::Cast: return a; // f32 to f32: the only type computed here
    }
    return a;
}

} // namespace isamap::codegen
