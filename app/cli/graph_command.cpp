// isamap graph: an op graph run through generated code on this CPU. Each node's kernel gets the cost
// model's best schedule, of those its search found and the analytical ones (or plain loops when it is
// element-wise), element-wise nodes are fused into their producers and consecutive nodes run band by
// band where they can (measure/graph.h); the result is verified against the interpreter's run of the
// original graph, then timed.
#include "cli/commands.h"
#include "cli/support.h"

#include "codegen/codegen.h"
#include "constraints/constraints.h"
#include "cost/cost.h"
#include "measure/graph.h"
#include "search/search.h"
#include "support/resources.h"
#include "targets/catalog.h"

#include <cstdio>
#include <iostream>

namespace isamap::cli {

namespace {

struct NodePlan {
    std::string node, kernel, how;
    double modeledSeconds = 0;
};

// The constraints that name only loops, levels and operands the space has: one file can then steer
// every node (`parallel oh` for the depthwise kernel, `parallel h` for the pointwise one).
constraints::Set applicable(const constraints::Set& all, const schedule::Space& space) {
    constraints::Set kept;
    for (const auto& c : all.items) {
        constraints::Set one;
        one.items.push_back(c);
        if (one.unknownNames(space).empty())
            kept.items.push_back(c);
    }
    return kept;
}

// Whether the model ranks `a` above `b`: faster, or as fast with less work in all (the sum of its
// breakdown's terms, overlapped or not). The model prices the window sweep on one row and on two at the
// same compute bound; two rows load fewer input vectors and measured 1.2-1.4x faster.
bool modeledBetter(const schedule::Space& space, const schedule::Schedule& a, const schedule::Schedule& b) {
    const cost::Breakdown x = cost::explain(space, a), y = cost::explain(space, b);
    if (x.seconds < y.seconds * (1 - 1e-9) || x.seconds > y.seconds * (1 + 1e-9))
        return x.seconds < y.seconds;
    auto work = [](const cost::Breakdown& z) {
        double sum = 0;
        for (const auto& t : z.terms)
            sum += t.seconds;
        return sum;
    };
    return work(x) < work(y);
}

// The model's best schedule over the first valid candidates of the kernel's first statement (each
// with the constraints that apply to it); empty with `error` when none has a legal schedule.
std::unique_ptr<codegen::Code> lowerByModel(const ir::Kernel& kernel, const ir::Target& target,
                                            const constraints::Set& required, std::int64_t evaluations,
                                            const codegen::Options& options, NodePlan& plan, std::string& error) {
    const auto mapped = mapping::mapKernel(kernel, target);
    auto strategy = search::makeStrategy("annealing", error);
    std::optional<search::Evaluated> best;
    const mapping::Candidate* bestCandidate = nullptr;
    std::optional<schedule::Space> bestSpace;
    std::string bestLabel; // the analytical schedule chosen, if one was
    for (auto& [candidate, space] : codegen::lowerableCandidates(kernel, target, mapped, 2)) {
        const constraints::Set kept = applicable(required, space);
        search::Options o;
        o.budget.evaluations = evaluations;
        o.keepBest = 1;
        o.constraints = &kept;
        auto found = strategy->run(space, o);
        // The analytical schedules (the window sweep, the Goto blocking) as proposals too, ranked by the
        // same model: the search's budget does not always reach them (a depthwise layer's best found
        // was modeled at 41 us, its window sweep at 15, and measured 45 against 20-24).
        std::string label;
        for (auto& a : schedule::analyticalSchedules(space))
            if (kept.allows(space, a.schedule) &&
                (found.best.empty() || modeledBetter(space, a.schedule, found.best.front().schedule))) {
                const double modeled = cost::modeledSeconds(space, a.schedule);
                found.best.insert(found.best.begin(), search::Evaluated{std::move(a.schedule), modeled, 0});
                label = a.label;
            }
        if (!found.best.empty() && (!best || found.best.front().seconds < best->seconds)) {
            best = found.best.front();
            bestCandidate = candidate;
            bestSpace = std::move(space);
            bestLabel = label;
        }
    }
    if (!best) {
        error = "no candidate of kernel " + kernel.name + " has a legal schedule" +
                (required.items.empty() ? "" : " within the constraints");
        return nullptr;
    }
    plan.how = bestCandidate->key + (bestLabel.empty() ? "" : " (" + bestLabel + ")");
    plan.modeledSeconds = best->seconds;
    return codegen::generate(kernel, target, *bestCandidate, *bestSpace, best->schedule, options, error);
}

} // namespace

int graphCommand(const std::vector<std::string>& args) {
    const char* line = "graph GRAPH_FILE_OR_NAME --target T [KEY=VALUE...] [--graph NAME] [--threads N] [--budget N]\n"
                       "       [--constraints FILE] [--no-fuse] [--runs N]";
    auto split = splitArgs(args, {"target", "graph", "threads", "budget", "constraints", "runs"});
    if (!split.error.empty())
        return usage(split.error, line);
    if (split.positional.size() != 1 || !split.options.count("target"))
        return usage("graph takes a graph file or library name and --target", line);
    for (const auto& [name, value] : split.options)
        if (name != "target" && name != "graph" && name != "threads" && name != "budget" && name != "constraints" &&
            name != "runs" && name != "no-fuse")
            return usage("unknown option --" + name, line);
    std::map<std::string, std::int64_t> overrides;
    auto module = loadInput(split.positional[0], split.values, overrides);
    if (!module)
        return 1;
    const std::string wanted = split.options.count("graph") ? split.options["graph"] : "";
    const ir::Graph* found = wanted.empty() ? (module->graphs.empty() ? nullptr : &module->graphs.front()) : module->findGraph(wanted);
    if (!found) {
        std::cerr << "isamap: " << (wanted.empty() ? "the input has no graph" : "no graph named '" + wanted + "'") << "\n";
        return 1;
    }
    ir::Graph graph = *found;
    if (!applyOverrides(graph, overrides))
        return 1;
    std::string error;
    auto target = targets::loadTarget(split.options["target"], error);
    if (!target) {
        std::cerr << "isamap: " << error << "\n";
        return 1;
    }
    constraints::Set required;
    if (split.options.count("constraints")) {
        auto text = readFile(split.options["constraints"], error);
        if (!text) {
            std::cerr << "isamap: " << error << "\n";
            return 1;
        }
        auto parsed = constraints::parse(ir::SourceFile{split.options["constraints"], *text});
        if (!parsed.diagnostics.empty()) {
            std::cerr << ir::format(parsed.diagnostics);
            return 1;
        }
        required = parsed.set;
    }
    codegen::Options options;
    if (split.options.count("threads"))
        options.threads = std::max(1, std::atoi(split.options["threads"].c_str()));
    const std::int64_t evaluations = split.options.count("budget") ? std::max(1L, std::atol(split.options["budget"].c_str())) : 3000;
    const ir::Target planned = options.threads > 0 ? targets::withCores(target->target, options.threads) : target->target;

    std::vector<NodePlan> plans;
    measure::GraphRunner runner(*module, [&](const ir::Node& node, const ir::Kernel& kernel, std::string& e) -> std::unique_ptr<codegen::Code> {
        NodePlan plan{node.name, kernel.name, "plain loops (element-wise)", 0};
        auto code = codegen::isElementwise(kernel) ? codegen::generateElementwise(kernel, options, e)
                                                   : lowerByModel(kernel, planned, required, evaluations, options, plan, e);
        if (code)
            plans.push_back(plan);
        return code;
    }, !split.options.count("no-fuse"));

    std::printf("graph %s (%s) on %s, %zu nodes\n", graph.name.c_str(), paramsText(graph.params).c_str(),
                target->target.name.c_str(), graph.nodes.size());
    const auto checked = runner.verify(graph, measure::Options{});
    for (const auto& p : plans) {
        std::printf("  %-28s %s", p.node.c_str(), p.how.c_str());
        if (p.modeledSeconds > 0)
            std::printf(", modeled %.3g us", p.modeledSeconds * 1e6);
        std::printf("\n");
    }
    for (const auto& r : runner.fusionReport())
        std::printf("  %s\n", r.c_str());
    if (checked.status != measure::Status::Ok) {
        std::cerr << "isamap: " << checked.message << "\n";
        return 1;
    }
    std::printf("verified node by node against the interpreter: %lld elements, largest difference %.3g%s%s (tolerance %.3g)\n",
                static_cast<long long>(checked.checkedElements), checked.largestError, checked.worstAt.empty() ? "" : " at ",
                checked.worstAt.c_str(), checked.tolerance);
    measure::Options timing;
    if (split.options.count("runs"))
        timing.minRuns = std::max(1, std::atoi(split.options["runs"].c_str()));
    const auto timed = runner.time(graph, timing, 0);
    if (timed.status != measure::Status::Ok) {
        std::cerr << "isamap: " << timed.message << "\n";
        return 1;
    }
    std::printf("time: median %.4g ms over %d runs (min %.4g, max %.4g); %d kernels compiled in %.2f s\n",
                timed.secondsMedian * 1e3, timed.runs, timed.secondsMin * 1e3, timed.secondsMax * 1e3,
                runner.compiledKernels(), timed.compileSeconds);
    return 0;
}

} // namespace isamap::cli
