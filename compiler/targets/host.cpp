#include "targets/host.h"

#include <llvm/ADT/StringMap.h>
#include <llvm/TargetParser/Host.h>

namespace isamap::targets {

HostCpu detectHost() {
    HostCpu cpu;
    cpu.name = llvm::sys::getHostCPUName().str();
    llvm::StringMap<bool> features;
    if (llvm::sys::getHostCPUFeatures(features))
        for (const auto& entry : features)
            if (entry.getValue())
                cpu.features.insert(entry.getKey().str());
    return cpu;
}

std::vector<std::string> missingFeatures(const HostCpu& cpu, const std::vector<std::string>& required) {
    std::vector<std::string> missing;
    for (const auto& f : required)
        if (!cpu.has(f))
            missing.push_back(f);
    return missing;
}

} // namespace isamap::targets
