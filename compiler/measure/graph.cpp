#include "measure/graph.h"

#include "measure/native.h"
#include "measure/pairs.h"

#include "codegen/runtime.h"

#include "fusion/fusion.h"
#include "ir/printer.h"
#include "support/integers.h"
#include "support/statistics.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <numeric>
#include <optional>
#include <set>

namespace isamap::measure {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

codegen::Argument argumentOf(const ir::TensorDecl& t, const interp::Buffer& b) {
    return codegen::Argument{t.name, t.type, b.shape, ir::storageElements(b.shape, b.strides), t.role != ir::TensorRole::In};
}

// Random inputs, zero outputs and temporaries: every tensor of the graph.
interp::Buffers graphValues(const ir::Graph& graph, std::uint64_t seed) {
    interp::Buffers values = interp::randomInputs(graph, seed);
    for (const auto& t : graph.tensors)
        if (!values.count(t.name))
            values[t.name] = *interp::allocate(t, graph.paramValues());
    return values;
}

// Calls `f` when it goes out of scope: on every return of the function that holds it.
template <typename F>
struct AtExit {
    F f;
    ~AtExit() { f(); }
};

} // namespace

struct GraphRunner::Prepared {
    std::map<std::string, NativeTensor> tensors;
    struct Call {
        std::shared_ptr<codegen::JitKernel> kernel;
        std::vector<void*> pointers;
        ir::Node node;
        ir::Kernel instance;
    };
    // One call, or two run band by band: per band `rows` indices of the dimension both parallel loops
    // step, the first call's iterations over them and then the second's, while the rows are in cache.
    struct Step {
        Call first;
        std::optional<Call> second;
        std::int64_t rows = 0, extent = 0;
        int threads = 1;
        bool backwards = false; // a lone call's parallel iterations from the last to the first
        bool mayGoBackwards = false; // alternateSweeps would take it backwards
    };
    std::vector<Step> steps;

    static void runBands(void* context, std::int64_t begin, std::int64_t end) {
        const Step& s = *static_cast<const Step*>(context);
        const auto& p = *s.first.kernel->parallelLoop();
        const auto& q = *s.second->kernel->parallelLoop();
        for (std::int64_t band = begin; band < end; ++band) {
            const std::int64_t lo = band * s.rows, hi = std::min(lo + s.rows, s.extent);
            s.first.kernel->runRange(s.first.pointers.data(), lo / p.step, ceilDiv(hi, p.step));
            s.second->kernel->runRange(s.second->pointers.data(), lo / q.step, ceilDiv(hi, q.step));
        }
    }
    static void runStep(const Step& s) {
        if (s.backwards) {
            s.first.kernel->runBackwards(s.first.pointers.data());
            return;
        }
        if (!s.second) {
            s.first.kernel->run(s.first.pointers.data());
            return;
        }
        const std::int64_t bands = ceilDiv(s.extent, s.rows);
        if (s.threads > 1)
            isamap_parallel_for(&runBands, const_cast<Step*>(&s), bands, s.threads);
        else
            runBands(const_cast<Step*>(&s), 0, bands);
    }
    void run() const {
        for (const auto& s : steps)
            runStep(s);
    }
};

namespace {

// The axis of `tensor` that `dim` indexes as itself in every access of the kernel; -1 when some
// access indexes it otherwise (or `dim` appears in another axis).
int plainAxis(const ir::Kernel& k, const std::string& tensor, const std::string& dim) {
    int axis = -2;
    auto check = [&](const ir::Access& a) {
        if (a.tensor != tensor || axis == -1)
            return;
        int found = -1;
        for (std::size_t i = 0; i < a.indices.size(); ++i) {
            const auto& idx = a.indices[i];
            const bool plain = ir::isPlainDim(idx) && idx.terms[0].dim == dim;
            const bool mentions = std::any_of(idx.terms.begin(), idx.terms.end(), [&](const ir::AffineTerm& t) { return t.dim == dim; });
            if (plain && found < 0)
                found = static_cast<int>(i);
            else if (mentions)
                found = -1, axis = -1;
        }
        if (axis == -1)
            return;
        axis = (axis == -2 || axis == found) ? found : -1;
    };
    for (const auto& s : k.statements) {
        check(s.target);
        ir::forEachAccess(s.value, check);
    }
    return axis < 0 ? -1 : axis;
}

std::set<std::string> boundTensors(const ir::Node& node, const codegen::JitKernel& kernel, bool outputs) {
    std::set<std::string> out;
    for (const auto& a : kernel.arguments())
        if (a.output == outputs)
            for (const auto& b : node.bindings)
                if (b.kernelTensor == a.tensor)
                    out.insert(b.graphTensor);
    return out;
}

// Why two consecutive calls cannot run band by band, or empty with the band's rows and extent.
std::string bandable(const GraphRunner::Prepared::Call& p, const GraphRunner::Prepared::Call& q, std::int64_t& rows,
                     std::int64_t& extent) {
    const auto& pl = p.kernel->parallelLoop();
    const auto& ql = q.kernel->parallelLoop();
    if (!pl || !ql || pl->iterations < 2 || ql->iterations < 2)
        return "each needs one parallel loop over a dimension of its own";
    const auto written = boundTensors(p.node, *p.kernel, true);
    const auto pReads = boundTensors(p.node, *p.kernel, false);
    std::string shared;
    for (const auto& b : q.node.bindings) {
        if (!written.count(b.graphTensor))
            continue;
        if (!shared.empty() || !b.fixedIndices.empty())
            return q.node.name + " reads more of " + p.node.name + "'s results than one whole tensor";
        shared = b.graphTensor;
        const std::string pTensor = std::find_if(p.node.bindings.begin(), p.node.bindings.end(), [&](const ir::Binding& x) {
                                        return x.graphTensor == b.graphTensor;
                                    })->kernelTensor;
        const int pAxis = plainAxis(p.instance, pTensor, pl->dim);
        const int qAxis = plainAxis(q.instance, b.kernelTensor, ql->dim);
        if (pAxis < 0 || pAxis != qAxis || pl->extent != ql->extent)
            return "their parallel loops (" + pl->dim + ", " + ql->dim + ") do not step the same axis of " + b.graphTensor;
    }
    if (shared.empty())
        return q.node.name + " does not read what " + p.node.name + " writes";
    for (const auto& t : boundTensors(q.node, *q.kernel, true))
        if (pReads.count(t) || written.count(t))
            return q.node.name + " writes " + t + ", which " + p.node.name + " uses";
    rows = std::lcm(pl->step, ql->step);
    extent = pl->extent;
    if (rows >= extent)
        return "one band would hold all of " + shared;
    return {};
}

// Whether two bindings may share elements: the same graph tensor, and one's fixed indices begin the
// other's (`HS[3]` and `HS[4]` do not; `HS` and `HS[4]` do).
bool overlap(const ir::Binding& a, const ir::Binding& b) {
    const std::size_t n = std::min(a.fixedIndices.size(), b.fixedIndices.size());
    return a.graphTensor == b.graphTensor && std::equal(a.fixedIndices.begin(), a.fixedIndices.begin() + static_cast<long>(n),
                                                        b.fixedIndices.begin());
}

std::vector<std::int64_t> graphIndex(const ir::Binding& b, const std::vector<std::int64_t>& index) {
    std::vector<std::int64_t> full = b.fixedIndices;
    full.insert(full.end(), index.begin(), index.end());
    return full;
}

// Checks each node of a prepared graph against the interpreter's run of that node alone, on the values
// the generated code gave its inputs. Comparing only the graph's final outputs with the interpreter's
// run of the whole graph does not work for a recurrence: with random weights a GRU amplifies the
// difference between f32 and double rounding step after step, and after 50 steps the two runs' states
// differ in sign although every step is right. Node by node, each comparison sees one node's rounding.
class NodeChecker {
public:
    using Call = GraphRunner::Prepared::Call;
    using Step = GraphRunner::Prepared::Step;

    NodeChecker(const GraphRunner::Prepared& prepared, const interp::Buffers& values, const Options& options)
        : prepared_(prepared), values_(values), options_(options) {
        for (const auto& step : prepared.steps)
            for (const Call* call : callsOf(step))
                for (const auto& t : boundTensors(call->node, *call->kernel, true))
                    written_.insert(t);
    }

    // Takes, before the step runs, what its nodes read from a region they also write.
    bool before(const Step& step, Result& r) {
        const auto calls = callsOf(step);
        inputs_.assign(calls.size(), {});
        for (std::size_t i = 0; i < calls.size(); ++i)
            if (!readInputs(*calls[i], true, inputs_[i], r))
                return false;
        return true;
    }

    // Takes the rest of the inputs (the first node of a band pair writes what the second reads), runs
    // the interpreter on each node, and compares what the generated code wrote.
    bool after(const Step& step, Result& r) {
        const auto calls = callsOf(step);
        for (std::size_t i = 0; i < calls.size(); ++i)
            if (!readInputs(*calls[i], false, inputs_[i], r) || !compare(*calls[i], inputs_[i], r))
                return false;
        return true;
    }

private:
    static std::vector<const Call*> callsOf(const Step& step) {
        std::vector<const Call*> calls{&step.first};
        if (step.second)
            calls.push_back(&*step.second);
        return calls;
    }

    // Reads in place: an input the node updates, or reads from a region one of its outputs covers.
    static bool readsInPlace(const ir::Kernel& instance, const ir::Node& node, const ir::TensorDecl& t, const ir::Binding& b) {
        if (t.role == ir::TensorRole::InOut)
            return true;
        for (const auto& out : instance.tensors)
            if (out.role == ir::TensorRole::Out)
                if (const ir::Binding* o = node.findBinding(out.name); o && overlap(*o, b))
                    return true;
        return false;
    }

    bool readInputs(const Call& call, bool inPlace, interp::Buffers& inputs, Result& r) const {
        for (const auto& t : call.instance.tensors) {
            if (t.role != ir::TensorRole::In && t.role != ir::TensorRole::InOut)
                continue;
            const ir::Binding* b = call.node.findBinding(t.name);
            if (!b) {
                r.message = "node " + call.node.name + " does not bind " + t.name;
                return false;
            }
            if (readsInPlace(call.instance, call.node, t, *b) != inPlace)
                continue;
            if (!written_.count(b->graphTensor)) { // the graph's own input: no node changes it
                inputs[t.name] = interp::sliceOf(values_.at(b->graphTensor), b->fixedIndices);
                continue;
            }
            auto copy = interp::allocate(t, call.instance.paramValues());
            if (!copy) {
                r.message = "node " + call.node.name + ": the shape of " + t.name + " does not evaluate";
                return false;
            }
            const NativeTensor& generated = prepared_.tensors.at(b->graphTensor);
            copy->forEach([&](const std::vector<std::int64_t>& index) { copy->at(index) = generated.get(graphIndex(*b, index)); });
            inputs[t.name] = std::move(*copy);
        }
        return true;
    }

    bool compare(const Call& call, interp::Buffers& buffers, Result& r) const {
        // f32 sums may differ from the interpreter's by the kernel rule (2^-22 per term); an element-wise
        // tail fused after them can add up to a few of those together.
        const double tolerance = 1e-5 + std::ldexp(1.0, -20) * static_cast<double>(longestReduction(call.instance));
        if (r.largestError == 0)
            r.tolerance = std::max(r.tolerance, tolerance);
        bool ok = true;
        if (compareSample(call, buffers, tolerance, ok, r))
            return ok;
        if (auto why = interp::run(call.instance, buffers)) {
            r.message = "node " + call.node.name + ": the reference interpreter failed: " + *why;
            return false;
        }
        for (const auto& t : call.instance.tensors) {
            if (t.role != ir::TensorRole::Out && t.role != ir::TensorRole::InOut)
                continue;
            const interp::Buffer& expected = buffers.at(t.name);
            expected.forEach([&](const std::vector<std::int64_t>& index) {
                checkElement(call, t, index, expected.at(index), tolerance, ok, r);
            });
        }
        return ok;
    }

    // Checks a node of more than Options::fullCheckPoints iteration points on a sample of its output,
    // as a kernel's check does: run whole, a GRU's input product over all its steps (629 million
    // points at hidden 2048) took the interpreter 15 s. Only a node with one output, which the sampled
    // reference computes; false (check it whole) for any other, or where that reference does not apply.
    bool compareSample(const Call& call, const interp::Buffers& buffers, double tolerance, bool& ok, Result& r) const {
        if (!checkedOnASample(call.instance, options_))
            return false;
        const ir::TensorDecl* output = nullptr;
        for (const auto& t : call.instance.tensors) {
            if (t.role == ir::TensorRole::InOut || (t.role == ir::TensorRole::Out && output))
                return false;
            if (t.role == ir::TensorRole::Out)
                output = &t;
        }
        if (!output || output->name != call.instance.statements.back().target.tensor)
            return false;
        const auto shape = ir::shape(*output, call.instance.paramValues());
        if (!shape)
            return false;
        const auto points = sampledPoints(*shape, options_);
        std::vector<double> values;
        if (interp::valuesAt(call.instance, buffers, points, values))
            return false;
        r.sampled = true;
        for (std::size_t i = 0; i < points.size(); ++i)
            checkElement(call, *output, points[i], values[i], tolerance, ok, r);
        return true;
    }

    // Compares what the generated code wrote at one element of a node's output with the interpreter's
    // value; the first difference over the tolerance is the mismatch.
    void checkElement(const Call& call, const ir::TensorDecl& t, const std::vector<std::int64_t>& index, double want,
                      double tolerance, bool& ok, Result& r) const {
        const ir::Binding& b = *call.node.findBinding(t.name);
        const double allowed = ir::isFloat(t.type) ? tolerance : 0.5;
        const auto at = graphIndex(b, index);
        const double got = prepared_.tensors.at(b.graphTensor).get(at);
        const double diff = std::isnan(got - want) ? INFINITY : std::fabs(got - want);
        ++r.checkedElements;
        if (diff > allowed && ok) {
            ok = false;
            r.status = Status::Mismatch;
            r.message = "node " + call.node.name + " wrote " + std::to_string(got) + " at " + indexText(b.graphTensor, at) +
                        "; the interpreter, given the same inputs, computes " + std::to_string(want) + " (difference " +
                        std::to_string(diff) + ", tolerance " + std::to_string(allowed) + ")";
        }
        if (diff > r.largestError) {
            r.largestError = diff;
            r.tolerance = allowed;
            r.worstAt = indexText(b.graphTensor, at) + " (node " + call.node.name + ")";
        }
    }

    const GraphRunner::Prepared& prepared_;
    const interp::Buffers& values_;
    const Options& options_;
    std::set<std::string> written_;       // graph tensors some node writes
    std::vector<interp::Buffers> inputs_; // per node of the current step
};

} // namespace

GraphRunner::GraphRunner(const ir::Module& module, LowerNode lower, bool fuse, Sweeps sweeps)
    : module_(module), lower_(std::move(lower)), fuse_(fuse), sweeps_(sweeps) {}

GraphRunner::~GraphRunner() = default;

// The graph prepared for a call: the one kept from the call before, when keepPrepared is on and that
// call was on the same graph and seed; else one made on fresh random values, which `values` (when
// given: verify checks against them) receives. With Sweeps::Faster the directions of its steps are
// measured where they matter: for a call that times the graph (`timed`) or a graph kept for one.
GraphRunner::Prepared* GraphRunner::preparedFor(const ir::Graph& graph, const Options& options, interp::Buffers* values,
                                                bool timed, std::string& error) {
    // Printing a graph of many nodes is work only a kept graph needs.
    std::string key = keep_ ? std::to_string(options.seed) + "\n" + ir::print(graph) : "";
    if (keep_ && !values && prepared_ && key == preparedKey_)
        return prepared_.get();
    prepared_.reset(); // before the new one: two of a large graph's tensors at once would not fit as well
    interp::Buffers fresh = graphValues(graph, options.seed);
    prepared_ = prepare(graph, fresh, error);
    ++preparations_;
    if (prepared_ && sweeps_ == Sweeps::Faster) {
        if (timed || keep_)
            chooseDirections(*prepared_, options);
        else
            leaveDirectionsUntimed();
    }
    preparedKey_ = std::move(key);
    if (values)
        *values = std::move(fresh);
    return prepared_.get();
}

// Frees the prepared graph at the end of a call unless it is kept for the next.
void GraphRunner::releaseUnlessKept() {
    if (!keep_)
        prepared_.reset();
}

std::unique_ptr<GraphRunner::Prepared> GraphRunner::prepare(const ir::Graph& graph, const interp::Buffers& values,
                                                            std::string& error) {
    report_.clear();
    fusedPairs_ = 0;
    bandPairs_ = 0;
    alternatedSteps_ = 0;
    alternatingOverForwards_ = 0;
    if (fuse_) {
        const auto fused = fusion::fuseEpilogues(module_, graph);
        report_ = fused.report;
        if (fused.fusedPairs > 0) {
            std::string why;
            if (auto p = prepareNodes(fused.module, fused.graph, values, why)) {
                fusedPairs_ = fused.fusedPairs;
                return p;
            }
            report_.push_back("ran unfused: the fused graph failed: " + why);
        }
    }
    return prepareNodes(module_, graph, values, error);
}

std::unique_ptr<GraphRunner::Prepared> GraphRunner::prepareNodes(const ir::Module& module, const ir::Graph& graph,
                                                                 const interp::Buffers& values, std::string& error) {
    auto p = std::make_unique<Prepared>();
    for (const auto& t : graph.tensors)
        p->tensors.emplace(t.name, NativeTensor(argumentOf(t, values.at(t.name)), values.at(t.name), p->tensors.size()));
    std::vector<Prepared::Call> calls;
    for (const auto& node : graph.nodes) {
        auto kernel = ir::nodeKernel(module, graph, node);
        if (!kernel) {
            error = "node " + node.name + ": no kernel " + node.kernel;
            return nullptr;
        }
        const std::string key = ir::print(*kernel);
        auto& compiled = kernels_[key];
        if (!compiled) {
            const auto start = Clock::now();
            auto code = lower_(node, *kernel, error);
            lowerSeconds_ += secondsSince(start);
            const auto compileStart = Clock::now();
            auto jit = code ? codegen::JitKernel::compile(std::move(code), error) : nullptr;
            compileSeconds_ += secondsSince(compileStart);
            if (!jit) {
                kernels_.erase(key);
                error = "node " + node.name + ": " + error;
                return nullptr;
            }
            compiled = std::move(jit);
        }
        Prepared::Call call{compiled, {}, node, *kernel};
        for (const auto& a : compiled->arguments()) {
            const ir::Binding* binding = node.findBinding(a.tensor);
            if (!binding) {
                error = "node " + node.name + " does not bind " + a.tensor;
                return nullptr;
            }
            const interp::Buffer& whole = values.at(binding->graphTensor);
            // A slice with its leading indices fixed starts that many strides in; the kernel must see the
            // rest of the graph tensor's layout unchanged.
            const std::size_t fixed = binding->fixedIndices.size();
            std::int64_t offset = 0;
            for (std::size_t i = 0; i < fixed; ++i)
                offset += binding->fixedIndices[i] * whole.strides[i];
            const ir::TensorDecl* decl = kernel->findTensor(a.tensor);
            const auto strides = *ir::strides(*decl, kernel->paramValues());
            if (!std::equal(strides.begin(), strides.end(), whole.strides.begin() + static_cast<long>(fixed))) {
                error = "node " + node.name + ": " + a.tensor + "'s layout differs from " + binding->graphTensor + "'s";
                return nullptr;
            }
            auto* base = static_cast<unsigned char*>(p->tensors.at(binding->graphTensor).data());
            call.pointers.push_back(base + offset * ir::byteSize(a.type));
        }
        calls.push_back(std::move(call));
    }
    for (std::size_t i = 0; i < calls.size(); ++i) {
        Prepared::Step step{calls[i], std::nullopt, 0, 0, calls[i].kernel->threads()};
        std::string why = !fuse_ || i + 1 == calls.size() ? "" : bandable(calls[i], calls[i + 1], step.rows, step.extent);
        if (fuse_ && i + 1 < calls.size() && why.empty()) {
            step.second = calls[i + 1];
            step.threads = std::max(calls[i].kernel->threads(), calls[i + 1].kernel->threads());
            report_.push_back("ran " + calls[i + 1].node.name + " band by band after " + calls[i].node.name + ", " +
                              std::to_string(step.rows) + " of " + std::to_string(step.extent) + " indices of " +
                              calls[i].kernel->parallelLoop()->dim + " per band");
            ++bandPairs_;
            ++i;
        } else if (fuse_ && i + 1 < calls.size()) {
            report_.push_back("ran " + calls[i + 1].node.name + " after the whole of " + calls[i].node.name + ": " + why);
        }
        p->steps.push_back(std::move(step));
    }
    if (sweeps_ != Sweeps::Forwards)
        alternateSweeps(*p);
    return p;
}

namespace {

// Which nodes may run backwards, as every report line on directions names them.
constexpr const char* kAfterTheSameCode = "each after a node running the same code forwards over the same largest input";

} // namespace

// A lone call that runs the same code over the same largest input as an earlier one (each step of a
// recurrence, over its weights) takes its parallel iterations in the opposite order to that call: it
// starts on the part of the input the other read last, which is still in the cache. In the same order
// every time, an input larger than the cache is read from memory whole on every call: the cache
// evicts in about the order of use, so the block each call reads next is always the one evicted.
void GraphRunner::alternateSweeps(Prepared& p) {
    std::map<std::pair<const codegen::JitKernel*, const void*>, bool> lastBackwards;
    int alternated = 0;
    for (auto& step : p.steps) {
        if (step.second || !step.first.kernel->canRunBackwards())
            continue;
        const void* largest = nullptr;
        std::int64_t largestBytes = 0;
        const auto& arguments = step.first.kernel->arguments();
        for (std::size_t a = 0; a < arguments.size(); ++a) {
            const std::int64_t bytes = arguments[a].storageElements * ir::byteSize(arguments[a].type);
            if (!arguments[a].output && bytes > largestBytes) {
                largest = step.first.pointers[a];
                largestBytes = bytes;
            }
        }
        const auto key = std::make_pair(step.first.kernel.get(), largest);
        const auto previous = lastBackwards.find(key);
        step.backwards = previous != lastBackwards.end() && !previous->second;
        step.mayGoBackwards = step.backwards;
        lastBackwards[key] = step.backwards;
        alternated += step.backwards ? 1 : 0;
    }
    alternatedSteps_ = alternated;
    if (alternated > 0 && sweeps_ == Sweeps::Alternating)
        report_.push_back("ran " + std::to_string(alternated) + " node(s) backwards over their parallel loop, " + kAfterTheSameCode +
                          ": they start on what it read last");
}

namespace {

// Pairs of whole runs that decide whether alternating pays: at least kLeastDirectionPairs, more until a
// fifth of a second (or Options::minSeconds) has passed, at most kMostDirectionPairs.
constexpr int kLeastDirectionPairs = 3;
constexpr std::size_t kMostDirectionPairs = 15;

std::string milliseconds(double seconds) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f ms", seconds * 1e3);
    return buf;
}

} // namespace

// Whether alternating pays depends on the machine: on a Zen 4 workstation a GRU's steps at hidden 2816
// ran 1.1x as fast so, while on a Zen 5 virtual machine the sequence at hidden 2048 ran 1.04-1.31x as
// fast all forwards (four pairs of `isamap graph` runs). So the graph is run both ways, in pairs whose
// order turns each time, and alternates only where that measures faster.
void GraphRunner::chooseDirections(Prepared& p, const Options& options) {
    if (alternatedSteps_ == 0)
        return;
    auto setBackwards = [&p](bool alternate) {
        for (auto& step : p.steps)
            step.backwards = alternate && step.mayGoBackwards;
    };
    setBackwards(true);
    p.run(); // warm-up
    // The first of each pair all forwards, the second alternating.
    const auto t = timeInPairs(
        [&](int which, bool) {
            setBackwards(which == 1);
            const auto t0 = Clock::now();
            p.run();
            return secondsSince(t0);
        },
        kLeastDirectionPairs, std::max(0.2, options.minSeconds), kMostDirectionPairs);
    alternatingOverForwards_ = t.ratioMedian();
    const bool alternate = alternatingOverForwards_ < 1;
    setBackwards(alternate);
    const std::string measured = milliseconds(*median(t.second)) + " a run alternating against " + milliseconds(*median(t.first)) +
                                 " all forwards (medians of " + std::to_string(t.ratios.size()) + " pairs of runs in turn)";
    const std::string nodes = std::to_string(alternatedSteps_) + " node(s)";
    if (alternate)
        report_.push_back("ran " + nodes + " backwards over their parallel loop, " + kAfterTheSameCode +
                          ", so that they start on what it read last: " + measured);
    else
        report_.push_back("ran every node forwards: taking " + nodes + " backwards, " + kAfterTheSameCode + ", measured " + measured);
    alternatedSteps_ = alternate ? alternatedSteps_ : 0;
}

// A graph only checked, and not kept, is never timed: its steps keep alternating, so that the check
// runs the code both ways, and the report says that the choice was not made.
void GraphRunner::leaveDirectionsUntimed() {
    if (alternatedSteps_ > 0)
        report_.push_back("checked " + std::to_string(alternatedSteps_) + " node(s) backwards over their parallel loop, " +
                          kAfterTheSameCode + "; which way runs faster is measured where the graph is timed");
}

Result GraphRunner::verify(const ir::Graph& graph, const Options& options,
                           const std::function<void(double, const std::string&)>& progress) {
    const AtExit release{[this] { releaseUnlessKept(); }};
    Result r;
    interp::Buffers values;
    Prepared* prepared = preparedFor(graph, options, &values, false, r.message);
    if (!prepared)
        return r;
    NodeChecker checker(*prepared, values, options);
    const auto& steps = prepared->steps;
    for (std::size_t i = 0; i < steps.size(); ++i) {
        if (!checker.before(steps[i], r))
            return r;
        Prepared::runStep(steps[i]);
        if (!checker.after(steps[i], r))
            return r;
        if (progress)
            progress(static_cast<double>(i + 1) / static_cast<double>(steps.size()),
                     steps[i].second ? steps[i].second->node.name : steps[i].first.node.name);
    }
    r.compileSeconds = compileSeconds_;
    r.status = Status::Ok;
    return r;
}

Result GraphRunner::time(const ir::Graph& graph, const Options& options, double usefulFlops) {
    const AtExit release{[this] { releaseUnlessKept(); }};
    Result r;
    Prepared* prepared = preparedFor(graph, options, nullptr, true, r.message);
    if (!prepared)
        return r;
    prepared->run(); // warm-up
    std::vector<double> times;
    const auto start = Clock::now();
    while (static_cast<int>(times.size()) < options.minRuns || secondsSince(start) < options.minSeconds) {
        const auto t0 = Clock::now();
        prepared->run();
        times.push_back(secondsSince(t0));
    }
    for (const auto& step : prepared->steps)
        r.threads = std::max(r.threads, step.threads);
    setTiming(r, std::move(times), usefulFlops);
    r.compileSeconds = compileSeconds_;
    return r;
}

std::vector<GraphRunner::StepTime> GraphRunner::profile(const ir::Graph& graph, const Options& options, int runs,
                                                        std::string& error) {
    const AtExit release{[this] { releaseUnlessKept(); }};
    Prepared* prepared = preparedFor(graph, options, nullptr, true, error);
    if (!prepared)
        return {};
    std::vector<StepTime> steps;
    std::map<std::pair<const codegen::JitKernel*, const codegen::JitKernel*>, int> codes;
    for (const auto& s : prepared->steps) {
        const auto key = std::make_pair(s.first.kernel.get(), s.second ? s.second->kernel.get() : nullptr);
        const int code = codes.emplace(key, static_cast<int>(codes.size())).first->second;
        steps.push_back({s.first.node.name + (s.second ? " and " + s.second->node.name + ", band by band" : ""), code,
                         s.backwards, 0});
    }
    prepared->run(); // warm-up
    std::vector<std::vector<double>> times(steps.size());
    for (int run = 0; run < std::max(1, runs); ++run)
        for (std::size_t i = 0; i < steps.size(); ++i) {
            const auto t0 = Clock::now();
            Prepared::runStep(prepared->steps[i]);
            times[i].push_back(secondsSince(t0));
        }
    for (std::size_t i = 0; i < steps.size(); ++i)
        steps[i].seconds = *median(times[i]);
    return steps;
}

} // namespace isamap::measure
