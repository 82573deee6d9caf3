#include "search/neighbourhood.h"

#include "support/integers.h"

#include <algorithm>
#include <set>

namespace isamap::search::detail {

using schedule::Schedule;
using schedule::Space;

namespace {

// Divisors and powers of two of the extent, the chunk that splits it over the units (as the default
// schedule's parallel split does), and the sizes the constraints name for this loop: a
// constraint that fixes or bounds a tile at a size the rule would skip still has that size to choose.
std::vector<std::int64_t> tileSizes(const Space& space, std::size_t d, const constraints::Set* constraints) {
    const std::int64_t extent = space.dims[d].extent;
    if (schedule::wholeInRegisters(space, d))
        return {extent};
    std::set<std::int64_t> sizes{1, extent};
    for (std::int64_t p = 2; p <= extent; p *= 2)
        sizes.insert(p);
    for (std::int64_t i = 2; i * i <= extent; ++i)
        if (extent % i == 0) {
            sizes.insert(i);
            sizes.insert(extent / i);
        }
    const std::int64_t chunks = std::min(space.units, extent);
    sizes.insert(ceilDiv(extent, chunks));
    if (constraints)
        for (const auto& c : constraints->items) {
            using Kind = constraints::Constraint::Kind;
            const bool sized = c.kind == Kind::TileEquals || c.kind == Kind::TileAtMost || c.kind == Kind::TileAtLeast;
            if (sized && c.loop == space.dims[d].name && c.value >= 1 && c.value <= extent)
                sizes.insert(c.value);
        }
    return {sizes.begin(), sizes.end()};
}

// Index of the largest size not above `tile` (sizes start at 1, tiles are at least 1).
std::size_t indexAtMost(const std::vector<std::int64_t>& sizes, std::int64_t tile) {
    const auto it = std::upper_bound(sizes.begin(), sizes.end(), tile);
    return it == sizes.begin() ? 0 : static_cast<std::size_t>(it - sizes.begin()) - 1;
}

std::int64_t innermostTile(const Schedule& s, std::size_t d) { return s.levels.back().tiles[d]; }

void clampUnroll(Schedule& s, std::size_t d) {
    const std::size_t allowed = unrollCount(innermostTile(s, d));
    if (s.unroll[d] > kUnrollFactors[allowed - 1])
        s.unroll[d] = kUnrollFactors[allowed - 1];
}

// Sets a tile and keeps tile <= parent along the loop: ancestors grow to hold it, descendants shrink.
void setTile(Schedule& s, std::size_t level, std::size_t d, std::int64_t tile) {
    s.levels[level].tiles[d] = tile;
    for (std::size_t l = level - 1; l >= 1; --l)
        s.levels[l].tiles[d] = std::max(s.levels[l].tiles[d], tile);
    for (std::size_t l = level + 1; l < s.levels.size(); ++l)
        s.levels[l].tiles[d] = std::min(s.levels[l].tiles[d], tile);
    clampUnroll(s, d);
}

// Order positions holding loops that step (extent above 1).
std::vector<std::size_t> orderedPositions(const Choices& choices, std::span<const int> order) {
    std::vector<std::size_t> positions;
    for (std::size_t p = 0; p < order.size(); ++p)
        if (std::find(choices.ordered.begin(), choices.ordered.end(), order[p]) != choices.ordered.end())
            positions.push_back(p);
    return positions;
}

void shuffleOrder(const Choices& choices, schedule::LoopOrder& order, Rng& rng) {
    const auto positions = orderedPositions(choices, order);
    for (std::size_t i = positions.size(); i > 1; --i)
        std::swap(order[positions[i - 1]], order[positions[pick(rng, i)]]);
}

// Shrinks the tiles of `level` one size at a time, a random loop each step, until the level holds them.
void shrinkToFit(const Space& space, const Choices& choices, Schedule& s, std::size_t level, Rng& rng) {
    auto& tiles = s.levels[level].tiles;
    while (!fits(space, s, level)) {
        std::vector<std::size_t> shrinkable;
        for (std::size_t d = 0; d < choices.dims; ++d)
            if (tiles[d] > choices.tiles[d].front())
                shrinkable.push_back(d);
        if (shrinkable.empty()) {
            if (!s.levels[level].doubleBuffered)
                return; // even single tiles overflow it: illegal will say so
            s.levels[level].doubleBuffered = false;
            continue;
        }
        const std::size_t d = shrinkable[pick(rng, shrinkable.size())];
        const auto& sizes = choices.tiles[d];
        tiles[d] = sizes[indexAtMost(sizes, tiles[d] - 1)];
    }
}

// The loops whose tiles have more than one size to choose from.
std::vector<int> resizable(const Choices& choices) {
    std::vector<int> out;
    for (int d : choices.ordered)
        if (choices.tiles[static_cast<std::size_t>(d)].size() > 1)
            out.push_back(d);
    return out;
}

enum class Move { Tile, Order, DoubleBuffer, Parallel, Unroll };

// The moves the space offers, each as often as its weight: tiles matter most to the cost.
std::vector<Move> movesOf(const Choices& choices) {
    std::vector<Move> moves;
    if (choices.levels >= 2 && !resizable(choices).empty())
        moves.insert(moves.end(), 4, Move::Tile);
    if (choices.ordered.size() >= 2)
        moves.insert(moves.end(), 2, Move::Order);
    if (choices.levels >= 2)
        moves.push_back(Move::DoubleBuffer);
    if (!choices.parallelizable.empty())
        moves.push_back(Move::Parallel);
    for (int d : choices.ordered)
        if (choices.tiles[static_cast<std::size_t>(d)].back() >= 2) {
            moves.push_back(Move::Unroll);
            break;
        }
    return moves;
}

void mutateTile(const Choices& choices, Schedule& s, Rng& rng) {
    const std::size_t level = 1 + pick(rng, choices.levels - 1);
    const auto loops = resizable(choices);
    const std::size_t d = static_cast<std::size_t>(loops[pick(rng, loops.size())]);
    const auto& sizes = choices.tiles[d];
    const std::size_t current = indexAtMost(sizes, s.levels[level].tiles[d]);
    std::size_t next = current;
    if (pick(rng, 2) == 0) { // a step to the next size, which the search can climb
        const bool up = current == 0 || (current + 1 < sizes.size() && pick(rng, 2) == 0);
        next = up ? current + 1 : current - 1;
    } else { // a jump anywhere, to leave a valley
        next = pick(rng, sizes.size() - 1);
        next += next >= current ? 1 : 0;
    }
    setTile(s, level, d, sizes[next]);
}

void mutateUnroll(const Choices& choices, Schedule& s, Rng& rng) {
    std::vector<std::size_t> unrollable;
    for (std::size_t d = 0; d < choices.dims; ++d)
        if (unrollCount(innermostTile(s, d)) > 1)
            unrollable.push_back(d);
    if (unrollable.empty())
        return;
    const std::size_t d = unrollable[pick(rng, unrollable.size())];
    const std::size_t allowed = unrollCount(innermostTile(s, d));
    std::size_t current = 0;
    while (current + 1 < allowed && kUnrollFactors[current] < s.unroll[d])
        ++current;
    std::size_t next = pick(rng, allowed - 1);
    next += next >= current ? 1 : 0;
    s.unroll[d] = kUnrollFactors[next];
}

} // namespace

Choices choicesOf(const Space& space, const constraints::Set* constraints) {
    Choices c;
    c.levels = space.levels.size();
    c.dims = space.dims.size();
    for (std::size_t d = 0; d < c.dims; ++d) {
        c.tiles.push_back(tileSizes(space, d, constraints));
        if (space.dims[d].extent > 1) {
            c.ordered.push_back(static_cast<int>(d));
            if (space.operands.front().dependsOn[d] && !schedule::wholeInRegisters(space, d))
                c.parallelizable.push_back(static_cast<int>(d));
        }
    }
    c.base = schedule::defaultSchedule(space);
    if (constraints)
        constraints->apply(space, c.base);
    return c;
}

std::size_t unrollCount(std::int64_t innermostTile) {
    std::size_t count = 0;
    for (std::int64_t f : kUnrollFactors)
        count += f <= innermostTile ? 1 : 0;
    return std::max<std::size_t>(count, 1);
}

double spaceSize(const Choices& c) {
    double size = 1;
    for (std::size_t d = 0; d < c.dims; ++d) {
        const auto& sizes = c.tiles[d];
        if (c.levels < 2) {
            size *= static_cast<double>(unrollCount(sizes.back()));
            continue;
        }
        // ways[i]: the tile chains from this level down with tile sizes[i] here, times the unroll
        // factors their innermost tile allows; summed over prefixes going up (the tile <= parent rule).
        std::vector<double> ways;
        for (std::int64_t t : sizes)
            ways.push_back(static_cast<double>(unrollCount(t)));
        for (std::size_t l = c.levels - 1; l > 1; --l)
            for (std::size_t i = 1; i < ways.size(); ++i)
                ways[i] += ways[i - 1];
        double chains = 0;
        for (double w : ways)
            chains += w;
        size *= chains;
    }
    double orders = 1;
    for (std::size_t i = 2; i <= c.ordered.size(); ++i)
        orders *= static_cast<double>(i);
    for (std::size_t l = 0; l < c.levels; ++l)
        size *= orders;
    for (std::size_t l = 1; l < c.levels; ++l)
        size *= 2;
    for (std::size_t i = 0; i < c.parallelizable.size(); ++i)
        size *= 2;
    return size;
}

std::vector<std::vector<int>> orderings(const Choices& choices, std::span<const int> base) {
    const auto positions = orderedPositions(choices, base);
    std::vector<int> loops;
    for (std::size_t p : positions)
        loops.push_back(base[p]);
    std::sort(loops.begin(), loops.end());
    std::vector<std::vector<int>> out;
    do {
        std::vector<int> order(base.begin(), base.end());
        for (std::size_t i = 0; i < positions.size(); ++i)
            order[positions[i]] = loops[i];
        out.push_back(std::move(order));
    } while (std::next_permutation(loops.begin(), loops.end()));
    return out;
}

bool fits(const Space& space, const Schedule& s, std::size_t level) {
    const auto& ls = s.levels[level];
    const auto& memory = space.levels[level];
    const double registerBytes =
        memory.registers > 0 ? static_cast<double>(memory.bytes) / static_cast<double>(memory.registers) : 0;
    double bytes = 0;
    std::int64_t registers = 0;
    for (std::size_t o = 0; o < space.operands.size(); ++o) {
        if (!ls.keeps[o])
            continue;
        const double tileBytes = static_cast<double>(schedule::footprint(space, o, ls.tiles)) *
                                 space.operands[o].bytesPerElement * (ls.doubleBuffered ? 2 : 1);
        bytes += tileBytes;
        if (registerBytes > 0)
            registers += static_cast<std::int64_t>((tileBytes + registerBytes - 1) / registerBytes);
    }
    return bytes <= static_cast<double>(memory.bytes) && (memory.registers <= 0 || registers <= memory.registers);
}

Schedule randomSchedule(const Space& space, const Choices& choices, Rng& rng) {
    Schedule s = choices.base;
    for (auto& level : s.levels)
        shuffleOrder(choices, level.order, rng);
    for (std::size_t l = 1; l < choices.levels; ++l) {
        auto& level = s.levels[l];
        for (std::size_t d = 0; d < choices.dims; ++d) {
            const auto& sizes = choices.tiles[d];
            level.tiles[d] = sizes[pick(rng, indexAtMost(sizes, s.levels[l - 1].tiles[d]) + 1)];
        }
        level.doubleBuffered = pick(rng, 2) == 1;
        shrinkToFit(space, choices, s, l, rng);
    }
    std::fill(s.parallel.begin(), s.parallel.end(), false);
    for (int d : choices.parallelizable)
        s.parallel[static_cast<std::size_t>(d)] = pick(rng, 2) == 1;
    for (std::size_t d = 0; d < choices.dims; ++d)
        s.unroll[d] = kUnrollFactors[pick(rng, unrollCount(innermostTile(s, d)))];
    return s;
}

void mutate(const Choices& choices, Schedule& s, Rng& rng) {
    const auto moves = movesOf(choices);
    if (moves.empty())
        return;
    switch (moves[pick(rng, moves.size())]) {
    case Move::Tile:
        mutateTile(choices, s, rng);
        break;
    case Move::Order: {
        auto& order = s.levels[pick(rng, choices.levels)].order;
        const auto positions = orderedPositions(choices, order);
        const std::size_t a = pick(rng, positions.size());
        const std::size_t b = (a + 1 + pick(rng, positions.size() - 1)) % positions.size();
        std::swap(order[positions[a]], order[positions[b]]);
        break;
    }
    case Move::DoubleBuffer: {
        auto& level = s.levels[1 + pick(rng, choices.levels - 1)];
        level.doubleBuffered = !level.doubleBuffered;
        break;
    }
    case Move::Parallel: {
        const auto d = static_cast<std::size_t>(choices.parallelizable[pick(rng, choices.parallelizable.size())]);
        s.parallel[d] = !s.parallel[d];
        break;
    }
    case Move::Unroll:
        mutateUnroll(choices, s, rng);
        break;
    }
}

std::vector<Schedule> neighbours(const Choices& choices, const Schedule& s) {
    std::vector<Schedule> out;
    for (std::size_t l = 1; l < choices.levels; ++l)
        for (int loop : choices.ordered) {
            const auto d = static_cast<std::size_t>(loop);
            const auto& sizes = choices.tiles[d];
            const std::size_t current = indexAtMost(sizes, s.levels[l].tiles[d]);
            for (std::size_t next : {current + 1, current - 1})
                if (next < sizes.size()) { // current - 1 wraps around at 0
                    out.push_back(s);
                    setTile(out.back(), l, d, sizes[next]);
                }
        }
    for (std::size_t l = 0; l < choices.levels; ++l) {
        const auto positions = orderedPositions(choices, s.levels[l].order);
        for (std::size_t i = 0; i + 1 < positions.size(); ++i) {
            out.push_back(s);
            std::swap(out.back().levels[l].order[positions[i]], out.back().levels[l].order[positions[i + 1]]);
        }
    }
    for (std::size_t l = 1; l < choices.levels; ++l) {
        out.push_back(s);
        out.back().levels[l].doubleBuffered = !s.levels[l].doubleBuffered;
    }
    for (int d : choices.parallelizable) {
        out.push_back(s);
        out.back().parallel[static_cast<std::size_t>(d)] = !s.parallel[static_cast<std::size_t>(d)];
    }
    for (std::size_t d = 0; d < choices.dims; ++d) {
        const std::size_t allowed = unrollCount(innermostTile(s, d));
        for (std::size_t i = 0; i < allowed; ++i) {
            const bool adjacent = (i + 1 < allowed && kUnrollFactors[i + 1] == s.unroll[d]) ||
                                  (i >= 1 && kUnrollFactors[i - 1] == s.unroll[d]);
            if (adjacent) {
                out.push_back(s);
                out.back().unroll[d] = kUnrollFactors[i];
            }
        }
    }
    return out;
}

Schedule crossover(const Choices& choices, const Schedule& a, const Schedule& b, Rng& rng) {
    Schedule child = a;
    for (std::size_t l = 0; l < choices.levels; ++l)
        if (pick(rng, 2) == 1) {
            child.levels[l].tiles = b.levels[l].tiles;
            child.levels[l].order = b.levels[l].order;
            child.levels[l].doubleBuffered = b.levels[l].doubleBuffered;
        }
    for (std::size_t d = 0; d < choices.dims; ++d) {
        if (pick(rng, 2) == 1)
            child.parallel[d] = b.parallel[d];
        if (pick(rng, 2) == 1)
            child.unroll[d] = b.unroll[d];
    }
    settle(choices, child);
    return child;
}

void settle(const Choices& choices, Schedule& s) {
    for (std::size_t l = 1; l < choices.levels; ++l)
        for (std::size_t d = 0; d < choices.dims; ++d)
            s.levels[l].tiles[d] = std::min(s.levels[l].tiles[d], s.levels[l - 1].tiles[d]);
    for (std::size_t d = 0; d < choices.dims; ++d)
        clampUnroll(s, d);
}

std::uint64_t hashOf(const Schedule& s) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    auto mix = [&h](std::uint64_t v) {
        h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
        h *= 0x100000001b3ULL;
    };
    for (const auto& level : s.levels) {
        for (auto t : level.tiles)
            mix(static_cast<std::uint64_t>(t));
        for (int o : level.order)
            mix(static_cast<std::uint64_t>(o));
        for (bool k : level.keeps)
            mix(k);
        mix(level.doubleBuffered ? 3 : 5);
    }
    for (bool p : s.parallel)
        mix(p);
    for (auto u : s.unroll)
        mix(static_cast<std::uint64_t>(u));
    return h;
}

} // namespace isamap::search::detail
