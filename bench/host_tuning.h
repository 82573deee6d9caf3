// Tuning on the host CPU for the benchmarks against the peer libraries: the cost model proposes,
// measurement decides (as autotuners do). The search runs once per register-tile shape; the best modeled
// schedule of each (or only the few the model ranks best, `measureTop`) is generated, verified and
// timed, with the analytical schedules (schedule::analyticalSchedules: the Goto blockings, the column
// sweep) beside them; the two fastest are timed again at full length, three times each in fresh memory,
// and the faster median wins.
#pragma once

#include "codegen/codegen.h"
#include "constraints/constraints.h"
#include "cost/cost.h"
#include "mapping/mapping.h"
#include "measure/graph.h"
#include "measure/measure.h"
#include "schedule/schedule.h"
#include "search/search.h"
#include "targets/catalog.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace isamap::bench {

struct Tuned {
    bool ok = false;
    std::string error;
    measure::Result result;   // of the fastest schedule, timed again at full length
    std::string schedule;     // its text
    std::string candidate;
    int tried = 0;            // schedules generated and timed
    std::string analytical;   // the fastest was this analytical schedule ("goto-4x6", "sweep"), not a model's pick
};

// Register-tile shapes worth timing: (instruction tiles along the vector dimension, elements along the
// broadcast dimension), as constraints on the innermost level; "" leaves the model free.
inline std::vector<std::string> registerTileChoices(const schedule::Space& space) {
    int vector = -1, broadcast = -1;
    const auto& out = *std::find_if(space.operands.begin(), space.operands.end(), [](const auto& o) { return o.output; });
    for (std::size_t d = 0; d < space.dims.size(); ++d) {
        if (!out.dependsOn[d] || space.dims[d].extent < 2)
            continue;
        if (space.dims[d].instructionDim >= 0 && vector < 0)
            vector = static_cast<int>(d);
        else if (space.dims[d].instructionDim < 0)
            broadcast = static_cast<int>(d); // the last one: kernels declare their contiguous dimensions last
    }
    const std::string level = space.levels.back().memory;
    auto tile = [&](int d, int size) {
        return "tile " + space.dims[static_cast<std::size_t>(d)].name + " at " + level + " = " + std::to_string(size) + "\n";
    };
    // Short reductions (a convolution's filter taps) are unrolled whole, so that the accumulators stay in
    // registers over every tap instead of being stored between them.
    std::string taps;
    for (std::size_t d = 0; d < space.dims.size(); ++d)
        if (!out.dependsOn[d] && space.dims[d].instructionDim < 0 && space.dims[d].extent > 1 && space.dims[d].extent <= 7)
            taps += tile(static_cast<int>(d), static_cast<int>(space.dims[d].extent));
    std::vector<std::string> out_{""};
    if (!taps.empty())
        out_.push_back(taps);
    // A short broadcast dimension (a skinny product, n = 2 or 3) is covered whole, with more vectors.
    const int shortBroadcast = broadcast >= 0 && space.dims[static_cast<std::size_t>(broadcast)].extent < 4
                                   ? static_cast<int>(space.dims[static_cast<std::size_t>(broadcast)].extent)
                                   : 0;
    const std::vector<std::pair<int, int>> shapes =
        shortBroadcast ? std::vector<std::pair<int, int>>{{4, shortBroadcast}, {8, shortBroadcast}, {12, shortBroadcast}}
        : broadcast >= 0 ? std::vector<std::pair<int, int>>{{3, 8}, {2, 6}, {4, 4}, {2, 4}, {1, 8}, {3, 4}, {4, 6}}
                         : std::vector<std::pair<int, int>>{{2, 1}, {4, 1}, {8, 1}, {12, 1}};
    for (auto [v, b] : shapes) {
        if (vector >= 0 && space.dims[static_cast<std::size_t>(vector)].extent < v)
            continue;
        if (broadcast >= 0 && space.dims[static_cast<std::size_t>(broadcast)].extent < b)
            continue;
        std::string text = taps + (vector >= 0 ? tile(vector, v) : "");
        if (broadcast >= 0)
            text += tile(broadcast, b);
        out_.push_back(text);
    }
    return out_;
}

inline bool hasParallelLoop(const schedule::Schedule& s) {
    return std::find(s.parallel.begin(), s.parallel.end(), true) != s.parallel.end();
}

// "parallel D" for the output loop of most trips at the outermost level (the one that splits evenly).
inline std::string widestParallelLoop(const schedule::Space& space) {
    const auto& out = *std::find_if(space.operands.begin(), space.operands.end(), [](const auto& o) { return o.output; });
    int widest = -1;
    for (std::size_t d = 0; d < space.dims.size(); ++d)
        if (out.dependsOn[d] && (widest < 0 || space.dims[d].extent > space.dims[static_cast<std::size_t>(widest)].extent))
            widest = static_cast<int>(d);
    return widest < 0 || space.dims[static_cast<std::size_t>(widest)].extent < 2
               ? ""
               : "parallel " + space.dims[static_cast<std::size_t>(widest)].name + "\n";
}

// How the winner of a tuning is timed: at full length.
inline measure::Options fullTiming(int threads) {
    measure::Options m;
    m.minRuns = 5;
    m.minSeconds = 0.2;
    m.codegen.threads = threads;
    return m;
}

// Searches, times the proposals and re-times the two fastest at full length; the faster wins.
// `threads` cores; `screenSeconds` per proposal.
// `required`: constraints (constraints.h text) every proposal keeps, such as the parallel loop a graph
// needs to run two kernels band by band. `measureTop` > 0: only the proposals the model ranks best
// (that many, distinct) are generated and timed; 0 times every proposal.
inline Tuned tuneByMeasurement(const ir::Kernel& kernel, const ir::Target& hostTarget, int threads,
                               const std::string& required = "", std::int64_t evaluations = 1500,
                               double screenSeconds = 0.03, int candidates = 2, int measureTop = 0) {
    Tuned best;
    const ir::Target target = targets::withCores(hostTarget, threads);
    const auto mapped = mapping::mapKernel(kernel, target);
    std::string error;
    auto strategy = search::makeStrategy("annealing", error);
    struct Proposal {
        std::size_t candidate; // in `lowerable`
        schedule::Schedule schedule;
        double modeled;
        std::string analytical; // an analytical schedule's name, timed whatever the model ranks it
    };
    std::vector<Proposal> proposals;
    bool big = false;
    const auto requiredSet = constraints::parse(ir::SourceFile{"required", required}).set;
    // A candidate whose loops the required constraints do not name cannot keep them.
    // The model searches the first `candidates`; the analytical schedules are timed on one more, as
    // `isamap tune` does (35x700x2560 in bf16: the rows' vector, the mapper's third, ran the Goto
    // blocking at 162 GFLOP/s where the model's picks on the first two ran at 80-106).
    const auto lowerable = codegen::lowerableCandidates(kernel, target, mapped, static_cast<std::size_t>(candidates) + 1,
                                                        [&](const schedule::Space& s) { return requiredSet.unknownNames(s).empty(); });
    const std::size_t searched = std::min(lowerable.size(), static_cast<std::size_t>(candidates));
    for (std::size_t i = 0; i < searched; ++i) {
        const auto& sp = lowerable[i].space;
        // A big kernel (seconds per call) is screened with fewer proposals and a single timed call each.
        big = sp.usefulFlops > 2e10;
        auto choices = registerTileChoices(sp);
        if (big && measureTop == 0 && choices.size() > 5)
            choices.resize(5);
        const std::string spread = threads > 1 ? widestParallelLoop(sp) : "";
        for (const auto& choice : choices) {
            auto propose = [&](const std::string& text) {
                auto parsed = constraints::parse(ir::SourceFile{"register tile", text});
                search::Options options;
                options.budget.evaluations = evaluations;
                options.keepBest = 1;
                options.constraints = &parsed.set;
                return strategy->run(sp, options);
            };
            auto found = propose(required + choice);
            // On several threads a memory-bound kernel's best modeled schedules tie, parallel or not (the
            // model shares one memory bandwidth between the units); one that leaves a thread idle is
            // proposed again with the widest output loop in parallel.
            if (!spread.empty() && !found.best.empty() && !hasParallelLoop(found.best.front().schedule)) {
                auto again = propose(required + choice + spread);
                if (!again.best.empty())
                    found = std::move(again);
            }
            if (found.best.empty())
                continue;
            const auto& s = found.best.front().schedule;
            const bool seen = std::any_of(proposals.begin(), proposals.end(), [&](const Proposal& p) {
                return p.candidate == i && p.schedule == s;
            });
            if (!seen)
                proposals.push_back({i, s, found.best.front().seconds, ""});
        }
    }
    if (measureTop > 0) {
        std::stable_sort(proposals.begin(), proposals.end(), [](const Proposal& a, const Proposal& b) { return a.modeled < b.modeled; });
        if (proposals.size() > static_cast<std::size_t>(measureTop))
            proposals.resize(static_cast<std::size_t>(measureTop));
    }
    // The model ties the large products' schedules at the compute bound while they measure several
    // times apart (it does not see cache-set conflicts) and misreads streaming from memory; the
    // analytical schedules of every candidate are timed beside its picks.
    std::vector<const schedule::Space*> spaces;
    for (const auto& l : lowerable)
        spaces.push_back(&l.space);
    for (auto& [i, a] : schedule::analyticalSchedules(
             spaces, [&](const schedule::Space& sp, const schedule::Schedule& s) { return requiredSet.allows(sp, s); }))
        proposals.push_back({i, a.schedule, cost::modeledSeconds(*spaces[i], a.schedule), a.name});
    // Every proposal is checked against one reference: the random inputs and the interpreter's values
    // are made once, not for each of a dozen timings (a 1024x1x500000 product's inputs are 2 GB).
    measure::Reference reference(kernel, fullTiming(threads));
    std::vector<std::pair<double, const Proposal*>> screened;
    for (const auto& p : proposals) {
        measure::Options m;
        m.minRuns = big ? 1 : 3;
        m.minSeconds = big ? 0 : screenSeconds;
        m.codegen.threads = threads;
        const auto& [candidate, space] = lowerable[p.candidate];
        auto r = measure::measureInProcess(kernel, target, *candidate, space, p.schedule, m, reference);
        ++best.tried;
        if (r.status != measure::Status::Ok) {
            best.error = r.message;
            continue;
        }
        screened.push_back({r.secondsMedian, &p});
    }
    // The two fastest in the screening are timed again at full length, and the faster wins: a few short
    // runs of a kernel bound by memory can rank a schedule that streams in short pieces above one that
    // streams in long runs (a GRU's 2816x1 gates once picked the model's schedule at 0.76 of oneDNN over
    // the sweep at 1.1). A big kernel keeps its single finalist.
    // Each finalist is timed three times, in turn, each time in freshly allocated tensors, and their
    // medians compared: where a tensor's pages fall moves a single timing by up to 1.5x (one depthwise
    // layer's window sweep measured 60-92 GFLOP/s), enough to crown the slower schedule on one timing.
    std::stable_sort(screened.begin(), screened.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    screened.resize(std::min<std::size_t>(screened.size(), big ? 1 : 2));
    const int timings = big ? 1 : 3;
    std::vector<std::vector<measure::Result>> finals(screened.size());
    for (int t = 0; t < timings; ++t)
        for (std::size_t f = 0; f < screened.size(); ++f) {
            const auto& [candidate, space] = lowerable[screened[f].second->candidate];
            reference.dropTensors();
            finals[f].push_back(measure::measureInProcess(kernel, target, *candidate, space, screened[f].second->schedule,
                                                          fullTiming(threads), reference));
        }
    for (std::size_t f = 0; f < screened.size(); ++f) {
        auto& results = finals[f];
        const auto failed = std::find_if(results.begin(), results.end(), [](const auto& r) { return r.status != measure::Status::Ok; });
        if (failed != results.end()) {
            if (!best.ok)
                best.error = failed->message;
            continue;
        }
        std::sort(results.begin(), results.end(), [](const auto& x, const auto& y) { return x.secondsMedian < y.secondsMedian; });
        auto& median = results[results.size() / 2];
        if (best.ok && median.secondsMedian >= best.result.secondsMedian)
            continue;
        const Proposal& p = *screened[f].second;
        const auto& [candidate, space] = lowerable[p.candidate];
        best.result = std::move(median);
        best.ok = true;
        best.schedule = schedule::printSchedule(space, p.schedule);
        best.candidate = candidate->key;
        best.analytical = p.analytical;
    }
    return best;
}

// What a tuning's text names, rebuilt: the target for `threads` cores, the candidate, its space, the schedule.
struct TunedPlan {
    ir::Target target;
    mapping::Candidate candidate;
    schedule::Space space;
    schedule::Schedule schedule;
};

inline std::optional<TunedPlan> tunedPlan(const ir::Kernel& kernel, const ir::Target& host, int threads, const Tuned& tuned,
                                          std::string& error) {
    const ir::Target target = targets::withCores(host, threads);
    const auto mapped = mapping::mapKernel(kernel, target);
    const auto c = std::find_if(mapped.candidates.begin(), mapped.candidates.end(),
                                [&](const mapping::Candidate& x) { return x.key == tuned.candidate; });
    if (c == mapped.candidates.end()) {
        error = "the tuned candidate " + tuned.candidate + " is no longer proposed";
        return std::nullopt;
    }
    auto space = schedule::makeSpace(kernel, target, *c, error);
    auto s = space ? schedule::parseSchedule(*space, tuned.schedule, error) : std::nullopt;
    if (!s)
        return std::nullopt;
    return TunedPlan{target, *c, std::move(*space), std::move(*s)};
}

// Each graph node's code: its kernel tuned by measurement when an instruction maps it (keeping the
// constraints `required` gives for it), plain loops when it is element-wise. `picked` hears which
// schedule won for each tuned kernel.
inline measure::LowerNode tunedLowering(const ir::Target& host, int threads,
                                        std::function<std::string(const ir::Kernel&)> required = {},
                                        std::function<void(const ir::Kernel&, const Tuned&)> picked = {}) {
    return [&host, threads, required, picked](const ir::Node&, const ir::Kernel& kernel, std::string& error) -> std::unique_ptr<codegen::Code> {
        codegen::Options options;
        options.threads = threads;
        if (codegen::isElementwise(kernel))
            return codegen::generateElementwise(kernel, options, error);
        const auto tuned = tuneByMeasurement(kernel, host, threads, required ? required(kernel) : "");
        if (picked)
            picked(kernel, tuned);
        if (!tuned.ok) {
            error = tuned.error;
            return nullptr;
        }
        const auto plan = tunedPlan(kernel, host, threads, tuned, error);
        return plan ? codegen::generate(kernel, plan->target, plan->candidate, plan->space, plan->schedule, options, error)
                    : nullptr;
    };
}

// The tuned schedule timed again as its winner was (a benchmark's later rounds).
inline measure::Result timeAgain(const ir::Kernel& kernel, const ir::Target& host, int threads, const Tuned& tuned) {
    std::string error;
    const auto plan = tunedPlan(kernel, host, threads, tuned, error);
    if (!plan) {
        measure::Result failed; // status Error
        failed.message = error;
        return failed;
    }
    return measure::measureInProcess(kernel, plan->target, plan->candidate, plan->space, plan->schedule, fullTiming(threads));
}

// Prints "<GFLOP/s>,<fraction of the f32 peak>" of a tuned kernel, or why it failed; true when it ran.
inline bool printTuned(const Tuned& tuned) {
    if (!tuned.ok) {
        std::printf("failed: %s", tuned.error.c_str());
        return false;
    }
    std::printf("%.1f,%.2f", tuned.result.gflops, tuned.result.peakFraction);
    return true;
}

} // namespace isamap::bench
