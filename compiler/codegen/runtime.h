// The small runtime generated code links against: a pool of worker threads for the schedule's parallel
// loops. The JIT resolves the symbol to this implementation; an exported object file needs the same
// function from the C file `isamap export` writes beside it (resources/runtime/isamap_runtime.c).
#pragma once

#include <cstdint>

extern "C" {
// Runs task(context, begin, end) over [0, count) split into at most `workers` contiguous non-empty
// chunks, one per thread (the caller runs the first), and returns when all are done.
void isamap_parallel_for(void (*task)(void*, std::int64_t, std::int64_t), void* context, std::int64_t count,
                         std::int64_t workers);
}
