// isamap: the command-line client of the compiler core. Every command is a thin call into compiler/.
#include "cli/commands.h"

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace {

struct Command {
    const char* name;
    const char* usage;
    const char* summary;
    int (*run)(const std::vector<std::string>& args);
};

const Command kCommands[] = {
    {"kernel", "kernel NAME [KEY=VALUE...] | kernel --list", "print a kernel or graph from the library",
     isamap::cli::kernelCommand},
    {"parse", "parse FILE|-", "parse and check a file, print it back in canonical form", isamap::cli::parseCommand},
    {"check", "check FILE...", "parse and check files, report diagnostics only", isamap::cli::checkCommand},
    {"run", "run FILE|LIBRARY_NAME [KEY=VALUE...] [--kernel NAME] [--seed N] [--random-inputs]",
     "run a kernel or graph in the reference interpreter, print a checksum per output", isamap::cli::runCommand},
    {"map", "map KERNEL_FILE_OR_NAME --target T [KEY=VALUE...] [--kernel NAME] [--all] [--json]",
     "list every way the target's instructions can perform the kernel (--all: with the rejected ones and why)",
     isamap::cli::mapCommand},
    {"map", "map --suite SUITE --instruction I --target T [--json]",
     "which kernels of a suite one instruction can serve, and how well", isamap::cli::mapCommand},
    {"tune",
     "tune KERNEL_FILE_OR_NAME --target T [KEY=VALUE...] [--kernel NAME] [--strategy S] [--budget N|Ns] [--seed N]\n"
     "            [--constraints FILE] [--project P.isamap] [--top K] [--measure N] [--threads N]\n"
     "            [--emit llvm|asm] [--json]",
     "search the schedules of a kernel with the cost model (strategies: exhaustive, random, beam, annealing,\n"
     "      evolutionary); show the best with their modeled time and what bounds them; keep them in a project;\n"
     "      --measure N: run the N best (generated through LLVM on a host target, verified, timed in a worker\n"
     "      process; simulated on a virtual one) against modeled, and on a host the analytical blockings beside them;\n"
     "      --threads: cores to plan and run for;\n"
     "      --emit: the best one's LLVM IR or assembly",
     isamap::cli::tuneCommand},
    {"schedule", "schedule show ID --project P.isamap", "print a stored schedule as a loop nest with its modeled time",
     isamap::cli::scheduleCommand},
    {"export", "export KERNEL --schedule ID --project P.isamap -o DIR [--threads N] [--name SYMBOL]",
     "write a stored host schedule as an object file, a C header and the runtime's C source, for your program",
     isamap::cli::exportCommand},
    {"measure",
     "measure KERNEL_FILE_OR_NAME --target T --schedule FILE [--against FILE] [KEY=VALUE...] [--threads N]\n"
     "            [--runs N] [--alternate] [--emit llvm|asm]",
     "generate a schedule written by hand (the text `isamap schedule show` and tune --json give) for this CPU,\n"
     "      verify it against the interpreter and time it in a worker process, beside its modeled time and\n"
     "      where the model says the time goes; or print its code;\n"
     "      --against: verify a second schedule too, time the two in turn on the same inputs, and compare them\n"
     "      by the median of the pairs' ratios (which a machine whose speed drifts does not sway);\n"
     "      --alternate: every other run takes the parallel loop backwards, as a graph runs a recurrence's steps",
     isamap::cli::measureCommand},
    {"graph",
     "graph GRAPH_FILE_OR_NAME --target T [KEY=VALUE...] [--graph NAME] [--threads N] [--budget N]\n"
     "            [--constraints FILE] [--pick measured|model] [--no-fuse] [--alternate|--no-alternate] [--runs N]",
     "run an op graph through generated code on this CPU: each node at the fastest, timed here, of the cost\n"
     "      model's 4 best proposals (the search's best and the analytical schedules, within the constraints\n"
     "      that name its loops, each listed with its modeled and measured time, the two fastest timed again in\n"
     "      turn; --pick model: the model's best), element-wise nodes fused into their producers\n"
     "      and consecutive nodes run band by band where they can (--no-fuse: node by node), every other step of\n"
     "      a recurrence backwards over its weights where whole runs, timed both ways in pairs, are faster so\n"
     "      (--alternate: always; --no-alternate: all forwards); verified node by node against\n"
     "      the interpreter, timed (the time to choose the schedules apart from compiling), and where the time\n"
     "      goes: each node timed on its own inside whole runs (a recurrence's steps on one line: their median,\n"
     "      the slowest, the first ten against ten at the median when 20 or more, each direction's median)",
     isamap::cli::graphCommand},
    {"worker", "worker", "(internal) the measuring worker: reads a job on standard input, writes the result",
     isamap::cli::workerCommand},
    {"targets", "targets", "list the bundled targets and which one fits this CPU", isamap::cli::targetsCommand},
    {"target", "target NAME|FILE|host", "print a target description", isamap::cli::targetCommand},
    {"suite", "suite [NAME [ENTRY]]", "list the kernel suites, a suite's entries, or print one entry",
     isamap::cli::suiteCommand},
};

void printHelp(std::ostream& out) {
    out << "isamap - the command line of ISA Mapper Studio\n\n"
           "usage: isamap COMMAND [ARGS...]\n\ncommands:\n";
    for (const auto& c : kCommands)
        out << "  isamap " << c.usage << "\n      " << c.summary << "\n";
    out << "\nFiles use the project's text format (kernels, graphs, targets); see docs/format.md.\n"
           "Exit status: 0 on success, 1 when the input has errors, 2 on wrong usage.\n";
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        printHelp(std::cout);
        return args.empty() ? 2 : 0;
    }
    for (const auto& c : kCommands)
        if (args[0] == c.name)
            return c.run(std::vector<std::string>(args.begin() + 1, args.end()));
    std::cerr << "isamap: unknown command '" << args[0] << "'\n\n";
    printHelp(std::cerr);
    return 2;
}
