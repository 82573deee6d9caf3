// What the oneDNN peer's commands share: one CPU engine and stream, and the reorders that put data
// into the formats the primitives chose (always done once, outside any timing).
#pragma once

#include "harness.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <span>

namespace isamap::bench::peers::onednn {

using dnnl::memory;
using Dims = memory::dims;
using DataType = memory::data_type;
using Tag = memory::format_tag;

struct Context {
    dnnl::engine engine{dnnl::engine::kind::cpu, 0};
    dnnl::stream stream{engine};
};

// Made on first use, after the thread count is set.
Context& context();

// A new memory of a plain layout, allocated by oneDNN.
memory plainMemory(const Dims& dims, DataType type, Tag tag);

// A copy of `source` in the format `wanted` (the source itself when the formats already agree).
memory reorderedTo(const memory& source, const memory::desc& wanted);

template <typename T>
std::span<T> elements(const memory& m) {
    return {static_cast<T*>(m.get_data_handle()), m.get_desc().get_size() / sizeof(T)};
}

void fillUniform(const memory& m, std::uint64_t seed, float lo, float hi);

// The commands beside `gemm` (one file each).
void runLowpBenchmark(const Options& options);
void runGruBenchmark(const Options& options);
void runDwsepBenchmark(const Options& options);

} // namespace isamap::bench::peers::onednn
