// bench/model_fit: how well the cost model ranks host schedules against measurement. For each kernel,
// schedules of spread quality (a random search's finds, evenly spaced from the model's best to its
// worst) plus the model's own pick (an annealing search) are generated, verified and timed on this CPU.
// Per kernel: Spearman's rho between modeled and measured time, and the regret of trusting the model:
// the measured time of its pick (the lowest modeled) over the fastest measured. The fastest is of a
// sample the model draws, so a change to the model can lower that ratio while it picks slower
// schedules (docs/PERFORMANCE.md, a smooth maximum): time the picks side by side too.
//
//   build/bench/bench_model_fit [--limit N] [--sample N] [--seed N] [--only NAME_PART] [--show 1]
//
// --show 1 prints, per kernel, the model's pick (all the schedules tied at its lowest time) and the
// fastest measured schedule.
//
// Last line: `mean_rho=<x> geomean_pick_over_best=<y> kernels=<n>`. One thread: the model's figures
// for several units share memory bandwidth the way this 2-vCPU machine cannot be relied on to.
#include "driver.h"

#include "codegen/codegen.h"
#include "cost/cost.h"
#include "frontend/library.h"
#include "mapping/mapping.h"
#include "measure/measure.h"
#include "search/search.h"
#include "support/statistics.h"

#include <algorithm>
#include <cmath>

using namespace isamap;

namespace {

struct Workload {
    std::string name;
    std::string generator;
    frontend::Args args;
};

// DeepBench-sized GEMMs (square, skinny, matrix-vector, transposed) and MobileNet-sized convolutions.
std::vector<Workload> workloads() {
    return {
        {"gemm 512x512x512", "gemm", {{"M", 512}, {"N", 512}, {"K", 512}}},
        {"gemm 1024x16x1024", "gemm", {{"M", 1024}, {"N", 16}, {"K", 1024}}},
        {"gemm 2560x1x2560", "gemm", {{"M", 2560}, {"N", 1}, {"K", 2560}}},
        {"gemm 256x256x2048 ta", "gemm", {{"M", 256}, {"N", 256}, {"K", 2048}, {"ta", 1}}},
        {"gemm 768x128x768 tb", "gemm", {{"M", 768}, {"N", 128}, {"K", 768}, {"tb", 1}}},
        {"gemm 512x32x1536", "gemm", {{"M", 512}, {"N", 32}, {"K", 1536}}},
        {"gemm 1024x1024x256 ta", "gemm", {{"M", 1024}, {"N", 1024}, {"K", 256}, {"ta", 1}}},
        {"depthwise 64x56x56 nhwc", "depthwise", {{"C", 64}, {"H", 56}, {"W", 56}, {"pad", 1}, {"nhwc", 1}}},
        {"depthwise 128x28x28 nhwc", "depthwise", {{"C", 128}, {"H", 28}, {"W", 28}, {"pad", 1}, {"nhwc", 1}}},
        {"pointwise 32->64 112x112", "pointwise", {{"C", 32}, {"K", 64}, {"H", 112}, {"W", 112}}},
        {"pointwise 64->128 56x56", "pointwise", {{"C", 64}, {"K", 128}, {"H", 56}, {"W", 56}}},
        {"fully_connected 4x1024x1024 relu", "fully_connected", {{"BATCH", 4}, {"IN", 1024}, {"OUT", 1024}, {"act", 1}}},
    };
}

struct Point {
    double modeled = 0, measured = 0;
    std::string text; // the schedule, for --show 1
};

// Generates, verifies and times one schedule; nullopt (with the reason printed) when it does not run.
std::optional<double> timed(const ir::Kernel& kernel, const ir::Target& target, const mapping::Candidate& c,
                            const schedule::Space& space, const schedule::Schedule& s) {
    measure::Options m;
    m.minRuns = 3;
    m.minSeconds = 0.02;
    m.codegen.threads = 1;
    const auto r = measure::measureInProcess(kernel, target, c, space, s, m);
    if (r.status != measure::Status::Ok) {
        std::fprintf(stderr, "  skipped a schedule: %s\n", r.message.c_str());
        return std::nullopt;
    }
    return r.secondsMedian;
}

} // namespace

int main(int argc, char** argv) {
    const auto run = bench::parseRun(argc, argv, {{"sample", "8"}, {"seed", "7"}, {"show", "0"}, {"only", ""}});
    const bool show = run.values.at("show") == "1";
    const std::string only = run.values.at("only");
    const auto host = bench::hostOrExit("bench_model_fit");
    const ir::Target target = targets::withCores(host.target, 1);
    const auto sample = static_cast<std::size_t>(std::stoul(run.values.at("sample")));
    const auto seed = static_cast<std::uint64_t>(std::stoull(run.values.at("seed")));
    auto all = workloads();
    bench::applyLimit(all, run.limit);
    bench::printHeader(host, all.size());
    std::printf("kernel,schedules,rho,pick_ms,best_ms,pick_over_best,pick_modeled_over_measured\n");

    double rhoSum = 0, logRegret = 0;
    int counted = 0;
    for (const auto& w : all) {
        if (!only.empty() && w.name.find(only) == std::string::npos)
            continue;
        std::string error;
        auto module = frontend::generate(w.generator, w.args, error);
        if (!module) {
            std::fprintf(stderr, "%s: %s\n", w.name.c_str(), error.c_str());
            continue;
        }
        const ir::Kernel& kernel = module->kernels[0];
        const auto mapped = mapping::mapKernel(kernel, target);
        std::vector<Point> points;
        auto annealing = search::makeStrategy("annealing", error);
        // The two best candidates of the statement code generation maps, as the tuner takes them.
        for (const auto& [candidate, space] : codegen::lowerableCandidates(kernel, target, mapped, 2)) {
            const auto& c = *candidate;
            std::vector<schedule::Schedule> schedules;
            for (const auto& e : search::spreadSample(space, sample, seed, 3000))
                schedules.push_back(e.schedule);
            search::Options options;
            options.seed = seed;
            options.budget.evaluations = 5000;
            options.keepBest = 1;
            const auto best = annealing->run(space, options);
            if (!best.best.empty() && std::find(schedules.begin(), schedules.end(), best.best.front().schedule) == schedules.end())
                schedules.push_back(best.best.front().schedule);
            for (const auto& s : schedules)
                if (auto seconds = timed(kernel, target, c, space, s))
                    points.push_back({cost::modeledSeconds(space, s), *seconds, schedule::printSchedule(space, s)});
        }
        if (points.size() < 2) {
            std::printf("%s,%zu,n/a,,,,\n", w.name.c_str(), points.size());
            continue;
        }
        std::vector<double> modeled, measured;
        for (const auto& p : points) {
            modeled.push_back(p.modeled);
            measured.push_back(p.measured);
        }
        // The model's pick; where it ties, the mean of the tied ones (trusting the model picks among them blindly).
        const double lowest = *std::min_element(modeled.begin(), modeled.end());
        double pick = 0;
        int tied = 0;
        for (const auto& p : points)
            if (p.modeled <= lowest * (1 + 1e-9)) {
                pick += p.measured;
                ++tied;
            }
        pick /= tied;
        const double best = *std::min_element(measured.begin(), measured.end());
        const double rho = spearman(modeled, measured).value_or(0);
        std::printf("%s,%zu,%.2f,%.3f,%.3f,%.2f,%.2f\n", w.name.c_str(), points.size(), rho, pick * 1e3, best * 1e3,
                    pick / best, lowest / pick);
        if (show) {
            // The model's pick (every schedule tied at its lowest time) and the fastest measured.
            for (const auto& p : points)
                if (p.modeled <= lowest * (1 + 1e-9) || p.measured == best)
                    std::printf("  %s (modeled %.3f ms, measured %.3f ms):\n%s", p.measured == best ? "fastest" : "pick",
                                p.modeled * 1e3, p.measured * 1e3, p.text.c_str());
        }
        rhoSum += rho;
        logRegret += std::log(pick / best);
        ++counted;
    }
    if (counted > 0)
        std::printf("mean_rho=%.3f geomean_pick_over_best=%.2f kernels=%d\n", rhoSum / counted,
                    std::exp(logRegret / counted), counted);
    return 0;
}
