// What the benchmarks against the peer libraries share: their command line, the host target, the
// reference CSVs, and running the peers on the shapes of one thread count.
#pragma once

#include "machine.h"
#include "peer_runner.h"

#include "frontend/library.h"
#include "support/resources.h"
#include "targets/catalog.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <utility>
#include <sstream>
#include <string>
#include <vector>

namespace isamap::bench {

struct RunOptions {
    std::vector<int> threads{1, 2};
    long limit = 0;                            // shapes at most; 0: all
    std::map<std::string, std::string> values; // the benchmark's own options, by name without "--"
};

// The options a benchmark takes, with their defaults, for `--help` and for a wrong command line.
inline void printOptions(std::FILE* to, const char* program, const std::map<std::string, std::string>& own) {
    std::fprintf(to, "usage: %s [--threads \"1 2\"] [--limit N]", program);
    for (const auto& [name, fallback] : own)
        std::fprintf(to, " [--%s V (default: %s)]", name.c_str(), fallback.empty() ? "none" : fallback.c_str());
    std::fprintf(to, "\n");
}

// `--threads "1 2"`, `--limit N`, and the options named in `own` (each with a value). A wrong command
// line stops before any timing: a benchmark runs for minutes.
inline RunOptions parseRun(int argc, char** argv, const std::map<std::string, std::string>& own = {}) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0); // each figure visible as soon as it is measured
    RunOptions run;
    run.values = own;
    for (int i = 1; i < argc; i += 2) {
        const std::string name = argv[i][0] == '-' && argv[i][1] == '-' ? argv[i] + 2 : argv[i];
        if (name == "help" || name == "-h") {
            printOptions(stdout, argv[0], own);
            std::exit(0);
        }
        const bool known = name == "threads" || name == "limit" || own.count(name);
        if (!known || i + 1 >= argc) {
            std::fprintf(stderr, "%s: %s %s\n", argv[0], known ? "no value for option" : "unknown option", argv[i]);
            printOptions(stderr, argv[0], own);
            std::exit(2);
        }
        if (name == "threads") {
            run.threads.clear();
            std::stringstream list(argv[i + 1]);
            for (int t; list >> t;)
                run.threads.push_back(t);
        } else if (name == "limit") {
            run.limit = std::atol(argv[i + 1]);
        } else {
            run.values[name] = argv[i + 1];
        }
    }
    return run;
}

template <typename T>
void applyLimit(std::vector<T>& shapes, long limit) {
    if (limit > 0 && static_cast<long>(shapes.size()) > limit)
        shapes.resize(static_cast<std::size_t>(limit));
}

// The bundled host target for this CPU; exits with the reason when none fits.
inline targets::LoadedTarget hostOrExit(const char* bench) {
    std::string error;
    auto host = targets::hostTarget(error);
    if (!host) {
        std::fprintf(stderr, "%s: %s\n", bench, error.c_str());
        std::exit(1);
    }
    return *host;
}

// A kernel or graph from the library's generators; exits with the reason when the generator refuses.
inline ir::Module generatedOrExit(const char* generator, const frontend::Args& args) {
    std::string error;
    auto module = frontend::generate(generator, args, error);
    if (!module) {
        std::fprintf(stderr, "%s: %s\n", generator, error.c_str());
        std::exit(1);
    }
    return std::move(*module);
}

// The rows of one of the bundled reference CSVs (resources/suites/NAME), header left out.
inline std::vector<std::vector<std::string>> suiteRows(const std::string& name) {
    std::ifstream in(resourcePath("suites/" + name));
    std::vector<std::vector<std::string>> rows;
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
        std::vector<std::string> cells;
        std::stringstream stream(line);
        for (std::string cell; std::getline(stream, cell, ',');)
            cells.push_back(cell);
        rows.push_back(std::move(cells));
    }
    return rows;
}

inline void printHeader(const targets::LoadedTarget& host, std::size_t shapes) {
    std::printf("machine: %s\ntarget: %s\nshapes: %zu\n", cpuName().c_str(), host.target.name.c_str(), shapes);
}

// The named peers serving `command` at `threads`, each asked for a shape right before ours is timed
// on it; a peer that is not built, or does not start, is said once and left out.
class PeerSet {
public:
    PeerSet(const std::vector<std::string>& peers, const std::string& command, const std::string& header, int threads) {
        for (const auto& p : peers) {
            const std::string binary = peerBinary(selfPath(), "peer_" + p);
            if (binary.empty()) {
                std::printf("peer %s: not built (scripts/bench installs it)\n", p.c_str());
                continue;
            }
            std::string error;
            if (auto server = PeerServer::start(binary, command, header, threads, error))
                servers_[p] = std::move(server);
            else
                std::printf("peer %s: %s\n", p.c_str(), error.c_str());
        }
    }
    // Every peer's figures for one shape (its line under the header).
    std::map<std::string, PeerFigures> ask(const std::string& shape) {
        std::map<std::string, PeerFigures> figures;
        for (auto& [p, server] : servers_) {
            std::string error;
            figures[p] = server->ask(shape, error);
            if (!error.empty())
                std::printf("peer %s: %s\n", p.c_str(), error.c_str());
        }
        return figures;
    }
    // The peers that run, in the order their figures are printed (printPeers).
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& [p, server] : servers_)
            out.push_back(p);
        return out;
    }

private:
    std::map<std::string, std::unique_ptr<PeerServer>> servers_;
};

// The goal's protocol over several rounds: each shape's median ratio with its lowest and highest
// ("<key>,<median>,<lowest>,<highest>" under a header), in the order of `keys`; gives the medians by key.
inline std::map<std::string, double> printMedians(const RoundRatios& byShape, const std::vector<std::string>& keys,
                                                  const std::string& keyColumns, int threads, int rounds) {
    std::printf("\nthreads=%d median of %d rounds\n%s,median_ratio,lowest,highest\n", threads, rounds, keyColumns.c_str());
    std::map<std::string, double> medians;
    for (const auto& key : keys) {
        const auto* samples = byShape.samples(key);
        if (!samples || samples->empty() || medians.count(key)) // a shape two sets share is one shape
            continue;
        medians[key] = median(*samples);
        std::printf("%s,%.3f,%.3f,%.3f\n", key.c_str(), medians[key], *std::min_element(samples->begin(), samples->end()),
                    *std::max_element(samples->begin(), samples->end()));
    }
    return medians;
}

// After printMedians, each key's median gathered by its group (a batch, a data type, a part of a
// block) for the group's geometric mean; `keys` pairs each key with its group.
inline std::map<std::string, Ratios> mediansByGroup(const RoundRatios& byKey,
                                                    const std::vector<std::pair<std::string, std::string>>& keys,
                                                    const std::string& keyColumns, int threads, int rounds) {
    std::vector<std::string> names;
    for (const auto& [key, group] : keys)
        names.push_back(key);
    const auto medians = printMedians(byKey, names, keyColumns, threads, rounds);
    std::map<std::string, Ratios> groups;
    for (const auto& [key, group] : keys)
        if (medians.count(key))
            groups[group].add(medians.at(key));
    return groups;
}

} // namespace isamap::bench
