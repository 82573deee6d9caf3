#include "cost/cost.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace isamap::cost {

using schedule::Schedule;
using schedule::Space;

namespace {

constexpr std::size_t kMaxLevels = 8;
constexpr std::size_t kMaxOperands = 8;
constexpr std::size_t kMaxDims = 16;

// The model's figures without words: the hot path of every search, so no allocation.
struct Figures {
    double compute = 0;
    double total = 0;
    double calls = 0;
    std::array<std::array<double, kMaxOperands>, kMaxLevels> moveSeconds{};
    std::array<std::array<double, kMaxOperands>, kMaxLevels> latencySeconds{};
    std::array<std::array<double, kMaxOperands>, kMaxLevels> bytes{};
};

Figures compute(const Space& space, const Schedule& s) {
    Figures f;
    const std::size_t nl = std::min(space.levels.size(), kMaxLevels);
    const std::size_t nd = std::min(space.dims.size(), kMaxDims);
    const std::size_t no = std::min(space.operands.size(), kMaxOperands);
    std::array<std::array<std::int64_t, kMaxDims>, kMaxLevels> trips{};
    double calls = 1;
    for (std::size_t l = 0; l < nl; ++l)
        for (std::size_t d = 0; d < nd; ++d) {
            const std::int64_t child = l + 1 < nl ? s.levels[l + 1].tiles[d] : 1;
            trips[l][d] = (s.levels[l].tiles[d] + child - 1) / child;
            calls *= static_cast<double>(trips[l][d]);
        }
    f.calls = calls;

    // Parallel loops of the outermost level spread over the units; a last partial wave costs a whole one.
    double parallelTrips = 1;
    for (std::size_t d = 0; d < nd; ++d)
        if (s.parallel[d])
            parallelTrips *= static_cast<double>(trips[0][d]);
    const double workers = std::max(1.0, std::min(static_cast<double>(space.units), parallelTrips));
    const double waves = std::ceil(parallelTrips / workers);
    const double callsPerWorker = calls / parallelTrips * waves;

    // Accumulating into registers chains calls through their output: independent accumulators (the
    // unrolled loops the output depends on) hide the latency, too few leave the unit waiting.
    double independent = 1;
    for (std::size_t d = 0; d < nd; ++d)
        if (space.operands[0].dependsOn[d])
            independent *= static_cast<double>(s.unroll[d]);
    const double needed = static_cast<double>(space.latencyCycles) * space.throughput;
    const double stall = space.outputInRegisters && independent < needed ? needed / independent : 1.0;
    f.compute = callsPerWorker * stall / (space.throughput * space.clock);

    double serial = f.compute;
    double overlapped = 0;
    for (std::size_t m = 1; m < nl; ++m) {
        double levelTime = 0;
        // Levels below the first one under the outermost are private to each unit: their traffic
        // divides among the workers. Every unit waits out its own requests' latency, concurrently.
        const double share = space.levels[m].perUnit ? workers : 1.0;
        const auto& source = space.levels[static_cast<std::size_t>(std::max(0, space.levels[m].parent))];
        std::size_t slowestRequest = kMaxOperands;
        for (std::size_t o = 0; o < no; ++o) {
            if (!s.levels[m].keeps[o])
                continue;
            const auto& op = space.operands[o];
            // Fetches: walk the loops above level m from the innermost out; loops the operand does not
            // depend on reuse its tile until a loop it does depend on has been passed.
            double fetches = 1;
            bool relevantSeen = false;
            for (std::size_t l = m; l-- > 0;) {
                const auto& order = s.levels[l].order;
                for (std::size_t i = order.size(); i-- > 0;) {
                    const std::size_t d = static_cast<std::size_t>(order[i]);
                    if (trips[l][d] <= 1)
                        continue;
                    if (op.dependsOn[d])
                        relevantSeen = true;
                    if (relevantSeen)
                        fetches *= static_cast<double>(trips[l][d]);
                }
            }
            const double elements = static_cast<double>(schedule::footprint(space, o, s.levels[m].tiles.data()));
            const double bytes = elements * op.bytesPerElement * fetches * (op.output ? 2.0 : 1.0);
            f.bytes[m][o] = bytes;
            f.moveSeconds[m][o] = bytes / (space.levels[m].bandwidth * share);
            f.latencySeconds[m][o] = s.levels[m].doubleBuffered ? 0.0 : fetches * source.latency / workers;
            levelTime += f.moveSeconds[m][o];
            if (!s.levels[m].doubleBuffered)
                serial += f.moveSeconds[m][o];
            if (slowestRequest == kMaxOperands || f.latencySeconds[m][o] > f.latencySeconds[m][slowestRequest])
                slowestRequest = o;
        }
        // The operands' requests into one level are in flight together: only the longest wait counts.
        for (std::size_t o = 0; o < no; ++o)
            if (o != slowestRequest)
                f.latencySeconds[m][o] = 0;
        if (slowestRequest != kMaxOperands)
            serial += f.latencySeconds[m][slowestRequest];
        if (s.levels[m].doubleBuffered)
            overlapped = std::max(overlapped, levelTime);
    }
    f.total = std::max(serial, overlapped);
    return f;
}

std::string percent(double fraction) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f%%", fraction * 100);
    return buf;
}

} // namespace

double modeledSeconds(const Space& space, const Schedule& s) { return compute(space, s).total; }

Breakdown explain(const Space& space, const Schedule& s) {
    const Figures f = compute(space, s);
    Breakdown b;
    b.seconds = f.total;
    b.computeSeconds = f.compute;
    b.gflops = f.total > 0 ? space.usefulFlops / f.total / 1e9 : 0;
    b.terms.push_back({"compute: " + std::to_string(static_cast<long long>(f.calls)) + " calls of " + space.instruction,
                       f.compute, 0, false});
    for (std::size_t m = 1; m < space.levels.size() && m < kMaxLevels; ++m)
        for (std::size_t o = 0; o < space.operands.size() && o < kMaxOperands; ++o) {
            if (!s.levels[m].keeps[o])
                continue;
            const std::string route = space.levels[static_cast<std::size_t>(std::max(0, space.levels[m].parent))].memory +
                                      " -> " + space.levels[m].memory + " for " + space.operands[o].tensor;
            b.terms.push_back({"bandwidth on " + route, f.moveSeconds[m][o], f.bytes[m][o], s.levels[m].doubleBuffered});
            if (f.latencySeconds[m][o] > 0)
                b.terms.push_back({"latency on " + route, f.latencySeconds[m][o], 0, false});
        }
    const Term* largest = &b.terms.front();
    for (const auto& t : b.terms)
        if (t.seconds > largest->seconds)
            largest = &t;
    double useful = 1;
    for (const auto& kd : space.kernelDims)
        useful *= static_cast<double>(kd.extent);
    const double slots = f.calls * space.instructionPoints;
    b.utilisation = slots > 0 ? useful / slots : 0;
    const double share = b.seconds > 0 ? largest->seconds / b.seconds : 0;
    if (largest == &b.terms.front())
        b.bound = "compute-bound: " + percent(share) + " of the time in " + space.instruction + " calls";
    else
        b.bound = (largest->what.rfind("latency", 0) == 0 ? "latency-bound on " : "bandwidth-bound on ") +
                  largest->what.substr(largest->what.find(" on ") + 4) + ": " + percent(share) + " of the time";
    return b;
}

} // namespace isamap::cost
