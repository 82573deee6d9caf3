// Constraints a person sets on the schedule space, as text or through this API, e.g.
//
//   pin instruction mma32                  # or: pin candidate "mma32: i=n, j=m, k=k; c=C, a=B, b=A"
//   tile m at l1 = 4                       # fix a tile size (in the loop's units)
//   tile k at l1 <= 8                      # bound it (also >=)
//   tile n at l2 != 3                      # forbid one size
//   order at l1: k innermost               # relative order ("k inside n", "k outside n")
//   order at l2: n, m                      # a prefix, outermost first
//   keep B in l1                           # keep an operand's tile in a memory ("not keep B in l2")
//   cap l2 <= 512 KiB                      # use at most this much of a memory
//   parallel m                             # run a loop in parallel ("not parallel k")
//
// A constraint set restricts what a search may return (every strategy calls `allows` on what it
// keeps and `apply` to steer what it proposes); `conflict` finds a small subset of constraints that
// together leave no legal schedule, to say in words why a set is unsatisfiable.
#pragma once

#include "ir/diagnostics.h"
#include "mapping/mapping.h"
#include "schedule/schedule.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace isamap::constraints {

struct Constraint {
    enum class Kind {
        PinInstruction, PinCandidate, TileEquals, TileAtMost, TileAtLeast, TileNot,
        OrderInnermost, OrderInside, OrderOutside, OrderPrefix,
        Keep, NotKeep, Cap, Parallel, NotParallel
    };
    Kind kind = Kind::TileEquals;
    std::string loop;                 // loop dimension name (tile, order, parallel)
    std::string other;                // the second loop of OrderInside / OrderOutside
    std::vector<std::string> prefix;  // OrderPrefix, outermost first
    std::string level;                // memory name (tile, order, keep, cap)
    std::string operand;              // tensor name (keep)
    std::string name;                 // instruction or candidate key (pin)
    std::int64_t value = 0;           // tile size, or bytes for Cap
    std::string text;                 // the constraint as written, for messages
    ir::SourceLoc loc;
};

struct Set {
    std::vector<Constraint> items;

    // Whether the candidate may be used at all (pins).
    bool allowsCandidate(const mapping::Candidate& c, std::string* why = nullptr) const;
    // Whether the schedule respects every constraint; `why` names the first one it breaks.
    bool allows(const schedule::Space& space, const schedule::Schedule& s, std::string* why = nullptr) const;
    // Forces what the constraints fix (equal tiles, keeps, parallel flags, order prefixes) into `s`,
    // clamping bounded tiles, so that a strategy's proposals start inside the constrained space.
    void apply(const schedule::Space& space, schedule::Schedule& s) const;
    // Constraints that name a loop, level or operand the space does not have, in words.
    std::vector<std::string> unknownNames(const schedule::Space& space) const;
};

// Parses constraint text; syntax errors and unknown keywords as `file:line:col: error:` diagnostics.
struct ParseResult {
    Set set;
    std::vector<ir::Diagnostic> diagnostics;
};
ParseResult parse(const ir::SourceFile& file);

// A small subset of `set` (as indices into set.items) that leaves no legal schedule, found by deletion:
// a constraint stays in the subset only if removing it makes `feasible` true. `feasible` answers
// whether some legal schedule satisfies a set (a search with a budget). Empty when the whole set is
// feasible.
std::vector<std::size_t> conflict(const Set& set, const std::function<bool(const Set&)>& feasible);

} // namespace isamap::constraints
