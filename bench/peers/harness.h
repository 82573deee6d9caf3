// What every peer-library benchmark binary shares: the command line, the shapes file, the timing
// protocol, the output lines, deterministic inputs and the sampled check against a naive loop.
//
// Each peer lives in its own executable (OpenBLAS and BLIS export the same BLAS symbols), and the
// benchmark drivers spawn them, so this contract is the only thing the drivers rely on:
//
//   peer_X COMMAND --shapes FILE --threads T [--min-time S] [--runs R]
//
// prints a header, then one CSV line per shape: the shape's own columns, then
// threads,seconds_median,seconds_min,seconds_max,gflops_median. Errors go to stderr with a non-zero exit.
//
// With `--shapes -` it serves a driver one shape at a time, so that the library's process stays warm
// between the driver's own timings: it prints the header, reads the shapes' header line from
// standard input, then answers each shape line with its output lines and a line `done` (alone when
// the shape failed, which is said on stderr), until standard input ends.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace isamap::bench::peers {

// A mistake in the command line or the shapes file (exit code 2).
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A library refused a problem, failed, or gave a wrong answer (exit code 1).
struct PeerError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Options {
    std::string command;
    std::string shapesFile;
    int threads = 0;
    double minSeconds = 0.2;
    int minRuns = 5;
};

// One row of a shapes file. The fields are kept as text so that the output echoes them unchanged.
struct ShapeRow {
    std::vector<std::string> columns;
    std::vector<std::string> fields;
    int line = 0;

    // The named column as a positive integer; a UsageError naming the line otherwise.
    long positive(const std::string& column) const;
    // The named column as 0 or 1.
    bool flag(const std::string& column) const;
    const std::string& text(const std::string& column) const;
};

struct Timing {
    double median = 0;
    double min = 0;
    double max = 0;
    int runs = 0;
};

// The protocol shared with our own measurements: one untimed warm-up call, whose result `check`
// verifies (a wrong answer is never a data point), then calls timed one by one with a steady clock
// until at least options.minSeconds have passed and at least options.minRuns calls were made.
Timing warmUpCheckAndTime(const std::function<void()>& call, const std::function<void()>& check,
                          const Options& options);

// One output line per timed problem, under the header runShapes prints (the shape's columns and any
// extra ones, e.g. `part`).
void printResult(const std::vector<std::string>& shapeFields, int threads, const Timing& timing, double flops);

// Deterministic pseudo-random numbers (SplitMix64), so every run and every peer sees the same inputs.
class Random {
public:
    explicit Random(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next();
    // Uniform in [lo, hi).
    double uniform(double lo, double hi);
    // Uniform integer in [lo, hi].
    long integer(long lo, long hi);

private:
    std::uint64_t state_;
};

void fillUniform(std::span<float> values, std::uint64_t seed, float lo = -1.0f, float hi = 1.0f);

// The output positions a check looks at: the four corners and `count` positions drawn at random.
struct Position {
    long row = 0;
    long col = 0;
};
std::vector<Position> samplePositions(long rows, long cols, int count, std::uint64_t seed);

// Records the worst of the sampled comparisons; `throwIfWrong` reports it as a PeerError.
class SampleCheck {
public:
    explicit SampleCheck(std::string what) : what_(std::move(what)) {}
    // `scale` is the sum of the magnitudes of the terms that made the reference value, so that the
    // tolerance follows the size of the accumulation rather than the size of the result.
    void compare(const std::string& where, double got, double want, double relativeTolerance, double scale);
    void throwIfWrong() const;

private:
    std::string what_;
    std::string worstWhere_;
    double worstExcess_ = 0;
    double worstGot_ = 0;
    double worstWant_ = 0;
    double worstTolerance_ = 0;
};

// The relative tolerance of an f32 accumulation (also bf16 inputs accumulated in f32, whose products
// are exact in f32): loose enough for any summation order, tight enough that a skipped or repeated
// block of terms is caught.
inline constexpr double kF32Tolerance = 1e-5;

// A command's whole run over its shapes, from the file or served from standard input (above).
// `validate` throws a UsageError for a row that names no valid problem; from a file, every row is
// validated before any output. `outputColumns` head the output lines. A row the library refuses or
// gets wrong is reported on stderr and skipped (no output line), so that one shape does not cost the
// figures of the others; from a file, a PeerError is thrown at the end if any row failed, so that
// the exit code says so.
void runShapes(const Options& options, const std::vector<std::string>& columns, const std::vector<std::string>& outputColumns,
               const std::function<void(const ShapeRow&)>& validate, const std::function<void(const ShapeRow&)>& benchmark);

// A library that does not know this CPU may fall back to plain C. Where it has faster code that this
// CPU runs and an environment variable that asks for it, the peer calls this before anything else:
// unless the user set `variable` already, it says why on stderr, sets it to `value` and starts the
// binary again, so that the library reads it while it starts. Returns only when it did not restart
// (the variable was set, or the restart failed, which it reports).
void restartAsking(const std::string& program, char** argv, const char* variable, const std::string& value,
                   const std::string& why);

// Whether this CPU runs the AVX-512 code that libraries build for Skylake-SP servers (F, CD, BW, DQ,
// VL).
bool cpuRunsSkylakeServerCode();

using CommandTable = std::map<std::string, std::function<void(const Options&)>>;

// The whole main of a peer binary: parses the options, runs the command, and turns every error
// (ours, the library's, a bad allocation) into a message and an exit code instead of a crash.
// `describeLibrary` prints the library's version and the code path it picked to stderr.
int runPeerMain(const std::string& program, int argc, char** argv, const CommandTable& commands,
                const std::function<void(int threads)>& setThreads,
                const std::function<std::string()>& describeLibrary);

} // namespace isamap::bench::peers
