// Running a peer library's benchmark binary (bench/peers/) on a list of shapes and reading its CSV.
#pragma once

#include <cmath>
#include <cstdio>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace isamap::bench {

// One output line of a peer: the shape's columns joined by commas, and its median GFLOP/s.
using PeerFigures = std::map<std::string, double>;

// The peer binaries live in bench/peers/ next to the benchmark that runs them; empty when not built.
inline std::string peerBinary(const std::string& self, const std::string& name) {
    const auto path = std::filesystem::path(self).parent_path() / "peers" / name;
    return std::filesystem::exists(path) ? path.string() : std::string();
}

// Runs `binary command --shapes CSV --threads T`; `keyColumns` columns of each line form its key.
inline PeerFigures runPeer(const std::string& binary, const std::string& command, const std::string& csv, int threads,
                           std::size_t keyColumns, std::string& error) {
    PeerFigures figures;
    const auto shapes = std::filesystem::temp_directory_path() / ("isamap-peer-shapes-" + std::to_string(::getpid()) + ".csv");
    std::ofstream(shapes) << csv;
    const std::string line = binary + " " + command + " --shapes " + shapes.string() + " --threads " + std::to_string(threads);
    FILE* pipe = ::popen(line.c_str(), "r");
    if (!pipe) {
        error = "cannot run " + binary;
        return figures;
    }
    char buffer[4096];
    bool header = true;
    std::vector<std::string> columns;
    while (std::fgets(buffer, sizeof buffer, pipe)) {
        std::vector<std::string> cells;
        std::stringstream in(buffer);
        for (std::string cell; std::getline(in, cell, ',');)
            cells.push_back(cell);
        if (!cells.empty() && !cells.back().empty() && cells.back().back() == '\n')
            cells.back().pop_back();
        if (header) {
            columns = cells;
            header = false;
            continue;
        }
        if (cells.size() != columns.size() || columns.back() != "gflops_median")
            continue;
        std::string key;
        for (std::size_t i = 0; i < keyColumns; ++i)
            key += (i ? "," : "") + cells[i];
        figures[key] = std::stod(cells.back());
    }
    const int status = ::pclose(pipe);
    std::filesystem::remove(shapes);
    if (status != 0)
        error = binary + " " + command + " reported a failure on some shape (see its message above)";
    return figures;
}

// The geometric mean of our ratios to the best peer.
struct Ratios {
    double logSum = 0;
    int counted = 0;
    void add(double ratio) {
        if (ratio > 0) {
            logSum += std::log(ratio);
            ++counted;
        }
    }
    double geomean() const { return counted ? std::exp(logSum / counted) : 0.0; }
};

// One shape's ratios over several rounds of a benchmark, in the order they were measured.
struct RoundRatios {
    std::map<std::string, std::vector<double>> byKey;
    void add(const std::string& key, double ratio) {
        if (ratio > 0)
            byKey[key].push_back(ratio);
    }
    const std::vector<double>* samples(const std::string& key) const {
        const auto it = byKey.find(key);
        return it == byKey.end() ? nullptr : &it->second;
    }
};

// Prints ",<gflops of each peer>,<best peer>,<ours / best>" for `key`; returns the ratio (0 without peers).
inline double printPeers(const std::map<std::string, PeerFigures>& peers, const std::string& key, double ours) {
    double best = 0;
    std::string name = "-";
    for (const auto& [peer, figures] : peers) {
        const auto it = figures.find(key);
        std::printf(",%.1f", it == figures.end() ? 0.0 : it->second);
        if (it != figures.end() && it->second > best) {
            best = it->second;
            name = peer;
        }
    }
    const double ratio = best > 0 ? ours / best : 0;
    std::printf(",%s,%.3f", name.c_str(), ratio);
    return ratio;
}

// The path of the running benchmark (the peers are found next to it).
inline std::string selfPath() {
    std::error_code ec;
    return std::filesystem::read_symlink("/proc/self/exe", ec).string();
}

} // namespace isamap::bench
