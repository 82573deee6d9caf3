// Internal to the search: what every strategy shares while it runs. A Run counts evaluations, keeps
// the best distinct schedules, watches the budget and the cancel flag, reports progress and
// improvements, and applies the constraints; a strategy only decides what to propose next.
#pragma once

#include "search/neighbourhood.h"
#include "search/search.h"

#include <chrono>
#include <limits>
#include <memory>
#include <set>

namespace isamap::search::detail {

inline constexpr double kRejected = std::numeric_limits<double>::infinity();

// Evaluated schedules by modeled seconds, the fastest first; equal ones in the order they came.
struct FasterFirst {
    using is_transparent = void;
    bool operator()(const Evaluated& a, const Evaluated& b) const { return a.seconds < b.seconds; }
    bool operator()(const Evaluated& a, double seconds) const { return a.seconds < seconds; }
    bool operator()(double seconds, const Evaluated& b) const { return seconds < b.seconds; }
};

class Run {
public:
    Run(const schedule::Space& space, const Options& options, std::string strategy);

    const schedule::Space& space() const { return space_; }
    const Choices& choices() const { return choices_; }
    Rng& rng() { return rng_; }

    // Counts a proposal. A legal one the constraints allow is kept among the best when it ranks and
    // its modeled seconds returned; any other gives kRejected.
    double evaluate(const schedule::Schedule& s);
    // Counts a proposal whose outcome the strategy already knows (seen before) without evaluating it,
    // so that a strategy that remembers what it visited spends its budget like one that does not.
    void count();
    // Forces what the constraints fix into a proposal, then restores tile <= parent where that broke it.
    void constrain(schedule::Schedule& s) const;

    // Whether to stop: cancelled, or the budget is spent. Also where time-based progress is reported.
    bool done();
    // Of the budget used, in [0, 1]; with no budget at all, the position in a cycle of kCycle evaluations,
    // so that a strategy that cools or ages over its budget starts over now and then.
    double fraction() const;
    // Caps the evaluations at `points` (the exhaustive strategy's space), for progress and the fraction.
    void limitTo(std::int64_t points);

    std::int64_t evaluations() const { return evaluations_; }
    bool cancelled() const { return cancelled_; }
    double bestSeconds() const { return best_.empty() ? 0 : best_.begin()->seconds; }
    Result finish(bool exhausted = false, std::string note = {});

    static constexpr std::int64_t kCycle = 100000;

private:
    bool legal(const schedule::Schedule& s) const;
    void keep(const schedule::Schedule& s, double seconds);
    void reportProgress();
    double elapsed() const;

    const schedule::Space& space_;
    const Options& options_;
    std::string strategy_;
    Choices choices_;
    Rng rng_;
    std::chrono::steady_clock::time_point start_;
    // A node per schedule, so that keeping thousands (spreadSample keeps every evaluation's) inserts
    // one without moving the others: a schedule is about a kilobyte inline.
    std::multiset<Evaluated, FasterFirst> best_;
    std::size_t keep_ = 1;
    std::int64_t evaluations_ = 0;
    std::int64_t limit_ = 0;          // evaluations; 0: none
    std::int64_t progressEvery_ = 0;  // evaluations between progress reports; 0: by time
    std::int64_t nextProgress_ = 0;
    double nextProgressTime_ = 0;
    std::int64_t calls_ = 0;          // of done(), to read the clock only now and then
    double elapsedSeen_ = 0;          // at the last reading
    bool cancelled_ = false;
    bool timeUp_ = false;
};

// One Strategy object per name; the classes live in their own files.
std::unique_ptr<Strategy> makeExhaustive();
std::unique_ptr<Strategy> makeRandom();
std::unique_ptr<Strategy> makeBeam();
std::unique_ptr<Strategy> makeAnnealing();
std::unique_ptr<Strategy> makeEvolutionary();

} // namespace isamap::search::detail
