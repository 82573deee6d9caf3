// The analytical cost model: how long a schedule takes on its target, and why.
//
// Takes a schedule space and a schedule; gives the modeled time and a breakdown:
//   - compute: instruction calls (padding included) over the units running in parallel, at the
//     instruction's throughput and the unit's clock, slowed when calls accumulating into a register
//     file chain through the instruction's latency with too few independent accumulators;
//   - data movement per level and operand: each operand's tile is fetched into a level every time a
//     loop above it that the operand depends on advances, and also when a loop it does not depend on
//     sits outside one it does (reuse lost to the loop order); bytes over the level's bandwidth, plus
//     the parent's latency per transfer when the level is not double-buffered;
//   - on a CPU core (the instruction lowers through LLVM), crossing into the vector registers is not a
//     transfer but load and store instructions the core issues beside the calls: per operand, vector
//     moves at the target's move throughput, lane by lane for an output the instruction sees scattered,
//     one element load per call for a broadcast memory operand; the busiest of the calls, the loads and
//     the stores bounds the time. An input the instruction cannot read in place is packed element by
//     element at the first level that keeps it, in line with the compute. There the independent
//     accumulators are the register tile's output vectors, as many as run side by side in the order
//     the tile's loops emit the calls (a reduction loop inside the tile chains them), and an output
//     stored and loaded again between visits of its tile puts that round trip on their chains;
//   - on a CPU core, memory read along 2 to a level's `streams` runs side by side at once fills it at
//     the level's `streams_bandwidth`, plus the parent's latency for each piece the loops leave and
//     come back to; and the bytes the core reads from different levels add their times (the same
//     bytes passing through several levels overlap); from a last cache that holds the kernel's data,
//     each piece of a run the loops leave for another costs a quarter of that cache's latency;
//   - overlap: double-buffered transfers run under the compute, the others add to it.
// The breakdown names what bounds the schedule ("bandwidth-bound on l2 -> l1 for B: 61% of the time").
//
//   cost::Breakdown b = cost::explain(space, schedule);
//   double seconds = cost::modeledSeconds(space, schedule); // the same figure, without the words, fast
#pragma once

#include "schedule/schedule.h"

#include <string>
#include <vector>

namespace isamap::cost {

struct Term {
    std::string what;      // "compute: mma32 calls", "hbm -> sram for B"
    double seconds = 0;
    double bytes = 0;      // data moved, for a transfer term
    bool overlapped = false; // runs under the compute (double-buffered)
};

struct Breakdown {
    double seconds = 0;          // the modeled time
    double computeSeconds = 0;
    double gflops = 0;           // useful work over the modeled time
    double utilisation = 0;      // of the instruction slots, padding excluded
    std::vector<Term> terms;
    std::string bound;           // one line: what bounds the schedule and by how much
    // On a CPU, the innermost cache that holds the kernel's whole data, which a repeated run finds
    // there (its transfers are listed with their bytes and no time), in words; empty when none does.
    std::string held;
};

Breakdown explain(const schedule::Space& space, const schedule::Schedule& s);
double modeledSeconds(const schedule::Space& space, const schedule::Schedule& s);

// How the model ranks a schedule: by its time, and between equal times by its total work (the sum of
// the breakdown's terms, overlapped or not). The window sweep on one output row and on two are priced
// at the same compute bound; two rows load fewer input vectors and measured 1.2-1.4x faster.
struct Rank {
    double seconds = 0, work = 0;
};
Rank rank(const schedule::Space& space, const schedule::Schedule& s);
bool ranksAbove(const Rank& a, const Rank& b);

} // namespace isamap::cost
