// bench_virtual: tuned schedules against a fixed, library-style schedule on the virtual accelerators,
// both timed by the simulator.
//
// Workload: the DeepBench GEMM inference sets and the gate GEMMs of the DeepBench GRU inference sets
// (a GRU step with hidden size H and batch B multiplies 3H x H weights by the input and by the state:
// a GEMM of M = 3H, N = B, K = H), on nnp-like (f32), tpu-like (i8 x i8 -> i32) and tensorcore-like
// (f16 -> f32), each in the element type its matrix instruction computes in.
//
// The library-style schedule is what a vendor library ships: one hand-picked mapping per operator (the
// instruction's rows on the GEMM's rows, columns on columns, reduction on reduction, when that
// binding is valid) and one blocking for every shape (blocks of four instruction tiles per matrix
// dimension at every on-chip level, shrunk only when they do not fit; loops in a fixed order; every
// level double-buffered where it fits; rows spread over the units). The tuned schedule is the best
// of an annealing search (seed 1) over the three best mapping candidates, as `isamap tune` runs it.
//
// Speed-up = simulated time of the library-style schedule / simulated time of the tuned one, per
// shape; the geometric mean per target and set is on the last lines (geomean_speedup_<target>=).
//
//   bench_virtual                 20,000 evaluations per tuned kernel
//   bench_virtual --evaluations N
#include "machine.h"

#include "cost/cost.h"
#include "frontend/library.h"
#include "frontend/suites.h"
#include "mapping/mapping.h"
#include "schedule/schedule.h"
#include "search/search.h"
#include "sim/sim.h"
#include "support/statistics.h"
#include "targets/catalog.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

using namespace isamap;

namespace {

struct VirtualTarget {
    const char* name;
    int dtype; // of the gemm generator
};
const VirtualTarget kTargets[] = {{"nnp-like", 0}, {"tpu-like", 4}, {"tensorcore-like", 2}};

struct Shape {
    std::string set;  // "gemm" or "gru"
    std::string name;
    std::int64_t m, n, k;
    bool ta = false, tb = false;
};

std::vector<Shape> shapes() {
    std::vector<Shape> out;
    std::string error;
    if (auto gemms = frontend::loadSuite("deepbench-gemm", error))
        for (const auto& e : *gemms)
            if (e.set.rfind("inference", 0) == 0)
                out.push_back({"gemm", e.name, e.args.at("M"), e.args.at("N"), e.args.at("K"), e.args.at("ta") != 0,
                               e.args.at("tb") != 0});
    if (auto rnns = frontend::loadSuite("deepbench-rnn", error))
        for (const auto& e : *rnns)
            if (e.set.rfind("inference", 0) == 0 && e.generator == "gru_cell") {
                // The time steps repeat one step's GEMM: one row per hidden size and batch.
                const std::int64_t h = e.args.at("H"), b = e.args.at("B");
                const bool seen = std::any_of(out.begin(), out.end(), [&](const Shape& x) {
                    return x.set == "gru" && x.m == 3 * h && x.n == b;
                });
                if (!seen)
                    out.push_back({"gru", "gru_" + std::to_string(h) + "x" + std::to_string(b), 3 * h, b, h});
            }
    if (!error.empty())
        std::fprintf(stderr, "bench_virtual: %s\n", error.c_str());
    return out;
}

const mapping::Candidate* libraryCandidate(const mapping::MappingResult& r) {
    for (const auto& c : r.candidates) {
        if (!c.valid || c.dims.size() != 3)
            continue;
        if (c.dims[0].kernelDims == std::vector<std::string>{"m"} && c.dims[1].kernelDims == std::vector<std::string>{"n"} &&
            c.dims[2].kernelDims == std::vector<std::string>{"k"})
            return &c;
    }
    for (const auto& c : r.candidates)
        if (c.valid && !c.dominated)
            return &c;
    return nullptr;
}

// One blocking for every shape: four instruction tiles per loop at each on-chip level, shrunk to fit.
schedule::Schedule librarySchedule(const schedule::Space& space) {
    schedule::Schedule s = schedule::defaultSchedule(space);
    for (std::size_t l = 1; l < s.levels.size(); ++l) {
        for (std::size_t d = 0; d < space.dims.size(); ++d)
            s.levels[l].tiles[d] = std::min<std::int64_t>(s.levels[l - 1].tiles[d], space.dims[d].instructionDim >= 0 ? 4 : 1);
        for (int guard = 0; guard < 64 && schedule::illegal(space, s); ++guard) {
            auto& t = s.levels[l].tiles;
            auto largest = std::max_element(t.begin(), t.end());
            if (*largest <= 1)
                break;
            *largest = (*largest + 1) / 2;
        }
        s.levels[l].doubleBuffered = true;
        if (schedule::illegal(space, s))
            s.levels[l].doubleBuffered = false;
    }
    for (std::size_t l = 0; l < s.levels.size(); ++l)
        for (std::size_t d = 0; d < space.dims.size(); ++d)
            s.levels[l].order[d] = static_cast<int>(d);
    std::fill(s.parallel.begin(), s.parallel.end(), false);
    for (std::size_t d = 0; d < space.dims.size(); ++d)
        if (space.operands.front().dependsOn[d] && space.dims[d].extent > 1) {
            s.parallel[d] = true;
            break;
        }
    if (schedule::illegal(space, s))
        return schedule::defaultSchedule(space);
    return s;
}

struct Tuned {
    const mapping::Candidate* candidate = nullptr;
    schedule::Space space;
    schedule::Schedule schedule;
    double modeled = 0;
};

std::optional<Tuned> tune(const ir::Kernel& kernel, const ir::Target& target, const mapping::MappingResult& r,
                          std::int64_t evaluations) {
    std::optional<Tuned> best;
    std::string error;
    int searched = 0;
    for (const auto& c : r.candidates) {
        if (!c.valid || c.dominated || searched == 3)
            continue;
        auto space = schedule::makeSpace(kernel, target, c, error);
        if (!space)
            continue;
        ++searched;
        auto strategy = search::makeStrategy("annealing", error);
        search::Options options;
        options.seed = 1;
        options.budget.evaluations = evaluations / 3;
        options.keepBest = 1;
        auto result = strategy->run(*space, options);
        if (!result.best.empty() && (!best || result.best.front().seconds < best->modeled))
            best = Tuned{&c, *space, result.best.front().schedule, result.best.front().seconds};
    }
    return best;
}

std::optional<double> simulate(const ir::Kernel& kernel, const ir::Target& target, const mapping::Candidate& c,
                               const schedule::Space& space, const schedule::Schedule& s, bool& sampled) {
    sim::SimOptions options;
    options.functional = false; // timed only: the tests verify functional runs on small sizes
    std::string error;
    auto r = sim::simulate(kernel, target, c, space, s, options, error);
    if (!r) {
        std::fprintf(stderr, "  simulation refused: %s\n", error.c_str());
        return std::nullopt;
    }
    sampled = sampled || r->sampled;
    return r->seconds;
}

// Rank agreement between the cost model and the simulator over schedules of very different quality:
// 30 legal schedules of a random search, evenly spread from the best to the worst it saw.
std::optional<double> rankAgreement(const ir::Kernel& kernel, const ir::Target& target, const mapping::Candidate& c,
                                    const schedule::Space& space) {
    const auto sample = search::spreadSample(space, 30, 7, 3000);
    if (sample.size() < 30)
        return std::nullopt;
    std::vector<double> modeled, simulated;
    for (const auto& e : sample) {
        bool sampled = false;
        if (auto t = simulate(kernel, target, c, space, e.schedule, sampled)) {
            modeled.push_back(e.seconds);
            simulated.push_back(*t);
        }
    }
    return spearman(modeled, simulated);
}

} // namespace

int main(int argc, char** argv) {
    std::int64_t evaluations = 20000;
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--evaluations") == 0 && i + 1 < argc)
            evaluations = std::atoll(argv[++i]);
    const auto workload = shapes();
    std::printf("cpu: %s\n", bench::cpuName().c_str());
    std::printf("bench_virtual: %zu shapes (DeepBench GEMM and GRU inference), %lld evaluations per tuned kernel\n",
                workload.size(), static_cast<long long>(evaluations));
    std::map<std::string, std::vector<double>> speedups; // by "target set"
    std::map<std::string, std::vector<double>> agreement; // Spearman's rho per target
    for (const auto& vt : kTargets) {
        std::string error;
        auto target = targets::loadTarget(vt.name, error);
        if (!target) {
            std::fprintf(stderr, "%s\n", error.c_str());
            return 1;
        }
        std::printf("\n%s\n  %-4s %-34s %16s %12s %12s %8s\n", vt.name, "set", "shape", "m x n x k", "library",
                    "tuned", "speed-up");
        for (const auto& shape : workload) {
            auto module = frontend::generate("gemm",
                                             {{"M", shape.m}, {"N", shape.n}, {"K", shape.k}, {"ta", shape.ta},
                                              {"tb", shape.tb}, {"dtype", vt.dtype}},
                                             error);
            if (!module)
                continue;
            const ir::Kernel& kernel = module->kernels.front();
            const auto mapped = mapping::mapKernel(kernel, target->target);
            const auto* libCandidate = libraryCandidate(mapped);
            auto tuned = tune(kernel, target->target, mapped, evaluations);
            if (!libCandidate || !tuned)
                continue;
            auto libSpace = schedule::makeSpace(kernel, target->target, *libCandidate, error);
            if (!libSpace)
                continue;
            bool sampled = false;
            auto lib = simulate(kernel, target->target, *libCandidate, *libSpace, librarySchedule(*libSpace), sampled);
            auto best = simulate(kernel, target->target, *tuned->candidate, tuned->space, tuned->schedule, sampled);
            if (!lib || !best)
                continue;
            const double speedup = *lib / *best;
            if (shape.set == "gemm" && agreement[vt.name].size() < 8)
                if (auto rho = rankAgreement(kernel, target->target, *tuned->candidate, tuned->space))
                    agreement[vt.name].push_back(*rho);
            speedups[std::string(vt.name) + " " + shape.set].push_back(speedup);
            char dims[64];
            std::snprintf(dims, sizeof dims, "%lldx%lldx%lld", static_cast<long long>(shape.m),
                          static_cast<long long>(shape.n), static_cast<long long>(shape.k));
            std::printf("  %-4s %-34s %16s %10.1fus %10.1fus %7.2fx%s\n", shape.set.c_str(), shape.name.c_str(), dims,
                        *lib * 1e6, *best * 1e6, speedup, sampled ? "  (sampled)" : "");
        }
    }
    std::printf("\n");
    for (const auto& [key, values] : speedups) {
        double logSum = 0;
        for (double v : values)
            logSum += std::log(v);
        const double geomean = std::exp(logSum / static_cast<double>(values.size()));
        std::string name = key;
        std::replace(name.begin(), name.end(), ' ', '_');
        std::replace(name.begin(), name.end(), '-', '_');
        std::printf("geomean_speedup_%s=%.2f  (%zu shapes, median %.2f)\n", name.c_str(), geomean, values.size(),
                    median(values).value_or(0));
    }
    for (const auto& [name, values] : agreement) {
        std::string key = name;
        std::replace(key.begin(), key.end(), '-', '_');
        std::printf("spearman_rho_%s=%.2f  (median over %zu GEMMs, 30 schedules each from best to worst)\n", key.c_str(),
                    median(values).value_or(0), values.size());
    }
    return 0;
}
