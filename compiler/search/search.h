// Search over the schedules of one mapping candidate, steered by the analytical cost model.
//
// Strategies share one interface, so that adding one is one class: exhaustive (where the space is
// small enough), random, beam, simulated annealing, evolutionary. Each takes a seed (same seed, same
// result), a budget (evaluations or seconds), reports progress through a callback, stops as soon as
// it is cancelled, and only returns schedules that are legal and respect the constraints.
//
//   auto strategy = search::makeStrategy("annealing", error);
//   search::Options options;
//   options.seed = 1;
//   options.budget.evaluations = 100000;
//   options.onProgress = [](const search::Progress& p) { ... };
//   search::Result r = strategy->run(space, options);
#pragma once

#include "constraints/constraints.h"
#include "schedule/schedule.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace isamap::search {

struct Budget {
    std::int64_t evaluations = 0; // 0: no limit on evaluations
    double seconds = 0;           // 0: no time limit
};

struct Progress {
    std::int64_t evaluations = 0;
    double bestSeconds = 0;   // modeled time of the best schedule so far (0 before the first legal one)
    double elapsed = 0;       // wall-clock seconds since the start
    double fraction = 0;      // of the budget used, in [0, 1]
};

struct Evaluated {
    schedule::Schedule schedule;
    double seconds = 0;       // modeled
    std::int64_t evaluation = 0; // at which evaluation it was found
};

struct Options {
    std::uint64_t seed = 1;
    Budget budget;
    const constraints::Set* constraints = nullptr;
    const std::atomic<bool>* cancel = nullptr;
    std::function<void(const Progress&)> onProgress;     // called now and then (about every 1/100 of the budget)
    std::function<void(const Evaluated&)> onImprovement; // called when the best so far improves
    std::size_t keepBest = 10;
};

struct Result {
    std::string strategy;
    std::vector<Evaluated> best;    // distinct schedules, best first, at most Options::keepBest
    std::int64_t evaluations = 0;
    double elapsed = 0;
    bool cancelled = false;
    bool exhausted = false;         // the whole (constrained) space was visited
    std::string note;               // e.g. why exhaustive refused a space too large
};

class Strategy {
public:
    virtual ~Strategy() = default;
    virtual std::string name() const = 0;
    virtual Result run(const schedule::Space& space, const Options& options) = 0;
};

std::vector<std::string> strategyNames(); // exhaustive, random, beam, annealing, evolutionary
std::unique_ptr<Strategy> makeStrategy(const std::string& name, std::string& error);

// `count` of the legal schedules a random search (`seed`, `evaluations`) finds, evenly spread from the
// best to the worst of them: schedules of very different quality, to hold the cost model against a
// measurement. Fewer when the search finds fewer.
std::vector<Evaluated> spreadSample(const schedule::Space& space, std::size_t count, std::uint64_t seed,
                                    std::int64_t evaluations, const std::atomic<bool>* cancel = nullptr);

} // namespace isamap::search
