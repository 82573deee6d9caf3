// Kernel suites: the reference workloads (DeepBench GEMM, RNN and convolution sizes; MobileNet-v1
// layers), each entry turned into a library call. The project carries copies of the CSV files in
// resources/suites/.
//
//   std::string error;
//   auto suite = frontend::loadSuite("deepbench-gemm", error);
//   for (const auto& e : *suite) { auto m = frontend::generate(e.generator, e.args, error); ... }
#pragma once

#include "frontend/library.h"

#include <optional>
#include <string>
#include <vector>

namespace isamap::frontend {

struct SuiteEntry {
    std::string name;      // unique within the suite, e.g. "train_1760x16x1760_nn"
    std::string set;       // the CSV's set column (training_set, inference_server_set, ...)
    std::string generator; // library generator to call
    Args args;
    int csvLine = 0;       // where the entry came from
};

struct SuiteInfo {
    std::string name;     // "deepbench-gemm"
    std::string file;     // relative to the resources folder: "suites/deepbench_gemm.csv"
    std::string summary;
};

const std::vector<SuiteInfo>& suites();

// Loads a suite by name from the bundled resources, or from an explicit CSV path.
std::optional<std::vector<SuiteEntry>> loadSuite(const std::string& name, std::string& error);
std::optional<std::vector<SuiteEntry>> loadSuiteFile(const std::string& suiteName, const std::string& csvPath,
                                                     std::string& error);

} // namespace isamap::frontend
