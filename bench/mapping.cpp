// bench_mapping: how long mapping::mapKernel takes per kernel-target pair, over every kernel of the
// DeepBench convolution suite and every MobileNet-v1 layer, onto every bundled target. The mapper runs
// with its default options (rejected candidates kept), as the studio calls it on every edit.
//
// Goal: median under 5 ms and maximum under 50 ms per pair, so the studio's mapping view stays
// interactive. The last two lines (median_ms=, max_ms=) are for scripts.
//
//   bench_mapping           repeat each pair for at least 20 ms and 5 calls, report the median call
//   bench_mapping --quick   3 calls per pair, for a fast look
#include "machine.h"
#include "frontend/suites.h"
#include "mapping/mapping.h"
#include "targets/catalog.h"
#include "targets/host.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <vector>

using namespace isamap;

namespace {

using Clock = std::chrono::steady_clock;

// The suites measured: the convolutions dominate the studio's use and have the most dimensions to bind.
const char* const kSuites[] = {"deepbench-conv", "mobilenet-v1"};

// A kernel to map, named by the suite entry (and graph node) it came from.
struct Subject {
    std::string name;
    ir::Kernel kernel;
};

struct Repeats {
    int minimumCalls = 5;
    Clock::duration minimumTime = std::chrono::milliseconds(20);
};

struct PairResult {
    std::string name; // "subject on target"
    double ms = 0;    // median time of one mapKernel call
    int valid = 0;
    int total = 0;
};

std::string paramsText(const std::vector<ir::Param>& params) {
    std::string out;
    for (const auto& p : params)
        out += (out.empty() ? "" : " ") + p.name + "=" + std::to_string(p.value);
    return out;
}

// The kernels of one suite entry, chosen as `isamap map` chooses them: the module's kernel, or each
// distinct kernel instance of its graph with the node's parameter values.
std::vector<Subject> subjectsOf(const frontend::SuiteEntry& entry, const ir::Module& m) {
    if (m.graphs.empty())
        return m.kernels.empty() ? std::vector<Subject>{} : std::vector<Subject>{{entry.name, m.kernels.front()}};
    const ir::Graph& g = m.graphs.front();
    std::vector<Subject> out;
    std::set<std::string> seen;
    for (const auto& n : g.nodes) {
        ir::Kernel instance = *ir::nodeKernel(m, g, n);
        if (seen.insert(instance.name + paramsText(instance.params)).second)
            out.push_back({entry.name + "/" + n.name, std::move(instance)});
    }
    return out;
}

bool loadSubjects(std::vector<Subject>& out) {
    std::string error;
    for (const char* suite : kSuites) {
        auto entries = frontend::loadSuite(suite, error);
        if (!entries) {
            std::fprintf(stderr, "bench_mapping: %s\n", error.c_str());
            return false;
        }
        for (const auto& e : *entries) {
            auto module = frontend::generate(e.generator, e.args, error);
            if (!module) {
                std::fprintf(stderr, "bench_mapping: %s: %s\n", e.name.c_str(), error.c_str());
                return false;
            }
            for (auto& s : subjectsOf(e, *module))
                out.push_back(std::move(s));
        }
    }
    return true;
}

bool loadTargets(std::vector<ir::Target>& out) {
    std::string error;
    for (const auto& file : targets::bundledTargets()) {
        auto loaded = targets::loadTarget(file.name, error);
        if (!loaded) {
            std::fprintf(stderr, "bench_mapping: %s\n", error.c_str());
            return false;
        }
        out.push_back(std::move(loaded->target));
    }
    return true;
}

double milliseconds(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// One untimed call first: it warms the caches and gives the candidate counts.
PairResult measure(const Subject& s, const ir::Target& target, const Repeats& repeats) {
    PairResult result{s.name + " on " + target.name};
    const auto first = mapping::mapKernel(s.kernel, target);
    result.valid = first.validCount();
    result.total = static_cast<int>(first.candidates.size());
    std::vector<double> calls;
    const auto start = Clock::now();
    while (static_cast<int>(calls.size()) < repeats.minimumCalls || Clock::now() - start < repeats.minimumTime) {
        const auto before = Clock::now();
        const auto r = mapping::mapKernel(s.kernel, target);
        calls.push_back(milliseconds(Clock::now() - before));
        if (r.candidates.size() != static_cast<std::size_t>(result.total)) // keeps the call observable
            std::fprintf(stderr, "bench_mapping: %s: candidate count changed between calls\n", result.name.c_str());
    }
    result.ms = bench::median(std::move(calls));
    return result;
}

struct Summary {
    std::size_t pairs = 0;
    double medianMs = 0;
    double maxMs = 0;
    std::string slowest;
    double meanValid = 0;
    double meanTotal = 0;
};

Summary summarise(const std::vector<PairResult>& results) {
    Summary s;
    s.pairs = results.size();
    if (results.empty())
        return s;
    std::vector<double> times;
    for (const auto& r : results) {
        times.push_back(r.ms);
        s.meanValid += r.valid;
        s.meanTotal += r.total;
        if (r.ms >= s.maxMs) {
            s.maxMs = r.ms;
            s.slowest = r.name;
        }
    }
    s.medianMs = bench::median(std::move(times));
    s.meanValid /= results.size();
    s.meanTotal /= results.size();
    return s;
}

void printHeader() {
    std::printf("%-16s %6s %10s %10s %9s %9s  %s\n", "target", "pairs", "median ms", "max ms", "valid", "total",
                "slowest pair");
}

void printSummary(const std::string& label, const Summary& s) {
    std::printf("%-16s %6zu %10.3f %10.3f %9.1f %9.1f  %s\n", label.c_str(), s.pairs, s.medianMs, s.maxMs, s.meanValid,
                s.meanTotal, s.slowest.c_str());
}

// The slowest pairs overall, to see at a glance which kernels are behind the maximum.
void printSlowest(std::vector<PairResult> results, std::size_t count) {
    std::sort(results.begin(), results.end(), [](const PairResult& a, const PairResult& b) { return a.ms > b.ms; });
    std::printf("\nslowest pairs (ms, valid/total candidates):\n");
    for (std::size_t i = 0; i < std::min(count, results.size()); ++i)
        std::printf("  %9.3f  %5d/%-6d %s\n", results[i].ms, results[i].valid, results[i].total, results[i].name.c_str());
}

} // namespace

int main(int argc, char** argv) {
    Repeats repeats;
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) == "--quick") {
            repeats = {3, Clock::duration::zero()};
        } else {
            std::fprintf(stderr, "usage: bench_mapping [--quick]\n");
            return 2;
        }
    }
    std::vector<Subject> subjects;
    std::vector<ir::Target> targetList;
    if (!loadSubjects(subjects) || !loadTargets(targetList))
        return 1;

    std::printf("cpu: %s\n", bench::cpuName().c_str());
    std::printf("kernels: %zu (deepbench-conv, mobilenet-v1), targets: %zu, %s\n\n", subjects.size(),
                targetList.size(), repeats.minimumTime == Clock::duration::zero() ? "quick" : "full");
    printHeader();
    std::vector<PairResult> all;
    for (const auto& target : targetList) {
        std::vector<PairResult> results;
        for (const auto& s : subjects)
            results.push_back(measure(s, target, repeats));
        printSummary(target.name, summarise(results));
        std::fflush(stdout);
        all.insert(all.end(), results.begin(), results.end());
    }
    const Summary overall = summarise(all);
    printSummary("all", overall);
    printSlowest(all, 10);
    std::printf("\ngoal: median < 5 ms %s, max < 50 ms %s\n", overall.medianMs < 5 ? "met" : "MISSED",
                overall.maxMs < 50 ? "met" : "MISSED");
    std::printf("median_ms=%.3f\nmax_ms=%.3f\n", overall.medianMs, overall.maxMs);
    return 0;
}
