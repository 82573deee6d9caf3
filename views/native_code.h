// The code view's native forms: the LLVM IR and the host assembly of a schedule, from one compilation
// through the compiler core's code generator (compiler/codegen/). The LLVM IR opens with the code
// plan's decisions as comments. Without a kernel, target and candidate, or when the generator refuses
// (a virtual target's instructions have no host lowering), both tabs say why.
//
//   code->addGenerators(views::nativeCodeTabs(), views::nativeCodeForms);
#pragma once

#include "views/code_view.h"

#include <QStringList>
#include <string>
#include <vector>

namespace isamap::views {

// The tab names, in the order of nativeCodeForms' texts: "LLVM IR", "Assembly".
QStringList nativeCodeTabs();
// Runs the code generator (slow: call it off the GUI thread) and gives {LLVM IR, assembly}.
std::vector<std::string> nativeCodeForms(const CodeInput& input);

} // namespace isamap::views
