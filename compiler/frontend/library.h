// The kernel library: named generators of kernels and op graphs, reachable from C++, from the text
// format (`kernel g = gemm(M = 64, ta = 1)`) and from `isamap kernel NAME key=value...`.
//
// A generator's arguments are integers. Sizes (M, N, K, H, ...) become the kernel's parameters, so the
// generated text stays overridable; structural choices (transposes, layout, stride, padding, groups)
// shape the generated statements. Example:
//
//   std::string error;
//   auto module = frontend::generate("gemm", {{"M", 64}, {"N", 32}, {"K", 48}}, error);
#pragma once

#include "ir/ir.h"
#include "ir/parser.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace isamap::frontend {

using Args = std::map<std::string, std::int64_t>;

struct GeneratorArg {
    std::string name;
    std::int64_t defaultValue;
    std::string meaning;
};

struct Generator {
    std::string name;
    std::string summary;
    std::vector<GeneratorArg> args;
    bool makesGraph = false;
};

// Every generator, in a stable order.
const std::vector<Generator>& generators();
const Generator* findGenerator(const std::string& name);

// The text of the generated module (one kernel, or kernels plus a graph); empty with `error` set on
// an unknown generator, an unknown argument or a value out of range.
std::optional<std::string> generateText(const std::string& name, const Args& args, std::string& error);

// generateText, parsed and checked.
std::optional<ir::Module> generate(const std::string& name, const Args& args, std::string& error);

// The hook the parser uses for `kernel NAME = GENERATOR(...)`.
ir::LibraryExpander expander();

// Parses a file's text with the library available, then runs the semantic checks.
ir::ParseResult parseAndCheck(const ir::SourceFile& file);

} // namespace isamap::frontend
