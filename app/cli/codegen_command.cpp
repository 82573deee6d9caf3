// isamap export and isamap worker: generated code written out for a user's program, and the process
// in which measurements run; plus the helpers that load a stored schedule and print its code.
#include "cli/commands.h"
#include "cli/support.h"

#include "codegen/codegen.h"
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

int measureCommand(const std::vector<std::string>& args) {
    const char* line = "measure KERNEL_FILE_OR_NAME --target T --schedule FILE [KEY=VALUE...] [--kernel NAME] [--threads N]\n"
                       "       [--runs N] [--emit llvm|asm]";
    auto split = splitArgs(args, {"target", "schedule", "kernel", "threads", "runs", "emit"});
    if (!split.error.empty())
        return usage(split.error, line);
    if (split.positional.size() != 1 || !split.options.count("target") || !split.options.count("schedule"))
        return usage("measure takes a kernel, --target and --schedule", line);
    std::map<std::string, std::int64_t> overrides;
    auto module = loadInput(split.positional[0], split.values, overrides);
    auto kernel = module ? chooseKernel(*module, split.options.count("kernel") ? split.options["kernel"] : "", overrides)
                         : std::nullopt;
    if (!kernel)
        return 1;
    std::string error;
    auto target = targets::loadTarget(split.options["target"], error);
    auto text = target ? readFile(split.options["schedule"], error) : std::nullopt;
    if (!text) {
        std::cerr << "isamap: " << error << "\n";
        return 1;
    }
    // The schedule names its candidate on its `candidate` line.
    std::string key;
    std::istringstream lines(*text);
    for (std::string l; std::getline(lines, l);)
        if (l.rfind("candidate ", 0) == 0)
            key = l.substr(10);
    const auto mapped = mapping::mapKernel(*kernel, target->target);
    const auto candidate = std::find_if(mapped.candidates.begin(), mapped.candidates.end(),
                                        [&](const mapping::Candidate& c) { return c.valid && c.key == key; });
    if (candidate == mapped.candidates.end()) {
        std::cerr << "isamap: " << split.options["schedule"] << ": no valid candidate `" << key << "` for kernel "
                  << kernel->name << " on " << target->target.name << " (see isamap map)\n";
        return 1;
    }
    auto space = schedule::makeSpace(*kernel, target->target, *candidate, error);
    auto s = space ? schedule::parseSchedule(*space, *text, error) : std::nullopt;
    if (!s) {
        std::cerr << "isamap: " << split.options["schedule"] << ": " << error << "\n";
        return 1;
    }
    measure::Options options;
    if (split.options.count("threads"))
        options.codegen.threads = std::max(1, std::atoi(split.options["threads"].c_str()));
    if (split.options.count("runs"))
        options.minRuns = std::max(1, std::atoi(split.options["runs"].c_str()));
    const std::string emit = split.options.count("emit") ? split.options["emit"] : "";
    if (!emit.empty())
        return printCode(*kernel, target->target, *candidate, *space, *s, options.codegen, emit) ? 0 : 1;
    const auto r = measure::measureInWorker(selfExecutable(), measure::makeJob(*kernel, target->target, *candidate, *space, *s, options));
    if (r.status != measure::Status::Ok) {
        std::cerr << "isamap: " << measure::statusName(r.status) << ": " << r.message << "\n";
        return 1;
    }
    std::printf("kernel %s on %s: median %.6g s (min %.6g, max %.6g, %d runs, %d thread%s), %.1f GFLOP/s, %.0f%% of peak\n%s\n",
                kernel->name.c_str(), target->target.name.c_str(), r.secondsMedian, r.secondsMin, r.secondsMax, r.runs,
                r.threads, r.threads == 1 ? "" : "s", r.gflops, 100 * r.peakFraction, r.verification().c_str());
    return 0;
}

int workerCommand(const std::vector<std::string>& args) {
    if (!args.empty())
        return usage("worker takes no arguments: it reads a job on its standard input", "worker");
    return measure::serveWorker(stdin, stdout);
}

} // namespace isamap::cli
