// The exhaustive strategy: every point of the space, when there are few enough of them to visit.
#include "search/run.h"

#include <cstdio>

namespace isamap::search::detail {

namespace {

using schedule::Schedule;

// The most points exhaustive search visits: at the cost model's pace (a few million evaluations a
// second) about a second of work.
constexpr double kExhaustiveLimit = 2'000'000;

// One loop's tiles below the outermost level, outermost first, and its unroll factor.
struct LoopChoice {
    std::vector<std::int64_t> tiles;
    std::int64_t unroll = 1;
};

void chainsFrom(const Choices& c, std::size_t d, std::size_t level, std::int64_t parent, LoopChoice& partial,
                std::vector<LoopChoice>& out) {
    if (level == c.levels) {
        const std::int64_t innermost = partial.tiles.empty() ? parent : partial.tiles.back();
        for (std::size_t u = 0; u < unrollCount(innermost); ++u) {
            partial.unroll = kUnrollFactors[u];
            out.push_back(partial);
        }
        return;
    }
    for (std::int64_t tile : c.tiles[d]) {
        if (tile > parent)
            break;
        partial.tiles.push_back(tile);
        chainsFrom(c, d, level + 1, tile, partial, out);
        partial.tiles.pop_back();
    }
}

// The space as an odometer: one digit per loop (its tiles and unroll), per level order, per inner level
// double buffering, and one for the parallel flags. Each step rewrites only the digits that changed.
class Odometer {
public:
    Odometer(const Choices& c) : c_(c), schedule_(c.base) {
        for (std::size_t d = 0; d < c.dims; ++d) {
            std::vector<LoopChoice> chains;
            LoopChoice partial;
            chainsFrom(c, d, 1, c.tiles[d].back(), partial, chains);
            loops_.push_back(std::move(chains));
            digits_.push_back({Digit::Loop, d, loops_.back().size()});
        }
        for (std::size_t l = 0; l < c.levels; ++l) {
            orders_.push_back(orderings(c, c.base.levels[l].order));
            digits_.push_back({Digit::Order, l, orders_.back().size()});
        }
        for (std::size_t l = 1; l < c.levels; ++l)
            digits_.push_back({Digit::DoubleBuffer, l, 2});
        digits_.push_back({Digit::Parallel, 0, std::size_t{1} << c.parallelizable.size()});
        values_.assign(digits_.size(), 0);
        for (std::size_t i = 0; i < digits_.size(); ++i)
            write(i);
    }

    const Schedule& schedule() const { return schedule_; }

    // Moves to the next point; false after the last.
    bool next() {
        for (std::size_t i = 0; i < digits_.size(); ++i) {
            const bool carry = ++values_[i] == digits_[i].count;
            if (carry)
                values_[i] = 0;
            write(i);
            if (!carry)
                return true;
        }
        return false;
    }

private:
    struct Digit {
        enum Kind { Loop, Order, DoubleBuffer, Parallel } kind;
        std::size_t index; // loop or level
        std::size_t count;
    };

    void write(std::size_t i) {
        const Digit& digit = digits_[i];
        const std::size_t value = values_[i];
        switch (digit.kind) {
        case Digit::Loop: {
            const LoopChoice& choice = loops_[digit.index][value];
            for (std::size_t l = 1; l < c_.levels; ++l)
                schedule_.levels[l].tiles[digit.index] = choice.tiles[l - 1];
            schedule_.unroll[digit.index] = choice.unroll;
            break;
        }
        case Digit::Order:
            schedule_.levels[digit.index].order = orders_[digit.index][value];
            break;
        case Digit::DoubleBuffer:
            schedule_.levels[digit.index].doubleBuffered = value == 1;
            break;
        case Digit::Parallel:
            for (std::size_t p = 0; p < c_.parallelizable.size(); ++p)
                schedule_.parallel[static_cast<std::size_t>(c_.parallelizable[p])] = (value >> p) & 1;
            break;
        }
    }

    const Choices& c_;
    Schedule schedule_;
    std::vector<std::vector<LoopChoice>> loops_;
    std::vector<std::vector<std::vector<int>>> orders_;
    std::vector<Digit> digits_;
    std::vector<std::size_t> values_;
};

std::string count(double points) {
    char buf[32];
    std::snprintf(buf, sizeof buf, points < 1e15 ? "%.0f" : "%.3g", points);
    return buf;
}

class Exhaustive : public Strategy {
public:
    std::string name() const override { return "exhaustive"; }

    // Visits the space as enumerated, without applying the constraints to each point (that would
    // visit some points twice and skip others): a point the constraints do not allow is counted and
    // passed over. The keeps come from the constrained default, since they are not enumerated.
    Result run(const schedule::Space& space, const Options& options) override {
        Run run(space, options, name());
        const double size = spaceSize(run.choices());
        if (size > kExhaustiveLimit)
            return run.finish(false, "the space has " + count(size) + " schedules, more than the " +
                                         count(kExhaustiveLimit) +
                                         " exhaustive search visits; use random, beam, annealing or evolutionary");
        // The constrained default first, as every strategy does: its tiles may lie between the sizes
        // the enumeration visits, and no search should return anything worse than it.
        const bool withDefault = size > 1; // a space of one point is the default itself
        run.limitTo(static_cast<std::int64_t>(size) + (withDefault ? 1 : 0));
        if (withDefault)
            run.evaluate(run.choices().base);
        Odometer odometer(run.choices());
        bool more = true;
        while (more && !run.done()) {
            run.evaluate(odometer.schedule());
            more = odometer.next();
        }
        if (more && !run.cancelled())
            return run.finish(false, "the budget ran out after " + std::to_string(run.evaluations()) + " of " +
                                         count(size) + " schedules");
        return run.finish(!more);
    }
};

} // namespace

std::unique_ptr<Strategy> makeExhaustive() { return std::make_unique<Exhaustive>(); }

} // namespace isamap::search::detail
