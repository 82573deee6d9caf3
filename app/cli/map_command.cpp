// isamap map: the instruction mapper from the command line, as a table or as JSON, for one kernel
// (or each kernel of a graph) or, the reverse question, for one instruction over a suite.
#include "cli/commands.h"
#include "cli/support.h"

#include "frontend/suites.h"
#include "mapping/mapping.h"
#include "targets/catalog.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>

namespace isamap::cli {

namespace {

const char* kUsage = "map KERNEL_FILE_OR_NAME --target T [KEY=VALUE...] [--kernel NAME] [--all] [--json]\n"
                     "       isamap map --suite SUITE --instruction I --target T [--json]";

// A kernel to map, with the words that say where it came from.
struct Subject {
    std::string label;
    ir::Kernel kernel;
};

// The kernels of a module: the chosen one, or each distinct kernel instance of the first graph.
std::vector<Subject> subjectsOf(const ir::Module& m, const std::string& wanted,
                                const std::map<std::string, std::int64_t>& overrides, std::string& error) {
    std::vector<Subject> out;
    const ir::Graph* graph = wanted.empty() ? (m.graphs.empty() ? nullptr : &m.graphs.front()) : m.findGraph(wanted);
    if (!graph) {
        const ir::Kernel* k = wanted.empty() ? (m.kernels.empty() ? nullptr : &m.kernels.front()) : m.findKernel(wanted);
        if (!k) {
            error = wanted.empty() ? "the input has no kernel to map" : "no kernel or graph named '" + wanted + "'";
            return out;
        }
        ir::Kernel kernel = *k;
        if (!applyOverrides(kernel, overrides))
            return out;
        out.push_back({"kernel " + kernel.name + " (" + paramsText(kernel.params) + ")", kernel});
        return out;
    }
    ir::Graph g = *graph;
    if (!applyOverrides(g, overrides))
        return out;
    std::set<std::string> seen;
    for (const auto& n : g.nodes) {
        ir::Kernel instance = *ir::nodeKernel(m, g, n); // a checked module: every node's kernel exists
        const std::string label = "node " + n.name + ": kernel " + instance.name + " (" + paramsText(instance.params) + ")";
        if (seen.insert(instance.name + paramsText(instance.params)).second)
            out.push_back({label, instance});
    }
    return out;
}

std::string percent(double fraction) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", fraction * 100);
    return buf;
}

std::string bindingText(const mapping::Candidate& c, const ir::Kernel& k) {
    std::string out;
    for (const auto& d : c.dims)
        out += (out.empty() ? "" : "  ") + d.instructionDim + "=" + d.expression(k);
    return out;
}

std::string operandsText(const mapping::Candidate& c) {
    std::string out;
    for (const auto& o : c.operands)
        out += (out.empty() ? "" : " ") + o.instructionOperand + "=" + o.kernelTensor;
    return out;
}

void printTable(const mapping::MappingResult& r, const Subject& s, bool all) {
    const int valid = r.validCount();
    const int rejected = static_cast<int>(r.candidates.size()) - valid;
    std::printf("%s on %s: %d valid candidate%s, %d rejected%s\n", s.label.c_str(), r.target.c_str(), valid,
                valid == 1 ? "" : "s", rejected, all || rejected == 0 ? "" : " (--all shows them)");
    if (valid > 0) {
        std::size_t width = 7;
        for (const auto& c : r.candidates)
            if (c.valid)
                width = std::max(width, bindingText(c, s.kernel).size());
        std::printf("  %4s  %-22s  %-*s  %-14s %8s  %11s\n", "id", "instruction", static_cast<int>(width), "binding",
                    "operands", "padding", "utilisation");
        for (const auto& c : r.candidates) {
            if (!c.valid || (c.dominated && !all))
                continue;
            std::string instruction = c.instruction + (c.symmetricCount > 1 ? " (x" + std::to_string(c.symmetricCount) + ")" : "");
            std::printf("  %4d  %-22s  %-*s  %-14s %8s  %11s\n", c.id, instruction.c_str(), static_cast<int>(width),
                        bindingText(c, s.kernel).c_str(), operandsText(c).c_str(), percent(c.padding).c_str(),
                        percent(c.utilisation).c_str());
            for (const auto& change : c.layoutChanges)
                std::printf("        layout: %s\n", change.c_str());
            if (!c.outerLoops.empty()) {
                std::string loops;
                for (const auto& l : c.outerLoops)
                    loops += (loops.empty() ? "" : ", ") + l;
                std::printf("        loops around the instruction: %s\n", loops.c_str());
            }
        }
    }
    const auto dominated = std::count_if(r.candidates.begin(), r.candidates.end(),
                                         [](const mapping::Candidate& c) { return c.dominated; });
    if (!all) {
        if (dominated > 0)
            std::printf("  and %ld more that leave dimensions at a tile of one where a candidate above binds them "
                        "(--all shows them)\n", static_cast<long>(dominated));
        return;
    }
    for (const auto& c : r.candidates) {
        if (c.valid)
            continue;
        std::string instruction = c.instruction + (c.symmetricCount > 1 ? " (x" + std::to_string(c.symmetricCount) + ")" : "");
        std::string binding = bindingText(c, s.kernel);
        std::printf("  %4d  %-22s  %s%s\n        rejected: %s\n", c.id, instruction.c_str(), binding.empty() ? "" : binding.c_str(),
                    binding.empty() ? "(statement)" : "", c.reason.c_str());
    }
}

void printNearestMisses(const mapping::MappingResult& r, const Subject& s) {
    std::fprintf(stderr, "isamap: no instruction of %s can perform %s; the nearest misses:\n", r.target.c_str(),
                 s.label.c_str());
    for (const auto* c : mapping::nearestMisses(r, 5)) {
        std::string binding = bindingText(*c, s.kernel);
        std::fprintf(stderr, "  %s%s%s: %s\n", c->instruction.c_str(), binding.empty() ? "" : " with ",
                     binding.c_str(), c->reason.c_str());
    }
}

int mapSuite(const std::string& suiteName, const std::string& instruction, const ir::Target& target, bool json) {
    if (!target.findInstruction(instruction)) {
        std::string names;
        for (const auto& i : target.instructions)
            if (i.kind == ir::Instruction::Kind::Compute)
                names += " " + i.name;
        std::cerr << "isamap: target " << target.name << " has no instruction '" << instruction
                  << "'; its compute instructions are:" << names << "\n";
        return 1;
    }
    std::string error;
    auto entries = frontend::loadSuite(suiteName, error);
    if (!entries) {
        std::cerr << "isamap: " << error << "\n";
        return 1;
    }
    mapping::MappingOptions options;
    options.onlyInstruction = instruction;
    options.keepRejected = false;
    int served = 0, total = 0;
    std::vector<double> best;
    if (json)
        std::printf("[");
    bool first = true;
    for (const auto& e : *entries) {
        auto module = frontend::generate(e.generator, e.args, error);
        if (!module) {
            std::cerr << "isamap: " << e.name << ": " << error << "\n";
            return 1;
        }
        for (const auto& s : subjectsOf(*module, "", {}, error)) {
            ++total;
            auto r = mapping::mapKernel(s.kernel, target, options);
            const mapping::Candidate* top = r.candidates.empty() ? nullptr : &r.candidates.front();
            if (top) {
                ++served;
                best.push_back(top->utilisation);
            }
            if (json) {
                std::printf("%s{\"entry\": %s, \"kernel\": %s, \"valid_candidates\": %d, \"best\": %s}", first ? "" : ",\n ",
                            jsonString(e.name).c_str(), jsonString(s.label).c_str(), r.validCount(),
                            top ? candidateJson(*top, s.kernel, s.label).c_str() : "null");
                first = false;
                continue;
            }
            std::printf("%-34s %-44s %3d valid  %s\n", e.name.c_str(), s.label.substr(0, 44).c_str(), r.validCount(),
                        top ? ("best " + percent(top->utilisation) + ": " + bindingText(*top, s.kernel)).c_str() : "-");
        }
    }
    if (json) {
        std::printf("]\n");
        return 0;
    }
    std::sort(best.begin(), best.end());
    std::printf("\n%s on %s serves %d of %d kernels of %s", instruction.c_str(), target.name.c_str(), served, total,
                suiteName.c_str());
    if (!best.empty())
        std::printf("; median best utilisation %s", percent(best[best.size() / 2]).c_str());
    std::printf("\n");
    return 0;
}

} // namespace

int mapCommand(const std::vector<std::string>& args) {
    auto split = splitArgs(args, {"target", "kernel", "suite", "instruction"});
    if (!split.error.empty())
        return usage(split.error, kUsage);
    for (const auto& [name, value] : split.options)
        if (name != "target" && name != "kernel" && name != "suite" && name != "instruction" && name != "all" &&
            name != "json")
            return usage("unknown option --" + name, kUsage);
    if (!split.options.count("target"))
        return usage("map needs --target (a bundled name such as nnp-like, a target file, or host)", kUsage);
    std::string error;
    auto target = targets::loadTarget(split.options["target"], error);
    if (!target) {
        std::cerr << (error.find(": error:") != std::string::npos ? error : "isamap: " + error + "\n");
        return 1;
    }
    const bool json = split.options.count("json") > 0;
    if (split.options.count("suite")) {
        if (!split.options.count("instruction") || !split.positional.empty())
            return usage("--suite takes --instruction and no kernel", kUsage);
        return mapSuite(split.options["suite"], split.options["instruction"], target->target, json);
    }
    if (split.positional.size() != 1)
        return usage("map takes one kernel file or library kernel name", kUsage);
    std::map<std::string, std::int64_t> overrides;
    auto module = loadInput(split.positional[0], split.values, overrides);
    if (!module)
        return 1;
    auto subjects = subjectsOf(*module, split.options.count("kernel") ? split.options["kernel"] : "", overrides, error);
    if (subjects.empty()) {
        if (!error.empty())
            std::cerr << "isamap: " << error << "\n";
        return 1;
    }
    mapping::MappingOptions options;
    if (split.options.count("instruction"))
        options.onlyInstruction = split.options["instruction"];
    // A graph maps when some of its kernels do (element-wise tails often have no instruction of their
    // own); a kernel maps when some instruction performs it.
    bool anyMapped = false;
    if (json)
        std::printf("[");
    bool first = true;
    for (const auto& s : subjects) {
        auto r = mapping::mapKernel(s.kernel, target->target, options);
        if (r.validCount() == 0)
            printNearestMisses(r, s);
        else
            anyMapped = true;
        if (json) {
            for (const auto& c : r.candidates) {
                if (!c.valid && !split.options.count("all"))
                    continue;
                std::printf("%s%s", first ? "" : ",\n ", candidateJson(c, s.kernel, s.label).c_str());
                first = false;
            }
            continue;
        }
        if (r.validCount() > 0 || split.options.count("all"))
            printTable(r, s, split.options.count("all") > 0);
    }
    if (json)
        std::printf("]\n");
    return anyMapped ? 0 : 1;
}

} // namespace isamap::cli
