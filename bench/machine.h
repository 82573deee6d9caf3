// What every benchmark prints first, the CPU it ran on, and the median it reports.
#pragma once

#include "targets/host.h"

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

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

// The middle of the values (the mean of the two middle ones for an even count); 0 for none.
inline double median(std::vector<double> values) {
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    const std::size_t mid = values.size() / 2;
    return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

} // namespace isamap::bench
