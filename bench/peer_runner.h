// Running a peer library's benchmark binary (bench/peers/) one shape at a time and reading its CSV.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <csignal>
#include <fcntl.h>
#include <memory>
#include <sys/wait.h>
#include <unistd.h>
#include <filesystem>
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

// A CSV line's cells.
inline std::vector<std::string> splitCells(const std::string& line) {
    std::vector<std::string> cells;
    std::stringstream in(line);
    for (std::string cell; std::getline(in, cell, ',');)
        cells.push_back(cell);
    return cells;
}

// Adds one output line of a peer (under its header `columns`) to `figures`, keyed by its first
// `keyColumns` cells (the shape's, before `threads`); other lines (a failure's) are skipped.
inline void addPeerLine(const std::vector<std::string>& columns, const std::string& line, std::size_t keyColumns,
                        PeerFigures& figures) {
    const auto cells = splitCells(line);
    if (cells.size() != columns.size() || columns.empty() || columns.back() != "gflops_median")
        return;
    std::string key;
    for (std::size_t i = 0; i < keyColumns; ++i)
        key += (i ? "," : "") + cells[i];
    figures[key] = std::stod(cells.back());
}

// A peer binary serving one shape at a time (`peer_X COMMAND --shapes - --threads T`): started once
// per benchmark and thread count and asked for each shape right before ours is timed. So both sides
// meet the same spell of this machine, and the library's process stays warm from shape to shape
// (oneDNN's sgemm ran 5-15% slower in a process started afresh for every shape: docs/PERFORMANCE.md).
class PeerServer {
public:
    // Empty, with `error`, when the binary cannot be started.
    static std::unique_ptr<PeerServer> start(const std::string& binary, const std::string& command, const std::string& header,
                                             int threads, std::string& error) {
        int toPeer[2], fromPeer[2];
        // Close-on-exec: a peer started later (or a measuring worker) must not hold this peer's input
        // open, or the peer never sees its end and the benchmark waits for it at exit for ever.
        if (::pipe2(toPeer, O_CLOEXEC) != 0) {
            error = "cannot make a pipe to " + binary;
            return nullptr;
        }
        if (::pipe2(fromPeer, O_CLOEXEC) != 0) {
            ::close(toPeer[0]);
            ::close(toPeer[1]);
            error = "cannot make a pipe from " + binary;
            return nullptr;
        }
        std::signal(SIGPIPE, SIG_IGN); // a peer that dies is an error here, not the end of the benchmark
        const std::string threadText = std::to_string(threads);
        const pid_t pid = ::fork();
        if (pid == 0) {
            ::dup2(toPeer[0], 0);
            ::dup2(fromPeer[1], 1);
            for (int fd : {toPeer[0], toPeer[1], fromPeer[0], fromPeer[1]})
                ::close(fd);
            ::execl(binary.c_str(), binary.c_str(), command.c_str(), "--shapes", "-", "--threads", threadText.c_str(),
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(toPeer[0]);
        ::close(fromPeer[1]);
        std::unique_ptr<PeerServer> server(new PeerServer(pid, ::fdopen(toPeer[1], "w"), ::fdopen(fromPeer[0], "r")));
        server->name_ = binary + " " + command;
        std::string outputHeader;
        if (server->readLine(outputHeader))
            server->columns_ = splitCells(outputHeader);
        // Every peer's lines start with the shape's own columns, then `threads` (bench/peers/harness.h).
        const auto threadsColumn = std::find(server->columns_.begin(), server->columns_.end(), "threads");
        if (threadsColumn == server->columns_.end()) {
            error = "cannot run " + server->name_;
            return nullptr;
        }
        server->keyColumns_ = static_cast<std::size_t>(threadsColumn - server->columns_.begin());
        std::fprintf(server->to_, "%s\n", header.c_str());
        return server;
    }
    ~PeerServer() {
        std::fclose(to_); // the peer ends at the end of its input
        std::fclose(from_);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    PeerServer(const PeerServer&) = delete;
    PeerServer& operator=(const PeerServer&) = delete;

    // The peer's figures for one shape (a line under the header); empty, with `error`, when it failed.
    // The first shape is run twice and its first answer dropped: a fresh process is slower in its
    // first seconds.
    PeerFigures ask(const std::string& shape, std::string& error) {
        if (!warmedUp_) {
            warmedUp_ = true;
            ask(shape, error);
            error.clear();
        }
        PeerFigures figures;
        std::fprintf(to_, "%s\n", shape.c_str());
        std::fflush(to_);
        for (std::string line; readLine(line);) {
            if (line == "done") {
                if (figures.empty())
                    error = name_ + " failed on " + shape + " (see its message above)";
                return figures;
            }
            addPeerLine(columns_, line, keyColumns_, figures);
        }
        error = name_ + " ended before it answered " + shape;
        return figures;
    }

private:
    PeerServer(pid_t pid, FILE* to, FILE* from) : pid_(pid), to_(to), from_(from) {}
    bool readLine(std::string& line) {
        char buffer[4096];
        if (!std::fgets(buffer, sizeof buffer, from_))
            return false;
        line = buffer;
        if (!line.empty() && line.back() == '\n')
            line.pop_back();
        return true;
    }

    pid_t pid_;
    FILE* to_;
    FILE* from_;
    std::string name_;
    std::vector<std::string> columns_;
    std::size_t keyColumns_ = 0;
    bool warmedUp_ = false;
};

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
