#include "sim/sim.h"

#include "sim/functional.h"
#include "sim/loopnest.h"
#include "sim/machine.h"

#include "ir/check.h"
#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>

namespace isamap::sim {

using schedule::Schedule;
using schedule::Space;

namespace {

using Clock = std::chrono::steady_clock;

// Levels of the target below the first one under the outermost are private to each unit (the
// targets describe them per unit); the others are shared by all units.
bool privateLevel(const ir::Target& target, const std::string& memory) {
    int depth = 0;
    for (const ir::Memory* m = target.findMemory(memory); m && !m->parent.empty() && depth < 16;
         m = target.findMemory(m->parent))
        ++depth;
    return depth >= 2;
}

// One buffer of one operand at one level of one unit: the task that last wrote it, and the last task
// on each resource that used it (all of which a new tile must wait for before overwriting it).
struct Buffer {
    int writer = -1;
    std::vector<std::pair<int, int>> users; // (resource, task)
    void use(int resource, int task) {
        for (auto& [r, t] : users)
            if (r == resource) {
                t = task;
                return;
            }
        users.emplace_back(resource, task);
    }
    void appendWaits(std::vector<int>& deps) const {
        if (writer >= 0)
            deps.push_back(writer);
        for (const auto& [r, t] : users)
            deps.push_back(t);
    }
};

struct Held {
    Buffer slots[2];
    int current = 0;
    std::int64_t fetches = 0;
};

// Walks the loop nest of every unit, issuing the tasks of the machine.
class TaskBuilder {
public:
    TaskBuilder(const ir::Target& target, const Space& space, const Schedule& s, const LoopNest& nest,
                const std::string& unitName)
        : target_(target), space_(space), s_(s), nest_(nest) {
        for (std::int64_t u = 0; u < std::max<std::int64_t>(space.units, nest.workers()); ++u)
            resources_.push_back({unitName + std::to_string(u), true});
        movers_.assign(nest.levels(), std::vector<int>(static_cast<std::size_t>(nest.workers()), -1));
        for (std::size_t l = 1; l < nest.levels(); ++l) {
            const std::string& memory = space.levels[l].memory;
            const ir::Memory* m = target.findMemory(memory);
            const std::string route = (m && !m->parent.empty() ? m->parent : space.levels[l - 1].memory) + " -> " + memory;
            if (!privateLevel(target, memory)) {
                resources_.push_back({route, false});
                std::fill(movers_[l].begin(), movers_[l].end(), static_cast<int>(resources_.size()) - 1);
                continue;
            }
            for (std::int64_t w = 0; w < nest.workers(); ++w) {
                resources_.push_back({route + " #" + std::to_string(w), false});
                movers_[l][static_cast<std::size_t>(w)] = static_cast<int>(resources_.size()) - 1;
            }
        }
        const std::size_t nl = nest.levels(), no = space.operands.size();
        for (std::int64_t w = 0; w < nest.workers(); ++w) {
            residency_.emplace_back(space, s);
            held_.emplace_back(nl, std::vector<Held>(no));
        }
        computeLabel_ = label(space.instruction + " calls");
    }

    // Issues the tasks of round `round`: the round-th outer iteration of every unit.
    void issueRound(const std::vector<std::vector<std::int64_t>>& byWorker, int round) {
        round_ = round;
        for (std::size_t w = 0; w < byWorker.size(); ++w) {
            if (static_cast<std::size_t>(round) >= byWorker[w].size())
                continue;
            worker_ = w;
            const Ranges tile = nest_.outerTile(byWorker[w][static_cast<std::size_t>(round)]);
            if (nest_.levels() < 2) {
                walk(0, tile);
                continue;
            }
            enter(1, tile);
            walk(1, tile);
        }
    }
    // The last write-backs of every unit.
    void issueFlush(int round) {
        round_ = round;
        for (std::size_t w = 0; w < residency_.size(); ++w) {
            worker_ = w;
            residency_[w].flush([&](std::size_t o, std::size_t l) { writeBack(o, l); });
        }
    }

    std::vector<MachineResource>& resources() { return resources_; }
    std::vector<MachineTask>& tasks() { return tasks_; }
    const std::vector<std::string>& labels() const { return labels_; }
    // The level each transfer task moves data into or out of; -1 for a compute.
    const std::vector<int>& levelOf() const { return levelOf_; }

private:
    int label(const std::string& text) {
        auto it = labelIndex_.find(text);
        if (it != labelIndex_.end())
            return it->second;
        labels_.push_back(text);
        return labelIndex_[text] = static_cast<int>(labels_.size()) - 1;
    }

    void walk(std::size_t l, const Ranges& tile) {
        if (l + 1 == nest_.levels()) {
            compute(tile);
            return;
        }
        nest_.forEachChild(l, tile, [&](const Ranges& child) {
            enter(l + 1, child);
            walk(l + 1, child);
        });
    }

    void enter(std::size_t l, const Ranges& tile) {
        residency_[worker_].enter(
            l, tile, [&](std::size_t o, std::size_t level) { fetch(o, level); },
            [&](std::size_t o, std::size_t level) { writeBack(o, level); });
    }

    Held& held(std::size_t l, std::size_t o) { return held_[worker_][l][o]; }

    int add(int resource, double duration, std::vector<int> deps, int what, double bytes, int level, double latency = 0) {
        std::sort(deps.begin(), deps.end());
        deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
        tasks_.push_back({resource, duration, std::move(deps), what, bytes, round_, latency});
        levelOf_.push_back(level);
        return static_cast<int>(tasks_.size()) - 1;
    }

    double tileBytes(std::size_t o, std::size_t l) const {
        const auto sizes = LoopNest::sizes(residency_[worker_].tileOf(o, l));
        return static_cast<double>(schedule::footprint(space_, o, sizes)) * space_.operands[o].bytesPerElement;
    }

    // The rate and latency of the target's own move instruction from memory `from` into `to`: bytes per
    // issue times issues per second, on every unit that can run it when the level is shared.
    struct MoveRate {
        double bytesPerSecond = 0;
        double latency = 0;
    };
    std::optional<MoveRate> moveRate(const std::string& from, const std::string& to) const {
        for (const auto& ins : target_.instructions) {
            if (ins.kind != ir::Instruction::Kind::Move || ins.body.statements.size() != 1)
                continue;
            const auto& st = ins.body.statements.front();
            const ir::TensorDecl* dst = ins.body.findTensor(st.target.tensor);
            const ir::TensorDecl* src = ins.body.findTensor(st.value.access.tensor);
            const ir::Unit* unit = target_.findUnit(ins.unit);
            if (!dst || !src || !unit || src->memory != from || dst->memory != to)
                continue;
            double bytesPerIssue = ir::byteSize(src->type);
            for (const auto& e : src->shape)
                bytesPerIssue *= static_cast<double>(ir::evaluate(e, {}).value_or(1));
            const double units = privateLevel(target_, to) && privateLevel(target_, from) ? 1.0 : static_cast<double>(unit->count);
            return MoveRate{bytesPerIssue * ins.throughput * unit->clock * units,
                            static_cast<double>(ins.latency) / unit->clock};
        }
        return std::nullopt;
    }

    // A transfer into (or, written back, out of) level l from `other` above it, by the target's move
    // instruction between the two memories, or, where the target has none, at the level's bandwidth
    // with the parent's latency. It occupies the mover for its bytes; the latency passes while the
    // mover already serves the next request.
    MoveRate transfer(std::size_t l, std::size_t other, bool writeBack) const {
        const std::string& level = space_.levels[l].memory;
        const std::string& above = space_.levels[other].memory;
        if (auto rate = writeBack ? moveRate(level, above) : moveRate(above, level))
            return *rate;
        return MoveRate{space_.levels[l].bandwidth, space_.levels[other].latency};
    }

    void fetch(std::size_t o, std::size_t l) {
        const std::size_t from = residency_[worker_].sourceOf(o, l);
        Held& h = held(l, o);
        const int slot = s_.levels[l].doubleBuffered ? static_cast<int>(h.fetches % 2) : 0;
        ++h.fetches;
        std::vector<int> deps;
        h.slots[slot].appendWaits(deps); // the buffer must be free: the tile it held is done with
        if (from > 0)
            held(from, o).slots[held(from, o).current].appendWaits(deps);
        const double bytes = tileBytes(o, l);
        const int mover = movers_[l][worker_];
        const MoveRate rate = transfer(l, from, false);
        const int t = add(mover, bytes / rate.bytesPerSecond, std::move(deps),
                          label(space_.levels[from].memory + " -> " + space_.levels[l].memory + " for " + space_.operands[o].tensor),
                          bytes, static_cast<int>(l), rate.latency);
        h.slots[slot] = {t, {{mover, t}}};
        h.current = slot;
        if (from > 0)
            held(from, o).slots[held(from, o).current].use(mover, t);
    }

    void writeBack(std::size_t o, std::size_t l) {
        const std::size_t to = residency_[worker_].sourceOf(o, l);
        Held& h = held(l, o);
        std::vector<int> deps;
        h.slots[h.current].appendWaits(deps);
        if (to > 0)
            held(to, o).slots[held(to, o).current].appendWaits(deps);
        const double bytes = tileBytes(o, l);
        const int mover = movers_[l][worker_];
        const MoveRate rate = transfer(l, to, true);
        const int t = add(mover, bytes / rate.bytesPerSecond, std::move(deps),
                          label(space_.levels[l].memory + " -> " + space_.levels[to].memory + " for " +
                                space_.operands[o].tensor + " (write-back)"),
                          bytes, static_cast<int>(l), rate.latency);
        h.slots[h.current] = {t, {{mover, t}}};
        if (to > 0) {
            Buffer& above = held(to, o).slots[held(to, o).current];
            above.writer = t;
            above.use(mover, t);
        }
    }

    void compute(const Ranges& tile) {
        const int unit = static_cast<int>(worker_);
        std::vector<int> deps;
        for (std::size_t o = 0; o < space_.operands.size(); ++o) {
            const std::size_t l = residency_[worker_].innermostOf(o);
            if (l > 0)
                deps.push_back(held(l, o).slots[held(l, o).current].writer);
        }
        deps.erase(std::remove(deps.begin(), deps.end(), -1), deps.end());
        const double calls = static_cast<double>(LoopNest::points(tile));
        const int t = add(unit, calls / (space_.throughput * space_.clock), std::move(deps), computeLabel_, 0, -1);
        for (std::size_t o = 0; o < space_.operands.size(); ++o) {
            const std::size_t l = residency_[worker_].innermostOf(o);
            if (l == 0)
                continue;
            Buffer& b = held(l, o).slots[held(l, o).current];
            b.use(unit, t);
            if (space_.operands[o].output)
                b.writer = t;
        }
    }

    const ir::Target& target_;
    const Space& space_;
    const Schedule& s_;
    const LoopNest& nest_;
    std::vector<MachineResource> resources_;
    std::vector<std::vector<int>> movers_; // [level][worker]
    std::vector<Residency> residency_;     // per worker
    std::vector<std::vector<std::vector<Held>>> held_; // [worker][level][operand]
    std::vector<MachineTask> tasks_;
    std::vector<int> levelOf_;
    std::vector<std::string> labels_;
    std::map<std::string, int> labelIndex_;
    int computeLabel_ = 0;
    std::size_t worker_ = 0;
    int round_ = 0;
};

std::string describe(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}

std::optional<std::string> refusal(const ir::Target& target, const Space& space, const Schedule& s) {
    if (!target.features.empty()) {
        std::string features;
        for (const auto& f : target.features)
            features += (features.empty() ? "" : ", ") + f;
        return "target " + target.name + " is a host CPU (features " + features +
               "): it is measured by running generated code, not simulated";
    }
    if (s.levels.size() == space.levels.size())
        for (std::size_t o = 0; o < space.operands.size(); ++o)
            for (std::size_t l = 0; l < space.levels.size(); ++l)
                if (space.levels[l].memory == space.operands[o].requiredMemory &&
                    (s.levels[l].keeps.size() != space.operands.size() || !s.levels[l].keeps[o]))
                    return "the instruction " + space.instruction + " reads " + space.operands[o].instructionOperand +
                           " from " + space.operands[o].requiredMemory + ", but the schedule does not keep " +
                           space.operands[o].tensor + " there";
    if (auto why = schedule::illegal(space, s))
        return "the schedule is illegal: " + *why;
    if (!target.findInstruction(space.instruction))
        return "target " + target.name + " has no instruction " + space.instruction;
    return std::nullopt;
}

// The kernel with every parameter halved (at least 1) until the mapped statement needs at most
// `budget` instruction calls through the same candidate, as long as the kernel still checks; with
// the candidate as the mapper finds it there. Empty when no such instance exists.
std::optional<std::pair<ir::Kernel, mapping::Candidate>> scaledDown(const ir::Kernel& kernel, const ir::Target& target,
                                                                     const mapping::Candidate& candidate,
                                                                     std::int64_t budget) {
    ir::Kernel small = kernel;
    mapping::MappingOptions options;
    options.onlyInstruction = candidate.instruction;
    options.keepRejected = false;
    for (int step = 0; step < 24; ++step) {
        ir::Kernel next = small;
        for (auto& p : next.params)
            p.value = std::max<std::int64_t>(1, p.value / 2);
        if (next == small)
            return std::nullopt;
        ir::Module module;
        module.kernels.push_back(next);
        if (ir::hasErrors(ir::check(module, ir::SourceFile{})))
            return std::nullopt;
        small = std::move(next);
        for (const auto& c : mapping::mapKernel(small, target, options).candidates)
            if (c.key == candidate.key) {
                if (c.calls <= budget)
                    return std::make_pair(small, c);
                break;
            }
    }
    return std::nullopt;
}

// The schedule carried over to a smaller space of the same candidate: tiles clamped to the smaller
// extents (and under their parents'), everything else kept.
std::optional<Schedule> carriedOver(const Space& from, const Space& to, const Schedule& s) {
    if (from.dims.size() != to.dims.size() || from.levels.size() != to.levels.size())
        return std::nullopt;
    for (std::size_t d = 0; d < from.dims.size(); ++d)
        if (from.dims[d].name != to.dims[d].name)
            return std::nullopt;
    Schedule out = s;
    for (std::size_t l = 0; l < out.levels.size(); ++l)
        for (std::size_t d = 0; d < to.dims.size(); ++d) {
            const std::int64_t parent = l == 0 ? to.dims[d].extent : out.levels[l - 1].tiles[d];
            out.levels[l].tiles[d] = l == 0 ? parent : std::min(out.levels[l].tiles[d], parent);
        }
    for (std::size_t d = 0; d < to.dims.size(); ++d) {
        out.unroll[d] = std::min(out.unroll[d], out.levels.back().tiles[d]);
        if (out.parallel[d] && to.dims[d].extent <= 1)
            out.parallel[d] = false;
    }
    if (schedule::illegal(to, out))
        return std::nullopt;
    return out;
}

std::string paramsText(const ir::Kernel& k) {
    std::string out;
    for (const auto& p : k.params)
        out += (out.empty() ? "" : " ") + p.name + "=" + std::to_string(p.value);
    return out;
}

} // namespace

std::optional<SimResult> simulate(const ir::Kernel& kernel, const ir::Target& target, const mapping::Candidate& candidate,
                                  const Space& space, const Schedule& s, const SimOptions& options, std::string& error) {
    if (auto why = refusal(target, space, s)) {
        error = "cannot simulate: " + *why;
        return std::nullopt;
    }
    const Clock::time_point deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.maxSeconds));
    const ir::Instruction& instruction = *target.findInstruction(space.instruction);
    const LoopNest nest(space, s);
    SimResult result;

    // Functional: the result first, so that a wrong schedule is never given a time.
    if (options.functional && space.instructionCalls <= options.maxFunctionalCalls) {
        auto outcome = runFunctional(kernel, instruction, candidate, space, s, nest, options.seed, deadline, error);
        if (!outcome)
            return std::nullopt;
        result.verified = true;
        result.largestError = outcome->largestError;
        result.verification = outcome->verification;
    } else if (options.functional) {
        // Too many calls to compute in the interpreter: check the same mapping and schedule structure
        // (loop orders, placement, double buffers, parallel loops) on a scaled-down instance instead.
        const std::string tooMany = std::to_string(space.instructionCalls) +
                                    " instruction calls are more than the functional run's budget "
                                    "(SimOptions::maxFunctionalCalls = " + std::to_string(options.maxFunctionalCalls) + ")";
        // A few dozen calls exercise every loop and copy of the structure; more would only cost time.
        auto small = scaledDown(kernel, target, candidate, std::min<std::int64_t>(options.maxFunctionalCalls, 64));
        std::optional<Space> smallSpace;
        std::optional<Schedule> smallSchedule;
        if (small) {
            std::string ignored;
            smallSpace = schedule::makeSpace(small->first, target, small->second, ignored);
            if (smallSpace)
                smallSchedule = carriedOver(space, *smallSpace, s);
        }
        if (!smallSchedule) {
            result.verification = "timed only: " + tooMany + ", and no scaled-down instance carries the schedule over";
        } else {
            const LoopNest smallNest(*smallSpace, *smallSchedule);
            auto outcome = runFunctional(small->first, instruction, small->second, *smallSpace, *smallSchedule, smallNest,
                                         options.seed, deadline, error);
            if (!outcome) {
                error = "on a scaled-down instance (" + paramsText(small->first) + ") with the same schedule structure: " + error;
                return std::nullopt;
            }
            result.verified = true;
            result.largestError = outcome->largestError;
            result.verification = "verified on a scaled-down instance (" + paramsText(small->first) +
                                  ") with the same mapping, loop orders, placement, double buffers and parallel loops, "
                                  "tiles clamped to its extents (" + outcome->verification + "); the full-size result was not "
                                  "computed: " + tooMany;
        }
    } else {
        result.verification = "timed only: the functional run was switched off";
    }

    // Timing: issue whole rounds of outer iterations until the task budget is spent.
    TaskBuilder builder(target, space, s, nest, instruction.unit);
    const auto byWorker = nest.outerByWorker();
    int rounds = 0;
    for (const auto& w : byWorker)
        rounds = std::max(rounds, static_cast<int>(w.size()));
    int issued = 0;
    while (issued < rounds && (issued == 0 || static_cast<std::int64_t>(builder.tasks().size()) < options.maxTasks)) {
        builder.issueRound(byWorker, issued++);
        if (static_cast<std::int64_t>(builder.tasks().size()) > options.maxEvents) {
            error = "the simulation stopped: it needs more than " + std::to_string(options.maxEvents) +
                    " events (SimOptions::maxEvents) for " + std::to_string(issued) + " of " + std::to_string(rounds) +
                    " rounds of outer iterations";
            return std::nullopt;
        }
        if (Clock::now() > deadline) {
            error = "the simulation went past the host-time budget (SimOptions::maxSeconds) while issuing tasks";
            return std::nullopt;
        }
    }
    builder.issueFlush(issued);
    auto run = runMachine(builder.resources(), builder.tasks(), options.maxEvents, deadline, error);
    if (!run)
        return std::nullopt;

    const auto& tasks = builder.tasks();
    const auto& labels = builder.labels();
    const auto& resources = builder.resources();
    // Completion time of the first r rounds, the final write-backs left out.
    std::vector<double> roundsDone(static_cast<std::size_t>(issued) + 1, 0);
    double simulated = 0;
    for (std::size_t t = 0; t < tasks.size(); ++t) {
        simulated = std::max(simulated, run->end[t]);
        if (tasks[t].round < issued)
            roundsDone[static_cast<std::size_t>(tasks[t].round) + 1] =
                std::max(roundsDone[static_cast<std::size_t>(tasks[t].round) + 1], run->end[t]);
    }
    for (std::size_t r = 1; r < roundsDone.size(); ++r)
        roundsDone[r] = std::max(roundsDone[r], roundsDone[r - 1]);

    double scale = 1;
    result.seconds = simulated;
    if (issued < rounds) {
        // The steady rate of the second half of the prefix, so that the start-up is counted once.
        const int half = issued / 2;
        const double rate = issued >= 2 ? (roundsDone[static_cast<std::size_t>(issued)] - roundsDone[static_cast<std::size_t>(half)]) /
                                              (issued - half)
                                        : roundsDone[1];
        const double tail = simulated - roundsDone[static_cast<std::size_t>(issued)];
        result.seconds = roundsDone[static_cast<std::size_t>(issued)] + rate * (rounds - issued) + tail;
        scale = static_cast<double>(rounds) / issued;
        result.sampled = true;
        result.sampling = "extrapolated from " + std::to_string(issued) + " of " + std::to_string(rounds) +
                          " rounds of outer iterations (" + std::to_string(nest.outerCount()) + " outer iterations over " +
                          std::to_string(nest.workers()) + " units) at the rate of the last " +
                          std::to_string(issued - half) + "; the timeline and counters cover the simulated rounds, bytes per level are scaled";
    } else {
        result.sampling = "not sampled: all " + std::to_string(nest.outerCount()) + " outer iterations over " +
                          std::to_string(nest.workers()) + (nest.workers() == 1 ? " unit" : " units") + " simulated (" +
                          std::to_string(tasks.size()) + " tasks)";
    }
    result.cycles = result.seconds * space.clock;

    // Timeline, counters, bytes per level.
    result.timelineTruncated = tasks.size() > options.maxTimelineEntries;
    for (std::size_t t = 0; t < tasks.size() && t < options.maxTimelineEntries; ++t) {
        const auto& task = tasks[t];
        std::string what = labels[static_cast<std::size_t>(task.label)];
        if (builder.levelOf()[t] < 0)
            what = space.instruction + " x" + describe(task.duration * space.throughput * space.clock);
        result.timeline.push_back({resources[static_cast<std::size_t>(task.resource)].name, run->start[t], run->end[t], what, task.bytes});
    }
    std::vector<ResourceCounters> counters(resources.size());
    std::vector<double> bytes(space.levels.size(), 0);
    for (std::size_t r = 0; r < resources.size(); ++r)
        counters[r].resource = resources[r].name;
    for (std::size_t t = 0; t < tasks.size(); ++t) {
        auto& c = counters[static_cast<std::size_t>(tasks[t].resource)];
        c.busySeconds += tasks[t].duration;
        c.bytes += tasks[t].bytes;
        if (builder.levelOf()[t] >= 0)
            bytes[static_cast<std::size_t>(builder.levelOf()[t])] += tasks[t].bytes;
    }
    for (std::size_t r = 0; r < resources.size(); ++r) {
        auto& c = counters[r];
        c.busyFraction = simulated > 0 ? c.busySeconds / simulated : 0;
        c.stallSeconds = run->stallSeconds[r];
        const auto& byLabel = run->stallByLabel[r];
        auto worst = std::max_element(byLabel.begin(), byLabel.end(),
                                      [](const auto& a, const auto& b) { return a.second < b.second; });
        if (worst != byLabel.end())
            c.stallCause = "waiting for " + labels[static_cast<std::size_t>(worst->first)];
    }
    result.counters = std::move(counters);
    for (std::size_t l = 1; l < space.levels.size(); ++l)
        result.bytesPerLevel.emplace_back(space.levels[l].memory, bytes[l] * scale);
    return result;
}

} // namespace isamap::sim
