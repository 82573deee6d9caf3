// bench_strategies: how close each search strategy gets to the best schedule in a fixed time.
//
// Workload: four inference GEMMs of DeepBench (a large server GEMM, a skinny one, and two
// matrix-vector products) onto nnp-like and onto the host's bundled target, the first valid mapping
// candidate each. Every strategy runs with seed 1 and the same time budget. Its best modeled time is
// given as a ratio to a reference: the optimum found by exhaustive search where the space is small
// enough for it to finish, else the best any strategy found in this run (the table says which).
//
// "found at" is the evaluation at which a strategy first met its best: how soon it got there.
//
// Goal: every strategy within 5% of the reference (ratio <= 1.05) on every pair. The last lines
// (worst_ratio_<strategy>=, worst_ratio=) are for scripts.
//
//   bench_strategies              5 s per strategy and pair (about 3 minutes)
//   bench_strategies --seconds N  N s per strategy and pair
#include "machine.h"
#include "cost/cost.h"
#include "frontend/suites.h"
#include "mapping/mapping.h"
#include "schedule/schedule.h"
#include "search/search.h"
#include "targets/catalog.h"
#include "targets/host.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

using namespace isamap;

namespace {

const char* const kGemms[] = {"server_5124x700x2048_nn", "server_35x700x2048_nn", "server_3072x1x1024_nn",
                              "device_4224x1x128_nn"};
const char* const kTargets[] = {"nnp-like", "host"};
const char* const kSampling[] = {"random", "beam", "annealing", "evolutionary"};

struct Pair {
    std::string name; // "gemm on target"
    schedule::Space space;
};

struct Run {
    std::string strategy;
    search::Result result;
    double best() const { return result.best.empty() ? 0 : result.best.front().seconds; }
};

bool loadPairs(std::vector<Pair>& out) {
    std::string error;
    auto suite = frontend::loadSuite("deepbench-gemm", error);
    if (!suite) {
        std::fprintf(stderr, "bench_strategies: %s\n", error.c_str());
        return false;
    }
    for (const char* targetName : kTargets) {
        auto target = targets::loadTarget(targetName, error);
        if (!target) {
            std::fprintf(stderr, "bench_strategies: %s\n", error.c_str());
            return false;
        }
        for (const char* gemm : kGemms) {
            auto entry = std::find_if(suite->begin(), suite->end(), [&](const auto& e) { return e.name == gemm; });
            if (entry == suite->end()) {
                std::fprintf(stderr, "bench_strategies: deepbench-gemm has no %s\n", gemm);
                return false;
            }
            auto module = frontend::generate(entry->generator, entry->args, error);
            if (!module) {
                std::fprintf(stderr, "bench_strategies: %s: %s\n", gemm, error.c_str());
                return false;
            }
            const auto mapped = mapping::mapKernel(module->kernels.front(), target->target);
            auto candidate = std::find_if(mapped.candidates.begin(), mapped.candidates.end(),
                                          [](const auto& c) { return c.valid; });
            if (candidate == mapped.candidates.end()) {
                std::fprintf(stderr, "bench_strategies: %s has no valid candidate on %s\n", gemm, targetName);
                return false;
            }
            auto space = schedule::makeSpace(module->kernels.front(), target->target, *candidate, error);
            if (!space) {
                std::fprintf(stderr, "bench_strategies: %s\n", error.c_str());
                return false;
            }
            out.push_back({std::string(gemm) + " on " + target->target.name, std::move(*space)});
        }
    }
    return true;
}

// A time no schedule of a GEMM space beats, from the cost model's terms (cost.h): the modeled time is
// at least the compute (every call at full rate, spread over all units) and at least the transfers
// into the level below the outermost (each operand's whole tensor once, an output's twice: read and
// written back), since a GEMM's tiles never overlap. Keeps are not searched, so the default's apply.
double lowerBound(const schedule::Space& space) {
    const double compute = static_cast<double>(space.instructionCalls) /
                           (static_cast<double>(space.units) * space.throughput * space.clock);
    if (space.levels.size() < 2)
        return compute;
    const auto keeps = schedule::defaultSchedule(space).levels[1].keeps;
    std::vector<std::int64_t> whole;
    for (const auto& d : space.dims)
        whole.push_back(d.extent);
    double bytes = 0;
    for (std::size_t o = 0; o < space.operands.size(); ++o)
        if (keeps[o])
            bytes += static_cast<double>(schedule::footprint(space, o, whole)) * space.operands[o].bytesPerElement *
                     (space.operands[o].output ? 2 : 1);
    return std::max(compute, bytes / space.levels[1].bandwidth);
}

Run runStrategy(const std::string& name, const schedule::Space& space, double seconds) {
    std::string error;
    auto strategy = search::makeStrategy(name, error);
    search::Options options;
    options.seed = 1;
    options.budget.seconds = seconds;
    return {name, strategy->run(space, options)};
}

} // namespace

int main(int argc, char** argv) {
    double seconds = 5;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--seconds" && i + 1 < argc && std::atof(argv[i + 1]) > 0) {
            seconds = std::atof(argv[++i]);
        } else {
            std::fprintf(stderr, "usage: bench_strategies [--seconds N]\n");
            return 2;
        }
    }
    std::vector<Pair> pairs;
    if (!loadPairs(pairs))
        return 1;
    std::printf("cpu: %s\n", bench::cpuName().c_str());
    std::printf("budget: %.3g s per strategy and pair, seed 1, one core\n", seconds);

    std::map<std::string, double> worst;
    for (const auto& pair : pairs) {
        std::printf("\n%s (%s)\n", pair.name.c_str(), pair.space.candidateKey.c_str());
        std::vector<Run> runs;
        const Run exhaustive = runStrategy("exhaustive", pair.space, seconds);
        for (const char* name : kSampling)
            runs.push_back(runStrategy(name, pair.space, seconds));
        std::string referenceName = "exhaustive optimum";
        if (exhaustive.result.exhausted)
            runs.insert(runs.begin(), exhaustive);
        else
            referenceName = "best of all strategies (exhaustive: " + exhaustive.result.note + ")";
        const Run* reference = nullptr;
        for (const auto& r : runs)
            if (r.best() > 0 && (!reference || r.best() < reference->best()))
                reference = &r;
        if (!reference) {
            std::fprintf(stderr, "bench_strategies: no strategy found a legal schedule for %s\n", pair.name.c_str());
            return 1;
        }
        if (exhaustive.result.exhausted)
            reference = &runs.front();
        std::printf("  reference: %.6g s, %s\n", reference->best(), referenceName.c_str());
        std::printf("  %s\n", cost::explain(pair.space, reference->result.best.front().schedule).bound.c_str());
        const double floor = lowerBound(pair.space);
        std::printf("  lower bound: %.6g s; the reference is %.3fx of it\n", floor, reference->best() / floor);
        std::printf("  %-13s %14s %8s %12s %12s %10s\n", "strategy", "best (s)", "ratio", "evaluations", "evals/s",
                    "found at");
        for (const auto& r : runs) {
            const double ratio = r.best() > 0 ? r.best() / reference->best() : 0;
            std::printf("  %-13s %14.6g %8.4f %12lld %12.0f %10lld\n", r.strategy.c_str(), r.best(), ratio,
                        static_cast<long long>(r.result.evaluations),
                        r.result.elapsed > 0 ? static_cast<double>(r.result.evaluations) / r.result.elapsed : 0,
                        static_cast<long long>(r.result.best.empty() ? 0 : r.result.best.front().evaluation));
            worst[r.strategy] = std::max(worst[r.strategy], ratio == 0 ? 1e9 : ratio);
        }
        std::fflush(stdout);
    }

    double overall = 0;
    std::printf("\nworst ratio over the %zu pairs:\n", pairs.size());
    for (const char* name : kSampling) {
        std::printf("  %-13s %.4f\n", name, worst[name]);
        overall = std::max(overall, worst[name]);
    }
    std::printf("\ngoal: every strategy within 5%% of the reference on every pair: %s\n",
                overall <= 1.05 ? "met" : "MISSED");
    for (const char* name : kSampling)
        std::printf("worst_ratio_%s=%.4f\n", name, worst[name]);
    std::printf("worst_ratio=%.4f\n", overall);
    return 0;
}
