// The text format's parser. Takes a source file, gives a Module and its syntax diagnostics; semantic
// checks are a separate pass (check.h) so that a tool can show both kinds at once.
//
//   auto result = ir::parse(ir::SourceFile{"gemm.isa", text});
//   if (ir::hasErrors(result.diagnostics)) std::cerr << ir::format(result.diagnostics);
#pragma once

#include "ir/diagnostics.h"
#include "ir/ir.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace isamap::ir {

// A named generator with key = value arguments, as in `kernel g = gemm(M = 64, ta = 1)`.
struct LibraryCall {
    std::string name;
    std::vector<std::pair<std::string, std::int64_t>> args;
};

// Expands a library call into module text, or returns an error message. Supplied by the kernel
// library (frontend/library.h), which the IR layer does not depend on.
using LibraryExpander = std::function<bool(const LibraryCall&, std::string& textOrError)>;

struct ParseResult {
    Module module;
    std::vector<Diagnostic> diagnostics;
};

ParseResult parse(const SourceFile& file, const LibraryExpander& library = {});

} // namespace isamap::ir
