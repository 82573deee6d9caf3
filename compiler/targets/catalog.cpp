#include "targets/catalog.h"

#include "frontend/library.h"
#include "support/resources.h"
#include "targets/host.h"

#include <algorithm>
#include <filesystem>

namespace isamap::targets {

namespace {

std::optional<ir::Module> parseTargetFile(const std::string& path, std::string& error) {
    auto text = readFile(path, error);
    if (!text)
        return std::nullopt;
    ir::SourceFile file{path, *text};
    auto result = frontend::parseAndCheck(file);
    if (ir::hasErrors(result.diagnostics)) {
        error = ir::format(result.diagnostics);
        return std::nullopt;
    }
    if (result.module.targets.empty()) {
        error = path + ": error: the file describes no target";
        return std::nullopt;
    }
    return std::move(result.module);
}

} // namespace

std::vector<TargetFile> bundledTargets() {
    std::vector<TargetFile> out;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(resourcePath("targets"), ec)) {
        if (entry.path().extension() != ".isa")
            continue;
        std::string error;
        if (auto m = parseTargetFile(entry.path().string(), error))
            for (const auto& t : m->targets)
                out.push_back({t.name, entry.path().string()});
    }
    std::sort(out.begin(), out.end(), [](const TargetFile& a, const TargetFile& b) { return a.name < b.name; });
    return out;
}

std::optional<LoadedTarget> loadTarget(const std::string& nameOrPath, std::string& error) {
    if (nameOrPath == "host")
        return hostTarget(error);
    std::string path = nameOrPath;
    if (!std::filesystem::exists(path)) {
        path = resourcePath("targets/" + nameOrPath + ".isa").string();
        if (!std::filesystem::exists(path)) {
            error = "unknown target '" + nameOrPath + "'; bundled targets are:";
            for (const auto& t : bundledTargets())
                error += " " + t.name;
            error += ", and 'host'";
            return std::nullopt;
        }
    }
    auto m = parseTargetFile(path, error);
    if (!m)
        return std::nullopt;
    return LoadedTarget{std::move(m->targets.front()), path};
}

std::optional<LoadedTarget> hostTarget(std::string& error) { return hostTargetFor(detectHost(), error); }

ir::Target withCores(ir::Target target, int cores) {
    for (auto& unit : target.units)
        unit.count = cores;
    return target;
}

std::optional<LoadedTarget> hostTargetFor(const HostCpu& cpu, std::string& error) {
    std::optional<LoadedTarget> best;
    std::string reasons;
    for (const auto& file : bundledTargets()) {
        std::string ignored;
        auto loaded = loadTarget(file.path, ignored);
        if (!loaded || loaded->target.features.empty())
            continue;
        auto missing = missingFeatures(cpu, loaded->target.features);
        if (!missing.empty()) {
            reasons += "\n  " + file.name + " needs";
            for (const auto& f : missing)
                reasons += " " + f;
            continue;
        }
        if (!best || loaded->target.features.size() > best->target.features.size())
            best = std::move(loaded);
    }
    if (!best)
        error = "no bundled host target fits this CPU (" + cpu.name + "):" + reasons;
    return best;
}

} // namespace isamap::targets
