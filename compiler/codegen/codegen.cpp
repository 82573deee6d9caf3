#include "codegen/codegen.h"

#include "codegen/emit.h"
#include "codegen/code_impl.h"
#include "codegen/llvm_support.h"
#include "codegen/plan.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/Transforms/Utils/Cloning.h>

#include <mutex>

namespace isamap::codegen {


Code::Code(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Code::~Code() = default;
const std::string& Code::functionName() const { return impl_->plan.functionName; }
const std::vector<Argument>& Code::arguments() const { return impl_->plan.arguments; }
const Decisions& Code::decisions() const { return impl_->plan.decisions; }
int Code::threads() const { return impl_->plan.threads; }
const std::optional<ParallelLoop>& Code::parallelLoop() const { return impl_->plan.parallelLoop; }

std::string hostFeatureString() {
    llvm::StringMap<bool> features;
    std::string out;
    if (llvm::sys::getHostCPUFeatures(features))
        for (const auto& f : features)
            out += (out.empty() ? "" : ",") + std::string(f.getValue() ? "+" : "-") + f.getKey().str();
    return out;
}

std::unique_ptr<llvm::TargetMachine> hostMachine(std::string& error) {
    static std::once_flag once;
    std::call_once(once, [] {
        llvm::InitializeNativeTarget();
        llvm::InitializeNativeTargetAsmPrinter();
        llvm::InitializeNativeTargetAsmParser();
    });
    const std::string triple = llvm::sys::getProcessTriple();
    const llvm::Target* target = llvm::TargetRegistry::lookupTarget(triple, error);
    if (!target)
        return nullptr;
    llvm::TargetOptions options;
    return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
        triple, llvm::sys::getHostCPUName(), hostFeatureString(), options, llvm::Reloc::PIC_, std::nullopt,
        llvm::CodeGenOpt::Aggressive));
}

void optimise(llvm::Module& module, llvm::TargetMachine& machine) {
    module.setDataLayout(machine.createDataLayout());
    module.setTargetTriple(machine.getTargetTriple().str());
    for (auto& f : module) {
        if (f.isDeclaration())
            continue;
        f.addFnAttr("target-cpu", machine.getTargetCPU());
        f.addFnAttr("target-features", machine.getTargetFeatureString());
        // The generated calls use whole 512-bit registers; do not let the backend split them.
        f.addFnAttr("prefer-vector-width", "512");
        f.addFnAttr("min-legal-vector-width", "512");
        f.addFnAttr(llvm::Attribute::NoUnwind);
    }
    llvm::LoopAnalysisManager loops;
    llvm::FunctionAnalysisManager functions;
    llvm::CGSCCAnalysisManager cgscc;
    llvm::ModuleAnalysisManager modules;
    llvm::PassBuilder builder(&machine);
    builder.registerModuleAnalyses(modules);
    builder.registerCGSCCAnalyses(cgscc);
    builder.registerFunctionAnalyses(functions);
    builder.registerLoopAnalyses(loops);
    builder.crossRegisterProxies(loops, functions, cgscc, modules);
    builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(module, modules);
}

namespace {

// LLVM 16's x86 backend cannot select a conditional move of bfloat vectors ("Cannot select ...
// v32bf16 = X86ISD::CMOV"), which the optimiser makes when it merges two branches that both call a bf16
// dot-product instruction and selects between their operands. Such selects are redone on i16 lanes.
void selectBfloatVectorsAsIntegers(llvm::Module& module) {
    std::vector<llvm::SelectInst*> selects;
    for (auto& f : module)
        for (auto& block : f)
            for (auto& inst : block)
                if (auto* s = llvm::dyn_cast<llvm::SelectInst>(&inst);
                    s && s->getType()->isVectorTy() && s->getType()->getScalarType()->isBFloatTy())
                    selects.push_back(s);
    for (auto* s : selects) {
        llvm::IRBuilder<> b(s);
        auto* lanes = llvm::VectorType::get(b.getInt16Ty(), llvm::cast<llvm::VectorType>(s->getType())->getElementCount());
        llvm::Value* chosen = b.CreateSelect(s->getCondition(), b.CreateBitCast(s->getTrueValue(), lanes),
                                             b.CreateBitCast(s->getFalseValue(), lanes));
        s->replaceAllUsesWith(b.CreateBitCast(chosen, s->getType()));
        s->eraseFromParent();
    }
}

} // namespace

bool verifyAndOptimise(llvm::Module& module, llvm::TargetMachine& machine, std::string& error) {
    std::string problems;
    llvm::raw_string_ostream out(problems);
    if (llvm::verifyModule(module, &out)) {
        error = "internal error: the generated LLVM IR does not verify: " + out.str();
        return false;
    }
    optimise(module, machine);
    selectBfloatVectorsAsIntegers(module);
    return true;
}

std::string symbolName(const std::string& requested, const std::string& kernel) {
    std::string name = requested.empty() ? "isamap_" + kernel : requested;
    for (auto& ch : name)
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_')
            ch = '_';
    return name;
}

std::unique_ptr<Code> generate(const ir::Kernel& kernel, const ir::Target& target, const mapping::Candidate& candidate,
                               const schedule::Space& space, const schedule::Schedule& schedule,
                               const Options& options, std::string& error) {
    auto impl = std::make_unique<Code::Impl>();
    if (!makePlan(kernel, target, candidate, space, schedule, options, impl->plan, error))
        return nullptr;
    impl->machine = hostMachine(error);
    if (!impl->machine)
        return nullptr;
    impl->context = std::make_unique<llvm::LLVMContext>();
    impl->module = std::make_unique<llvm::Module>(impl->plan.functionName, *impl->context);
    if (!emitPlan(impl->plan, *impl->module, error) || !verifyAndOptimise(*impl->module, *impl->machine, error))
        return nullptr;
    return std::make_unique<Code>(std::move(impl));
}

std::string Code::llvmIR() const {
    std::string text;
    llvm::raw_string_ostream out(text);
    impl_->module->print(out, nullptr);
    return out.str();
}

namespace {
bool emitFile(Code::Impl& impl, llvm::raw_pwrite_stream& out, llvm::CodeGenFileType type, std::string& error) {
    // Code generation changes the module it runs on; keep the optimised one for the other views.
    auto copy = llvm::CloneModule(*impl.module);
    llvm::legacy::PassManager passes;
    if (impl.machine->addPassesToEmitFile(passes, out, nullptr, type)) {
        error = "LLVM cannot emit this kind of file for " + impl.machine->getTargetTriple().str();
        return false;
    }
    passes.run(*copy);
    return true;
}
} // namespace

std::string Code::assembly(std::string& error) const {
    llvm::SmallString<0> text;
    llvm::raw_svector_ostream out(text);
    if (!emitFile(*impl_, out, llvm::CGFT_AssemblyFile, error))
        return {};
    return std::string(text.str());
}

bool Code::writeObject(const std::string& path, std::string& error) const {
    std::error_code ec;
    llvm::raw_fd_ostream out(path, ec, llvm::sys::fs::OF_None);
    if (ec) {
        error = path + ": " + ec.message();
        return false;
    }
    return emitFile(*impl_, out, llvm::CGFT_ObjectFile, error);
}

namespace {
const char* cType(ir::ScalarType t) {
    switch (t) {
    case ir::ScalarType::f32: return "float";
    case ir::ScalarType::f16: return "uint16_t /* f16 bits */";
    case ir::ScalarType::bf16: return "uint16_t /* bf16 bits */";
    case ir::ScalarType::i8: return "int8_t";
    case ir::ScalarType::u8: return "uint8_t";
    case ir::ScalarType::i32: return "int32_t";
    }
    return "void";
}
} // namespace

std::string Code::cHeader() const {
    const Plan& p = impl_->plan;
    std::string guard = p.functionName + "_H";
    for (auto& c : guard)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::string h = "/* Generated by ISA Mapper Studio: " + p.functionName + " runs kernel through " + p.instruction +
                    ".\n * Link with the object file and isamap_runtime.c (it provides isamap_parallel_for).\n";
    for (const auto& line : p.decisions.lines)
        h += " *   " + line + "\n";
    h += " */\n#ifndef " + guard + "\n#define " + guard + "\n\n#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
    for (const auto& a : p.arguments) {
        h += "/* " + a.tensor + ": " + std::string(ir::typeName(a.type)) + "[";
        for (std::size_t i = 0; i < a.shape.size(); ++i)
            h += (i ? ", " : "") + std::to_string(a.shape[i]);
        h += "], " + std::to_string(a.storageElements) + " elements of storage" +
             (a.scratch ? ", scratch for partial results (its contents afterwards mean nothing)" : a.output ? ", written" : "") +
             " */\n";
    }
    h += "void " + p.functionName + "(";
    for (std::size_t i = 0; i < p.arguments.size(); ++i)
        h += std::string(i ? ", " : "") + (p.arguments[i].output ? "" : "const ") + cType(p.arguments[i].type) + "* " +
             p.arguments[i].tensor;
    h += ");\n\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n";
    return h;
}

std::vector<Lowerable> lowerableCandidates(const ir::Kernel& kernel, const ir::Target& target,
                                           const mapping::MappingResult& mapped, std::size_t count,
                                           const std::function<bool(const schedule::Space&)>& accept) {
    std::vector<Lowerable> out;
    for (const auto& c : mapped.candidates) {
        if (out.size() >= count)
            break;
        if (!c.valid || c.dominated || c.statement != 0)
            continue;
        std::string error;
        auto space = schedule::makeSpace(kernel, target, c, error);
        if (space && (!accept || accept(*space)))
            out.push_back({&c, std::move(*space)});
    }
    return out;
}

} // namespace isamap::codegen
