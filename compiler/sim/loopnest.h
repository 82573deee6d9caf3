// The schedule's loop nest as the simulator walks it (internal to compiler/sim/).
//
// Both the functional run and the timing follow the same nest: the outermost level's loops pick the
// outer iterations (spread over the units by the parallel loops), each level's loops step through its
// tile in tiles of the level below, and the innermost tile is a block of instruction calls. Residency
// says which operand tiles each level of one unit holds and which copies a move to a new tile causes.
#pragma once

#include "schedule/schedule.h"
#include "support/integers.h"

#include <cstdint>
#include <vector>

namespace isamap::sim {

struct Range {
    std::int64_t lo = 0, hi = 0; // [lo, hi) in loop units
    bool operator==(const Range&) const = default;
};
using Ranges = std::vector<Range>; // per loop dimension

class LoopNest {
public:
    LoopNest(const schedule::Space& space, const schedule::Schedule& s);

    std::size_t levels() const { return levels_; }
    std::size_t dims() const { return dims_; }
    const Ranges& whole() const { return whole_; }

    // Outer iterations: the tiles the outermost level's loops step through (the whole problem when the
    // hierarchy has a single level), and the unit each runs on.
    std::int64_t outerCount() const { return outerCount_; }
    Ranges outerTile(std::int64_t index) const;
    std::int64_t workers() const { return workers_; }
    std::int64_t workerOf(std::int64_t index) const;
    // Per worker, its outer iterations in the order it runs them.
    std::vector<std::vector<std::int64_t>> outerByWorker() const;

    // Calls `f(child)` for each tile of level l + 1 inside `tile` (a tile of level l), in level l's order.
    template <typename F>
    void forEachChild(std::size_t l, const Ranges& tile, F f) const {
        std::vector<std::int64_t> step(dims_);
        for (std::size_t d = 0; d < dims_; ++d)
            step[d] = l + 1 < levels_ ? s_.levels[l + 1].tiles[d] : 1;
        forEachStep(s_.levels[l].order, tile, step, f);
    }
    // Calls `f(position)` for each instruction call of an innermost tile, in the innermost order.
    template <typename F>
    void forEachCall(const Ranges& tile, F f) const {
        std::vector<std::int64_t> position(dims_);
        forEachStep(s_.levels[levels_ - 1].order, tile, std::vector<std::int64_t>(dims_, 1), [&](const Ranges& call) {
            for (std::size_t d = 0; d < dims_; ++d)
                position[d] = call[d].lo;
            f(position);
        });
    }

    static std::vector<std::int64_t> sizes(const Ranges& r);
    static std::int64_t points(const Ranges& r);

private:
    template <typename F>
    void forEachStep(std::span<const int> order, const Ranges& tile, const std::vector<std::int64_t>& step, F f) const {
        std::vector<std::int64_t> trips(order.size());
        for (std::size_t i = 0; i < order.size(); ++i) {
            const auto d = static_cast<std::size_t>(order[i]);
            trips[i] = ceilDiv(tile[d].hi - tile[d].lo, step[d]);
        }
        std::vector<std::int64_t> counter(order.size(), 0);
        Ranges child = tile;
        while (true) {
            for (std::size_t i = 0; i < order.size(); ++i) {
                const auto d = static_cast<std::size_t>(order[i]);
                child[d].lo = tile[d].lo + counter[i] * step[d];
                child[d].hi = std::min(tile[d].hi, child[d].lo + step[d]);
            }
            f(child);
            std::size_t i = order.size();
            while (i > 0 && ++counter[i - 1] == trips[i - 1])
                counter[--i] = 0;
            if (i == 0)
                return;
        }
    }

    const schedule::Space& space_;
    const schedule::Schedule& s_;
    std::size_t levels_ = 0;
    std::size_t dims_ = 0;
    Ranges whole_;
    std::vector<std::int64_t> outerTrips_; // per position of the outermost order
    std::int64_t outerCount_ = 1;
    std::int64_t workers_ = 1;
};

// Which operand tiles the levels of one unit hold.
class Residency {
public:
    Residency(const schedule::Space& space, const schedule::Schedule& s);

    // The level `o` is copied into level `l` from: the nearest level above that keeps it (0 at worst).
    std::size_t sourceOf(std::size_t o, std::size_t l) const;
    // The level the instruction reads `o` from: the innermost one that keeps it.
    std::size_t innermostOf(std::size_t o) const { return innermost_[o]; }
    const Ranges& tileOf(std::size_t o, std::size_t l) const { return tile_[l][o]; }

    // Enters `tile` of level l (l >= 1). For each operand kept there whose tile changes (a tile the
    // loops did not change is still there, as on a real machine): the copies of the old tile in the
    // levels below are given up, the output's written back innermost first (`writeBack(o, from)`), then
    // the new tile is fetched (`fetch(o, l)`).
    template <typename Fetch, typename WriteBack>
    void enter(std::size_t l, const Ranges& tile, Fetch fetch, WriteBack writeBack) {
        for (std::size_t o = 0; o < space_.operands.size(); ++o) {
            if (!s_.levels[l].keeps[o])
                continue;
            Ranges key = keyOf(o, tile);
            if (held_[l][o] && key_[l][o] == key)
                continue;
            for (std::size_t below = s_.levels.size(); below-- > l;) {
                if (!held_[below][o])
                    continue;
                if (space_.operands[o].output)
                    writeBack(o, below);
                held_[below][o] = false;
            }
            key_[l][o] = std::move(key);
            tile_[l][o] = tile;
            held_[l][o] = true;
            fetch(o, l);
        }
    }
    // At the end: every output copy written back, innermost first.
    template <typename WriteBack>
    void flush(WriteBack writeBack) {
        for (std::size_t o = 0; o < space_.operands.size(); ++o)
            for (std::size_t l = s_.levels.size(); l-- > 1;)
                if (held_[l][o]) {
                    if (space_.operands[o].output)
                        writeBack(o, l);
                    held_[l][o] = false;
                }
    }

private:
    Ranges keyOf(std::size_t o, const Ranges& tile) const;

    const schedule::Space& space_;
    const schedule::Schedule& s_;
    std::vector<std::size_t> innermost_;
    std::vector<std::vector<bool>> held_;   // [level][operand]
    std::vector<std::vector<Ranges>> key_;  // the ranges of the loops the operand depends on
    std::vector<std::vector<Ranges>> tile_;
};

} // namespace isamap::sim
