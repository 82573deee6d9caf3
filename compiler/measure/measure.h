// Measuring generated code on the host CPU: verified first, timed in isolation.
//
// Takes a kernel, a host target, a mapping candidate and a schedule. Generates the code (codegen.h),
// runs it on random inputs and compares the result with the reference interpreter — the whole output
// for kernels of up to `Options::fullCheckPoints` iteration points, else a random sample of output
// elements where the interpreter can compute one (not an inout accumulation) — with a tolerance by
// data type. A mismatch is an error naming the largest difference and its index, never a data point.
// Then times it: a warm-up call, then calls until both `minRuns` and `minSeconds` are reached
// (optionally flushing the caches between calls); median, minimum, maximum.
//
// In a worker process (`measureInWorker`), a kernel that crashes or hangs is reported as such: the
// worker is the command-line tool's `isamap worker`, spoken to over its standard input and output.
//
//   measure::Job job = measure::makeJob(kernel, target, candidate, space, schedule, options);
//   measure::Result r = measure::measureInWorker(isamapPath, job);
//   if (r.status == measure::Status::Ok) ... r.secondsMedian, r.gflops
//
// Two schedules of one kernel can be timed in turn, in one process, on the same inputs
// (`compareInProcess`, `compareInWorker`): on a machine whose speed drifts from one second to the next
// (a shared host's memory bandwidth), each pair of runs sees the same machine, and the median of the
// pairs' ratios says which is faster where the two medians timed apart would not.
#pragma once

#include "codegen/codegen.h"
#include "ir/ir.h"
#include "mapping/mapping.h"
#include "schedule/schedule.h"

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace isamap::measure {

struct Options {
    int minRuns = 5;
    double minSeconds = 0.2;
    bool flushCaches = false;       // overwrite a buffer larger than the last-level cache between runs
    // Every other run takes the kernel's parallel loop backwards (JitKernel::runBackwards), as a graph
    // runs a node that repeats the code of the one before it over the same input (a recurrence's steps
    // over their weights; GraphRunner's `alternate`): each run starts on what the one before read last.
    // Kernels without a parallel loop of two or more iterations run forwards always.
    bool alternateSweeps = false;
    std::uint64_t seed = 1;         // of the random inputs
    double timeLimitSeconds = 120;  // for the worker: compile, verify and time
    std::int64_t fullCheckPoints = 20'000'000; // bigger kernels are checked on a sample of outputs
    int sampledOutputs = 256;
    codegen::Options codegen;
};

enum class Status { Ok, Mismatch, Error, Crashed, TimedOut };
const char* statusName(Status s);

struct Result {
    Status status = Status::Error;
    std::string message;           // what went wrong (Mismatch, Error, Crashed, TimedOut)
    // Verification: the largest difference from the reference, where, and how much was checked.
    double largestError = 0;
    double tolerance = 0;
    std::string worstAt;           // "C[12, 7]"
    std::int64_t checkedElements = 0;
    bool sampled = false;
    // Timing.
    double secondsMedian = 0, secondsMin = 0, secondsMax = 0;
    int runs = 0;
    int threads = 1;
    double gflops = 0;
    double peakGflops = 0;         // of the threads it ran on (measured FMA peak per thread x threads)
    double peakFraction = 0;
    double compileSeconds = 0;
    bool alternated = false;       // every other run went backwards (Options::alternateSweeps)

    std::string verification() const; // one line: "verified against the interpreter: ..."
};

// The longest reduction any of a kernel's statements performs: the product of the extents of its
// reduction dimensions that do not index its target. Tolerances grow with it.
std::int64_t longestReduction(const ir::Kernel& kernel);
// The iteration points of a kernel, the product of its dimensions' extents.
std::int64_t iterationPoints(const ir::Kernel& k);
// Whether a check of the kernel tries a sample of its output (sampledPoints) rather than all of it:
// more than Options::fullCheckPoints iteration points. Where the interpreter cannot compute a sample
// (interp::valuesAt refuses), the check compares all of it.
bool checkedOnASample(const ir::Kernel& k, const Options& options);
// The outputs a sampled check compares: Options::sampledOutputs random indices of a tensor of `shape`
// (drawn from the options' seed), then its two corners, where edge handling would go wrong first.
std::vector<std::vector<std::int64_t>> sampledPoints(const std::vector<std::int64_t>& shape, const Options& options);

// The FMA peak of one thread in GFLOP/s, measured once per machine and kept in the user's cache
// directory (0 where it cannot be measured).
double peakGflopsPerThread();

// Fills a result's timing from its runs' times: their median and spread, GFLOP/s, and its share of the
// peak of the `threads` it ran on (set before); marks it Ok. Kernels and whole graphs alike.
void setTiming(Result& r, std::vector<double> times, double usefulFlops);

// A kernel's random inputs and the interpreter's values of its output on them, made when a check first
// needs them and then kept: schedules of one kernel checked against one Reference (a graph node's
// proposals, the two of a comparison) share the inputs and the interpreter's run. Made with the options
// of the measurements that use it (their seed and how much they check).
class Reference {
public:
    Reference(const ir::Kernel& kernel, const Options& options);
    ~Reference();
    // Frees the inputs and values; a later check makes them again.
    void forget();
    // Frees the tensors kept for the next check, which then makes its own in fresh memory (where a
    // tensor's pages fall moves a timing), and keeps the inputs and values.
    void dropTensors();
    // The generated code's tensors made for its checks so far. The schedules checked after the first
    // refill the tensors the one before used, where they fit (same tensor, type, size, placement).
    std::size_t tensorsMade() const;
    struct Values; // measure.cpp's
    Values& values() { return *values_; }

private:
    std::unique_ptr<Values> values_;
};
// Generates, compiles, verifies and times in this process. `progress` (may be empty) hears the phases.
Result measureInProcess(const ir::Kernel& kernel, const ir::Target& target, const mapping::Candidate& candidate,
                        const schedule::Space& space, const schedule::Schedule& schedule, const Options& options,
                        const std::function<void(const std::string&)>& progress = {});
// The same, checked against a reference shared with other schedules of the kernel.
Result measureInProcess(const ir::Kernel& kernel, const ir::Target& target, const mapping::Candidate& candidate,
                        const schedule::Space& space, const schedule::Schedule& schedule, const Options& options,
                        Reference& reference, const std::function<void(const std::string&)>& progress = {});

// One of two schedules compared: the mapping candidate it runs through, its space and the schedule.
struct Contender {
    const mapping::Candidate& candidate;
    const schedule::Space& space;
    const schedule::Schedule& schedule;
};

// A schedule given as text (as `schedule::printSchedule` writes it) and the key of the mapping candidate
// it runs through, resolved against a kernel on a target.
struct ResolvedSchedule {
    mapping::Candidate candidate;
    schedule::Space space;
    schedule::Schedule schedule;
    Contender contender() const { return {candidate, space, schedule}; }
};
// Empty, with `error` naming what failed (no such valid candidate, no space, the text does not parse).
std::optional<ResolvedSchedule> resolveSchedule(const ir::Kernel& kernel, const ir::Target& target,
                                                const std::string& candidateKey, const std::string& text, std::string& error);

// Two schedules timed in turn: each verified and timed on its own runs, and the ratio of each pair.
// Nothing is timed unless both are Ok; `failure()` names the one that failed.
struct Pairing {
    Result first, second;
    int pairs = 0;
    double ratioMedian = 0;             // the second's time over the first's, median over the pairs
    double ratioLow = 0, ratioHigh = 0; // the middle half of the pairs' ratios (first and third quartile)
    bool ok() const { return first.status == Status::Ok && second.status == Status::Ok; }
    std::string failure() const; // which schedule failed and why; empty when both are Ok
};

// Generates and verifies both, then runs them in pairs, one right after the other, with the order
// swapped every pair, until `options.minRuns` pairs and `options.minSeconds` are reached. Both read the
// same input tensors.
Pairing compareInProcess(const ir::Kernel& kernel, const ir::Target& target, const Contender& first, const Contender& second,
                         const Options& options, const std::function<void(const std::string&)>& progress = {});
// The same, checked against a reference shared with other schedules of the kernel (which it forgets
// once both are checked).
Pairing compareInProcess(const ir::Kernel& kernel, const ir::Target& target, const Contender& first, const Contender& second,
                         const Options& options, Reference& reference,
                         const std::function<void(const std::string&)>& progress = {});

// Everything a worker needs, as text: the kernel and target in the IR's format, the candidate by its
// key, the schedule as schedule::printSchedule writes it, and the options.
struct Job {
    std::string text;
};
Job makeJob(const ir::Kernel& kernel, const ir::Target& target, const mapping::Candidate& candidate,
            const schedule::Space& space, const schedule::Schedule& schedule, const Options& options);

// A job that compares two schedules of the kernel (`compareInWorker`).
Job makePairedJob(const ir::Kernel& kernel, const ir::Target& target, const Contender& first, const Contender& second,
                  const Options& options);

// Runs the job in `workerExecutable worker` with the job's time limit; a signal or the time limit
// becomes a Crashed or TimedOut result, and this process carries on.
Result measureInWorker(const std::string& workerExecutable, const Job& job);

// Runs a paired job in a worker; a crash or the time limit is reported in `first`.
Pairing compareInWorker(const std::string& workerExecutable, const Job& job);

// The worker's side: reads a job, measures in process, writes the result (`isamap worker`).
int serveWorker(std::FILE* in, std::FILE* out);

} // namespace isamap::measure
