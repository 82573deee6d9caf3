// Element-wise kernels: several statements, temporaries, transcendental functions, which no instruction
// of a host target performs whole (a GRU cell's tail, a bias and an activation). Each statement becomes
// a plain loop nest over the dimensions it uses, computed in f32, and LLVM's vectoriser widens the
// innermost loop (math.h writes exp, sigmoid and tanh so that they widen too).
#include "codegen/code_impl.h"
#include "codegen/llvm_support.h"
#include "codegen/loops.h"
#include "codegen/math.h"

#include "ir/types.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

namespace isamap::codegen {

using namespace llvm;

namespace {

struct TensorInfo {
    const ir::TensorDecl* decl = nullptr;
    std::vector<std::int64_t> shape, strides;
    std::int64_t storage = 1;
    Value* base = nullptr;
};

class ElementwiseEmitter {
public:
    ElementwiseEmitter(const ir::Kernel& k, Module& m) : k_(k), m_(m), b_(m.getContext()) {}

    bool run(const std::string& name, std::vector<Argument>& arguments, std::string& error) {
        const ir::ParamValues params = k_.paramValues();
        for (const auto& t : k_.tensors) {
            if (t.type != ir::ScalarType::f32) {
                error = "tensor " + t.name + " is " + std::string(ir::typeName(t.type)) +
                        "; element-wise code generation computes f32 tensors";
                return false;
            }
            TensorInfo info{&t, *ir::shape(t, params), *ir::strides(t, params), 1, nullptr};
            info.storage = ir::storageElements(info.shape, info.strides);
            tensors_[t.name] = info;
            if (t.role != ir::TensorRole::Tmp)
                arguments.push_back({t.name, t.type, info.shape, info.storage, t.role != ir::TensorRole::In});
        }
        auto* type = FunctionType::get(b_.getVoidTy(), {b_.getPtrTy()}, false);
        Function* f = Function::Create(type, Function::ExternalLinkage, name + "_args", m_);
        f->addParamAttr(0, Attribute::NoAlias);
        b_.SetInsertPoint(BasicBlock::Create(m_.getContext(), "entry", f));
        bindTensors(f->getArg(0), arguments);
        std::set<std::string> initialised;
        for (const auto& s : k_.statements) {
            const ir::TensorDecl* target = k_.findTensor(s.target.tensor);
            if (s.update != ir::Update::Assign && target->role != ir::TensorRole::InOut &&
                initialised.insert(target->name).second)
                fill(tensors_.at(target->name), s.update);
            statement(s);
        }
        releaseTemporaries();
        b_.CreateRetVoid();
        emitTypedEntry(b_, m_, name, f, arguments);
        return true;
    }

private:
    Value* constant(std::int64_t v) { return b_.getInt64(static_cast<std::uint64_t>(v)); }
    Value* real(double v) { return ConstantFP::get(b_.getFloatTy(), v); }

    void bindTensors(Value* args, const std::vector<Argument>& arguments) {
        for (std::size_t i = 0; i < arguments.size(); ++i)
            tensors_.at(arguments[i].tensor).base =
                b_.CreateLoad(b_.getPtrTy(), b_.CreateGEP(b_.getPtrTy(), args, constant(static_cast<std::int64_t>(i))));
        FunctionCallee alloc = m_.getOrInsertFunction("aligned_alloc", FunctionType::get(b_.getPtrTy(), {b_.getInt64Ty(), b_.getInt64Ty()}, false));
        for (auto& [name, info] : tensors_)
            if (info.decl->role == ir::TensorRole::Tmp)
                info.base = b_.CreateCall(alloc, {constant(64), constant((info.storage * 4 + 63) / 64 * 64)}, name);
    }
    void releaseTemporaries() {
        FunctionCallee release = m_.getOrInsertFunction("free", FunctionType::get(b_.getVoidTy(), {b_.getPtrTy()}, false));
        for (auto& [name, info] : tensors_)
            if (info.decl->role == ir::TensorRole::Tmp)
                b_.CreateCall(release, {info.base});
    }

    // An output a sum or maximum accumulates into starts at the update's identity.
    void fill(const TensorInfo& t, ir::Update update) {
        Value* start = real(update == ir::Update::Max ? -std::numeric_limits<double>::infinity() : 0.0);
        emitLoop(b_, constant(t.storage), {}, [&](Value* i, const Values&) {
            b_.CreateStore(start, b_.CreateGEP(b_.getFloatTy(), t.base, i));
            return Values{};
        });
    }

    static void usedDims(const ir::Access& a, std::set<std::string>& out) {
        for (const auto& idx : a.indices)
            for (const auto& t : idx.terms)
                out.insert(t.dim);
    }

    // The statement's loops over the dimensions it uses, in declaration order (the last innermost).
    void statement(const ir::Statement& s) {
        std::set<std::string> used;
        usedDims(s.target, used);
        ir::forEachAccess(s.value, [&](const ir::Access& a) { usedDims(a, used); });
        std::vector<const ir::DimDecl*> dims;
        for (const auto& d : k_.dims)
            if (used.count(d.name))
                dims.push_back(&d);
        std::map<std::string, Value*> point;
        std::function<void(std::size_t)> nest = [&](std::size_t i) {
            if (i == dims.size()) {
                update(s, point);
                return;
            }
            const auto extent = *ir::evaluate(dims[i]->extent, k_.paramValues());
            emitLoop(b_, constant(extent), {}, [&](Value* iv, const Values&) {
                point[dims[i]->name] = iv;
                nest(i + 1);
                return Values{};
            });
        };
        nest(0);
    }

    void update(const ir::Statement& s, const std::map<std::string, Value*>& point) {
        Value* ok = nullptr;
        Value* address = addressOf(s.target, point, ok);
        Value* value = expression(s.value, point);
        switch (s.update) {
        case ir::Update::Assign: break;
        case ir::Update::Sum: value = b_.CreateFAdd(b_.CreateLoad(b_.getFloatTy(), address), value); break;
        case ir::Update::Max: value = b_.CreateMaxNum(b_.CreateLoad(b_.getFloatTy(), address), value); break;
        }
        b_.CreateStore(value, address);
    }

    // The element's address; `ok` false where a padded tensor is read in its zero halo.
    Value* addressOf(const ir::Access& a, const std::map<std::string, Value*>& point, Value*& ok) {
        const TensorInfo& t = tensors_.at(a.tensor);
        Value* offset = constant(0);
        ok = b_.getTrue();
        for (std::size_t d = 0; d < a.indices.size(); ++d) {
            Value* index = constant(a.indices[d].constant);
            for (const auto& term : a.indices[d].terms)
                index = b_.CreateAdd(index, b_.CreateMul(point.at(term.dim), constant(term.coeff)));
            if (!t.decl->padding.empty())
                ok = b_.CreateAnd(ok, b_.CreateAnd(b_.CreateICmpSGE(index, constant(0)),
                                                   b_.CreateICmpSLT(index, constant(t.shape[d]))));
            offset = b_.CreateAdd(offset, b_.CreateMul(index, constant(t.strides[d])));
        }
        return b_.CreateGEP(b_.getFloatTy(), t.base, b_.CreateSelect(ok, offset, constant(0)));
    }

    Value* expression(const ir::Expr& e, const std::map<std::string, Value*>& point) {
        switch (e.kind) {
        case ir::Expr::Kind::Constant: return real(e.constant);
        case ir::Expr::Kind::Access: {
            Value* ok = nullptr;
            Value* address = addressOf(e.access, point, ok);
            return b_.CreateSelect(ok, b_.CreateLoad(b_.getFloatTy(), address), real(0));
        }
        case ir::Expr::Kind::Call: break;
        }
        std::vector<Value*> args;
        for (const auto& a : e.args)
            args.push_back(expression(a, point));
        return emitOp(b_, e.op, args);
    }

    const ir::Kernel& k_;
    Module& m_;
    IRBuilder<> b_;
    std::map<std::string, TensorInfo> tensors_;
};

} // namespace

bool isElementwise(const ir::Kernel& kernel) {
    return std::none_of(kernel.dims.begin(), kernel.dims.end(), [](const ir::DimDecl& d) { return d.reduction; }) &&
           std::all_of(kernel.statements.begin(), kernel.statements.end(),
                       [](const ir::Statement& s) { return s.update == ir::Update::Assign; });
}

std::unique_ptr<Code> generateElementwise(const ir::Kernel& kernel, const Options& options, std::string& error) {
    auto impl = std::make_unique<Code::Impl>();
    Plan& plan = impl->plan;
    plan.functionName = symbolName(options.functionName, kernel.name);
    plan.instruction = "plain loops";
    plan.threads = 1;
    impl->machine = hostMachine(error);
    if (!impl->machine)
        return nullptr;
    impl->context = std::make_unique<LLVMContext>();
    impl->module = std::make_unique<Module>(plan.functionName, *impl->context);
    ElementwiseEmitter emitter(kernel, *impl->module);
    if (!emitter.run(plan.functionName, plan.arguments, error))
        return nullptr;
    plan.decisions.lines.push_back(std::to_string(kernel.statements.size()) +
                                   " statement(s) as plain loops in f32, widened by LLVM's vectoriser; no instruction mapping");
    if (!verifyAndOptimise(*impl->module, *impl->machine, error))
        return nullptr;
    return std::make_unique<Code>(std::move(impl));
}

} // namespace isamap::codegen
