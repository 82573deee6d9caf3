// The analytical blocking of GEMM-like spaces (see blockedSchedule in schedule.h).
#include "schedule/schedule.h"

#include <algorithm>
#include <numeric>

namespace isamap::schedule {

namespace {

// Reduction blocks longer than this measured 1-5% slower on the development machine whatever the
// register tile (512 against 768-1024 steps on three DeepBench shapes with a 4x6 tile, against 300 with
// 2x12): each step of the vector input's micro-panel is a new stretch of its column stride, and the
// block's reach in the TLB grows with it.
constexpr std::int64_t kLongestReductionBlock = 512;

struct Roles {
    int vector = -1, broadcast = -1, reduction = -1;
    int vectorInput = -1, broadcastInput = -1, output = -1;
};

// The three dimensions and the operands that play each part; false when the space is not GEMM-like.
bool findRoles(const Space& space, Roles& r) {
    for (std::size_t o = 0; o < space.operands.size(); ++o)
        if (space.operands[o].output)
            r.output = static_cast<int>(o);
    if (r.output < 0)
        return false;
    const auto& out = space.operands[static_cast<std::size_t>(r.output)];
    for (std::size_t d = 0; d < space.dims.size(); ++d) {
        if (space.dims[d].extent < 2)
            continue;
        int& role = !out.dependsOn[d] ? r.reduction : space.dims[d].instructionDim >= 0 ? r.vector : r.broadcast;
        if (role >= 0)
            return false;
        role = static_cast<int>(d);
    }
    if (r.vector < 0 || r.broadcast < 0 || r.reduction < 0)
        return false;
    for (std::size_t o = 0; o < space.operands.size(); ++o) {
        const auto& op = space.operands[o];
        if (op.output)
            continue;
        const bool v = op.dependsOn[static_cast<std::size_t>(r.vector)];
        const bool b = op.dependsOn[static_cast<std::size_t>(r.broadcast)];
        if (v && !b && r.vectorInput < 0)
            r.vectorInput = static_cast<int>(o);
        else if (b && !v && r.broadcastInput < 0)
            r.broadcastInput = static_cast<int>(o);
        else
            return false;
    }
    return r.vectorInput >= 0 && r.broadcastInput >= 0;
}

double tileBytes(const Space& space, int o, const std::vector<std::int64_t>& tiles) {
    const auto& op = space.operands[static_cast<std::size_t>(o)];
    return static_cast<double>(footprint(space, static_cast<std::size_t>(o), tiles)) * op.bytesPerElement;
}

// The largest tile of dimension d, at most `limit`, with which operand o's tile stays within `bytes`.
std::int64_t largestFitting(const Space& space, int o, std::vector<std::int64_t> tiles, int d, std::int64_t limit,
                            double bytes) {
    std::int64_t lo = 1, hi = limit;
    while (lo < hi) {
        const std::int64_t mid = (lo + hi + 1) / 2;
        tiles[static_cast<std::size_t>(d)] = mid;
        if (tileBytes(space, o, tiles) <= bytes)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

// Blocks of at most `block` (a multiple of `unit`, unless the whole extent) that cut `extent` evenly,
// in multiples of `unit`: 2048 by 512 stays 512, 2816 by 512 gives 470, 2048 by 2048 in sixes stays
// 2048 (not 2046 and a block of 2).
std::int64_t balanced(std::int64_t extent, std::int64_t block, std::int64_t unit = 1) {
    if (block >= extent)
        return extent;
    const std::int64_t blocks = (extent + block - 1) / block;
    const std::int64_t even = (extent + blocks - 1) / blocks;
    return std::min(extent, (even + unit - 1) / unit * unit);
}

// A block that fits, in whole register tiles unless it covers the whole extent.
std::int64_t roundedDown(std::int64_t fits, std::int64_t extent, std::int64_t unit) {
    return fits >= extent ? extent : std::max(unit, fits / unit * unit);
}

} // namespace

std::optional<Schedule> blockedSchedule(const Space& space, std::int64_t vectorCalls, std::int64_t broadcastTile) {
    Roles r;
    const std::size_t levels = space.levels.size();
    if (space.registerLevel != static_cast<int>(levels) - 1 || levels < 4 || !findRoles(space, r))
        return std::nullopt;
    const auto v = static_cast<std::size_t>(r.vector), b = static_cast<std::size_t>(r.broadcast),
               k = static_cast<std::size_t>(r.reduction);
    const std::size_t regs = levels - 1, l1 = levels - 2, l2 = levels - 3;
    const std::size_t l3 = levels >= 5 ? levels - 4 : l2;
    const std::int64_t V = space.dims[v].extent, B = space.dims[b].extent, K = space.dims[k].extent;
    vectorCalls = std::min(vectorCalls, V);
    broadcastTile = std::min(broadcastTile, B);

    std::vector<std::int64_t> tiles(space.dims.size(), 1);
    tiles[v] = vectorCalls;
    tiles[b] = broadcastTile;
    // The broadcast micro-panel in three quarters of the first cache; the vector block in half the second.
    const std::int64_t kc = balanced(K, largestFitting(space, r.broadcastInput, tiles, r.reduction, std::min(K, kLongestReductionBlock),
                                                       0.75 * static_cast<double>(space.levels[l1].bytes)));
    tiles[k] = kc;
    // With several units, each takes a share of the broadcast dimension (of the vector one if short).
    const std::int64_t units = std::max<std::int64_t>(1, space.units);
    const bool splitBroadcast = B >= units * broadcastTile;
    const std::int64_t bShare = splitBroadcast ? (B + units - 1) / units : B;
    const std::int64_t vShare = splitBroadcast ? V : (V + units - 1) / units;
    const std::int64_t mcFits = largestFitting(space, r.vectorInput, tiles, r.vector, vShare,
                                               0.5 * static_cast<double>(space.levels[l2].bytes));
    const std::int64_t mc = balanced(vShare, roundedDown(mcFits, vShare, vectorCalls), vectorCalls);
    std::int64_t nc = bShare;
    if (l3 != l2) {
        tiles[b] = nc;
        const auto share = static_cast<double>(space.levels[l3].bytes) / (2.0 * static_cast<double>(units));
        const std::int64_t ncFits = largestFitting(space, r.broadcastInput, tiles, r.broadcast, nc, share);
        nc = balanced(bShare, roundedDown(ncFits, bShare, broadcastTile), broadcastTile);
    }

    Schedule s;
    auto level = [&](std::size_t l, std::int64_t tv, std::int64_t tb, std::int64_t tk, std::vector<int> order,
                     std::vector<int> keep) {
        LevelSchedule ls;
        ls.tiles.assign(space.dims.size(), 1);
        ls.tiles[v] = tv;
        ls.tiles[b] = tb;
        ls.tiles[k] = tk;
        for (std::size_t d = 0; d < space.dims.size(); ++d)
            if (std::find(order.begin(), order.end(), static_cast<int>(d)) == order.end())
                order.insert(order.begin(), static_cast<int>(d)); // the dimensions of extent one, outside
        ls.order = order;
        ls.keeps.assign(space.operands.size(), false);
        for (std::size_t o = 0; o < space.operands.size(); ++o)
            ls.keeps[o] = l == 0 ? space.operands[o].onPath[l] : space.operands[o].requiredMemory == space.levels[l].memory;
        for (int o : keep)
            ls.keeps[static_cast<std::size_t>(o)] = true;
        s.levels[l] = ls;
    };
    const int iv = r.vector, ib = r.broadcast, ik = r.reduction;
    s.levels.resize(levels);
    // Loops at a level step through its tile in tiles of the level below: the Goto nest is
    // jc (broadcast) and pc (reduction) at the top, ic (vector) over the cached blocks, jr (broadcast)
    // over the micro-panels, ir (vector) then the reduction around the register tile.
    level(0, V, B, K, {ib, ik, iv}, {});
    for (std::size_t l = 1; l < l3; ++l) // levels between the outermost and the third cache hold everything
        level(l, V, B, K, {ib, ik, iv}, {});
    if (l3 != l2)
        level(l3, V, nc, kc, {ib, ik, iv}, {r.broadcastInput});
    level(l2, mc, nc, kc, {iv, ik, ib}, {r.vectorInput});
    level(l1, mc, broadcastTile, kc, {ib, iv, ik}, {r.broadcastInput});
    level(regs, vectorCalls, broadcastTile, 1, {ib, iv, ik}, {r.output});
    s.parallel.assign(space.dims.size(), false);
    s.unroll.assign(space.dims.size(), 1);
    if (units > 1)
        s.parallel[splitBroadcast ? b : v] = true;
    if (units > 1 && !splitBroadcast)
        for (std::size_t l = 1; l < levels; ++l)
            s.levels[l].tiles[v] = std::min(s.levels[l].tiles[v], vShare);
    if (illegal(space, s))
        return std::nullopt;
    return s;
}

} // namespace isamap::schedule
