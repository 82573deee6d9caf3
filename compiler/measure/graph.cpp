#include "measure/graph.h"

#include "measure/native.h"

#include "fusion/fusion.h"
#include "ir/printer.h"
#include "support/statistics.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

namespace isamap::measure {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

codegen::Argument argumentOf(const ir::TensorDecl& t, const interp::Buffer& b) {
    codegen::Argument a{t.name, t.type, b.shape, 1, t.role != ir::TensorRole::In};
    for (std::size_t i = 0; i < b.shape.size(); ++i)
        a.storageElements += (b.shape[i] - 1) * b.strides[i];
    return a;
}

// Random inputs, zero outputs and temporaries: every tensor of the graph.
interp::Buffers graphValues(const ir::Graph& graph, std::uint64_t seed) {
    interp::Buffers values = interp::randomInputs(graph, seed);
    for (const auto& t : graph.tensors)
        if (!values.count(t.name))
            values[t.name] = *interp::allocate(t, graph.paramValues());
    return values;
}

} // namespace

std::int64_t GraphRunner::longestReduction(const ir::Graph& graph) const {
    std::int64_t longest = 1;
    for (const auto& node : graph.nodes) {
        const auto kernel = ir::nodeKernel(module_, graph, node);
        if (!kernel)
            continue;
        for (const auto& s : kernel->statements) {
            std::set<std::string> used;
            for (const auto& idx : s.target.indices)
                for (const auto& t : idx.terms)
                    used.insert(t.dim);
            std::int64_t n = 1;
            for (const auto& d : kernel->dims)
                if (d.reduction && !used.count(d.name))
                    n *= *ir::evaluate(d.extent, kernel->paramValues());
            longest = std::max(longest, n);
        }
    }
    return longest;
}

struct GraphRunner::Prepared {
    std::map<std::string, NativeTensor> tensors;
    struct Call {
        std::shared_ptr<codegen::JitKernel> kernel;
        std::vector<void*> pointers;
    };
    std::vector<Call> calls;
    void run() const {
        for (const auto& c : calls)
            c.kernel->run(c.pointers.data());
    }
};

GraphRunner::GraphRunner(const ir::Module& module, LowerNode lower, bool fuse)
    : module_(module), lower_(std::move(lower)), fuse_(fuse) {}

std::unique_ptr<GraphRunner::Prepared> GraphRunner::prepare(const ir::Graph& graph, const interp::Buffers& values,
                                                            std::string& error) {
    report_.clear();
    fusedPairs_ = 0;
    if (fuse_) {
        const auto fused = fusion::fuseEpilogues(module_, graph);
        if (fused.fusedPairs > 0) {
            std::string why;
            if (auto p = prepareNodes(fused.module, fused.graph, values, why)) {
                report_ = fused.report;
                fusedPairs_ = fused.fusedPairs;
                return p;
            }
            report_.push_back("ran unfused: the fused graph failed: " + why);
        } else {
            report_ = fused.report;
        }
    }
    return prepareNodes(module_, graph, values, error);
}

std::unique_ptr<GraphRunner::Prepared> GraphRunner::prepareNodes(const ir::Module& module, const ir::Graph& graph,
                                                                 const interp::Buffers& values, std::string& error) {
    auto p = std::make_unique<Prepared>();
    for (const auto& t : graph.tensors)
        p->tensors.emplace(t.name, NativeTensor(argumentOf(t, values.at(t.name)), values.at(t.name)));
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
            auto jit = code ? codegen::JitKernel::compile(std::move(code), error) : nullptr;
            if (!jit) {
                kernels_.erase(key);
                error = "node " + node.name + ": " + error;
                return nullptr;
            }
            compiled = std::move(jit);
            compileSeconds_ += secondsSince(start);
        }
        Prepared::Call call{compiled, {}};
        for (const auto& a : compiled->arguments()) {
            const auto binding = std::find_if(node.bindings.begin(), node.bindings.end(),
                                              [&](const ir::Binding& b) { return b.kernelTensor == a.tensor; });
            if (binding == node.bindings.end()) {
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
        p->calls.push_back(std::move(call));
    }
    return p;
}

Result GraphRunner::verify(const ir::Graph& graph, const Options& options) {
    Result r;
    interp::Buffers values = graphValues(graph, options.seed);
    auto prepared = prepare(graph, values, r.message);
    if (!prepared)
        return r;
    prepared->run();
    interp::Buffers reference = values;
    for (auto& [name, b] : reference) { // the interpreter writes into its own copies
        interp::Buffer copy = b;
        copy.storage = std::make_shared<std::vector<double>>(*b.storage);
        b = copy;
    }
    if (auto why = interp::run(graph, module_, reference)) {
        r.message = "the reference interpreter failed: " + *why;
        return r;
    }
    // Each node's f32 sums may differ from the interpreter's by the kernel rule (2^-22 per term of the
    // longest reduction); the element-wise tail after them can add up to a few of those together.
    r.tolerance = 1e-5 + std::ldexp(1.0, -20) * static_cast<double>(longestReduction(graph));
    for (const auto& t : graph.tensors) {
        if (t.role != ir::TensorRole::Out)
            continue;
        const interp::Buffer& expected = reference.at(t.name);
        const NativeTensor& got = prepared->tensors.at(t.name);
        expected.forEach([&](const std::vector<std::int64_t>& index) {
            const double diff = std::fabs(got.get(index) - expected.at(index));
            ++r.checkedElements;
            if (diff > r.largestError || std::isnan(diff)) {
                r.largestError = std::isnan(diff) ? INFINITY : diff;
                r.worstAt = t.name;
            }
        });
    }
    r.compileSeconds = compileSeconds_;
    if (!(r.largestError <= r.tolerance)) {
        r.status = Status::Mismatch;
        r.message = "the generated graph's result differs from the interpreter's by " + std::to_string(r.largestError) +
                    " in " + r.worstAt;
        return r;
    }
    r.status = Status::Ok;
    return r;
}

Result GraphRunner::time(const ir::Graph& graph, const Options& options, double usefulFlops) {
    Result r;
    interp::Buffers values = graphValues(graph, options.seed);
    auto prepared = prepare(graph, values, r.message);
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
    std::sort(times.begin(), times.end());
    r.runs = static_cast<int>(times.size());
    r.secondsMedian = *median(times);
    r.secondsMin = times.front();
    r.secondsMax = times.back();
    r.gflops = usefulFlops / r.secondsMedian / 1e9;
    r.compileSeconds = compileSeconds_;
    r.status = Status::Ok;
    return r;
}

} // namespace isamap::measure
