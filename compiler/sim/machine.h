// The event-driven machine of the simulator (internal to compiler/sim/): resources that run one task at
// a time, tasks that wait for other tasks, and a queue of completion events ordered by time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace isamap::sim {

struct MachineResource {
    std::string name;
    // A compute unit runs its instruction stream in program order; a data mover starts whichever of its
    // transfers is ready first (the earliest issued among them), as a DMA queue with several requests does.
    bool inOrder = false;
};

struct MachineTask {
    int resource = 0;
    double duration = 0;   // s
    std::vector<int> deps; // earlier tasks it waits for
    int label = 0;         // index into the labels: what it does, and what waiting for it means
    double bytes = 0;
    int round = 0;         // the outer iteration round that issued it (for sampling)
    // Time after the resource is free again until the result is there: a request in flight, as a DMA
    // engine keeps several outstanding, so latency overlaps the next transfer instead of blocking it.
    double latency = 0;
};

struct MachineRun {
    std::vector<double> start, end; // per task
    std::vector<double> stallSeconds;  // per resource
    std::vector<std::vector<std::pair<int, double>>> stallByLabel; // per resource: (label, seconds)
    std::int64_t events = 0;
};

// Runs the tasks; empty with `error` once `maxEvents` events have been processed or the host time
// passes `deadline`, or if some task could never start.
std::optional<MachineRun> runMachine(const std::vector<MachineResource>& resources, const std::vector<MachineTask>& tasks,
                                     std::int64_t maxEvents,
                                     std::chrono::steady_clock::time_point deadline, std::string& error);

} // namespace isamap::sim
