#include "cli/commands.h"

#include "cli/support.h"

#include "frontend/library.h"
#include "frontend/suites.h"
#include "interp/interpreter.h"
#include "ir/printer.h"
#include "support/resources.h"
#include "targets/catalog.h"
#include "targets/host.h"

#include <charconv>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <map>

namespace isamap::cli {

int kernelCommand(const std::vector<std::string>& args) {
    const char* line = "kernel NAME [KEY=VALUE...] | kernel --list";
    auto split = splitArgs(args, {});
    if (!split.error.empty())
        return usage(split.error, line);
    if (split.options.count("list")) {
        for (const auto& g : frontend::generators()) {
            std::cout << g.name << (g.makesGraph ? " (graph)" : "") << " - " << g.summary << "\n";
            for (const auto& a : g.args)
                std::cout << "    " << a.name << "=" << a.defaultValue << "  " << a.meaning << "\n";
        }
        return 0;
    }
    if (split.positional.size() != 1)
        return usage("name one library kernel (see 'isamap kernel --list')", line);
    std::string error;
    auto module = frontend::generate(split.positional[0], split.values, error);
    if (!module) {
        std::cerr << "isamap: " << error << "\n";
        return 1;
    }
    std::cout << ir::print(*module);
    return 0;
}

int parseCommand(const std::vector<std::string>& args) {
    if (args.size() != 1)
        return usage("parse takes one file, or - for standard input", "parse FILE|-");
    auto source = readSource(args[0]);
    if (!source)
        return 1;
    auto module = loadModule(*source);
    if (!module)
        return 1;
    std::cout << ir::print(*module);
    return 0;
}

int checkCommand(const std::vector<std::string>& args) {
    if (args.empty())
        return usage("check takes one or more files", "check FILE...");
    int status = 0;
    for (const auto& path : args) {
        auto source = readSource(path);
        if (!source) {
            status = 1;
            continue;
        }
        auto module = loadModule(*source);
        if (!module) {
            status = 1;
            continue;
        }
        std::cout << source->name << ": ok (" << module->kernels.size() << " kernels, " << module->graphs.size()
                  << " graphs, " << module->targets.size() << " targets)\n";
    }
    return status;
}

int runCommand(const std::vector<std::string>& args) {
    const char* line = "run FILE|LIBRARY_NAME [KEY=VALUE...] [--kernel NAME] [--seed N] [--random-inputs]";
    auto split = splitArgs(args, {"kernel", "seed"});
    if (!split.error.empty())
        return usage(split.error, line);
    if (split.positional.size() != 1)
        return usage("run takes one file or library kernel name", line);
    for (const auto& [name, value] : split.options)
        if (name != "kernel" && name != "seed" && name != "random-inputs")
            return usage("unknown option --" + name, line);
    std::uint64_t seed = 1;
    if (split.options.count("seed")) {
        const std::string& s = split.options["seed"];
        auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), seed);
        if (ec != std::errc() || ptr != s.data() + s.size())
            return usage("--seed needs a non-negative integer", line);
    }
    std::map<std::string, std::int64_t> overrides;
    auto module = loadInput(split.positional[0], split.values, overrides);
    if (!module)
        return 1;
    const std::string wanted = split.options.count("kernel") ? split.options["kernel"] : "";
    const ir::Graph* graph = wanted.empty() ? (module->graphs.empty() ? nullptr : &module->graphs.front())
                                            : module->findGraph(wanted);
    const ir::Kernel* kernel = graph ? nullptr
                                     : wanted.empty() ? (module->kernels.empty() ? nullptr : &module->kernels.front())
                                                      : module->findKernel(wanted);
    if (!graph && !kernel) {
        std::cerr << "isamap: " << (wanted.empty() ? "the input has no kernel or graph to run"
                                                   : "no kernel or graph named '" + wanted + "'")
                  << "\n";
        return 1;
    }
    if (graph) {
        ir::Graph g = *graph;
        if (!applyOverrides(g, overrides))
            return 1;
        interp::Buffers buffers = interp::randomInputs(g, seed);
        if (auto error = interp::run(g, *module, buffers)) {
            std::cerr << "isamap: " << *error << "\n";
            return 1;
        }
        std::cout << "graph " << g.name << " (" << paramsText(g.params) << "), " << g.nodes.size()
                  << " nodes, random inputs with seed " << seed << "\n";
        printChecksums(g.tensors, buffers);
        return 0;
    }
    ir::Kernel k = *kernel;
    if (!applyOverrides(k, overrides))
        return 1;
    interp::Buffers buffers = interp::randomInputs(k, seed);
    if (auto error = interp::run(k, buffers)) {
        std::cerr << "isamap: " << *error << "\n";
        return 1;
    }
    std::cout << "kernel " << k.name << " (" << paramsText(k.params) << "), random inputs with seed " << seed << "\n";
    printChecksums(k.tensors, buffers);
    return 0;
}

int targetsCommand(const std::vector<std::string>& args) {
    if (!args.empty())
        return usage("targets takes no arguments", "targets");
    const auto cpu = targets::detectHost();
    std::string hostError;
    auto host = targets::hostTarget(hostError);
    for (const auto& t : targets::bundledTargets()) {
        std::cout << t.name << "  " << std::filesystem::path(t.path).filename().string();
        if (host && host->target.name == t.name)
            std::cout << "  (host: fits this CPU, " << cpu.name << ")";
        std::cout << "\n";
    }
    if (!host)
        std::cout << "host: " << hostError << "\n";
    return 0;
}

int targetCommand(const std::vector<std::string>& args) {
    if (args.size() != 1)
        return usage("target takes one name, file or 'host'", "target NAME|FILE|host");
    std::string error;
    auto loaded = targets::loadTarget(args[0], error);
    if (!loaded) {
        std::cerr << (error.find(": error:") != std::string::npos ? error : "isamap: " + error + "\n");
        return 1;
    }
    std::cout << "# " << loaded->path << "\n" << ir::print(loaded->target);
    return 0;
}

int suiteCommand(const std::vector<std::string>& args) {
    const char* line = "suite [NAME [ENTRY]]";
    if (args.empty()) {
        for (const auto& s : frontend::suites())
            std::cout << s.name << " - " << s.summary << "\n";
        return 0;
    }
    if (args.size() > 2)
        return usage("too many arguments", line);
    std::string error;
    auto entries = frontend::loadSuite(args[0], error);
    if (!entries) {
        std::cerr << "isamap: " << error << "\n";
        return 1;
    }
    if (args.size() == 1) {
        for (const auto& e : *entries) {
            std::cout << e.name << "  " << e.generator;
            for (const auto& [k, v] : e.args)
                std::cout << " " << k << "=" << v;
            std::cout << "\n";
        }
        return 0;
    }
    for (const auto& e : *entries) {
        if (e.name != args[1])
            continue;
        auto module = frontend::generate(e.generator, e.args, error);
        if (!module) {
            std::cerr << "isamap: " << error << "\n";
            return 1;
        }
        std::cout << ir::print(*module);
        return 0;
    }
    std::cerr << "isamap: suite '" << args[0] << "' has no entry '" << args[1] << "'\n";
    return 1;
}

} // namespace isamap::cli
