// Two things timed in turn (internal to compiler/measure/): on a machine whose speed drifts, the ratio
// of each pair's two runs, taken seconds apart at most, says which is faster where their separate
// medians, minutes apart, would not.
#pragma once

#include "support/statistics.h"

#include <chrono>
#include <functional>
#include <vector>

namespace isamap::measure {

struct TimedPairs {
    std::vector<double> first, second; // seconds of each run, pair by pair
    std::vector<double> ratios;        // second over first, pair by pair
    double ratioMedian() const { return median(ratios).value_or(1.0); }
};

// Runs pairs until `leastPairs` and `leastSeconds` are both reached, or `mostPairs`. `run(which,
// follows)` times one run of the first (which 0) or the second (1); `follows`: it runs second in its
// pair. The order swaps every pair, so that neither always starts on the caches the other left.
inline TimedPairs timeInPairs(const std::function<double(int which, bool follows)>& run, int leastPairs,
                              double leastSeconds, std::size_t mostPairs) {
    using Clock = std::chrono::steady_clock;
    TimedPairs t;
    const auto start = Clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
    while (t.ratios.size() < mostPairs &&
           (static_cast<int>(t.ratios.size()) < leastPairs || elapsed() < leastSeconds)) {
        const bool firstFirst = t.ratios.size() % 2 == 0;
        const double one = run(firstFirst ? 0 : 1, false);
        const double other = run(firstFirst ? 1 : 0, true);
        t.first.push_back(firstFirst ? one : other);
        t.second.push_back(firstFirst ? other : one);
        t.ratios.push_back(t.second.back() / t.first.back());
    }
    return t;
}

} // namespace isamap::measure
