// Where the bundled resources (targets, examples, suites) are: next to an installed executable
// (PREFIX/share/isamap-studio), or in the source tree for a build that is not installed.
// The environment variable ISAMAP_RESOURCES overrides both.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace isamap {

std::filesystem::path resourceDir();
std::filesystem::path resourcePath(const std::string& relative);

// Reads a whole file; empty with `error` set ("cannot open FILE: REASON") on failure.
std::optional<std::string> readFile(const std::filesystem::path& path, std::string& error);

} // namespace isamap
