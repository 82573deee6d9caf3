// isamap graph: an op graph run through generated code on this CPU. Each node's kernel gets the
// fastest, timed here, of the cost model's best few proposals (the search's best and the analytical
// schedules), or with `--pick model` the model's best (plain loops when it is element-wise).
// Element-wise nodes are fused into their producers and consecutive nodes run band by band where they
// can (measure/graph.h); the result is verified node by node against the interpreter, then timed.
#include "cli/commands.h"
#include "cli/support.h"

#include "codegen/codegen.h"
#include "constraints/constraints.h"
#include "cost/cost.h"
#include "measure/graph.h"
#include "search/search.h"
#include "support/resources.h"
#include "support/statistics.h"
#include "targets/catalog.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <numeric>

namespace isamap::cli {

namespace {

struct NodePlan {
    std::string node, kernel, how;
    double modeledSeconds = 0;
    double measuredSeconds = 0; // of the schedule taken, when the proposals were timed
    int timedProposals = 0;
    std::vector<std::string> timings; // each timed proposal, modeled against measured, in the model's order
    std::string pairing;              // how the two fastest compared, timed in turn; empty when fewer were timed
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

// One schedule a node may run: the search's best for a candidate, or an analytical one, with the
// model's rank of it.
struct Proposal {
    std::size_t lowerable = 0; // which of the node's candidates
    schedule::Schedule schedule;
    std::string label;         // the analytical schedule's; empty for the search's
    cost::Rank rank;
};

Proposal propose(const schedule::Space& space, std::size_t lowerable, schedule::Schedule s, std::string label) {
    const cost::Rank rank = cost::rank(space, s);
    return Proposal{lowerable, std::move(s), std::move(label), rank};
}

// How many of the model's best proposals are timed when a node's pick is measured.
constexpr std::size_t kTimedProposals = 4;

std::string proposalName(const Proposal& p) { return p.label.empty() ? "the search's best" : p.label; }

// Runs of a few hundredths of a second each, one after the other, can land in different moments of a
// machine whose speed drifts (a GRU step's search pick measured 1.55 ms against the column sweep's
// 1.64 in a slow minute, where the sweep is 5-20% faster in pairs). So the two fastest are timed
// again in turn, and the one faster over the pairs is taken. Says how they compared in `plan`.
bool decideInPairs(const ir::Kernel& kernel, const ir::Target& target, const std::vector<codegen::Lowerable>& lowerable,
                   const std::vector<Proposal>& proposals, measure::Options timing, measure::Reference& reference,
                   std::size_t& taken, std::size_t runnerUp, NodePlan& plan, std::string& error) {
    const Proposal& first = proposals[taken];
    const Proposal& second = proposals[runnerUp];
    const auto& a = lowerable[first.lowerable];
    const auto& b = lowerable[second.lowerable];
    timing.minRuns = 10;
    timing.minSeconds = 0.2;
    const auto pairs = measure::compareInProcess(kernel, target, {*a.candidate, a.space, first.schedule},
                                                 {*b.candidate, b.space, second.schedule}, timing, reference);
    if (!pairs.ok()) {
        error = "kernel " + kernel.name + ": " + pairs.failure();
        return false;
    }
    char figures[160];
    std::snprintf(figures, sizeof figures, "timed in turn, %d pairs: %zu. takes %.3f times as long as %zu. (middle half of the pairs %.3f-%.3f)",
                  pairs.pairs, runnerUp + 1, pairs.ratioMedian, taken + 1, pairs.ratioLow, pairs.ratioHigh);
    plan.pairing = figures;
    if (pairs.ratioMedian < 1) {
        taken = runnerUp;
        plan.measuredSeconds = pairs.second.secondsMedian;
    } else {
        plan.measuredSeconds = pairs.first.secondsMedian;
    }
    return true;
}

// Generates a node's kernel at the best of the proposals: the search's best over the first valid
// candidates of the kernel's first statement (each within the constraints that apply to it) and the
// analytical schedules, which the search's budget does not always reach (a depthwise layer's best
// found was modeled at 41 us, its window sweep at 15, and measured 45 against 20-24). The best is the
// model's, or with `timed` the fastest of the model's first few timed on this CPU (the two fastest
// timed again in turn, decideInPairs): the model can miss by far (a pointwise layer's search pick on
// two cores, modeled 439 us, measured 0.63 ms, 1.5 ms before its sweep was kept rolled, against
// 0.44 ms for a Goto blocking it modeled at 573).
std::unique_ptr<codegen::Code> lowerNode(const ir::Kernel& kernel, const ir::Target& target, const constraints::Set& required,
                                         std::int64_t evaluations, const codegen::Options& options, bool timed,
                                         NodePlan& plan, std::string& error) {
    const auto mapped = mapping::mapKernel(kernel, target);
    auto strategy = search::makeStrategy("annealing", error);
    const auto lowerable = codegen::lowerableCandidates(kernel, target, mapped, 2);
    std::vector<Proposal> proposals;
    for (std::size_t i = 0; i < lowerable.size(); ++i) {
        const schedule::Space& space = lowerable[i].space;
        const constraints::Set kept = applicable(required, space);
        search::Options o;
        o.budget.evaluations = evaluations;
        o.keepBest = 1;
        o.constraints = &kept;
        auto found = strategy->run(space, o);
        if (!found.best.empty())
            proposals.push_back(propose(space, i, std::move(found.best.front().schedule), ""));
        for (auto& a : schedule::analyticalSchedules(space))
            if (kept.allows(space, a.schedule))
                proposals.push_back(propose(space, i, std::move(a.schedule), a.label));
    }
    if (proposals.empty()) {
        error = "no candidate of kernel " + kernel.name + " has a legal schedule" +
                (required.items.empty() ? "" : " within the constraints");
        return nullptr;
    }
    std::stable_sort(proposals.begin(), proposals.end(),
                     [](const Proposal& a, const Proposal& b) { return cost::ranksAbove(a.rank, b.rank); });
    std::size_t taken = 0;
    if (timed) {
        measure::Options timing;
        timing.minRuns = 3;
        timing.minSeconds = 0.05;
        timing.codegen = options;
        const std::size_t count = std::min(proposals.size(), kTimedProposals);
        std::fprintf(stderr, "timing the model's %zu best schedules of %s\n", count, kernel.name.c_str());
        measure::Reference reference(kernel, timing); // one set of inputs and one interpreter run for all
        std::vector<double> seconds; // each proposal's median, in the model's order
        for (std::size_t p = 0; p < count; ++p) {
            const auto& l = lowerable[proposals[p].lowerable];
            const auto r = measure::measureInProcess(kernel, target, *l.candidate, l.space, proposals[p].schedule, timing, reference);
            if (r.status != measure::Status::Ok) {
                error = "kernel " + kernel.name + ": a proposed schedule failed: " + r.message;
                return nullptr;
            }
            seconds.push_back(r.secondsMedian);
            char figures[96];
            std::snprintf(figures, sizeof figures, ": modeled %.3g us, measured %.3g us", proposals[p].rank.seconds * 1e6,
                          r.secondsMedian * 1e6);
            plan.timings.push_back(proposalName(proposals[p]) + " (" + l.candidate->key + ")" + figures);
        }
        // The fastest of the single timings, and the runner-up timed again against it in turn (ties go
        // to the model's order).
        std::vector<std::size_t> byTime(count);
        std::iota(byTime.begin(), byTime.end(), std::size_t{0});
        std::stable_sort(byTime.begin(), byTime.end(), [&](std::size_t a, std::size_t b) { return seconds[a] < seconds[b]; });
        taken = byTime[0];
        plan.measuredSeconds = seconds[taken];
        if (count > 1 && !decideInPairs(kernel, target, lowerable, proposals, timing, reference, taken, byTime[1], plan, error))
            return nullptr;
        plan.timings[taken] += " (taken)";
        plan.timedProposals = static_cast<int>(count);
    }
    const Proposal& best = proposals[taken];
    const auto& l = lowerable[best.lowerable];
    plan.how = l.candidate->key + (best.label.empty() ? "" : " (" + best.label + ")");
    plan.modeledSeconds = best.rank.seconds;
    return codegen::generate(kernel, target, *l.candidate, l.space, best.schedule, options, error);
}

double medianSeconds(const std::vector<const measure::GraphRunner::StepTime*>& steps) {
    std::vector<double> seconds;
    for (const auto* s : steps)
        seconds.push_back(s->seconds);
    return seconds.empty() ? 0 : *median(seconds);
}

// Steps of a long recurrence reported apart, as they run slower until the caches settle: a GRU's steps
// at hidden 2048, batch 4, took 1.7 ms right after the input product and 1.0 ms, their time alone,
// after about ten (docs/PERFORMANCE.md).
constexpr std::size_t kSettlingSteps = 10;

// One line per compiled code, in the order each first ran: a recurrence's steps share a line that
// gives their median and the slowest (the first steps after a large product start on cold caches),
// the first ten together against ten at the median where there are at least twice as many, and,
// where every other step runs backwards, each direction's median.
void printProfile(const std::vector<measure::GraphRunner::StepTime>& steps, int runs) {
    struct Line {
        std::string label, details;
        double seconds = 0;
    };
    std::vector<Line> lines;
    double total = 0;
    for (const auto& s : steps)
        total += s.seconds;
    for (int code = 0;; ++code) {
        std::vector<const measure::GraphRunner::StepTime*> all, forwards, backwards;
        Line line;
        for (const auto& s : steps)
            if (s.code == code) {
                all.push_back(&s);
                (s.backwards ? backwards : forwards).push_back(&s);
                line.seconds += s.seconds;
            }
        if (all.empty())
            break;
        line.label = all.front()->nodes;
        if (all.size() > 1) {
            line.label += " .. " + all.back()->nodes + " (" + std::to_string(all.size()) + " nodes)";
            const auto* slowest = *std::max_element(all.begin(), all.end(), [](auto* a, auto* b) { return a->seconds < b->seconds; });
            const double middle = medianSeconds(all);
            line.details = "each " + timeText(middle) + " (median), the slowest " + slowest->nodes + " at " + timeText(slowest->seconds);
            if (all.size() >= 2 * kSettlingSteps) {
                double first = 0;
                for (std::size_t i = 0; i < kSettlingSteps; ++i)
                    first += all[i]->seconds;
                const std::string n = std::to_string(kSettlingSteps);
                line.details += "; the first " + n + " together " + timeText(first) + ", against " +
                                timeText(kSettlingSteps * middle) + " for " + n + " at the median";
            }
            if (!forwards.empty() && !backwards.empty())
                line.details += "; forwards " + timeText(medianSeconds(forwards)) + ", backwards " + timeText(medianSeconds(backwards));
        }
        lines.push_back(line);
    }
    std::size_t width = 0;
    for (const auto& l : lines)
        width = std::max(width, l.label.size());
    std::printf("where the time goes: each node timed on its own inside %d runs of the graph (medians, together %s):\n",
                runs, timeText(total).c_str());
    for (const auto& l : lines) {
        std::printf("  %-*s %10s %4.0f%%\n", static_cast<int>(width), l.label.c_str(), timeText(l.seconds).c_str(),
                    total > 0 ? 100 * l.seconds / total : 0.0);
        if (!l.details.empty())
            std::printf("      %s\n", l.details.c_str());
    }
}

} // namespace

int graphCommand(const std::vector<std::string>& args) {
    const char* line = "graph GRAPH_FILE_OR_NAME --target T [KEY=VALUE...] [--graph NAME] [--threads N] [--budget N]\n"
                       "       [--constraints FILE] [--pick measured|model] [--no-fuse] [--alternate|--no-alternate]\n"
                       "       [--runs N]";
    auto split = splitArgs(args, {"target", "graph", "threads", "budget", "constraints", "pick", "runs"});
    if (!split.error.empty())
        return usage(split.error, line);
    if (split.positional.size() != 1 || !split.options.count("target"))
        return usage("graph takes a graph file or library name and --target", line);
    for (const auto& [name, value] : split.options)
        if (name != "target" && name != "graph" && name != "threads" && name != "budget" && name != "constraints" &&
            name != "pick" && name != "runs" && name != "no-fuse" && name != "no-alternate" && name != "alternate")
            return usage("unknown option --" + name, line);
    if (split.options.count("alternate") && split.options.count("no-alternate"))
        return usage("--alternate and --no-alternate contradict each other", line);
    const auto sweeps = split.options.count("no-alternate") ? measure::Sweeps::Forwards
                        : split.options.count("alternate")  ? measure::Sweeps::Alternating
                                                            : measure::Sweeps::Faster;
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
    const std::string pick = split.options.count("pick") ? split.options["pick"] : "measured";
    if (pick != "measured" && pick != "model")
        return usage("--pick takes measured or model, not " + pick, line);
    const bool timedPick = pick == "measured";
    const std::int64_t evaluations = split.options.count("budget") ? std::max(1L, std::atol(split.options["budget"].c_str())) : 3000;
    const ir::Target planned = options.threads > 0 ? targets::withCores(target->target, options.threads) : target->target;

    std::vector<NodePlan> plans;
    measure::GraphRunner runner(*module, [&](const ir::Node& node, const ir::Kernel& kernel, std::string& e) -> std::unique_ptr<codegen::Code> {
        NodePlan plan{node.name, kernel.name, "plain loops (element-wise)", 0};
        auto code = codegen::isElementwise(kernel) ? codegen::generateElementwise(kernel, options, e)
                                                   : lowerNode(kernel, planned, required, evaluations, options, timedPick, plan, e);
        if (code)
            plans.push_back(plan);
        return code;
    }, !split.options.count("no-fuse"), sweeps);
    runner.keepPrepared(true); // verified, timed and profiled on the same tensors

    std::printf("graph %s (%s) on %s, %zu nodes\n", graph.name.c_str(), paramsText(graph.params).c_str(),
                target->target.name.c_str(), graph.nodes.size());
    // The interpreter's check of a long sequence takes seconds: say how far it has come.
    int lastTenth = 0;
    const measure::Options checking;
    const auto checked = runner.verify(graph, checking, [&](double fraction, const std::string& node) {
        const int tenth = static_cast<int>(fraction * 10);
        if (tenth > lastTenth && fraction < 1) {
            lastTenth = tenth;
            std::fprintf(stderr, "verifying node by node: %d%%, through %s\n", tenth * 10, node.c_str());
        }
    });
    for (const auto& p : plans) {
        std::printf("  %-28s %s", p.node.c_str(), p.how.c_str());
        if (p.modeledSeconds > 0)
            std::printf(", modeled %.3g us", p.modeledSeconds * 1e6);
        if (p.timedProposals > 0)
            std::printf(", measured %.3g us, the fastest of the model's %d best", p.measuredSeconds * 1e6, p.timedProposals);
        std::printf("\n");
        for (std::size_t t = 0; t < p.timings.size(); ++t)
            std::printf("      %zu. %s\n", t + 1, p.timings[t].c_str());
        if (!p.pairing.empty())
            std::printf("      %s\n", p.pairing.c_str());
    }
    for (const auto& r : runner.fusionReport())
        std::printf("  %s\n", r.c_str());
    if (checked.status != measure::Status::Ok) {
        std::cerr << "isamap: " << checked.message << "\n";
        return 1;
    }
    const std::string sampling = checked.sampled ? " (nodes of more than " + std::to_string(checking.fullCheckPoints / 1'000'000) +
                                                       " million iteration points on a random sample of their output)"
                                                 : "";
    std::printf("verified node by node against the interpreter: %lld elements%s, largest difference %.3g%s%s (tolerance %.3g)\n",
                static_cast<long long>(checked.checkedElements), sampling.c_str(), checked.largestError,
                checked.worstAt.empty() ? "" : " at ", checked.worstAt.c_str(), checked.tolerance);
    measure::Options timing;
    if (split.options.count("runs"))
        timing.minRuns = std::max(1, std::atoi(split.options["runs"].c_str()));
    const auto timed = runner.time(graph, timing, 0);
    if (timed.status != measure::Status::Ok) {
        std::cerr << "isamap: " << timed.message << "\n";
        return 1;
    }
    std::printf("time: median %s over %d runs (min %s, max %s); %d kernels: schedules chosen in %.2f s%s, compiled in %.2f s\n",
                timeText(timed.secondsMedian).c_str(), timed.runs, timeText(timed.secondsMin).c_str(),
                timeText(timed.secondsMax).c_str(), runner.compiledKernels(), runner.lowerSeconds(),
                timedPick ? " (searched, proposals timed)" : " (searched)", timed.compileSeconds);
    constexpr int kProfiledRuns = 5;
    const auto steps = runner.profile(graph, timing, kProfiledRuns, error);
    if (steps.empty()) {
        std::cerr << "isamap: " << error << "\n";
        return 1;
    }
    printProfile(steps, kProfiledRuns);
    return 0;
}

} // namespace isamap::cli
