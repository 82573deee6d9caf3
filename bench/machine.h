// What every benchmark prints first: the CPU it ran on.
#pragma once

#include "targets/host.h"

#include <fstream>
#include <string>

namespace isamap::bench {

// The model name the kernel reports, and LLVM's name for the CPU.
inline std::string cpuName() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    const std::string llvmName = targets::detectHost().name;
    while (std::getline(cpuinfo, line))
        if (line.rfind("model name", 0) == 0)
            return line.substr(line.find(':') + 2) + " (LLVM: " + llvmName + ")";
    return llvmName;
}

} // namespace isamap::bench
