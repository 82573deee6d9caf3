#include "cli/support.h"

#include "frontend/library.h"
#include "mapping/mapping.h"
#include "support/resources.h"

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <sstream>

namespace isamap::cli {

SplitArgs splitArgs(const std::vector<std::string>& args, const std::vector<std::string>& optionsWithValue) {
    SplitArgs out;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a.starts_with("--")) {
            std::string name = a.substr(2);
            if (std::find(optionsWithValue.begin(), optionsWithValue.end(), name) != optionsWithValue.end()) {
                if (i + 1 >= args.size()) {
                    out.error = "option " + a + " needs a value";
                    return out;
                }
                out.options[name] = args[++i];
            } else {
                out.options[name] = "";
            }
            continue;
        }
        auto eq = a.find('=');
        if (eq != std::string::npos && eq > 0) {
            std::int64_t v = 0;
            const char* begin = a.data() + eq + 1;
            const char* end = a.data() + a.size();
            auto [ptr, ec] = std::from_chars(begin, end, v);
            if (ec != std::errc() || ptr != end || begin == end) {
                out.error = "'" + a + "': the value after '=' must be an integer";
                return out;
            }
            out.values[a.substr(0, eq)] = v;
            continue;
        }
        out.positional.push_back(a);
    }
    return out;
}

int usage(const std::string& message, const std::string& usageLine) {
    std::cerr << "isamap: " << message << "\nusage: isamap " << usageLine << "\n";
    return 2;
}

std::optional<ir::SourceFile> readSource(const std::string& path) {
    if (path == "-") {
        std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
        return ir::SourceFile{"<stdin>", std::move(text)};
    }
    std::string error;
    auto text = readFile(path, error);
    if (!text) {
        std::cerr << "isamap: " << error << "\n";
        return std::nullopt;
    }
    return ir::SourceFile{path, std::move(*text)};
}

// Parses and checks; prints the diagnostics; empty when there were errors.
std::optional<ir::Module> loadModule(const ir::SourceFile& file) {
    auto result = frontend::parseAndCheck(file);
    std::cerr << ir::format(result.diagnostics);
    if (ir::hasErrors(result.diagnostics))
        return std::nullopt;
    return std::move(result.module);
}

std::string shapeText(const std::vector<std::int64_t>& s) {
    std::string out = "[";
    for (std::size_t i = 0; i < s.size(); ++i)
        out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
}

std::string timeText(double seconds) {
    char buf[32];
    if (seconds >= 1)
        std::snprintf(buf, sizeof buf, "%.3f s", seconds);
    else if (seconds >= 1e-3)
        std::snprintf(buf, sizeof buf, "%.3f ms", seconds * 1e3);
    else
        std::snprintf(buf, sizeof buf, "%.2f us", seconds * 1e6);
    return buf;
}

void printWhereTheTimeGoes(const cost::Breakdown& b) {
    std::printf("where the time goes (%s):\n", timeText(b.seconds).c_str());
    auto terms = b.terms;
    std::sort(terms.begin(), terms.end(), [](const cost::Term& x, const cost::Term& y) { return x.seconds > y.seconds; });
    for (std::size_t i = 0; i < terms.size() && i < 6; ++i)
        std::printf("  %5.1f%%  %s%s\n", 100 * terms[i].seconds / b.seconds, terms[i].what.c_str(),
                    terms[i].overlapped ? " (overlapped)" : "");
    if (!b.held.empty())
        std::printf("  warm: %s\n", b.held.c_str());
}

std::string paramsText(const std::vector<ir::Param>& params) {
    std::string out;
    for (const auto& p : params)
        out += (out.empty() ? "" : " ") + p.name + "=" + std::to_string(p.value);
    return out;
}

void printChecksums(const std::vector<ir::TensorDecl>& tensors, const interp::Buffers& buffers) {
    for (const auto& t : tensors) {
        if (t.role != ir::TensorRole::Out && t.role != ir::TensorRole::InOut)
            continue;
        const auto& b = buffers.at(t.name);
        auto c = interp::checksum(b);
        std::printf("%s : %s%s  sum=%.9g  weighted=%.9g\n", t.name.c_str(), std::string(ir::typeName(t.type)).c_str(),
                    shapeText(b.shape).c_str(), c.sum, c.weighted);
    }
}

std::optional<ir::Module> loadInput(const std::string& input, const std::map<std::string, std::int64_t>& args,
                                    std::map<std::string, std::int64_t>& overrides) {
    overrides.clear();
    if (std::filesystem::exists(input) || input == "-") {
        auto source = readSource(input);
        if (!source)
            return std::nullopt;
        overrides = args;
        return loadModule(*source);
    }
    if (frontend::findGenerator(input)) {
        // Library arguments shape the generated text; its sizes stay overridable parameters.
        std::string error;
        auto module = frontend::generate(input, args, error);
        if (!module)
            std::cerr << "isamap: " << error << "\n";
        return module;
    }
    std::cerr << "isamap: '" << input << "' is neither a file nor a library kernel (see 'isamap kernel --list')\n";
    return std::nullopt;
}

std::string jsonString(const std::string& s) {
    std::string out = "\"";
    for (char ch : s) {
        switch (ch) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        default:
            if (static_cast<unsigned char>(ch) < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", ch);
                out += buf;
            } else {
                out += ch;
            }
        }
    }
    return out + "\"";
}

std::string candidateJson(const mapping::Candidate& c, const ir::Kernel& k, const std::string& kernelLabel) {
    std::ostringstream o;
    o << "{\"id\": " << c.id << ", \"key\": " << jsonString(c.key) << ", \"kernel\": " << jsonString(kernelLabel)
      << ", \"instruction\": " << jsonString(c.instruction) << ", \"statement\": " << c.statement
      << ", \"valid\": " << (c.valid ? "true" : "false") << ", \"binding\": {";
    for (std::size_t i = 0; i < c.dims.size(); ++i)
        o << (i ? ", " : "") << jsonString(c.dims[i].instructionDim) << ": " << jsonString(c.dims[i].expression(k));
    o << "}, \"operands\": {";
    for (std::size_t i = 0; i < c.operands.size(); ++i)
        o << (i ? ", " : "") << jsonString(c.operands[i].instructionOperand) << ": "
          << jsonString(c.operands[i].kernelTensor);
    o << "}, \"padding\": " << c.padding << ", \"padding_per_dimension\": {";
    for (std::size_t i = 0; i < c.dims.size(); ++i)
        o << (i ? ", " : "") << jsonString(c.dims[i].instructionDim) << ": " << c.dims[i].padding;
    o << "}, \"layout_changes\": [";
    for (std::size_t i = 0; i < c.layoutChanges.size(); ++i)
        o << (i ? ", " : "") << jsonString(c.layoutChanges[i]);
    o << "], \"outer_loops\": [";
    for (std::size_t i = 0; i < c.outerLoops.size(); ++i)
        o << (i ? ", " : "") << jsonString(c.outerLoops[i]);
    o << "], \"utilisation\": " << c.utilisation << ", \"calls\": " << c.calls
      << ", \"symmetric_count\": " << c.symmetricCount << ", \"dominated\": " << (c.dominated ? "true" : "false") << ", \"reason\": " << jsonString(c.reason) << "}";
    return o.str();
}

std::optional<ir::Kernel> chooseKernel(const ir::Module& m, const std::string& wanted,
                                       const std::map<std::string, std::int64_t>& overrides) {
    const ir::Kernel* k = wanted.empty() ? (m.kernels.size() == 1 || m.graphs.empty() ? (m.kernels.empty() ? nullptr : &m.kernels.front()) : nullptr)
                                         : m.findKernel(wanted);
    if (!k) {
        std::string names;
        for (const auto& kernel : m.kernels)
            names += " " + kernel.name;
        std::cerr << "isamap: " << (wanted.empty() ? "the file has several kernels; choose one with --kernel:" : "no kernel '" + wanted + "'; the kernels are:")
                  << names << "\n";
        return std::nullopt;
    }
    ir::Kernel kernel = *k;
    if (!applyOverrides(kernel, overrides))
        return std::nullopt;
    return kernel;
}

} // namespace isamap::cli
