// The functional half of the simulator (internal to compiler/sim/): the schedule's loop nest with
// real copies of the tiles in every level, the instruction's own statement per call, and the result
// compared with the reference interpreter.
#pragma once

#include "sim/loopnest.h"
#include "sim/sim.h"

#include <chrono>
#include <optional>
#include <string>

namespace isamap::sim {

struct FunctionalOutcome {
    double largestError = 0;
    std::string verification;
};

// Empty with `error` on a wrong result, an operand read out of bounds, or the host-time budget.
std::optional<FunctionalOutcome> runFunctional(const ir::Kernel& kernel, const ir::Instruction& instruction,
                                               const mapping::Candidate& candidate, const schedule::Space& space,
                                               const schedule::Schedule& s, const LoopNest& nest,
                                               std::uint64_t seed, std::chrono::steady_clock::time_point deadline,
                                               std::string& error);

} // namespace isamap::sim
