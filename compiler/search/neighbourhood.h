// Internal to the search: the schedule space of search.h as a set of choices, random legal points of
// it, the moves between neighbouring points, and its size for the exhaustive strategy.
//
// The choices, for a space with levels 0 (the whole problem) .. n-1 (the instruction's operands):
//   - per level l >= 1 and loop d, a tile among the loop's sizes (divisors of the extent, powers of two
//     up to it, the extent itself, and any size a tile constraint names), never above the parent's tile;
//   - per level, an order of the loops whose extent is above 1 (a loop of extent 1 never steps, so
//     where it sits changes nothing: it keeps its place);
//   - per level l >= 1, double-buffered or not (nothing is transferred into level 0);
//   - per loop the output depends on (others would race, see schedule::illegal) with an extent above
//     1, parallel or not;
//   - per loop, an unroll factor among 1, 2, 4, 8 up to its innermost tile.
// Keeps are not searched: they stay as defaultSchedule sets them, after the constraints' own.
#pragma once

#include "constraints/constraints.h"
#include "schedule/schedule.h"

#include <cstdint>
#include <random>
#include <vector>

namespace isamap::search::detail {

using Rng = std::mt19937_64;

// Uniform in [0, n), n > 0; written out so that a seed gives the same run with every standard library.
inline std::size_t pick(Rng& rng, std::size_t n) { return static_cast<std::size_t>(rng() % n); }
// Uniform in [0, 1).
inline double unit(Rng& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

inline constexpr std::int64_t kUnrollFactors[] = {1, 2, 4, 8};

struct Choices {
    std::size_t levels = 0;
    std::size_t dims = 0;
    std::vector<std::vector<std::int64_t>> tiles; // per loop: its tile sizes, ascending, from 1 to the extent
    std::vector<int> ordered;                     // loops with an extent above 1: the ones an order permutes
    std::vector<int> parallelizable;              // loops that may run in parallel and have something to split
    schedule::Schedule base;                      // defaultSchedule with the constraints applied
};

Choices choicesOf(const schedule::Space& space, const constraints::Set* constraints);

// Points of the space: the product of its choices, as a double since it easily exceeds 2^63.
double spaceSize(const Choices& choices);

// Unroll factors allowed under an innermost tile.
std::size_t unrollCount(std::int64_t innermostTile);

// Every permutation of `ordered`, written into the order positions those loops hold in `base`.
std::vector<std::vector<int>> orderings(const Choices& choices, std::span<const int> base);

// Whether the tiles kept at `level` fit its bytes and registers: the capacity rule of schedule::illegal,
// without the words, so that random proposals start legal. Proposals still go through illegal.
bool fits(const schedule::Space& space, const schedule::Schedule& s, std::size_t level);

// A random point that fits: levels from the outside in, each tile uniform among the sizes up to its
// parent's, then shrunk one size at a time until the level holds them.
schedule::Schedule randomSchedule(const schedule::Space& space, const Choices& choices, Rng& rng);

// One random move: a tile to a neighbouring or random size (ancestors grow and descendants shrink to
// keep tile <= parent), two loops of an order swapped, double buffering, a parallel flag or an unroll
// factor changed. Leaves `s` unchanged when the space has no move at all.
void mutate(const Choices& choices, schedule::Schedule& s, Rng& rng);

// Every point one move away, in a fixed order: each tile one size up and down, each adjacent pair of
// each order swapped, each double-buffer and parallel flag flipped, each unroll factor one step.
std::vector<schedule::Schedule> neighbours(const Choices& choices, const schedule::Schedule& s);

// Per level, tiles, order and double buffering from one parent or the other; per loop, the parallel
// flag and unroll factor likewise; then settled.
schedule::Schedule crossover(const Choices& choices, const schedule::Schedule& a, const schedule::Schedule& b,
                             Rng& rng);

// Restores tile <= parent (from the outside in, shrinking children) and unroll <= innermost tile.
void settle(const Choices& choices, schedule::Schedule& s);

std::uint64_t hashOf(const schedule::Schedule& s);

} // namespace isamap::search::detail
