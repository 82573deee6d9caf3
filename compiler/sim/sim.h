// The simulator of the virtual accelerators: the "measured" side of measured versus modeled.
//
// Runs one schedule of one mapped kernel statement on a virtual target (nnp-like, tpu-like,
// tensorcore-like), twice over the same loop nest:
//   - functionally: every memory level holds real copies of the operand tiles the schedule keeps there,
//     copied down from the level above when the loops move to a new tile and written back for the
//     output; each instruction call gathers its operands from the innermost copy and runs the
//     instruction's own statement in the reference interpreter. The output is compared with the
//     reference interpreter's, so a timing is never reported for a schedule that computes wrongly;
//   - in time: an event-driven machine at tile granularity. Each compute unit and each level's data
//     mover runs one task at a time; a compute waits for its tiles, a transfer for the buffer it fills
//     (with double-buffering only for the compute two tiles back). It shares no code with the cost
//     model (compiler/cost/), so the two can be compared.
// A host CPU target is not simulated: its generated code is measured instead.
//
//   sim::SimOptions options;
//   std::string error;
//   auto result = sim::simulate(kernel, target, candidate, space, schedule, options, error);
//   if (!result) ...;                         // refused, wrong result, or over budget: `error` says why
//   double seconds = result->seconds;         // simulated time of the whole statement
//   bool right = result->verified;            // false when the run was timed only (see `verification`)
#pragma once

#include "ir/ir.h"
#include "mapping/mapping.h"
#include "schedule/schedule.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace isamap::sim {

struct SimOptions {
    std::int64_t maxEvents = 5'000'000;  // events (task completions) before the run stops with an error
    double maxSeconds = 10;              // host time before the run stops with an error
    bool functional = true;              // also compute the result and verify it
    // Beyond this many instruction calls the run is timed only: each call runs in the interpreter, which
    // takes up to milliseconds for a matrix instruction, and maxSeconds bounds the whole run.
    std::int64_t maxFunctionalCalls = 1000;
    std::size_t maxTimelineEntries = 100000;
    // Tasks simulated before the timing switches to a prefix of the outer iterations, extrapolated.
    std::int64_t maxTasks = 100000;
    std::uint64_t seed = 1;              // of the random inputs of the functional run
};

// One task on one resource.
struct TimelineEntry {
    std::string resource; // "mme3", "hbm -> sram", "sram -> acc #3"
    double start = 0;     // s
    double end = 0;       // s
    std::string what;     // "hbm -> sram for A", "mma32 x16"
    double bytes = 0;     // moved, for a transfer
};

struct ResourceCounters {
    std::string resource;
    double busySeconds = 0;
    double busyFraction = 0;   // of the simulated time
    double bytes = 0;
    double stallSeconds = 0;   // idle while its next task waited for another resource
    std::string stallCause;    // the largest share of the stall: "waiting for hbm -> sram for A"
};

struct SimResult {
    double seconds = 0;        // the whole statement (extrapolated when sampled)
    double cycles = 0;         // at the instruction unit's clock
    std::vector<TimelineEntry> timeline;
    bool timelineTruncated = false;
    std::vector<ResourceCounters> counters; // of the simulated part (the prefix when sampled)
    std::vector<std::pair<std::string, double>> bytesPerLevel; // moved into and out of each level
    bool verified = false;
    double largestError = 0;   // largest absolute difference from the reference
    std::string verification;  // in words
    bool sampled = false;
    std::string sampling;      // how the time was extrapolated, or that it was not
};

// Simulates `schedule` (of `space`, built from `candidate` of `kernel` on `target`). Empty with `error`
// when the schedule is refused (illegal, an operand not kept where its instruction reads it, a host
// target), when the functional result differs from the reference, or when a budget runs out.
std::optional<SimResult> simulate(const ir::Kernel& kernel, const ir::Target& target,
                                  const mapping::Candidate& candidate, const schedule::Space& space,
                                  const schedule::Schedule& schedule, const SimOptions& options,
                                  std::string& error);

} // namespace isamap::sim
