// isamap export and isamap worker: generated code written out for a user's program, and the process
// in which measurements run; plus the helpers that load a stored schedule and print its code.
#include "cli/commands.h"
#include "cli/support.h"

#include "codegen/codegen.h"
#include "cost/cost.h"
#include "measure/measure.h"
#include "support/resources.h"
#include "targets/catalog.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace isamap::cli {

std::string selfExecutable() {
    std::error_code ec;
    const auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::string("isamap") : path.string();
}

std::optional<StoredSchedule> loadStoredSchedule(const std::string& path, std::int64_t id) {
    std::string error;
    auto project = store::Project::open(path, error);
    auto record = project ? project->schedule(id, error) : std::nullopt;
    auto kernels = record ? project->kernels(error) : std::nullopt;
    auto targets = kernels ? project->targets(error) : std::nullopt;
    if (!targets) {
        std::cerr << "isamap: " << error << "\n";
        return std::nullopt;
    }
    auto textOf = [](const auto& records, std::int64_t wanted) {
        for (const auto& r : records)
            if (r.id == wanted)
                return r.text;
        return std::string();
    };
    auto kernelModule = loadModule({"kernel #" + std::to_string(record->kernelId), textOf(*kernels, record->kernelId)});
    auto targetModule = loadModule({"target #" + std::to_string(record->targetId), textOf(*targets, record->targetId)});
    if (!kernelModule || !targetModule || kernelModule->kernels.empty() || targetModule->targets.empty()) {
        std::cerr << "isamap: schedule " << id << " refers to a kernel or target the project does not hold intact\n";
        return std::nullopt;
    }
    StoredSchedule out;
    out.record = *record;
    out.kernel = kernelModule->kernels.front();
    out.target = targetModule->targets.front();
    const auto mapped = mapping::mapKernel(out.kernel, out.target);
    const auto candidate = std::find_if(mapped.candidates.begin(), mapped.candidates.end(),
                                        [&](const mapping::Candidate& c) { return c.key == record->candidateKey; });
    if (candidate == mapped.candidates.end()) {
        std::cerr << "isamap: schedule " << id << " uses candidate '" << record->candidateKey
                  << "', which the mapper no longer finds for this kernel and target\n";
        return std::nullopt;
    }
    out.candidate = *candidate;
    auto space = schedule::makeSpace(out.kernel, out.target, out.candidate, error);
    auto s = space ? schedule::parseSchedule(*space, record->text, error) : std::nullopt;
    if (!s) {
        std::cerr << "isamap: schedule " << id << ": " << error << "\n";
        return std::nullopt;
    }
    out.space = std::move(*space);
    out.schedule = std::move(*s);
    return out;
}

bool printCode(const ir::Kernel& kernel, const ir::Target& target, const mapping::Candidate& candidate,
               const schedule::Space& space, const schedule::Schedule& s, const codegen::Options& options,
               const std::string& what) {
    std::string error;
    auto code = codegen::generate(kernel, target, candidate, space, s, options, error);
    if (!code) {
        std::cerr << "isamap: cannot generate code: " << error << "\n";
        return false;
    }
    if (what == "llvm") {
        std::fputs(code->llvmIR().c_str(), stdout);
        return true;
    }
    const std::string assembly = code->assembly(error);
    if (assembly.empty()) {
        std::cerr << "isamap: " << error << "\n";
        return false;
    }
    std::fputs(assembly.c_str(), stdout);
    return true;
}

namespace {

bool writeText(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    if (!out) {
        std::cerr << "isamap: cannot write " << path.string() << "\n";
        return false;
    }
    return true;
}

} // namespace

int exportCommand(const std::vector<std::string>& args) {
    const char* line = "export KERNEL --schedule ID --project P.isamap -o DIR [--threads N] [--name SYMBOL]";
    std::vector<std::string> spelled = args; // `-o DIR` as compilers spell it
    std::replace(spelled.begin(), spelled.end(), std::string("-o"), std::string("--o"));
    auto split = splitArgs(spelled, {"schedule", "project", "o", "threads", "name"});
    if (!split.error.empty())
        return usage(split.error, line);
    if (split.positional.size() != 1 || !split.options.count("schedule") || !split.options.count("project") ||
        !split.options.count("o"))
        return usage("export takes a kernel name, --schedule, --project and -o", line);
    std::int64_t id = 0;
    try {
        id = std::stoll(split.options["schedule"]);
    } catch (...) {
        return usage("the schedule id is a number", line);
    }
    auto stored = loadStoredSchedule(split.options["project"], id);
    if (!stored)
        return 1;
    if (stored->kernel.name != split.positional[0]) {
        std::cerr << "isamap: schedule " << id << " is a schedule of kernel " << stored->kernel.name << ", not "
                  << split.positional[0] << "\n";
        return 1;
    }
    codegen::Options options;
    if (split.options.count("threads"))
        options.threads = std::max(1, std::atoi(split.options["threads"].c_str()));
    options.functionName = split.options.count("name") ? split.options["name"] : "";
    std::string error;
    auto code = codegen::generate(stored->kernel, stored->target, stored->candidate, stored->space, stored->schedule,
                                  options, error);
    if (!code) {
        std::cerr << "isamap: cannot generate code: " << error << "\n";
        return 1;
    }
    const std::filesystem::path dir = split.options["o"];
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        std::cerr << "isamap: cannot create " << dir.string() << ": " << ec.message() << "\n";
        return 1;
    }
    const auto object = dir / (code->functionName() + ".o");
    const auto header = dir / (code->functionName() + ".h");
    const auto runtime = dir / "isamap_runtime.c";
    if (!code->writeObject(object.string(), error)) {
        std::cerr << "isamap: " << error << "\n";
        return 1;
    }
    std::ifstream runtimeSource(resourcePath("runtime/isamap_runtime.c"));
    const std::string runtimeText((std::istreambuf_iterator<char>(runtimeSource)), std::istreambuf_iterator<char>());
    if (runtimeText.empty()) {
        std::cerr << "isamap: the runtime source runtime/isamap_runtime.c is missing from the resources\n";
        return 1;
    }
    if (!writeText(header, code->cHeader()) || !writeText(runtime, runtimeText))
        return 1;
    std::printf("wrote %s, %s and %s\nbuild: cc -O2 your_program.c %s %s -lpthread\n", object.string().c_str(),
                header.string().c_str(), runtime.string().c_str(), object.filename().string().c_str(),
                runtime.filename().string().c_str());
    return 0;
}

namespace {

// A schedule written to a file (`isamap schedule show`, tune --json), resolved against the kernel
// through the candidate its `candidate` line names.
std::optional<measure::ResolvedSchedule> loadScheduleFile(const std::string& path, const ir::Kernel& kernel,
                                                          const ir::Target& target) {
    std::string error;
    auto text = readFile(path, error);
    if (!text) {
        std::cerr << "isamap: " << error << "\n";
        return std::nullopt;
    }
    std::string key;
    std::istringstream lines(*text);
    for (std::string l; std::getline(lines, l);)
        if (l.rfind("candidate ", 0) == 0)
            key = l.substr(10);
    auto resolved = measure::resolveSchedule(kernel, target, key, *text, error);
    if (!resolved)
        std::cerr << "isamap: " << path << ": " << error << "\n";
    return resolved;
}

void printTiming(const char* label, const measure::Result& r) {
    std::printf("%smedian %.6g s (min %.6g, max %.6g, %d runs, %d thread%s%s), %.1f GFLOP/s, %.0f%% of peak\n", label,
                r.secondsMedian, r.secondsMin, r.secondsMax, r.runs, r.threads, r.threads == 1 ? "" : "s",
                r.alternated ? ", forwards and backwards in turn" : "", r.gflops, 100 * r.peakFraction);
}

// Both schedules timed in turn in one worker; the verdict rests on the pairs' ratios.
int comparePair(const ir::Kernel& kernel, const ir::Target& target, const measure::ResolvedSchedule& first,
                const measure::ResolvedSchedule& second, const std::string& firstPath, const std::string& secondPath,
                const measure::Options& options) {
    const auto p = measure::compareInWorker(
        selfExecutable(), measure::makePairedJob(kernel, target, first.contender(), second.contender(), options));
    if (!p.ok()) {
        std::cerr << "isamap: " << p.failure() << "\n";
        return 1;
    }
    std::printf("kernel %s on %s, two schedules timed in turn on the same inputs, %d pairs:\n", kernel.name.c_str(),
                target.name.c_str(), p.pairs);
    printTiming(("  first  " + firstPath + ": ").c_str(), p.first);
    printTiming(("  second " + secondPath + ": ").c_str(), p.second);
    // Where the middle half of the pairs' ratios straddles 1, neither is faster beyond the noise.
    char verdict[96] = "within the pairs' spread of the first";
    if (p.ratioHigh < 1)
        std::snprintf(verdict, sizeof verdict, "%.2fx as fast", 1 / p.ratioMedian);
    else if (p.ratioLow > 1)
        std::snprintf(verdict, sizeof verdict, "%.2fx as slow", p.ratioMedian);
    std::printf("  second over first, time per pair: median %.3f (middle half of the pairs %.3f-%.3f): the second is %s\n",
                p.ratioMedian, p.ratioLow, p.ratioHigh, verdict);
    std::printf("  first: %s\n  second: %s\n", p.first.verification().c_str(), p.second.verification().c_str());
    const double firstModeled = cost::modeledSeconds(first.space, first.schedule);
    const double secondModeled = cost::modeledSeconds(second.space, second.schedule);
    std::printf("  modeled: first %s, second %s; second over first %.3f\n", timeText(firstModeled).c_str(),
                timeText(secondModeled).c_str(), secondModeled / firstModeled);
    return 0;
}

} // namespace

int measureCommand(const std::vector<std::string>& args) {
    const char* line = "measure KERNEL_FILE_OR_NAME --target T --schedule FILE [--against FILE] [KEY=VALUE...] [--kernel NAME]\n"
                       "       [--threads N] [--runs N] [--alternate] [--emit llvm|asm]";
    auto split = splitArgs(args, {"target", "schedule", "against", "kernel", "threads", "runs", "emit"});
    if (!split.error.empty())
        return usage(split.error, line);
    if (split.positional.size() != 1 || !split.options.count("target") || !split.options.count("schedule"))
        return usage("measure takes a kernel, --target and --schedule", line);
    if (split.options.count("against") && split.options.count("emit"))
        return usage("--emit prints one schedule's code; it does not go with --against", line);
    std::map<std::string, std::int64_t> overrides;
    auto module = loadInput(split.positional[0], split.values, overrides);
    auto kernel = module ? chooseKernel(*module, split.options.count("kernel") ? split.options["kernel"] : "", overrides)
                         : std::nullopt;
    if (!kernel)
        return 1;
    std::string error;
    auto target = targets::loadTarget(split.options["target"], error);
    if (!target) {
        std::cerr << "isamap: " << error << "\n";
        return 1;
    }
    measure::Options options;
    if (split.options.count("threads"))
        options.codegen.threads = std::max(1, std::atoi(split.options["threads"].c_str()));
    // The model plans for as many units as the generated code will use, as in `tune`: a schedule with a
    // parallel loop, timed on one thread, was modeled for the target's two cores at half its time.
    if (options.codegen.threads > 0)
        target->target = targets::withCores(target->target, options.codegen.threads);
    const auto first = loadScheduleFile(split.options["schedule"], *kernel, target->target);
    if (!first)
        return 1;
    if (split.options.count("runs"))
        options.minRuns = std::max(1, std::atoi(split.options["runs"].c_str()));
    options.alternateSweeps = split.options.count("alternate") > 0;
    const std::string emit = split.options.count("emit") ? split.options["emit"] : "";
    if (!emit.empty())
        return printCode(*kernel, target->target, first->candidate, first->space, first->schedule, options.codegen, emit) ? 0 : 1;
    if (split.options.count("against")) {
        const auto second = loadScheduleFile(split.options["against"], *kernel, target->target);
        if (!second)
            return 1;
        // Both run in each timed second, so each gets as long as one alone would.
        options.minSeconds *= 2;
        return comparePair(*kernel, target->target, *first, *second, split.options["schedule"], split.options["against"], options);
    }
    const auto r = measure::measureInWorker(selfExecutable(), measure::makeJob(*kernel, target->target, first->candidate,
                                                                                first->space, first->schedule, options));
    if (r.status != measure::Status::Ok) {
        std::cerr << "isamap: " << measure::statusName(r.status) << ": " << r.message << "\n";
        return 1;
    }
    printTiming(("kernel " + kernel->name + " on " + target->target.name + ": ").c_str(), r);
    std::printf("%s\n", r.verification().c_str());
    const auto b = cost::explain(first->space, first->schedule);
    std::printf("modeled %s, %s; measured over modeled %.2f\n", timeText(b.seconds).c_str(), b.bound.c_str(),
                r.secondsMedian / b.seconds);
    printWhereTheTimeGoes(b);
    return 0;
}

int workerCommand(const std::vector<std::string>& args) {
    if (!args.empty())
        return usage("worker takes no arguments: it reads a job on its standard input", "worker");
    return measure::serveWorker(stdin, stdout);
}

} // namespace isamap::cli
