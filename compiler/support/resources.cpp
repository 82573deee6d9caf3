#include "support/resources.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace isamap {

namespace {
std::filesystem::path executableDir() {
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::filesystem::path() : exe.parent_path();
}
} // namespace

std::filesystem::path resourceDir() {
    if (const char* env = std::getenv("ISAMAP_RESOURCES"); env && *env)
        return env;
    // An installed layout: PREFIX/bin/isamap next to PREFIX/share/isamap-studio.
    std::filesystem::path installed = executableDir().parent_path() / ISAMAP_INSTALL_RESOURCES;
    if (std::filesystem::exists(installed / "targets"))
        return installed;
    return ISAMAP_SOURCE_RESOURCES;
}

std::filesystem::path resourcePath(const std::string& relative) { return resourceDir() / relative; }

std::optional<std::string> readFile(const std::filesystem::path& path, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = "cannot open " + path.string() + ": " + std::strerror(errno);
        return std::nullopt;
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

} // namespace isamap
