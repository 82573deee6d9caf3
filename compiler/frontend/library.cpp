#include "frontend/library.h"

#include "frontend/generator_spec.h"
#include "ir/check.h"

#include <functional>

namespace isamap::frontend {

namespace {

using Spec = GeneratorSpec;

const std::vector<Spec>& specs() {
    static const std::vector<Spec> all = [] {
        std::vector<Spec> out;
        addMatmulGenerators(out);
        addConvGenerators(out);
        addRnnGenerators(out);
        addElementwiseGenerators(out);
        return out;
    }();
    return all;
}

const Spec* findSpec(const std::string& name) {
    for (const auto& s : specs())
        if (s.info.name == name)
            return &s;
    return nullptr;
}

} // namespace

const std::vector<Generator>& generators() {
    static const std::vector<Generator> all = [] {
        std::vector<Generator> out;
        for (const auto& s : specs())
            out.push_back(s.info);
        return out;
    }();
    return all;
}

const Generator* findGenerator(const std::string& name) {
    const Spec* s = findSpec(name);
    return s ? &s->info : nullptr;
}

std::optional<std::string> generateText(const std::string& name, const Args& args, std::string& error) {
    const Spec* spec = findSpec(name);
    if (!spec) {
        error = "unknown library kernel '" + name + "'; the library has:";
        for (const auto& g : generators())
            error += " " + g.name;
        return std::nullopt;
    }
    Args full;
    for (const auto& a : spec->info.args)
        full[a.name] = a.defaultValue;
    for (const auto& [key, value] : args) {
        if (!full.count(key)) {
            error = "'" + name + "' has no argument '" + key + "'; its arguments are:";
            for (const auto& a : spec->info.args)
                error += " " + a.name;
            return std::nullopt;
        }
        full[key] = value;
    }
    if (auto problem = spec->validate ? spec->validate(full) : std::string(); !problem.empty()) {
        error = "'" + name + "': " + problem;
        return std::nullopt;
    }
    return spec->make(full);
}

std::optional<ir::Module> generate(const std::string& name, const Args& args, std::string& error) {
    auto text = generateText(name, args, error);
    if (!text)
        return std::nullopt;
    ir::SourceFile file{name, *text};
    auto result = parseAndCheck(file);
    if (ir::hasErrors(result.diagnostics)) {
        error = "internal error: generator '" + name + "' produced an invalid module:\n" +
                ir::format(result.diagnostics) + *text;
        return std::nullopt;
    }
    return std::move(result.module);
}

ir::LibraryExpander expander() {
    return [](const ir::LibraryCall& call, std::string& textOrError) {
        Args args;
        for (const auto& [k, v] : call.args)
            args[k] = v;
        auto text = generateText(call.name, args, textOrError);
        if (!text)
            return false;
        textOrError = *text;
        return true;
    };
}

ir::ParseResult parseAndCheck(const ir::SourceFile& file) {
    auto result = ir::parse(file, expander());
    if (ir::hasErrors(result.diagnostics))
        return result;
    auto more = ir::check(result.module, file);
    result.diagnostics.insert(result.diagnostics.end(), more.begin(), more.end());
    return result;
}

} // namespace isamap::frontend
