// The bundled targets (resources/targets/*.isa) and how a user names one: a bundled name such as
// `nnp-like`, the path of a target file, or `host`, which picks the bundled host target whose
// features the CPU has (the richest one when several fit).
#pragma once

#include "ir/diagnostics.h"
#include "ir/ir.h"
#include "targets/host.h"

#include <optional>
#include <string>
#include <vector>

namespace isamap::targets {

struct TargetFile {
    std::string name; // the target's name
    std::string path; // the file it is in
};

// Every bundled target file, sorted by name.
std::vector<TargetFile> bundledTargets();

struct LoadedTarget {
    ir::Target target;
    std::string path;
};

// Loads a target by name, path or `host`. On failure `error` holds the reason (with the file's
// diagnostics when it does not parse).
std::optional<LoadedTarget> loadTarget(const std::string& nameOrPath, std::string& error);

// The bundled host target for this CPU, or an explanation of why none fits.
std::optional<LoadedTarget> hostTarget(std::string& error);
// The same choice for a given CPU: the bundled target with the most features, all of which it has.
std::optional<LoadedTarget> hostTargetFor(const HostCpu& cpu, std::string& error);

// The target with every compute unit counted `cores` times over: the cost model then plans the work
// for as many workers as the generated code will run on.
ir::Target withCores(ir::Target target, int cores);

} // namespace isamap::targets
