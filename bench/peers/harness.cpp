#include "harness.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <new>
#include <sstream>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace isamap::bench::peers {

namespace {

std::vector<std::string> splitCsvLine(const std::string& line) {
    std::vector<std::string> fields;
    std::stringstream stream(line);
    std::string field;
    while (std::getline(stream, field, ',')) {
        const auto first = field.find_first_not_of(" \t\r");
        const auto last = field.find_last_not_of(" \t\r");
        fields.push_back(first == std::string::npos ? "" : field.substr(first, last - first + 1));
    }
    return fields;
}

std::string joined(const std::vector<std::string>& parts) {
    std::string text;
    for (const auto& part : parts)
        text += (text.empty() ? "" : ",") + part;
    return text;
}

bool isSkipped(const std::string& line) {
    const auto first = line.find_first_not_of(" \t\r");
    return first == std::string::npos || line[first] == '#';
}

double parseNumber(const std::string& option, const std::string& value) {
    try {
        std::size_t used = 0;
        const double number = std::stod(value, &used);
        if (used == value.size() && number > 0 && std::isfinite(number))
            return number;
    } catch (const std::exception&) {
    }
    throw UsageError(option + " needs a positive number, not '" + value + "'");
}

int parseCount(const std::string& option, const std::string& value) {
    const double number = parseNumber(option, value);
    if (number != std::floor(number) || number > 1024)
        throw UsageError(option + " needs a whole number from 1 to 1024, not '" + value + "'");
    return static_cast<int>(number);
}

std::string usage(const std::string& program, const CommandTable& commands) {
    std::string names;
    for (const auto& [name, run] : commands)
        names += (names.empty() ? "" : "|") + name;
    return "usage: " + program + " " + names + " --shapes FILE|- --threads T [--min-time S] [--runs R]";
}

Options parseOptions(const std::vector<std::string>& args, const CommandTable& commands) {
    if (args.empty())
        throw UsageError("no command given");
    Options options;
    options.command = args[0];
    if (!commands.contains(options.command))
        throw UsageError("unknown command '" + options.command + "'");
    for (std::size_t i = 1; i < args.size(); i += 2) {
        const std::string& option = args[i];
        if (i + 1 >= args.size())
            throw UsageError(option + " needs a value");
        const std::string& value = args[i + 1];
        if (option == "--shapes")
            options.shapesFile = value;
        else if (option == "--threads")
            options.threads = parseCount(option, value);
        else if (option == "--min-time")
            options.minSeconds = parseNumber(option, value);
        else if (option == "--runs")
            options.minRuns = parseCount(option, value);
        else
            throw UsageError("unknown option '" + option + "'");
    }
    if (options.shapesFile.empty())
        throw UsageError("--shapes FILE (or - to serve shapes from standard input) is required");
    if (options.threads == 0)
        throw UsageError("--threads T is required");
    return options;
}

std::string formatNumber(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", value);
    return text;
}

} // namespace

const std::string& ShapeRow::text(const std::string& column) const {
    const auto found = std::find(columns.begin(), columns.end(), column);
    if (found == columns.end())
        throw std::logic_error("no column named " + column);
    return fields[found - columns.begin()];
}

long ShapeRow::positive(const std::string& column) const {
    const std::string& value = text(column);
    try {
        std::size_t used = 0;
        const long number = std::stol(value, &used);
        if (used == value.size() && number > 0)
            return number;
    } catch (const std::exception&) {
    }
    throw UsageError("line " + std::to_string(line) + ": " + column + " must be a positive integer, not '" +
                     value + "'");
}

bool ShapeRow::flag(const std::string& column) const {
    const std::string& value = text(column);
    if (value == "0" || value == "1")
        return value == "1";
    throw UsageError("line " + std::to_string(line) + ": " + column + " must be 0 or 1, not '" + value + "'");
}

namespace {

// Reads a CSV whose header must be exactly `columns`; blank lines and lines starting with '#' are skipped.
std::vector<ShapeRow> readShapes(const std::string& path, const std::vector<std::string>& columns) {
    std::ifstream file(path);
    if (!file)
        throw UsageError("cannot read the shapes file '" + path + "'");
    std::vector<ShapeRow> rows;
    std::string line;
    bool headerSeen = false;
    for (int number = 1; std::getline(file, line); ++number) {
        if (isSkipped(line))
            continue;
        auto fields = splitCsvLine(line);
        if (!headerSeen) {
            if (fields != columns)
                throw UsageError(path + ": the header must be '" + joined(columns) + "', not '" + joined(fields) +
                                 "'");
            headerSeen = true;
            continue;
        }
        if (fields.size() != columns.size())
            throw UsageError(path + ":" + std::to_string(number) + ": expected " + std::to_string(columns.size()) +
                             " fields (" + joined(columns) + ")");
        rows.push_back({columns, std::move(fields), number});
    }
    if (rows.empty())
        throw UsageError(path + ": no shapes in the file");
    return rows;
}

} // namespace

Timing warmUpCheckAndTime(const std::function<void()>& call, const std::function<void()>& check,
                          const Options& options) {
    call();
    check();
    using Clock = std::chrono::steady_clock;
    std::vector<double> seconds;
    const auto start = Clock::now();
    while (static_cast<int>(seconds.size()) < options.minRuns ||
           std::chrono::duration<double>(Clock::now() - start).count() < options.minSeconds) {
        const auto before = Clock::now();
        call();
        seconds.push_back(std::chrono::duration<double>(Clock::now() - before).count());
    }
    std::sort(seconds.begin(), seconds.end());
    const std::size_t n = seconds.size();
    const double median = n % 2 ? seconds[n / 2] : (seconds[n / 2 - 1] + seconds[n / 2]) / 2;
    return {median, seconds.front(), seconds.back(), static_cast<int>(n)};
}

namespace {

void printHeader(const std::vector<std::string>& shapeColumns) {
    std::cout << joined(shapeColumns) << ",threads,seconds_median,seconds_min,seconds_max,gflops_median\n"
              << std::flush;
}

} // namespace

void printResult(const std::vector<std::string>& shapeFields, int threads, const Timing& timing, double flops) {
    std::cout << joined(shapeFields) << ',' << threads << ',' << formatNumber(timing.median) << ','
              << formatNumber(timing.min) << ',' << formatNumber(timing.max) << ','
              << formatNumber(flops / timing.median / 1e9) << '\n'
              << std::flush;
}

std::uint64_t Random::next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double Random::uniform(double lo, double hi) {
    return lo + (hi - lo) * static_cast<double>(next() >> 11) * 0x1.0p-53;
}

long Random::integer(long lo, long hi) {
    return lo + static_cast<long>(next() % static_cast<std::uint64_t>(hi - lo + 1));
}

void fillUniform(std::span<float> values, std::uint64_t seed, float lo, float hi) {
    Random random(seed);
    for (float& value : values)
        value = static_cast<float>(random.uniform(lo, hi));
}

std::vector<Position> samplePositions(long rows, long cols, int count, std::uint64_t seed) {
    std::vector<Position> positions = {{0, 0}, {rows - 1, 0}, {0, cols - 1}, {rows - 1, cols - 1}};
    Random random(seed);
    for (int i = 0; i < count; ++i)
        positions.push_back({random.integer(0, rows - 1), random.integer(0, cols - 1)});
    return positions;
}

void SampleCheck::compare(const std::string& where, double got, double want, double relativeTolerance,
                          double scale) {
    const double tolerance = relativeTolerance * scale + 1e-6;
    const double excess = std::isfinite(got) ? std::abs(got - want) - tolerance : INFINITY;
    if (excess > 0 && (worstWhere_.empty() || excess > worstExcess_)) {
        worstWhere_ = where;
        worstExcess_ = excess;
        worstGot_ = got;
        worstWant_ = want;
        worstTolerance_ = tolerance;
    }
}

void SampleCheck::throwIfWrong() const {
    if (worstWhere_.empty())
        return;
    throw PeerError("wrong result for " + what_ + ": " + worstWhere_ + " is " + formatNumber(worstGot_) +
                    ", the reference is " + formatNumber(worstWant_) + " (difference " +
                    formatNumber(std::abs(worstGot_ - worstWant_)) + ", tolerance " +
                    formatNumber(worstTolerance_) + ")");
}

namespace {

// Runs one row; a failure the library or the check reports is said on stderr and gives false.
bool runRow(const ShapeRow& row, const std::function<void(const ShapeRow&)>& benchmark) {
    try {
        benchmark(row);
        return true;
    } catch (const UsageError&) {
        throw;
    } catch (const std::bad_alloc&) {
        // A shape too big for this machine is one failed shape, not the end of the run.
        std::cerr << "error: line " << row.line << " (" << joined(row.fields) << "): out of memory\n";
    } catch (const std::exception& error) {
        std::cerr << "error: line " << row.line << " (" << joined(row.fields) << "): " << error.what() << '\n';
    }
    return false;
}

void serveShapes(const std::vector<std::string>& columns, const std::function<void(const ShapeRow&)>& validate,
                 const std::function<void(const ShapeRow&)>& benchmark) {
    std::string line;
    bool headerSeen = false;
    for (int number = 1; std::getline(std::cin, line); ++number) {
        if (isSkipped(line))
            continue;
        auto fields = splitCsvLine(line);
        if (!headerSeen) {
            if (fields != columns)
                throw UsageError("standard input: the header must be '" + joined(columns) + "', not '" + joined(fields) + "'");
            headerSeen = true;
            continue;
        }
        try {
            if (fields.size() != columns.size())
                throw UsageError("expected " + std::to_string(columns.size()) + " fields (" + joined(columns) + ")");
            const ShapeRow row{columns, std::move(fields), number};
            validate(row);
            runRow(row, benchmark);
        } catch (const UsageError& error) { // one bad line, not the end of the service
            std::cerr << "error: standard input:" << number << ": " << error.what() << '\n';
        }
        std::cout << "done\n" << std::flush;
    }
}

// Runs `benchmark` on every row; if any row failed, a PeerError at the end makes the exit code say so.
void forEachShape(const std::vector<ShapeRow>& rows, const std::function<void(const ShapeRow&)>& benchmark) {
    int failed = 0;
    for (const ShapeRow& row : rows)
        failed += runRow(row, benchmark) ? 0 : 1;
    if (failed > 0)
        throw PeerError(std::to_string(failed) + " of " + std::to_string(rows.size()) + " shapes failed");
}

} // namespace

void runShapes(const Options& options, const std::vector<std::string>& columns, const std::vector<std::string>& outputColumns,
               const std::function<void(const ShapeRow&)>& validate, const std::function<void(const ShapeRow&)>& benchmark) {
    if (options.shapesFile == "-") {
        printHeader(outputColumns);
        serveShapes(columns, validate, benchmark);
        return;
    }
    const auto rows = readShapes(options.shapesFile, columns);
    for (const ShapeRow& row : rows)
        validate(row); // every row is valid before any output
    printHeader(outputColumns);
    forEachShape(rows, benchmark);
}

void restartAsking(const std::string& program, char** argv, const char* variable, const std::string& value,
                   const std::string& why) {
    if (std::getenv(variable))
        return;
    std::cerr << program << ": " << why << "; starting again with " << variable << "=" << value << std::endl;
    setenv(variable, value.c_str(), 1);
    execv("/proc/self/exe", argv);
    std::cerr << program << ": warning: could not restart with " << variable << "=" << value << " ("
              << std::strerror(errno) << "); the library keeps the code it chose\n";
    unsetenv(variable);
}

bool cpuRunsSkylakeServerCode() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
}

int runPeerMain(const std::string& program, int argc, char** argv, const CommandTable& commands,
                const std::function<void(int threads)>& setThreads,
                const std::function<std::string()>& describeLibrary) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
        std::cout << usage(program, commands) << '\n';
        return 0;
    }
    try {
        const Options options = parseOptions(args, commands);
        // Each library's own thread control, set before anything is created or timed.
        setThreads(options.threads);
        std::cerr << program << ": " << describeLibrary() << ", " << options.threads << " thread(s)\n";
        commands.at(options.command)(options);
        return 0;
    } catch (const UsageError& error) {
        std::cerr << program << ": error: " << error.what() << '\n' << usage(program, commands) << '\n';
        return 2;
    } catch (const std::bad_alloc&) {
        std::cerr << program << ": error: out of memory for this problem\n";
        return 1;
    } catch (const std::exception& error) {
        std::cerr << program << ": error: " << error.what() << '\n';
        return 1;
    }
}

} // namespace isamap::bench::peers
