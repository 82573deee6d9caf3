#include "sim/machine.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <queue>

namespace isamap::sim {

namespace {

struct Event {
    double time;
    int task;
    bool completes; // false: the task only releases its resource; its result comes later
    bool operator>(const Event& other) const {
        if (time != other.time)
            return time > other.time;
        if (task != other.task)
            return task > other.task;
        return completes && !other.completes;
    }
};

std::string microseconds(double seconds) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.3g us", seconds * 1e6);
    return buf;
}

} // namespace

std::optional<MachineRun> runMachine(const std::vector<MachineResource>& resources, const std::vector<MachineTask>& tasks,
                                     std::int64_t maxEvents,
                                     std::chrono::steady_clock::time_point deadline, std::string& error) {
    const std::size_t nt = tasks.size(), nr = resources.size();
    MachineRun run;
    run.start.assign(nt, 0);
    run.end.assign(nt, 0);
    run.stallSeconds.assign(nr, 0);
    run.stallByLabel.assign(nr, {});

    // Successors in one flat array, and how many predecessors each task still waits for.
    std::vector<int> remaining(nt, 0), firstSuccessor(nt + 1, 0), successors;
    for (std::size_t t = 0; t < nt; ++t)
        for (int d : tasks[t].deps)
            ++firstSuccessor[static_cast<std::size_t>(d) + 1];
    for (std::size_t t = 0; t < nt; ++t)
        firstSuccessor[t + 1] += firstSuccessor[t];
    successors.assign(static_cast<std::size_t>(firstSuccessor[nt]), 0);
    {
        std::vector<int> fill(firstSuccessor.begin(), firstSuccessor.end() - 1);
        for (std::size_t t = 0; t < nt; ++t) {
            remaining[t] = static_cast<int>(tasks[t].deps.size());
            for (int d : tasks[t].deps)
                successors[static_cast<std::size_t>(fill[static_cast<std::size_t>(d)]++)] = static_cast<int>(t);
        }
    }

    std::vector<std::vector<int>> programOrder(nr);
    std::vector<std::size_t> head(nr, 0);
    std::vector<std::priority_queue<int, std::vector<int>, std::greater<int>>> ready(nr);
    for (std::size_t t = 0; t < nt; ++t)
        programOrder[static_cast<std::size_t>(tasks[t].resource)].push_back(static_cast<int>(t));
    std::vector<bool> busy(nr, false);
    std::vector<double> idleSince(nr, 0), readyAt(nt, 0);
    std::vector<int> readyBecause(nt, -1); // the label of the task whose completion made it ready
    std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events;

    auto tryStart = [&](std::size_t r, double now) {
        if (busy[r])
            return;
        int t = -1;
        if (resources[r].inOrder) {
            if (head[r] < programOrder[r].size() && remaining[static_cast<std::size_t>(programOrder[r][head[r]])] == 0)
                t = programOrder[r][head[r]++];
        } else if (!ready[r].empty()) {
            t = ready[r].top();
            ready[r].pop();
        }
        if (t < 0)
            return;
        const auto tt = static_cast<std::size_t>(t);
        // Idle while the task waited for another resource: a stall, charged to what it waited for.
        if (now > idleSince[r] && readyAt[tt] > idleSince[r] && readyBecause[tt] >= 0) {
            const double stall = now - idleSince[r];
            run.stallSeconds[r] += stall;
            auto& byLabel = run.stallByLabel[r];
            auto it = std::find_if(byLabel.begin(), byLabel.end(), [&](const auto& p) { return p.first == readyBecause[tt]; });
            if (it == byLabel.end())
                byLabel.emplace_back(readyBecause[tt], stall);
            else
                it->second += stall;
        }
        busy[r] = true;
        run.start[tt] = now;
        run.end[tt] = now + tasks[tt].duration + tasks[tt].latency;
        if (tasks[tt].latency > 0)
            events.push({now + tasks[tt].duration, t, false});
        events.push({run.end[tt], t, true});
    };

    for (std::size_t t = 0; t < nt; ++t)
        if (remaining[t] == 0 && !resources[static_cast<std::size_t>(tasks[t].resource)].inOrder)
            ready[static_cast<std::size_t>(tasks[t].resource)].push(static_cast<int>(t));
    for (std::size_t r = 0; r < nr; ++r)
        tryStart(r, 0);

    std::size_t done = 0;
    while (!events.empty()) {
        const Event e = events.top();
        events.pop();
        if (++run.events > maxEvents) {
            error = "the simulation stopped after " + std::to_string(maxEvents) +
                    " events (SimOptions::maxEvents), at " + microseconds(e.time) + " of simulated time with " +
                    std::to_string(nt - done) + " of " + std::to_string(nt) + " tasks unfinished";
            return std::nullopt;
        }
        if ((run.events & 1023) == 0 && std::chrono::steady_clock::now() > deadline) {
            error = "the simulation went past the host-time budget (SimOptions::maxSeconds) after " +
                    std::to_string(run.events) + " events";
            return std::nullopt;
        }
        const auto tt = static_cast<std::size_t>(e.task);
        const auto r = static_cast<std::size_t>(tasks[tt].resource);
        const bool releases = !e.completes || tasks[tt].latency <= 0;
        if (releases) {
            busy[r] = false;
            idleSince[r] = e.time;
        }
        if (!e.completes) {
            tryStart(r, e.time);
            continue;
        }
        ++done;
        for (int i = firstSuccessor[tt]; i < firstSuccessor[tt + 1]; ++i) {
            const auto s = static_cast<std::size_t>(successors[static_cast<std::size_t>(i)]);
            if (--remaining[s] != 0)
                continue;
            readyAt[s] = e.time;
            readyBecause[s] = tasks[tt].label;
            const auto sr = static_cast<std::size_t>(tasks[s].resource);
            if (!resources[sr].inOrder)
                ready[sr].push(static_cast<int>(s));
            tryStart(sr, e.time);
        }
        tryStart(r, e.time);
    }
    if (done != nt) {
        error = "simulator fault: " + std::to_string(nt - done) + " tasks could never start (a dependency cycle)";
        return std::nullopt;
    }
    return run;
}

} // namespace isamap::sim
