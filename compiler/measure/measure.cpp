#include "measure/measure.h"

#include "measure/native.h"
#include "measure/pairs.h"

#include "codegen/jit.h"
#include "interp/interpreter.h"
#include "support/statistics.h"
#include "targets/host.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>

namespace isamap::measure {

const char* statusName(Status s) {
    switch (s) {
    case Status::Ok: return "ok";
    case Status::Mismatch: return "mismatch";
    case Status::Error: return "error";
    case Status::Crashed: return "crashed";
    case Status::TimedOut: return "timeout";
    }
    return "error";
}

std::string Result::verification() const {
    char text[256];
    std::snprintf(text, sizeof text, "%s %lld output element%s against the interpreter: largest difference %.3g (tolerance %.3g)%s%s",
                  sampled ? "checked a random sample of" : "checked all", static_cast<long long>(checkedElements),
                  checkedElements == 1 ? "" : "s", largestError, tolerance, worstAt.empty() ? "" : " at ",
                  worstAt.c_str());
    return text;
}

std::string Pairing::failure() const {
    if (ok())
        return {};
    // The second may fail before the first is tried (its schedule does not resolve): the one that says why.
    const bool firstFailed = first.status != Status::Ok && !first.message.empty();
    const Result& failed = firstFailed ? first : second;
    return std::string(firstFailed ? "the first schedule" : "the second schedule") + ": " + statusName(failed.status) + ": " +
           failed.message;
}

std::optional<ResolvedSchedule> resolveSchedule(const ir::Kernel& kernel, const ir::Target& target,
                                                const std::string& candidateKey, const std::string& text, std::string& error) {
    const auto mapped = mapping::mapKernel(kernel, target);
    const auto candidate = std::find_if(mapped.candidates.begin(), mapped.candidates.end(),
                                        [&](const mapping::Candidate& c) { return c.valid && c.key == candidateKey; });
    if (candidate == mapped.candidates.end()) {
        error = "no valid candidate `" + candidateKey + "` for kernel " + kernel.name + " on " + target.name + " (see isamap map)";
        return std::nullopt;
    }
    auto space = schedule::makeSpace(kernel, target, *candidate, error);
    auto parsed = space ? schedule::parseSchedule(*space, text, error) : std::nullopt;
    if (!parsed)
        return std::nullopt;
    return ResolvedSchedule{*candidate, std::move(*space), std::move(*parsed)};
}

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Float results differ from the interpreter's (double, one rounding) by the f32 rounding of each
// partial sum; inputs are within [-1, 1], so a bound linear in the reduction length holds.
double toleranceFor(const ir::Kernel& k, ir::ScalarType outputType) {
    if (!ir::isFloat(outputType))
        return 0.5;
    return 1e-6 + std::ldexp(1.0, -22) * static_cast<double>(longestReduction(k));
}

struct Comparison {
    double largest = 0;
    std::vector<std::int64_t> at;
    std::int64_t checked = 0;
};

void compareAt(const NativeTensor& got, const std::vector<std::int64_t>& index, double expected, Comparison& c) {
    const double diff = std::fabs(got.get(index) - expected);
    ++c.checked;
    if (diff > c.largest || std::isnan(diff)) {
        c.largest = std::isnan(diff) ? INFINITY : diff;
        c.at = index;
    }
}

// The argument whose values are checked: the last statement's target (a fused epilogue's output),
// else the last output that is not scratch.
std::size_t resultArgument(const ir::Kernel& kernel, const std::vector<codegen::Argument>& arguments) {
    const std::string& last = kernel.statements.back().target.tensor;
    std::size_t result = 0;
    for (std::size_t i = 0; i < arguments.size(); ++i) {
        if (arguments[i].tensor == last)
            return i;
        if (arguments[i].output && !arguments[i].scratch)
            result = i;
    }
    return result;
}

} // namespace

struct Reference::Values {
    ir::Kernel kernel;
    Options options;
    std::optional<interp::Buffers> inputs; // random inputs and zero outputs, once a check asks
    // The interpreter's values of one output: the whole tensor, or at a sample of its indices.
    struct Expected {
        bool sampled = false;
        std::optional<interp::Buffer> whole;
        std::vector<std::vector<std::int64_t>> points;
        std::vector<double> values;
    };
    std::map<std::string, Expected> expected; // by output
    // The generated code's tensors of the last schedule checked, for the next one to refill: made anew
    // for each of a graph node's proposals, their first touch took a fifth of `isamap graph`'s time.
    std::vector<NativeTensor> spareTensors;
    std::size_t tensorsMade = 0;

    const interp::Buffers& randomInputs() {
        if (!inputs)
            inputs = interp::randomInputs(kernel, options.seed);
        return *inputs;
    }

    // Argument `a`, numbered `placement`, holding `values`: a spare tensor that fits, refilled, or a new one.
    NativeTensor tensorFor(const codegen::Argument& a, const interp::Buffer& values, std::size_t placement) {
        for (auto spare = spareTensors.begin(); spare != spareTensors.end(); ++spare)
            if (spare->fits(a, placement)) {
                NativeTensor t = std::move(*spare);
                spareTensors.erase(spare);
                t.refill(a, values);
                return t;
            }
        ++tensorsMade;
        return NativeTensor(a, values, placement);
    }
};

Reference::Reference(const ir::Kernel& kernel, const Options& options) : values_(std::make_unique<Values>()) {
    values_->kernel = kernel;
    values_->options = options;
}

Reference::~Reference() = default;

std::size_t Reference::tensorsMade() const { return values_->tensorsMade; }

void Reference::forget() {
    values_->inputs.reset();
    values_->expected.clear();
    values_->spareTensors.clear();
}

void Reference::dropTensors() { values_->spareTensors.clear(); }

namespace {

// The reference's inputs for a run of the interpreter, whose writes must not reach them: every tensor
// the kernel writes gets storage of its own.
interp::Buffers forTheInterpreter(const ir::Kernel& kernel, const interp::Buffers& inputs) {
    interp::Buffers run = inputs;
    for (auto& [name, buffer] : run)
        if (kernel.findTensor(name)->role != ir::TensorRole::In)
            buffer.storage = std::make_shared<interp::Values>(*buffer.storage);
    return run;
}

// The interpreter's values of `output` (of shape `shape`): all of it for a kernel of up to
// Options::fullCheckPoints iteration points, else at a random sample of its indices. Where the sampled
// reference does not apply (an inout accumulation, a target written through a compound index), the
// output is computed whole instead, as the graph's node check does: slower, never refused.
const Reference::Values::Expected* expectedOutput(Reference::Values& ref, const std::string& output,
                                                  const std::vector<std::int64_t>& shape, std::string& error) {
    if (auto found = ref.expected.find(output); found != ref.expected.end())
        return &found->second;
    Reference::Values::Expected e;
    if (checkedOnASample(ref.kernel, ref.options)) {
        e.points = sampledPoints(shape, ref.options);
        e.sampled = !interp::valuesAt(ref.kernel, ref.randomInputs(), e.points, e.values);
    }
    if (!e.sampled) {
        e.points.clear();
        e.values.clear();
        interp::Buffers run = forTheInterpreter(ref.kernel, ref.randomInputs());
        if (auto why = interp::run(ref.kernel, run)) {
            error = "the reference interpreter failed: " + *why;
            return nullptr;
        }
        const auto result = run.find(output);
        if (result == run.end()) {
            error = "the reference interpreter keeps no values of " + output + ", a temporary of the kernel";
            return nullptr;
        }
        e.whole = result->second;
    }
    return &ref.expected.emplace(output, std::move(e)).first->second;
}

// Compares the generated output with the interpreter's: all of it, or a random sample.
std::optional<Comparison> verify(Reference::Values& ref, const std::string& output, const std::vector<std::int64_t>& shape,
                                 const NativeTensor& got, bool& sampled, std::string& error) {
    const auto* expected = expectedOutput(ref, output, shape, error);
    if (!expected)
        return std::nullopt;
    Comparison c;
    sampled = expected->sampled;
    if (!sampled) {
        const interp::Buffer& whole = *expected->whole;
        whole.forEach([&](const std::vector<std::int64_t>& index) { compareAt(got, index, whole.at(index), c); });
        return c;
    }
    for (std::size_t i = 0; i < expected->points.size(); ++i)
        compareAt(got, expected->points[i], expected->values[i], c);
    return c;
}

// A buffer larger than the last-level cache, written between timed runs to evict the operands.
void flushCaches() {
    static std::vector<unsigned char> junk(64u << 20);
    static unsigned char round = 0;
    std::memset(junk.data(), ++round, junk.size());
}

std::string peakCachePath() {
    const char* cache = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    if (cache && *cache)
        return std::string(cache) + "/isamap-studio-fma-peak";
    if (home && *home)
        return std::string(home) + "/.cache/isamap-studio-fma-peak";
    return {};
}

} // namespace

std::int64_t longestReduction(const ir::Kernel& kernel) {
    std::int64_t longest = 1;
    for (const auto& s : kernel.statements) {
        std::set<std::string> used;
        for (const auto& idx : s.target.indices)
            for (const auto& t : idx.terms)
                used.insert(t.dim);
        std::int64_t n = 1;
        for (const auto& d : kernel.dims)
            if (d.reduction && !used.count(d.name))
                n *= *ir::evaluate(d.extent, kernel.paramValues());
        longest = std::max(longest, n);
    }
    return longest;
}

std::int64_t iterationPoints(const ir::Kernel& k) {
    std::int64_t n = 1;
    for (const auto& d : k.dims)
        n *= *ir::evaluate(d.extent, k.paramValues());
    return n;
}

bool checkedOnASample(const ir::Kernel& k, const Options& options) { return iterationPoints(k) > options.fullCheckPoints; }

std::vector<std::vector<std::int64_t>> sampledPoints(const std::vector<std::int64_t>& shape, const Options& options) {
    std::mt19937_64 random(options.seed * 7919 + 1);
    std::vector<std::vector<std::int64_t>> points;
    for (int i = 0; i < options.sampledOutputs; ++i) {
        std::vector<std::int64_t> p;
        for (auto extent : shape)
            p.push_back(static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(extent)));
        points.push_back(std::move(p));
    }
    points.push_back(std::vector<std::int64_t>(shape.size(), 0));
    std::vector<std::int64_t> last;
    for (auto extent : shape)
        last.push_back(extent - 1);
    points.push_back(last);
    return points;
}

double peakGflopsPerThread() {
    const std::string path = peakCachePath();
    const std::string cpu = targets::detectHost().name;
    // The file names how the figure was taken: one written while the peak was the median of the runs
    // (a tenth low on a shared machine, codegen.md) is measured again.
    const std::string how = "fastest";
    if (!path.empty()) {
        std::ifstream in(path);
        std::string name, taken;
        double value = 0;
        if (in >> name >> value >> taken && name == cpu && value > 0 && taken == how)
            return value;
    }
    std::string error;
    const double peak = codegen::measuredPeakGflopsPerThread(error);
    if (peak > 0 && !path.empty()) {
        std::error_code ignored; // without a cache directory the peak is measured again next time
        std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ignored);
        std::ofstream(path) << cpu << " " << peak << " " << how << "\n";
    }
    return peak;
}

void setTiming(Result& r, std::vector<double> times, double usefulFlops) {
    std::sort(times.begin(), times.end());
    r.runs = static_cast<int>(times.size());
    r.secondsMedian = *median(times);
    r.secondsMin = times.front();
    r.secondsMax = times.back();
    r.gflops = usefulFlops / r.secondsMedian / 1e9;
    r.peakGflops = peakGflopsPerThread() * r.threads;
    r.peakFraction = r.peakGflops > 0 ? r.gflops / r.peakGflops : 0;
    r.status = Status::Ok;
}

namespace {

// Timed runs stop here whatever the minimum time says (a kernel of a few nanoseconds).
constexpr std::size_t kMostRuns = 100000;

// A generated kernel ready to time: compiled, its arguments filled with random inputs, its result
// checked against the interpreter.
struct Verified {
    std::unique_ptr<codegen::JitKernel> jit;
    std::vector<NativeTensor> tensors;
    std::vector<void*> pointers;
};

// Generates, compiles and verifies one schedule, filling the compile and verification fields of `r`;
// null, with `r` saying why, when any of it fails.
std::unique_ptr<Verified> generateAndVerify(const ir::Kernel& kernel, const ir::Target& target, const Contender& c,
                                            const Options& options, Reference& reference,
                                            const std::function<void(const std::string&)>& say, Result& r) {
    for (const auto& t : kernel.tensors)
        if (t.type == ir::ScalarType::f16) {
            r.message = "tensor " + t.name + " is f16, which has no host lowering";
            return nullptr;
        }
    say("generating code");
    const auto compileStart = Clock::now();
    std::string error;
    auto code = codegen::generate(kernel, target, c.candidate, c.space, c.schedule, options.codegen, error);
    if (!code) {
        r.message = error;
        return nullptr;
    }
    r.threads = code->threads();
    auto v = std::make_unique<Verified>();
    v->jit = codegen::JitKernel::compile(std::move(code), error);
    if (!v->jit) {
        r.message = "compiling: " + error;
        return nullptr;
    }
    r.compileSeconds = secondsSince(compileStart);

    say("verifying against the interpreter");
    interp::Buffers arguments = reference.values().randomInputs(); // sharing the reference's storage
    for (const auto& a : v->jit->arguments()) {
        if (!arguments.count(a.tensor)) // scratch for a temporary (a fused epilogue's intermediate)
            arguments[a.tensor] = *interp::allocate(*kernel.findTensor(a.tensor), kernel.paramValues());
        v->tensors.push_back(reference.values().tensorFor(a, arguments.at(a.tensor), v->tensors.size()));
        v->pointers.push_back(v->tensors.back().data());
    }
    const std::size_t outputIndex = resultArgument(kernel, v->jit->arguments());
    const std::string output = v->jit->arguments()[outputIndex].tensor;
    v->jit->run(v->pointers.data());
    auto comparison = verify(reference.values(), output, arguments.at(output).shape, v->tensors[outputIndex], r.sampled, error);
    if (!comparison) {
        r.message = error;
        return nullptr;
    }
    r.largestError = comparison->largest;
    r.checkedElements = comparison->checked;
    r.tolerance = toleranceFor(kernel, kernel.findTensor(output)->type);
    r.worstAt = comparison->at.empty() ? "" : indexText(output, comparison->at);
    if (!(r.largestError <= r.tolerance)) {
        r.status = Status::Mismatch;
        r.message = "the generated code's result differs from the interpreter's by " + std::to_string(r.largestError) +
                    " at " + r.worstAt + " (tolerance " + std::to_string(r.tolerance) + ")";
        return nullptr;
    }
    return v;
}

double timedRun(Verified& v, bool flush, bool backwards = false) {
    if (flush)
        flushCaches();
    const auto t0 = Clock::now();
    if (backwards)
        v.jit->runBackwards(v.pointers.data());
    else
        v.jit->run(v.pointers.data());
    return secondsSince(t0);
}

// The value below which `fraction` of the sorted sample lies (nearest rank).
double quantile(const std::vector<double>& sorted, double fraction) {
    const auto last = static_cast<double>(sorted.size() - 1);
    return sorted[static_cast<std::size_t>(std::lround(fraction * last))];
}

// Points the second kernel at the first's tensors wherever an argument is the same tensor in the same
// storage, so that both read the same inputs and a cache holding them serves both alike.
void shareTensors(const Verified& first, Verified& second) {
    const auto& a = first.jit->arguments();
    const auto& b = second.jit->arguments();
    for (std::size_t j = 0; j < b.size(); ++j)
        for (std::size_t i = 0; i < a.size(); ++i)
            if (a[i].tensor == b[j].tensor && a[i].storageElements == b[j].storageElements && a[i].type == b[j].type)
                second.pointers[j] = first.pointers[i];
}

} // namespace

namespace {

// Checks and times one schedule. `forgetBeforeTiming`: the reference serves this schedule alone, and
// its inputs and values are freed before the timed runs, which then run with no more of the
// machine's memory held than the kernel's own.
Result checkAndTime(const ir::Kernel& kernel, const ir::Target& target, const Contender& contender, const Options& options,
                    Reference& reference, bool forgetBeforeTiming, const std::function<void(const std::string&)>& progress) {
    Result r;
    auto say = [&](const std::string& what) {
        if (progress)
            progress(what);
    };
    auto v = generateAndVerify(kernel, target, contender, options, reference, say, r);
    if (!v)
        return r;
    if (forgetBeforeTiming)
        reference.forget();
    say("timing");
    r.alternated = options.alternateSweeps && v->jit->canRunBackwards();
    std::vector<double> times;
    const auto start = Clock::now();
    while (static_cast<int>(times.size()) < options.minRuns || secondsSince(start) < options.minSeconds) {
        times.push_back(timedRun(*v, options.flushCaches, r.alternated && times.size() % 2 == 1));
        if (times.size() >= kMostRuns)
            break;
    }
    setTiming(r, std::move(times), contender.space.usefulFlops);
    if (!forgetBeforeTiming)
        reference.values().spareTensors = std::move(v->tensors);
    return r;
}

} // namespace

Result measureInProcess(const ir::Kernel& kernel, const ir::Target& target, const mapping::Candidate& candidate,
                        const schedule::Space& space, const schedule::Schedule& schedule, const Options& options,
                        const std::function<void(const std::string&)>& progress) {
    Reference reference(kernel, options);
    return checkAndTime(kernel, target, Contender{candidate, space, schedule}, options, reference, true, progress);
}

Result measureInProcess(const ir::Kernel& kernel, const ir::Target& target, const mapping::Candidate& candidate,
                        const schedule::Space& space, const schedule::Schedule& schedule, const Options& options,
                        Reference& reference, const std::function<void(const std::string&)>& progress) {
    return checkAndTime(kernel, target, Contender{candidate, space, schedule}, options, reference, false, progress);
}

Pairing compareInProcess(const ir::Kernel& kernel, const ir::Target& target, const Contender& first, const Contender& second,
                         const Options& options, const std::function<void(const std::string&)>& progress) {
    Reference reference(kernel, options);
    return compareInProcess(kernel, target, first, second, options, reference, progress);
}

Pairing compareInProcess(const ir::Kernel& kernel, const ir::Target& target, const Contender& first, const Contender& second,
                         const Options& options, Reference& reference, const std::function<void(const std::string&)>& progress) {
    Pairing p;
    auto say = [&](const std::string& which) {
        return [&progress, which](const std::string& what) {
            if (progress)
                progress(which + ": " + what);
        };
    };
    auto a = generateAndVerify(kernel, target, first, options, reference, say("first"), p.first);
    if (!a)
        return p;
    auto b = generateAndVerify(kernel, target, second, options, reference, say("second"), p.second);
    if (!b)
        return p;
    reference.forget(); // both checked: the timed pairs hold only the kernels' own memory
    shareTensors(*a, *b);
    if (progress)
        progress("timing the two in turn");
    p.first.alternated = options.alternateSweeps && a->jit->canRunBackwards();
    p.second.alternated = options.alternateSweeps && b->jit->canRunBackwards();
    // Alternating, the second run of each pair goes backwards: the runs then go forwards and backwards
    // in turn (A B, B A, ...), each starting where the one before it ended, and each schedule
    // alternates too.
    auto t = timeInPairs(
        [&](int which, bool follows) {
            const bool alternates = which == 0 ? p.first.alternated : p.second.alternated;
            return timedRun(which == 0 ? *a : *b, options.flushCaches, follows && alternates);
        },
        options.minRuns, options.minSeconds, kMostRuns);
    setTiming(p.first, std::move(t.first), first.space.usefulFlops);
    setTiming(p.second, std::move(t.second), second.space.usefulFlops);
    p.ratioMedian = t.ratioMedian();
    auto& ratios = t.ratios;
    std::sort(ratios.begin(), ratios.end());
    p.pairs = static_cast<int>(ratios.size());
    p.ratioLow = quantile(ratios, 0.25);
    p.ratioHigh = quantile(ratios, 0.75);
    return p;
}

} // namespace isamap::measure
