// The host CPU as LLVM sees it (name and features), and the bundled host target that fits it.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace isamap::targets {

struct HostCpu {
    std::string name;               // LLVM's CPU name, e.g. "znver4"
    std::set<std::string> features; // LLVM's feature keys that are on, e.g. "avx512f", "avx512bf16"
    bool has(const std::string& f) const { return features.count(f) > 0; }
};

HostCpu detectHost();

// Which of `required` (a target's `features` line) the CPU lacks.
std::vector<std::string> missingFeatures(const HostCpu& cpu, const std::vector<std::string>& required);

} // namespace isamap::targets
