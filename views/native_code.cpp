#include "views/native_code.h"

#include "codegen/codegen.h"

#include <QObject>

namespace isamap::views {

namespace {

// The plan's decisions as LLVM comment lines, above the IR they explain.
std::string decisionsComment(const codegen::Decisions& decisions) {
    std::string text = "; code plan:\n";
    for (const auto& line : decisions.lines)
        text += ";   " + line + "\n";
    return text + ";\n";
}

} // namespace

QStringList nativeCodeTabs() { return {QObject::tr("LLVM IR"), QObject::tr("Assembly")}; }

std::vector<std::string> nativeCodeForms(const CodeInput& input) {
    if (!input.kernel || !input.target || !input.candidate) {
        const std::string why = "no code: the studio does not know this schedule's kernel, target and mapping candidate";
        return {why, why};
    }
    std::string error;
    auto code = codegen::generate(*input.kernel, *input.target, *input.candidate, input.space, input.schedule, {}, error);
    if (!code) {
        const std::string why = "cannot generate code for " + input.target->name + ": " + error;
        return {why, why};
    }
    std::string assembly = code->assembly(error);
    if (assembly.empty())
        assembly = "cannot produce the assembly: " + error;
    return {decisionsComment(code->decisions()) + code->llvmIR(), assembly};
}

} // namespace isamap::views
