// isamap tune: search the schedules of a kernel on a target, steered by the cost model, every result
// kept in the project database as it is found; and isamap schedule show, which prints a stored one.
#include "cli/commands.h"
#include "cli/support.h"

#include "constraints/constraints.h"
#include "codegen/codegen.h"
#include "cost/cost.h"
#include "ir/printer.h"
#include "mapping/mapping.h"
#include "measure/measure.h"
#include "schedule/schedule.h"
#include "search/search.h"
#include "sim/sim.h"
#include "support/statistics.h"
#include "store/project.h"
#include "targets/catalog.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <sstream>
#include <unistd.h>

namespace isamap::cli {

namespace {

// "i=m" of "vfmadd_bcast_f32: i=m; c=C, a=A, b=B": what the instruction's dimensions are bound to, which
// tells apart the same analytical schedule on two candidates.
std::string bindingOf(const mapping::Candidate& c) {
    const auto from = c.key.find(": "), to = c.key.find(';');
    return from == std::string::npos || to == std::string::npos || to < from ? c.key : c.key.substr(from + 2, to - from - 2);
}

const char* kTuneUsage = "tune KERNEL_FILE_OR_NAME --target T [KEY=VALUE...] [--kernel NAME] [--strategy S]\n"
                         "       [--budget N|Ns] [--seed N] [--constraints FILE] [--project P.isamap] [--top K]\n"
                         "       [--measure N] [--threads N] [--emit llvm|asm] [--json]";

std::atomic<bool> interrupted{false};

void onInterrupt(int) { interrupted = true; }

// "5000" -> 5000 evaluations; "5s" or "2.5s" -> seconds.
bool parseBudget(const std::string& text, search::Budget& budget) {
    try {
        std::size_t used = 0;
        if (!text.empty() && text.back() == 's') {
            budget.seconds = std::stod(text.substr(0, text.size() - 1), &used);
            return used == text.size() - 1 && budget.seconds > 0;
        }
        budget.evaluations = std::stoll(text, &used);
        return used == text.size() && budget.evaluations > 0;
    } catch (...) {
        return false;
    }
}

std::string breakdownJson(const cost::Breakdown& b) {
    std::ostringstream o;
    o << "{\"seconds\": " << b.seconds << ", \"compute_seconds\": " << b.computeSeconds << ", \"gflops\": " << b.gflops
      << ", \"utilisation\": " << b.utilisation << ", \"bound\": " << jsonString(b.bound)
      << ", \"warm\": " << (b.held.empty() ? "null" : jsonString(b.held)) << ", \"terms\": [";
    for (std::size_t i = 0; i < b.terms.size(); ++i)
        o << (i ? ", " : "") << "{\"what\": " << jsonString(b.terms[i].what) << ", \"seconds\": " << b.terms[i].seconds
          << ", \"bytes\": " << b.terms[i].bytes << ", \"overlapped\": " << (b.terms[i].overlapped ? "true" : "false")
          << "}";
    return o.str() + "]}";
}

// Shows progress on a terminal as a bar redrawn in place, elsewhere as a line every tenth.
class ProgressReport {
public:
    explicit ProgressReport(bool quiet) : terminal_(isatty(2) != 0), quiet_(quiet) {}
    void update(double fraction, std::int64_t evaluations, double best) {
        if (quiet_)
            return;
        const int percent = static_cast<int>(fraction * 100);
        if (terminal_) {
            const int filled = percent / 4;
            std::fprintf(stderr, "\r[%s%s] %3d%%  %lld evaluations  best %s   ", std::string(filled, '#').c_str(),
                         std::string(25 - std::min(25, filled), '.').c_str(), percent, static_cast<long long>(evaluations),
                         best > 0 ? timeText(best).c_str() : "-");
        } else if (percent / 10 > lastTenth_) {
            lastTenth_ = percent / 10;
            std::fprintf(stderr, "progress %d%%: %lld evaluations, best %s\n", percent, static_cast<long long>(evaluations),
                         best > 0 ? timeText(best).c_str() : "-");
        }
    }
    void finish() {
        if (terminal_ && !quiet_)
            std::fprintf(stderr, "\n");
    }

private:
    bool terminal_;
    bool quiet_;
    int lastTenth_ = -1;
};

struct Found {
    const mapping::Candidate* candidate = nullptr;
    std::size_t spaceIndex = 0;
    search::Evaluated result;
    std::int64_t storedId = 0;
    std::string analytical; // an analytical schedule's label, measured beside the model's picks
};

// Records the run's progress in the project, if there is one, without failing the search on a write error.
class RunRecorder {
public:
    RunRecorder(store::Project* project, std::int64_t kernelId, std::int64_t targetId, std::int64_t runId)
        : project_(project), kernelId_(kernelId), targetId_(targetId), runId_(runId) {}

    std::int64_t addSchedule(const schedule::Space& space, const schedule::Schedule& s, double seconds) {
        if (!project_)
            return 0;
        const auto b = cost::explain(space, s);
        store::ScheduleRecord r;
        r.runId = runId_;
        r.kernelId = kernelId_;
        r.targetId = targetId_;
        r.candidateKey = space.candidateKey;
        r.text = schedule::printSchedule(space, s);
        r.modeledSeconds = seconds;
        r.bound = b.bound;
        r.breakdownJson = breakdownJson(b);
        std::string error;
        auto id = project_->addSchedule(r, error);
        if (!id)
            warn(error);
        return id.value_or(0);
    }

    void progress(std::int64_t evaluations, double best) {
        if (!project_)
            return;
        const auto now = std::chrono::steady_clock::now();
        if (now - lastWrite_ < std::chrono::milliseconds(250))
            return;
        lastWrite_ = now;
        std::string error;
        if (!project_->updateRun(runId_, "running", evaluations, best, error))
            warn(error);
    }

    void finish(const std::string& status, std::int64_t evaluations, double best) {
        if (!project_)
            return;
        std::string error;
        if (!project_->updateRun(runId_, status, evaluations, best, error) || !project_->finishRun(runId_, status, error))
            warn(error);
    }

private:
    void warn(const std::string& error) {
        if (!warned_)
            std::fprintf(stderr, "isamap: warning: %s\n", error.c_str());
        warned_ = true;
    }
    store::Project* project_;
    std::int64_t kernelId_, targetId_, runId_;
    std::chrono::steady_clock::time_point lastWrite_{};
    bool warned_ = false;
};

// Tells which constraints conflict, when no legal schedule satisfies them all.
void explainConflict(const constraints::Set& set, const schedule::Space& space, const std::string& file) {
    auto feasible = [&](const constraints::Set& subset) {
        std::string error;
        auto random = search::makeStrategy("random", error);
        search::Options options;
        options.seed = 1;
        options.budget.evaluations = 3000;
        options.constraints = &subset;
        options.keepBest = 1;
        return !random->run(space, options).best.empty();
    };
    const auto subset = constraints::conflict(set, feasible);
    if (subset.empty())
        return;
    std::cerr << "isamap: no legal schedule satisfies these constraints together:\n";
    for (auto i : subset) {
        const auto& c = set.items[i];
        std::cerr << "  " << file << ":" << c.loc.line << ":" << c.loc.column << ": " << c.text << "\n";
    }
}

// Generates, verifies and times the `count` best modeled schedules on this CPU, each in a worker
// process; prints (or returns as JSON) measured against modeled with Spearman's rho; stores each figure.
std::string measureOnHost(const std::vector<Found>& found, const std::vector<schedule::Space>& spaces,
                          const ir::Kernel& kernel, const ir::Target& target, std::size_t count,
                          store::Project* project, bool json, const codegen::Options& codegenOptions) {
    std::vector<double> modeled, measured;
    std::ostringstream out;
    out << "[";
    if (!json)
        std::printf("\nmeasured on this CPU against modeled (each in a worker process, verified first):\n"
                    "  %-6s %12s %12s %7s %9s %6s  %s\n",
                    "id", "modeled", "measured", "ratio", "GFLOP/s", "peak", "verification");
    measure::Options options;
    options.codegen = codegenOptions;
    const std::string worker = selfExecutable();
    for (std::size_t i = 0; i < found.size() && i < count; ++i) {
        const auto& f = found[i];
        const std::string id = f.storedId ? std::to_string(f.storedId) : "-";
        const auto job = measure::makeJob(kernel, target, *f.candidate, spaces[f.spaceIndex], f.result.schedule, options);
        const auto r = measure::measureInWorker(worker, job);
        if (r.status != measure::Status::Ok) {
            std::fprintf(stderr, "isamap: schedule %s: %s: %s\n", id.c_str(), measure::statusName(r.status), r.message.c_str());
            out << (i ? ", " : "") << "{\"id\": " << f.storedId << ", \"status\": " << jsonString(measure::statusName(r.status))
                << ", \"message\": " << jsonString(r.message) << "}";
            continue;
        }
        modeled.push_back(f.result.seconds);
        measured.push_back(r.secondsMedian);
        if (project && f.storedId) {
            store::Measurement m;
            m.scheduleId = f.storedId;
            m.kind = "host";
            m.seconds = r.secondsMedian;
            m.spread = r.secondsMax - r.secondsMin;
            m.detail = r.verification() + "; " + std::to_string(r.runs) + " runs on " + std::to_string(r.threads) + " thread(s)";
            std::string error;
            project->addMeasurement(m, error);
        }
        out << (i ? ", " : "") << "{\"id\": " << f.storedId << ", \"status\": \"ok\", \"modeled\": " << f.result.seconds
            << ", \"measured\": " << r.secondsMedian << ", \"min\": " << r.secondsMin << ", \"max\": " << r.secondsMax
            << ", \"runs\": " << r.runs << ", \"threads\": " << r.threads << ", \"gflops\": " << r.gflops
            << ", \"peak_fraction\": " << r.peakFraction << ", \"analytical\": " << (f.analytical.empty() ? "null" : jsonString(f.analytical))
            << ", \"verification\": " << jsonString(r.verification())
            << ", \"schedule\": " << jsonString(schedule::printSchedule(spaces[f.spaceIndex], f.result.schedule)) << "}";
        if (!json)
            std::printf("  %-6s %12s %12s %7.2f %9.1f %5.0f%%  %s%s\n", id.c_str(), timeText(f.result.seconds).c_str(),
                        timeText(r.secondsMedian).c_str(), r.secondsMedian / f.result.seconds, r.gflops,
                        100 * r.peakFraction, f.analytical.empty() ? "" : ("(" + f.analytical + ") ").c_str(),
                        r.verification().c_str());
    }
    out << "]";
    const auto rho = spearman(modeled, measured);
    if (!json)
        std::printf("  rank correlation (Spearman's rho) over %zu schedules: %s\n", modeled.size(),
                    rho ? std::to_string(*rho).c_str() : "n/a (fewer than two distinct figures)");
    return "{\"schedules\": " + out.str() + ", \"spearman_rho\": " + (rho ? std::to_string(*rho) : "null") + "}";
}

// Simulates the `count` best modeled schedules on a virtual target and prints (or, for --json, returns
// as a JSON array) measured against modeled with Spearman's rank correlation; stores each figure.
std::string measureBest(const std::vector<Found>& found, const std::vector<schedule::Space>& spaces,
                        const ir::Kernel& kernel, const ir::Target& target, std::size_t count, store::Project* project,
                        bool json, const codegen::Options& codegenOptions) {
    if (count == 0)
        return "[]";
    if (!target.features.empty())
        return measureOnHost(found, spaces, kernel, target, count, project, json, codegenOptions);
    std::vector<double> modeled, simulated;
    std::ostringstream out;
    out << "[";
    if (!json)
        std::printf("\nmeasured on the simulator against modeled:\n  %-6s %12s %12s %7s  %s\n", "id", "modeled",
                    "simulated", "ratio", "verification");
    for (std::size_t i = 0; i < found.size() && i < count; ++i) {
        const auto& f = found[i];
        std::string error;
        sim::SimOptions options;
        // The functional run executes every instruction call in the interpreter (milliseconds each):
        // kernels beyond this many calls are timed only, and the detail column says so.
        options.maxFunctionalCalls = 512;
        options.maxSeconds = 60;
        auto r = sim::simulate(kernel, target, *f.candidate, spaces[f.spaceIndex], f.result.schedule, options, error);
        if (!r) {
            std::fprintf(stderr, "isamap: schedule %s: %s\n", f.storedId ? std::to_string(f.storedId).c_str() : "-",
                         error.c_str());
            continue;
        }
        modeled.push_back(f.result.seconds);
        simulated.push_back(r->seconds);
        const std::string detail = r->verification + (r->sampled ? "; " + r->sampling : "");
        if (project && f.storedId) {
            store::Measurement m;
            m.scheduleId = f.storedId;
            m.kind = "simulator";
            m.seconds = r->seconds;
            m.detail = detail;
            project->addMeasurement(m, error);
        }
        out << (modeled.size() > 1 ? ", " : "") << "{\"id\": " << f.storedId << ", \"modeled\": " << f.result.seconds
            << ", \"simulated\": " << r->seconds << ", \"verified\": " << (r->verified ? "true" : "false")
            << ", \"sampled\": " << (r->sampled ? "true" : "false") << ", \"detail\": " << jsonString(detail) << "}";
        if (!json)
            std::printf("  %-6s %12s %12s %7.2f  %s\n", f.storedId ? std::to_string(f.storedId).c_str() : "-",
                        timeText(f.result.seconds).c_str(), timeText(r->seconds).c_str(), r->seconds / f.result.seconds,
                        detail.c_str());
    }
    out << "]";
    const auto rho = spearman(modeled, simulated);
    if (!json)
        std::printf("  rank correlation (Spearman's rho) over %zu schedules: %s\n", modeled.size(),
                    rho ? std::to_string(*rho).c_str() : "n/a (fewer than two distinct figures)");
    return "{\"schedules\": " + out.str() + ", \"spearman_rho\": " + (rho ? std::to_string(*rho) : "null") + "}";
}

// The analytical schedules of every candidate's space (the Goto blocking, the column or window sweep)
// that the constraints allow, each with the index of its space.
std::vector<schedule::PlacedAnalyticalSchedule> allowedAnalytical(const std::vector<schedule::Space>& spaces,
                                                                  const constraints::Set& constraintSet) {
    std::vector<const schedule::Space*> pointers;
    for (const auto& sp : spaces)
        pointers.push_back(&sp);
    return schedule::analyticalSchedules(pointers, [&](const schedule::Space& sp, const schedule::Schedule& s) {
        return constraintSet.allows(sp, s);
    });
}

// Says so when the model rates an analytical schedule below the search's best: the search's budget
// does not always reach them (a depthwise layer's best found at 41 us against the window sweep's 15),
// and `isamap graph` and `--measure` consider them. Of several, the one the model ranks first, as
// `isamap graph` ranks them (cost::ranksAbove).
void noteAnalyticalBelow(const std::vector<schedule::Space>& spaces, const constraints::Set& constraintSet, double searchBest) {
    std::string label;
    cost::Rank best;
    for (const auto& [i, a] : allowedAnalytical(spaces, constraintSet)) {
        const cost::Rank r = cost::rank(spaces[i], a.schedule);
        if (r.seconds < searchBest * (1 - 1e-9) && (label.empty() || cost::ranksAbove(r, best))) {
            best = r;
            label = a.label;
        }
    }
    if (!label.empty())
        std::printf("  the model rates an analytical schedule (%s) at %s, below the search's best: the search did not "
                    "reach it\n", label.c_str(), timeText(best.seconds).c_str());
}

} // namespace

int tuneCommand(const std::vector<std::string>& args) {
    auto split = splitArgs(args, {"target", "kernel", "strategy", "budget", "seed", "constraints", "project", "top", "measure",
                                  "threads", "emit"});
    if (!split.error.empty())
        return usage(split.error, kTuneUsage);
    for (const auto& [name, value] : split.options)
        if (name != "target" && name != "kernel" && name != "strategy" && name != "budget" && name != "seed" &&
            name != "constraints" && name != "project" && name != "top" && name != "measure" && name != "json" &&
            name != "threads" && name != "emit")
            return usage("unknown option --" + name, kTuneUsage);
    if (split.positional.size() != 1 || !split.options.count("target"))
        return usage("tune takes one kernel and --target", kTuneUsage);
    const bool json = split.options.count("json") > 0;

    search::Options options;
    const std::string budgetText = split.options.count("budget") ? split.options["budget"] : "20000";
    if (!parseBudget(budgetText, options.budget))
        return usage("--budget takes a number of evaluations (5000) or of seconds (5s)", kTuneUsage);
    if (split.options.count("seed")) {
        try {
            options.seed = std::stoull(split.options["seed"]);
        } catch (...) {
            return usage("--seed takes a non-negative integer", kTuneUsage);
        }
    }
    std::size_t top = 5;
    if (split.options.count("top"))
        top = static_cast<std::size_t>(std::max(1, std::atoi(split.options["top"].c_str())));
    std::size_t measure = 0;
    if (split.options.count("measure"))
        measure = static_cast<std::size_t>(std::max(0, std::atoi(split.options["measure"].c_str())));
    options.keepBest = std::max(top, measure);
    codegen::Options codegenOptions;
    if (split.options.count("threads"))
        codegenOptions.threads = std::max(1, std::atoi(split.options["threads"].c_str()));
    const std::string emit = split.options.count("emit") ? split.options["emit"] : "";
    if (!emit.empty() && emit != "llvm" && emit != "asm")
        return usage("--emit takes llvm or asm", kTuneUsage);
    if (!emit.empty() && json)
        return usage("--emit prints code after the table; it does not combine with --json", kTuneUsage);
    const std::string strategyName = split.options.count("strategy") ? split.options["strategy"] : "annealing";
    std::string error;
    auto strategy = search::makeStrategy(strategyName, error);
    if (!strategy) {
        std::cerr << "isamap: " << error << "\n";
        return 2;
    }

    std::map<std::string, std::int64_t> overrides;
    auto module = loadInput(split.positional[0], split.values, overrides);
    if (!module)
        return 1;
    auto kernel = chooseKernel(*module, split.options.count("kernel") ? split.options["kernel"] : "", overrides);
    if (!kernel)
        return 1;
    auto target = targets::loadTarget(split.options["target"], error);
    if (!target) {
        std::cerr << (error.find(": error:") != std::string::npos ? error : "isamap: " + error + "\n");
        return 1;
    }
    // The model plans for as many units as the generated code will use.
    if (codegenOptions.threads > 0)
        target->target = targets::withCores(target->target, codegenOptions.threads);

    constraints::Set constraintSet;
    std::string constraintText;
    const std::string constraintFile = split.options.count("constraints") ? split.options["constraints"] : "";
    if (!constraintFile.empty()) {
        auto source = readSource(constraintFile);
        if (!source)
            return 1;
        constraintText = source->text;
        auto parsed = constraints::parse(*source);
        std::cerr << ir::format(parsed.diagnostics);
        if (ir::hasErrors(parsed.diagnostics))
            return 1;
        constraintSet = std::move(parsed.set);
        options.constraints = &constraintSet;
    }

    // The candidates worth a search: valid, not improved on by another, allowed by the pins.
    const auto mapped = mapping::mapKernel(*kernel, target->target);
    std::vector<const mapping::Candidate*> chosen;
    std::vector<schedule::Space> spaces;
    std::string pinProblem, nameProblem;
    // On a CPU, code generation maps a kernel's first statement and fuses the element-wise ones after it
    // as its epilogue (fully_connected's bias and activation): only the first is scheduled.
    const bool firstStatementOnly = !target->target.features.empty() && kernel->statements.size() > 1;
    for (const auto& c : mapped.candidates) {
        if (!c.valid || c.dominated || (firstStatementOnly && c.statement != 0))
            continue;
        std::string why;
        if (!constraintSet.allowsCandidate(c, &why)) {
            pinProblem = why;
            continue;
        }
        auto space = schedule::makeSpace(*kernel, target->target, c, error);
        if (!space)
            continue;
        if (auto unknown = constraintSet.unknownNames(*space); !unknown.empty()) {
            nameProblem = unknown.front();
            continue;
        }
        chosen.push_back(&c);
        spaces.push_back(std::move(*space));
        if (chosen.size() == 3)
            break; // the three best mappings by utilisation share the budget
    }
    if (chosen.empty()) {
        if (mapped.validCount() == 0)
            std::cerr << "isamap: no instruction of " << target->target.name << " can perform kernel " << kernel->name
                      << " (see 'isamap map ... --all')\n";
        else
            std::cerr << "isamap: the constraints leave no mapping to schedule: "
                      << (nameProblem.empty() ? pinProblem : nameProblem) << "\n";
        return 1;
    }

    // The project: the kernel, the target, the candidates and the run, before the search starts.
    std::optional<store::Project> project;
    std::int64_t kernelId = 0, targetId = 0, runId = 0;
    if (split.options.count("project")) {
        project = store::Project::open(split.options["project"], error);
        if (!project) {
            std::cerr << "isamap: " << error << "\n";
            return 1;
        }
        auto k = project->addKernel(kernel->name, ir::print(*kernel), error);
        auto t = k ? project->addTarget(target->target.name, ir::print(target->target), error) : std::nullopt;
        std::vector<store::CandidateRecord> records;
        for (const auto& c : mapped.candidates)
            records.push_back({0, 0, 0, c.key, c.valid, c.utilisation, candidateJson(c, *kernel, kernel->name)});
        auto stored = t ? project->addCandidates(*k, *t, records, error) : std::nullopt;
        store::SearchRun run;
        if (stored) {
            run.kernelId = *k;
            run.targetId = *t;
            run.strategy = strategy->name();
            run.seed = options.seed;
            run.budget = budgetText;
            run.constraints = constraintText;
        }
        auto r = stored ? project->startRun(run, error) : std::nullopt;
        if (!r) {
            std::cerr << "isamap: " << error << "\n";
            return 1;
        }
        kernelId = *k;
        targetId = *t;
        runId = *r;
    }
    RunRecorder recorder(project ? &*project : nullptr, kernelId, targetId, runId);

    std::signal(SIGINT, onInterrupt);
    std::signal(SIGTERM, onInterrupt);
    options.cancel = &interrupted;
    ProgressReport progress(json);
    std::vector<Found> found;
    std::int64_t evaluations = 0;
    double best = 0;
    bool cancelled = false;
    search::Budget total = options.budget;
    for (std::size_t i = 0; i < chosen.size() && !cancelled; ++i) {
        search::Options perCandidate = options;
        perCandidate.budget.evaluations = total.evaluations / static_cast<std::int64_t>(chosen.size());
        perCandidate.budget.seconds = total.seconds / static_cast<double>(chosen.size());
        const std::int64_t before = evaluations;
        perCandidate.onProgress = [&, i](const search::Progress& p) {
            const double fraction = (static_cast<double>(i) + p.fraction) / static_cast<double>(chosen.size());
            const double shown = best > 0 && p.bestSeconds > 0 ? std::min(best, p.bestSeconds) : std::max(best, p.bestSeconds);
            progress.update(fraction, before + p.evaluations, shown);
            recorder.progress(before + p.evaluations, shown);
        };
        perCandidate.onImprovement = [&, i](const search::Evaluated& e) {
            if (best == 0 || e.seconds < best) {
                best = e.seconds;
                recorder.addSchedule(spaces[i], e.schedule, e.seconds);
            }
        };
        auto result = strategy->run(spaces[i], perCandidate);
        evaluations += result.evaluations;
        cancelled = result.cancelled;
        if (!result.note.empty() && !json)
            std::fprintf(stderr, "%s: %s\n", chosen[i]->key.c_str(), result.note.c_str());
        for (auto& e : result.best)
            found.push_back({chosen[i], i, std::move(e), 0});
    }
    progress.finish();
    std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.result.seconds < b.result.seconds; });
    if (found.size() > std::max(top, measure))
        found.resize(std::max(top, measure));
    std::size_t measureCount = measure;
    // On a CPU the model still ties the blockings of a large product at the compute bound while they
    // measure several times apart (it does not see cache-set conflicts) and misreads streaming from
    // memory: the analytical schedules are measured beside its picks, so that the table shows what the
    // model misses.
    if (measure > 0 && !target->target.features.empty()) {
        for (auto& [i, a] : allowedAnalytical(spaces, constraintSet)) {
            const search::Evaluated e{a.schedule, cost::modeledSeconds(spaces[i], a.schedule), 0};
            found.insert(found.begin() + static_cast<std::ptrdiff_t>(std::min(found.size(), measureCount)),
                         Found{chosen[i], i, e, 0, a.label + (spaces.size() > 1 ? ", " + bindingOf(*chosen[i]) : "")});
            ++measureCount;
        }
    }
    for (auto& f : found)
        f.storedId = recorder.addSchedule(spaces[f.spaceIndex], f.result.schedule, f.result.seconds);
    const auto measured =
        measureBest(found, spaces, *kernel, target->target, measureCount, project ? &*project : nullptr, json, codegenOptions);
    found.erase(std::remove_if(found.begin(), found.end(), [](const Found& f) { return !f.analytical.empty(); }), found.end());
    if (found.size() > top)
        found.resize(top);
    recorder.finish(cancelled ? "cancelled" : found.empty() ? "failed" : "finished", evaluations,
                    found.empty() ? 0 : found.front().result.seconds);

    if (found.empty()) {
        std::cerr << "isamap: the search found no legal schedule in " << evaluations << " evaluations\n";
        if (!constraintSet.items.empty())
            explainConflict(constraintSet, spaces.front(), constraintFile);
        return 1;
    }
    if (json) {
        std::printf("{\"kernel\": %s, \"target\": %s, \"strategy\": %s, \"seed\": %llu, \"evaluations\": %lld, "
                    "\"cancelled\": %s, \"run\": %lld, \"measured\": %s, \"schedules\": [",
                    jsonString(kernel->name).c_str(), jsonString(target->target.name).c_str(), jsonString(strategy->name()).c_str(),
                    static_cast<unsigned long long>(options.seed), static_cast<long long>(evaluations),
                    cancelled ? "true" : "false", static_cast<long long>(runId), measured.c_str());
        for (std::size_t i = 0; i < found.size(); ++i) {
            const auto& f = found[i];
            const auto b = cost::explain(spaces[f.spaceIndex], f.result.schedule);
            std::printf("%s{\"id\": %lld, \"candidate\": %s, \"seconds\": %g, \"gflops\": %g, \"bound\": %s, \"schedule\": %s, "
                        "\"breakdown\": %s}",
                        i ? ",\n  " : "\n  ", static_cast<long long>(f.storedId), jsonString(f.candidate->key).c_str(),
                        f.result.seconds, b.gflops, jsonString(b.bound).c_str(),
                        jsonString(schedule::printSchedule(spaces[f.spaceIndex], f.result.schedule)).c_str(),
                        breakdownJson(b).c_str());
        }
        std::printf("\n]}\n");
        return 0;
    }
    std::printf("kernel %s (%s) on %s: %s, %lld evaluations%s\n", kernel->name.c_str(), paramsText(kernel->params).c_str(),
                target->target.name.c_str(), strategy->name().c_str(), static_cast<long long>(evaluations),
                cancelled ? " (cancelled)" : "");
    std::printf("  %-4s %-6s %12s %10s  %s\n", "rank", "id", "modeled", "GFLOP/s", "bound / candidate");
    for (std::size_t i = 0; i < found.size(); ++i) {
        const auto& f = found[i];
        const auto b = cost::explain(spaces[f.spaceIndex], f.result.schedule);
        std::printf("  %-4zu %-6s %12s %10.1f  %s\n%30s%s\n", i + 1, f.storedId ? std::to_string(f.storedId).c_str() : "-",
                    timeText(f.result.seconds).c_str(), b.gflops, b.bound.c_str(), "", f.candidate->key.c_str());
    }
    const auto& bestFound = found.front();
    noteAnalyticalBelow(spaces, constraintSet, bestFound.result.seconds);
    const auto b = cost::explain(spaces[bestFound.spaceIndex], bestFound.result.schedule);
    std::printf("\nbest schedule:\n%s", schedule::printLoopNest(spaces[bestFound.spaceIndex], bestFound.result.schedule).c_str());
    std::printf("\n");
    printWhereTheTimeGoes(b);
    if (project)
        std::printf("\nstored in %s as run %lld; show one with: isamap schedule show ID --project %s\n",
                    project->path().c_str(), static_cast<long long>(runId), project->path().c_str());
    if (!emit.empty()) {
        std::printf("\n%s of the best schedule:\n", emit == "llvm" ? "optimised LLVM IR" : "host assembly");
        if (!printCode(*kernel, target->target, *bestFound.candidate, spaces[bestFound.spaceIndex],
                       bestFound.result.schedule, codegenOptions, emit))
            return 1;
    }
    return cancelled ? 130 : 0;
}

int scheduleCommand(const std::vector<std::string>& args) {
    const char* line = "schedule show ID --project P.isamap";
    auto split = splitArgs(args, {"project"});
    if (!split.error.empty())
        return usage(split.error, line);
    if (split.positional.size() != 2 || split.positional[0] != "show" || !split.options.count("project"))
        return usage("schedule show takes a schedule id and --project", line);
    std::int64_t id = 0;
    try {
        id = std::stoll(split.positional[1]);
    } catch (...) {
        return usage("the schedule id is a number", line);
    }
    auto stored = loadStoredSchedule(split.options["project"], id);
    if (!stored)
        return 1;
    const auto& kernel = stored->kernel;
    const auto& target = stored->target;
    const auto& space = stored->space;
    const auto& s = stored->schedule;
    const auto& record = stored->record;
    const auto b = cost::explain(space, s);
    std::printf("schedule %lld of run %lld: kernel %s (%s) on %s, modeled %s, %s\n\n%s", static_cast<long long>(id),
                static_cast<long long>(record.runId), kernel.name.c_str(), paramsText(kernel.params).c_str(),
                target.name.c_str(), timeText(b.seconds).c_str(), b.bound.c_str(),
                schedule::printLoopNest(space, s).c_str());
    return 0;
}

} // namespace isamap::cli
