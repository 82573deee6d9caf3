// Internal to the kernel library: how a generator is declared. Each family of generators lives in
// its own generators_*.cpp and adds its specs through one function.
#pragma once

#include "frontend/library.h"

#include <functional>
#include <string>
#include <vector>

namespace isamap::frontend {

struct GeneratorSpec {
    Generator info;
    // Returns a message for arguments out of range ("stride must be at least 1"), or "".
    std::function<std::string(const Args&)> validate;
    // Returns the module text; called only with validated, complete arguments.
    std::function<std::string(const Args&)> make;
};

void addMatmulGenerators(std::vector<GeneratorSpec>& out);      // gemm, batched_gemm, fully_connected
void addConvGenerators(std::vector<GeneratorSpec>& out);        // conv2d, depthwise, pointwise, dwsep block
void addRnnGenerators(std::vector<GeneratorSpec>& out);         // gru_cell, gru_sequence, lstm_cell
void addElementwiseGenerators(std::vector<GeneratorSpec>& out); // bias_add, activations

// Helpers shared by the generator files.
std::string str(std::int64_t v);
// "must be at least 1" checks over several arguments; returns the first failure or "".
std::string requirePositive(const Args& a, const std::vector<std::string>& names);
std::string requireFlag(const Args& a, const std::vector<std::string>& names); // 0 or 1
// The block of a pre-packed operand: 64, 32 or 16 (one to four 512-bit vectors of f32), whichever
// divides `extent` first; 0 when none does.
std::int64_t vectorBlock(std::int64_t extent);

} // namespace isamap::frontend
