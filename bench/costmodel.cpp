// bench_costmodel: how many schedules per second cost::modeledSeconds prices, on one core. Every
// search evaluation calls it, so it bounds how much of a space a budget can see.
//
// Workload: the inference GEMMs of DeepBench (`deepbench-gemm`, sets inference_server_set and
// inference_device_set), each valid mapping candidate onto nnp-like and onto the host's bundled target,
// 64 distinct legal schedules per candidate (the best of 256 random ones, so a mix of good and poor
// tilings). The schedules are priced round-robin for at least a second per target.
//
// Goal: at least 1,000,000 evaluations per second on every target. The last line
// (evals_per_second=, the lower of the targets) is for scripts.
//
//   bench_costmodel              at least 1 s of pricing per target
//   bench_costmodel --seconds N  at least N s per target
#include "machine.h"
#include "cost/cost.h"
#include "frontend/suites.h"
#include "mapping/mapping.h"
#include "schedule/schedule.h"
#include "search/search.h"
#include "targets/catalog.h"
#include "targets/host.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

using namespace isamap;

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kSchedulesPerSpace = 64;

// A space and the schedules priced on it.
struct Workload {
    schedule::Space space;
    std::vector<schedule::Schedule> schedules;
};

// Distinct legal schedules of a space, from a short random search.
std::vector<schedule::Schedule> schedulesOf(const schedule::Space& space) {
    std::string error;
    auto random = search::makeStrategy("random", error);
    search::Options options;
    options.budget.evaluations = 4 * kSchedulesPerSpace;
    options.keepBest = kSchedulesPerSpace;
    std::vector<schedule::Schedule> out;
    for (auto& e : random->run(space, options).best)
        out.push_back(std::move(e.schedule));
    return out;
}

bool loadWorkloads(const ir::Target& target, std::vector<Workload>& out) {
    std::string error;
    auto suite = frontend::loadSuite("deepbench-gemm", error);
    if (!suite) {
        std::fprintf(stderr, "bench_costmodel: %s\n", error.c_str());
        return false;
    }
    for (const auto& entry : *suite) {
        if (entry.set.rfind("inference", 0) != 0)
            continue;
        auto module = frontend::generate(entry.generator, entry.args, error);
        if (!module) {
            std::fprintf(stderr, "bench_costmodel: %s: %s\n", entry.name.c_str(), error.c_str());
            return false;
        }
        for (const auto& c : mapping::mapKernel(module->kernels.front(), target).candidates) {
            if (!c.valid)
                continue;
            auto space = schedule::makeSpace(module->kernels.front(), target, c, error);
            if (!space)
                continue;
            auto schedules = schedulesOf(*space);
            if (!schedules.empty())
                out.push_back({std::move(*space), std::move(schedules)});
        }
    }
    return true;
}

struct Measurement {
    std::size_t spaces = 0;
    std::size_t schedules = 0;
    std::int64_t evaluations = 0;
    double seconds = 0;
    double perSecond() const { return seconds > 0 ? static_cast<double>(evaluations) / seconds : 0; }
};

Measurement measure(const std::vector<Workload>& workloads, double minimumSeconds) {
    Measurement m;
    m.spaces = workloads.size();
    for (const auto& w : workloads)
        m.schedules += w.schedules.size();
    double sink = 0;
    const auto start = Clock::now();
    do {
        for (const auto& w : workloads)
            for (const auto& s : w.schedules)
                sink += cost::modeledSeconds(w.space, s);
        m.evaluations += static_cast<std::int64_t>(m.schedules);
        m.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    } while (m.seconds < minimumSeconds);
    if (!(sink > 0)) // keeps the calls observable
        std::fprintf(stderr, "bench_costmodel: the modeled times do not add up to a positive figure\n");
    return m;
}

} // namespace

int main(int argc, char** argv) {
    double minimumSeconds = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--seconds" && i + 1 < argc && std::atof(argv[i + 1]) > 0) {
            minimumSeconds = std::atof(argv[++i]);
        } else {
            std::fprintf(stderr, "usage: bench_costmodel [--seconds N]\n");
            return 2;
        }
    }
    std::printf("cpu: %s\n", bench::cpuName().c_str());
    std::printf("workload: deepbench-gemm inference sets, every valid candidate, up to %zu schedules each; one core\n\n",
                kSchedulesPerSpace);
    std::printf("%-14s %7s %10s %12s %8s %14s %8s\n", "target", "spaces", "schedules", "evaluations", "seconds",
                "evals/s", "ns/eval");
    double lowest = -1;
    for (const char* name : {"nnp-like", "host"}) {
        std::string error;
        auto target = targets::loadTarget(name, error);
        if (!target) {
            std::fprintf(stderr, "bench_costmodel: %s\n", error.c_str());
            return 1;
        }
        std::vector<Workload> workloads;
        if (!loadWorkloads(target->target, workloads))
            return 1;
        const Measurement m = measure(workloads, minimumSeconds);
        std::printf("%-14s %7zu %10zu %12lld %8.2f %14.0f %8.1f\n", target->target.name.c_str(), m.spaces, m.schedules,
                    static_cast<long long>(m.evaluations), m.seconds, m.perSecond(), 1e9 / m.perSecond());
        std::fflush(stdout);
        lowest = lowest < 0 ? m.perSecond() : std::min(lowest, m.perSecond());
    }
    std::printf("\ngoal: >= 1000000 evaluations per second on every target: %s\n", lowest >= 1e6 ? "met" : "MISSED");
    std::printf("evals_per_second=%.0f\n", lowest);
    return 0;
}
