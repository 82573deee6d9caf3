// Helpers shared by the isamap commands: argument splitting, reading and checking input files.
#pragma once

#include "interp/interpreter.h"
#include "ir/ir.h"
#include "ir/diagnostics.h"
#include "codegen/codegen.h"
#include "cost/cost.h"
#include "mapping/mapping.h"
#include "schedule/schedule.h"
#include "store/project.h"

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace isamap::cli {

// KEY=VALUE arguments with integer values, and the rest.
struct SplitArgs {
    std::map<std::string, std::int64_t> values;
    std::vector<std::string> positional;
    std::map<std::string, std::string> options; // --name VALUE or --flag (value "")
    std::string error;
};

SplitArgs splitArgs(const std::vector<std::string>& args, const std::vector<std::string>& optionsWithValue);
// Prints the message and the usage line; returns 2, the status for wrong usage.
int usage(const std::string& message, const std::string& usageLine);
// A file's text, or standard input for "-"; prints why on failure.
std::optional<ir::SourceFile> readSource(const std::string& path);
// Parses and checks, printing the diagnostics; empty when there were errors.
std::optional<ir::Module> loadModule(const ir::SourceFile& file);
// A file, or a library generator called with `args` (KEY=VALUE); prints why on failure. `overrides`
// receives the KEY=VALUE pairs that are parameter overrides (those of a file).
std::optional<ir::Module> loadInput(const std::string& input, const std::map<std::string, std::int64_t>& args,
                                    std::map<std::string, std::int64_t>& overrides);
std::string shapeText(const std::vector<std::int64_t>& s);
std::string paramsText(const std::vector<ir::Param>& params);
// "1.234 s", "7.150 ms", "166.00 us".
std::string timeText(double seconds);
// The cost model's largest terms of a schedule, "where the time goes", and the cache it finds warm.
void printWhereTheTimeGoes(const cost::Breakdown& b);
void printChecksums(const std::vector<ir::TensorDecl>& tensors, const interp::Buffers& buffers);
// A JSON string literal, escaped.
std::string jsonString(const std::string& s);
// A mapping candidate as the JSON object `isamap map --json` prints.
std::string candidateJson(const mapping::Candidate& c, const ir::Kernel& k, const std::string& kernelLabel);

// A schedule kept in a project, with everything needed to model, simulate or generate it again.
struct StoredSchedule {
    store::ScheduleRecord record;
    ir::Kernel kernel;
    ir::Target target;
    mapping::Candidate candidate;
    schedule::Space space;
    schedule::Schedule schedule;
};
// Loads schedule `id` of the project at `path`; prints why on failure.
std::optional<StoredSchedule> loadStoredSchedule(const std::string& path, std::int64_t id);

// Generates the code of a schedule and prints its optimised LLVM IR (`what` "llvm") or host assembly
// ("asm"); prints why on failure.
bool printCode(const ir::Kernel& kernel, const ir::Target& target, const mapping::Candidate& candidate,
               const schedule::Space& space, const schedule::Schedule& s, const codegen::Options& options,
               const std::string& what);

// The kernel named `wanted` (or the only one) with the parameter overrides applied; prints why not.
std::optional<ir::Kernel> chooseKernel(const ir::Module& m, const std::string& wanted,
                                       const std::map<std::string, std::int64_t>& overrides);

// The path of the running executable (the measuring worker is the same program: `isamap worker`).
std::string selfExecutable();

template <typename T>
bool applyOverrides(T& item, const std::map<std::string, std::int64_t>& values) {
    for (const auto& [key, v] : values) {
        auto it = std::find_if(item.params.begin(), item.params.end(), [&](const ir::Param& p) { return p.name == key; });
        if (it == item.params.end()) {
            std::cerr << "isamap: '" << item.name << "' has no parameter '" << key << "'; its parameters are "
                      << (item.params.empty() ? "none" : paramsText(item.params)) << "\n";
            return false;
        }
        it->value = v;
    }
    return true;
}


} // namespace isamap::cli
