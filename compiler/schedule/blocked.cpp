// The analytical blocking of GEMM-like spaces (see blockedSchedule in schedule.h).
#include "schedule/schedule.h"
#include "support/integers.h"

#include <algorithm>
#include <tuple>
#include <utility>
#include <vector>

namespace isamap::schedule {

namespace {

// Reduction blocks longer than this measured 1-5% slower on the development machine whatever the
// register tile (512 against 768-1024 steps on three DeepBench shapes with a 4x6 tile; 512 also beat
// 300 with 2x12). A likely cause, not measured: each step of the vector input's micro-panel is a new
// stretch of its column stride, so the block's reach in the TLB grows with its length.
constexpr std::int64_t kLongestReductionBlock = 512;

// An input is packed into micro-panels when the loops read each copied element at least this often:
// the copy costs about one read and one write of it. (On one thread, packing both inputs gained 3-7% on
// the large DeepBench shapes, where each element is read hundreds of times, and lost up to 20% on
// 1760x16x1760 and 512x32x512, where the vector input is read three or six times.)
constexpr std::int64_t kPackedReads = 16;

struct Roles {
    int vector = -1, broadcast = -1, reduction = -1;
    int vectorInput = -1, broadcastInput = -1, output = -1;
    // Further output dimensions (a GRU's three gates, a batch of products): each a loop around the whole
    // nest, one index at a time, so that every index runs the blocking of a plain product.
    std::vector<int> outer;
};

// Reduction blocks of the column sweep: the vector input is read as this many sequential streams. On
// 4608x2x1536, 8 and 16 ran at 25 GFLOP/s and 32 and 64 at 16-17 (more streams than the prefetchers
// follow).
constexpr std::int64_t kStreams = 16;

// The three dimensions and the operands that play each part; false when the space is not GEMM-like.
// The vector dimension is the one the instruction maps, the reduction the one the output does not
// depend on, the broadcast the longest that only the other input reads. Any other output dimension
// goes around the nest (`outer`). For the column sweep (`sweep`), the broadcast dimension may be missing
// (a matrix-vector product), and the vector dimension may be one vector long (a GRU step's blocks of 16
// outputs at batch 2, read two side by side).
bool findRoles(const Space& space, Roles& r, bool sweep = false) {
    for (std::size_t o = 0; o < space.operands.size(); ++o)
        if (space.operands[o].output)
            r.output = static_cast<int>(o);
    if (r.output < 0)
        return false;
    const auto& out = space.operands[static_cast<std::size_t>(r.output)];
    auto longer = [&](std::size_t d) { return space.dims[d].extent >= 2; };
    for (std::size_t d = 0; d < space.dims.size(); ++d) {
        const bool oneVector = sweep && space.dims[d].instructionDim >= 0;
        if ((!longer(d) && !oneVector) || (out.dependsOn[d] && space.dims[d].instructionDim < 0))
            continue;
        int& role = !out.dependsOn[d] ? r.reduction : r.vector;
        if (role >= 0)
            return false;
        role = static_cast<int>(d);
    }
    if (r.vector < 0 || r.reduction < 0)
        return false;
    const auto v = static_cast<std::size_t>(r.vector), k = static_cast<std::size_t>(r.reduction);
    for (std::size_t o = 0; o < space.operands.size(); ++o) {
        const auto& op = space.operands[o];
        if (op.output)
            continue;
        int& role = op.dependsOn[v] ? r.vectorInput : r.broadcastInput;
        if (role >= 0 || !op.dependsOn[k])
            return false;
        role = static_cast<int>(o);
    }
    if (r.vectorInput < 0 || r.broadcastInput < 0)
        return false;
    const auto& vectorIn = space.operands[static_cast<std::size_t>(r.vectorInput)];
    const auto& broadcastIn = space.operands[static_cast<std::size_t>(r.broadcastInput)];
    // Of several dimensions only the broadcast input reads (the steps and the batch of a GRU's input
    // product, a convolution's rows and columns), the longest is the broadcast one; the others loop
    // outside, each index a product of its own.
    for (std::size_t d = 0; d < space.dims.size(); ++d) {
        if (!longer(d) || !out.dependsOn[d] || d == v)
            continue;
        const bool broadcastOnly = broadcastIn.dependsOn[d] && !vectorIn.dependsOn[d];
        if (broadcastOnly && (r.broadcast < 0 || space.dims[d].extent > space.dims[static_cast<std::size_t>(r.broadcast)].extent)) {
            if (r.broadcast >= 0)
                r.outer.push_back(r.broadcast);
            r.broadcast = static_cast<int>(d);
        } else {
            r.outer.push_back(static_cast<int>(d));
        }
    }
    return r.broadcast >= 0 || sweep;
}

// The accumulators one register tile position takes along the dimensions an epilogue needs whole
// (the three gates a GRU's tail reads together): the analytical tiles shrink by this much.
std::int64_t wholeAccumulators(const Space& space) {
    std::int64_t n = 1;
    for (int d : space.wholeInRegisters)
        n *= space.dims[static_cast<std::size_t>(d)].extent;
    return n;
}

// Tiles of one along every loop but those an epilogue needs whole.
std::vector<std::int64_t> unitTiles(const Space& space) {
    std::vector<std::int64_t> tiles(space.dims.size(), 1);
    for (int d : space.wholeInRegisters)
        tiles[static_cast<std::size_t>(d)] = space.dims[static_cast<std::size_t>(d)].extent;
    return tiles;
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
    const std::int64_t blocks = ceilDiv(extent, block);
    const std::int64_t even = ceilDiv(extent, blocks);
    return std::min(extent, ceilDiv(even, unit) * unit);
}

// A block that fits, in whole register tiles unless it covers the whole extent.
std::int64_t roundedDown(std::int64_t fits, std::int64_t extent, std::int64_t unit) {
    return fits >= extent ? extent : std::max(unit, fits / unit * unit);
}

// With several units, each takes a share of the broadcast dimension when every share holds a whole
// register tile (else they share the vector dimension, and the broadcast one is whole).
bool splitsBroadcast(const Space& space, std::int64_t B, std::int64_t tile) {
    return B >= std::max<std::int64_t>(1, space.units) * tile;
}
std::int64_t broadcastShare(const Space& space, std::int64_t B, std::int64_t tile) {
    const std::int64_t units = std::max<std::int64_t>(1, space.units);
    return splitsBroadcast(space, B, tile) ? ceilDiv(B, units) : B;
}

// The register tile's width along the broadcast dimension: as many tiles as the widest would make, of
// widths as even as they can be. A short last tile costs nearly a whole one: MobileNet's 512-channel
// pointwise layers of 14x14 pixels (rows of 14 broadcast) ran at 0.86-0.92 of oneDNN with 4x6 tiles
// (6, 6, 2) and at 0.96-1.02 with 4x5 (5, 5, 4) and 2x7, which reached 97-100% of peak timed by hand.
std::int64_t evenBroadcastTile(const Space& space, std::int64_t B, std::int64_t widest) {
    return balanced(broadcastShare(space, B, widest), widest);
}

// With several units and a vector dimension too short to give each a whole register tile of
// `vectorCalls`, the further output dimension with the most trips goes to the units instead: a fused
// GRU step's blocks of outputs, whose vector is one block (64 outputs). With its vector split, the
// step ran on one thread or on half tiles (2816x1 at 2 threads: 22 GFLOP/s, 0.80 of oneDNN). -1 when
// the vector dimension splits, or no further dimension has a trip per unit.
//
// On one unit it gives the dimension with the most trips, two or more, and the column sweep marks it
// parallel: the code runs its trips in order on the one worker, and a graph runner may take them in
// another. Each step of a GRU then reads its weights' blocks in the opposite order to the step before
// (measure/graph.h), starting on those still in the cache.
int outerParallelDim(const Space& space, const Roles& r, std::int64_t vectorCalls, const std::vector<std::int64_t>& tiles) {
    const std::int64_t units = std::max<std::int64_t>(1, space.units);
    if (units > 1 && space.dims[static_cast<std::size_t>(r.vector)].extent >= units * vectorCalls)
        return -1;
    int best = -1;
    std::int64_t bestTrips = std::max<std::int64_t>(1, units - 1);
    for (int d : r.outer) {
        const auto du = static_cast<std::size_t>(d);
        const std::int64_t trips = space.dims[du].extent / tiles[du];
        if (trips > bestTrips) {
            best = d;
            bestTrips = trips;
        }
    }
    return best;
}

// The block sizes of the Goto nest, in loop units.
struct Blocks {
    std::int64_t kc = 1;      // reduction block
    std::int64_t mc = 1;      // vector block (the vector input's block in l2)
    std::int64_t nc = 1;      // broadcast block (the broadcast input's block in l3)
    bool splitBroadcast = true; // several units share the broadcast dimension (else the vector one)
    int outerParallel = -1;   // or a further output dimension (outerParallelDim), each unit all of both
    std::int64_t vShare = 1;  // the vector extent one unit covers
};

Blocks chooseBlocks(const Space& space, const Roles& r, const std::vector<std::int64_t>& base, std::int64_t vectorCalls,
                    std::int64_t broadcastTile, std::size_t l1, std::size_t l2, std::size_t l3) {
    const auto v = static_cast<std::size_t>(r.vector), b = static_cast<std::size_t>(r.broadcast);
    const std::int64_t V = space.dims[v].extent, B = space.dims[b].extent,
                       K = space.dims[static_cast<std::size_t>(r.reduction)].extent;
    Blocks x;
    std::vector<std::int64_t> tiles = base;
    tiles[v] = vectorCalls;
    tiles[b] = broadcastTile;
    // The broadcast micro-panel in three quarters of the first cache; the vector block in half the second.
    x.kc = balanced(K, largestFitting(space, r.broadcastInput, tiles, r.reduction, std::min(K, kLongestReductionBlock),
                                      0.75 * static_cast<double>(space.levels[l1].bytes)));
    tiles[static_cast<std::size_t>(r.reduction)] = x.kc;
    // With several units, each takes a share of the broadcast dimension (of the vector one if short).
    const std::int64_t units = std::max<std::int64_t>(1, space.units);
    x.splitBroadcast = splitsBroadcast(space, B, broadcastTile);
    if (!x.splitBroadcast && units > 1)
        x.outerParallel = outerParallelDim(space, r, vectorCalls, base);
    const std::int64_t bShare = broadcastShare(space, B, broadcastTile);
    x.vShare = x.splitBroadcast || x.outerParallel >= 0 ? V : ceilDiv(V, units);
    const std::int64_t mcFits = largestFitting(space, r.vectorInput, tiles, r.vector, x.vShare,
                                               0.5 * static_cast<double>(space.levels[l2].bytes));
    x.mc = balanced(x.vShare, roundedDown(mcFits, x.vShare, vectorCalls), vectorCalls);
    x.nc = bShare;
    if (l3 != l2) {
        tiles[b] = x.nc;
        const auto share = static_cast<double>(space.levels[l3].bytes) / (2.0 * static_cast<double>(units));
        const std::int64_t ncFits = largestFitting(space, r.broadcastInput, tiles, r.broadcast, x.nc, share);
        x.nc = balanced(bShare, roundedDown(ncFits, bShare, broadcastTile), broadcastTile);
    }
    return x;
}

// What level l must keep: everything on its path at the outermost level, below it only the operands
// the instruction reads from there.
std::vector<bool> requiredKeeps(const Space& space, std::size_t l) {
    std::vector<bool> keeps(space.operands.size(), false);
    for (std::size_t o = 0; o < space.operands.size(); ++o)
        keeps[o] = l == 0 ? space.operands[o].onPath[l] : space.operands[o].requiredMemory == space.levels[l].memory;
    return keeps;
}

// One level of the nest: its tiles of the three dimensions (one elsewhere), its loop order (the
// dimensions of extent one outside), and what it keeps: what the instruction needs there, plus `keep`.
LevelSchedule nestLevel(const Space& space, const Roles& r, std::size_t l, const std::vector<std::int64_t>& base,
                        std::int64_t tv, std::int64_t tb, std::int64_t tk, std::vector<int> order, const std::vector<int>& keep) {
    LevelSchedule ls;
    ls.tiles = base;
    ls.tiles[static_cast<std::size_t>(r.vector)] = tv;
    if (r.broadcast >= 0)
        ls.tiles[static_cast<std::size_t>(r.broadcast)] = tb;
    ls.tiles[static_cast<std::size_t>(r.reduction)] = tk;
    for (int d : r.outer)
        if (l == 0)
            ls.tiles[static_cast<std::size_t>(d)] = space.dims[static_cast<std::size_t>(d)].extent;
    for (std::size_t d = 0; d < space.dims.size(); ++d)
        if (std::find(order.begin(), order.end(), static_cast<int>(d)) == order.end())
            order.insert(order.begin(), static_cast<int>(d));
    ls.order = order;
    ls.keeps = requiredKeeps(space, l);
    for (int o : keep)
        ls.keeps[static_cast<std::size_t>(o)] = true;
    return ls;
}

bool readsOneRun(const Space& space, const Roles& r, std::vector<std::int64_t> tiles);

// Where the vector dimension is shorter than the register tile wants (`wanted` calls), the tile takes
// in a further output dimension along which the vector input's run continues, whole or in a share that
// divides it: a GRU's input product reads W[jb, i, g, ji] with blocks of 32 outputs (two vectors) and
// the three gates of an input side by side, so a tile of all three gates reads six vectors of one run
// per reduction step. `base` gets that dimension's tile; the broadcast tile shrinks to keep the
// accumulators about as many as asked. On 8448x100x2816 (hidden 2816, batch 2, 50 steps), the two
// vectors by 10 columns the blocking had made ran at 67% of peak (12 loads for 20 FMAs a step), the
// six by four at 82% (10 loads for 24).
std::int64_t widenAlongRun(const Space& space, const Roles& r, std::int64_t wanted, std::int64_t broadcastTile,
                           std::vector<std::int64_t>& base) {
    const std::int64_t V = space.dims[static_cast<std::size_t>(r.vector)].extent;
    const auto& in = space.operands[static_cast<std::size_t>(r.vectorInput)];
    for (int d : r.outer) {
        const auto du = static_cast<std::size_t>(d);
        if (!in.dependsOn[du] || base[du] != 1)
            continue;
        const std::int64_t extent = space.dims[du].extent;
        std::int64_t share = ceilDiv(wanted, V);
        while (share < extent && extent % share != 0)
            ++share;
        std::vector<std::int64_t> tiles = base;
        tiles[static_cast<std::size_t>(r.vector)] = V;
        tiles[du] = std::min(share, extent);
        if (!readsOneRun(space, r, tiles))
            continue;
        base = tiles;
        base[static_cast<std::size_t>(r.vector)] = 1;
        return std::max<std::int64_t>(1, broadcastTile * wanted / (V * base[du]));
    }
    return broadcastTile;
}

} // namespace

std::optional<Schedule> blockedSchedule(const Space& space, std::int64_t vectorCalls, std::int64_t broadcastTile) {
    Roles r;
    const std::size_t levels = space.levels.size();
    if (space.registerLevel != static_cast<int>(levels) - 1 || levels < 4 || !findRoles(space, r))
        return std::nullopt;
    const std::size_t regs = levels - 1, l1 = levels - 2, l2 = levels - 3;
    const std::size_t l3 = levels >= 5 ? levels - 4 : l2;
    const std::int64_t V = space.dims[static_cast<std::size_t>(r.vector)].extent,
                       B = space.dims[static_cast<std::size_t>(r.broadcast)].extent,
                       K = space.dims[static_cast<std::size_t>(r.reduction)].extent;
    const std::int64_t wanted = std::max<std::int64_t>(1, vectorCalls / wholeAccumulators(space));
    vectorCalls = std::min(wanted, V);
    std::vector<std::int64_t> base = unitTiles(space);
    if (wanted > V)
        broadcastTile = widenAlongRun(space, r, wanted, broadcastTile, base);
    broadcastTile = evenBroadcastTile(space, B, std::min(broadcastTile, B));
    const Blocks x = chooseBlocks(space, r, base, vectorCalls, broadcastTile, l1, l2, l3);

    // Loops at a level step through its tile in tiles of the level below: the Goto nest is
    // jc (broadcast) and pc (reduction) at the top, ic (vector) over the cached blocks, jr (broadcast)
    // over the micro-panels, ir (vector) then the reduction around the register tile.
    const int iv = r.vector, ib = r.broadcast, ik = r.reduction;
    Schedule s;
    s.levels.resize(levels);
    for (std::size_t l = 0; l < l3; ++l) // the outermost level and any above the third cache hold everything
        s.levels[l] = nestLevel(space, r, l, base, V, B, K, {ib, ik, iv}, {});
    if (l3 != l2)
        s.levels[l3] = nestLevel(space, r, l3, base, V, x.nc, x.kc, {ib, ik, iv}, {r.broadcastInput});
    s.levels[l2] = nestLevel(space, r, l2, base, x.mc, x.nc, x.kc, {iv, ik, ib}, {r.vectorInput});
    s.levels[l1] = nestLevel(space, r, l1, base, x.mc, broadcastTile, x.kc, {ib, iv, ik}, {r.broadcastInput});
    s.levels[regs] = nestLevel(space, r, regs, base, vectorCalls, broadcastTile, 1, {ib, iv, ik}, {r.output});
    s.parallel.assign(space.dims.size(), false);
    s.unroll.assign(space.dims.size(), 1);
    if (x.outerParallel >= 0) {
        s.parallel[static_cast<std::size_t>(x.outerParallel)] = true;
    } else if (space.units > 1) {
        s.parallel[static_cast<std::size_t>(x.splitBroadcast ? ib : iv)] = true;
        if (!x.splitBroadcast)
            for (std::size_t l = 1; l < levels; ++l)
                s.levels[l].tiles[static_cast<std::size_t>(iv)] = std::min(s.levels[l].tiles[static_cast<std::size_t>(iv)], x.vShare);
    }
    // A block of the vector input already one run in memory (pre-packed weights) is read in place: its
    // copy would cost a read and a write of each element and only reorder it within the run. Block 7's
    // pointwise layer of MobileNet-v1 (filters F[K/64, C, 64]) ran 3-8% faster without the copy (2x7
    // tiles). The broadcast input is still copied: its micro-panel gathers a few columns into one stream.
    s.packed.assign(space.operands.size(), false);
    for (int o : {r.vectorInput, r.broadcastInput})
        s.packed[static_cast<std::size_t>(o)] =
            readsOfPackedElement(space, s, static_cast<std::size_t>(o)) >= kPackedReads &&
            !(o == r.vectorInput && packedTileIsOneRun(space, s, static_cast<std::size_t>(o)));
    if (illegal(space, s))
        return std::nullopt;
    return s;
}

namespace {
// The column sweep with a register tile of `vectorCalls` vectors; empty when illegal.
std::optional<Schedule> streamedSchedule(const Space& space, const Roles& r, std::int64_t vectorCalls, int whole = -1);
std::vector<int> wholeForOneRun(const Space& space, const Roles& r, std::int64_t vectorCalls);
} // namespace

std::optional<Schedule> streamedSchedule(const Space& space) {
    Roles r;
    const std::size_t levels = space.levels.size();
    if (space.registerLevel != static_cast<int>(levels) - 1 || levels < 3 || !findRoles(space, r, true))
        return std::nullopt;
    const std::int64_t V = space.dims[static_cast<std::size_t>(r.vector)].extent;
    const std::int64_t B = r.broadcast < 0 ? 1 : space.dims[static_cast<std::size_t>(r.broadcast)].extent;
    if (B > 12)
        return std::nullopt;
    // About 24 accumulators, as the Goto tiles hold, in at most 8 vectors; fewer when the vector input's
    // tile would not fit the registers beside them (8 vectors by a GRU's 3 gates is 48).
    for (std::int64_t vectorCalls = std::clamp<std::int64_t>(24 / (B * wholeAccumulators(space)), 1, std::min<std::int64_t>(8, V));
         vectorCalls >= 1; --vectorCalls) {
        for (int whole : wholeForOneRun(space, r, vectorCalls))
            if (auto s = streamedSchedule(space, r, vectorCalls, whole))
                return s;
        if (auto s = streamedSchedule(space, r, vectorCalls))
            return s;
    }
    return std::nullopt;
}

namespace {

// Whether the vector input's register tile (all of `tiles` but one reduction step) is one dense run of
// storage that the next reduction step continues: a GRU's weights with the gates inside blocks of
// outputs (`gru_cell wt=3`), a tile holding a block's every gate. The sweep then reads it as one stream.
bool readsOneRun(const Space& space, const Roles& r, std::vector<std::int64_t> tiles) {
    const auto& in = space.operands[static_cast<std::size_t>(r.vectorInput)];
    if (in.storageStride.size() != space.kernelDims.size())
        return false;
    tiles[static_cast<std::size_t>(r.reduction)] = 1;
    std::int64_t span = 1, reductionStride = 0;
    for (std::size_t k = 0; k < space.kernelDims.size(); ++k) {
        const KernelDim& kd = space.kernelDims[k];
        if (kd.loopDim == r.reduction) {
            reductionStride += in.storageStride[k];
            continue;
        }
        const LoopDim& loop = space.dims[static_cast<std::size_t>(kd.loopDim)];
        const std::int64_t covered = std::min(kd.extent, tiles[static_cast<std::size_t>(kd.loopDim)] * loop.elementsPerStep / kd.innerProduct);
        span += in.storageStride[k] * (covered - 1);
    }
    const std::int64_t elements = footprint(space, static_cast<std::size_t>(r.vectorInput), tiles);
    return span == elements && reductionStride == elements;
}

// Blocks of one-run input that a register tile reads side by side, each its own stream. One thread reads
// memory faster along several streams than along one: on Zen 4, 20 GB/s along one, 27-29 along three
// to eight (a 96 MB buffer; 44-59 against 67-74 GB/s from the last cache); on Zen 5, 36 along one and
// 55 along four. A GRU's gates at batch 1, hidden 2816 (`gru_cell wt=3`, Zen 4), medians of alternated
// runs: 3.98 ms a block of 64 at a time, 3.70 two side by side, about 3.5 four blocks of 32; hidden
// 1024: 174, 154 and 150 us.
constexpr std::int64_t kSideBySideBlocks = 4;

// Widens the register tile of `s` along the dimension that steps from one block of the vector input's run
// to the next (a GRU's blocks of outputs), as many blocks as the registers hold, at most
// kSideBySideBlocks. With a broadcast dimension (a GRU's batch) each vector of the run feeds one call
// per row and is then dead (walkedRegisterPressure): at batch 2 four blocks of 16, at batch 4 two.
void readBlocksSideBySide(const Space& space, const Roles& r, Schedule& s) {
    const auto& in = space.operands[static_cast<std::size_t>(r.vectorInput)];
    const std::int64_t units = std::max<std::int64_t>(1, space.units);
    for (int d : r.outer) {
        const auto du = static_cast<std::size_t>(d);
        if (!in.dependsOn[du] || s.levels.back().tiles[du] != 1)
            continue;
        const std::int64_t extent = space.dims[du].extent;
        for (std::int64_t blocks = kSideBySideBlocks; blocks >= 2; --blocks) {
            if (extent % blocks != 0 || extent / blocks < units)
                continue;
            Schedule wider = s;
            for (std::size_t l = 1; l < wider.levels.size(); ++l)
                wider.levels[l].tiles[du] = blocks;
            if (!illegal(space, wider)) {
                s = std::move(wider);
                return;
            }
        }
        return;
    }
}

// The register tile of the column sweep with `vectorCalls` calls along the vector dimension and, if
// `whole` is one, all of that further dimension.
std::vector<std::int64_t> sweepTile(const Space& space, const Roles& r, std::int64_t vectorCalls, int whole) {
    std::vector<std::int64_t> tiles = unitTiles(space);
    tiles[static_cast<std::size_t>(r.vector)] = vectorCalls;
    if (whole >= 0)
        tiles[static_cast<std::size_t>(whole)] = space.dims[static_cast<std::size_t>(whole)].extent;
    return tiles;
}

// The further output dimensions that, held whole in the register tile, make the vector input's tile one
// run where it is not one already: a GRU's input product at batch 1 reads its weights, the gates of an
// input side by side in each block of outputs (`wt=3`), in one stream with all three gates in the tile,
// in strided pieces with one.
std::vector<int> wholeForOneRun(const Space& space, const Roles& r, std::int64_t vectorCalls) {
    std::vector<int> out;
    if (readsOneRun(space, r, sweepTile(space, r, vectorCalls, -1)))
        return out;
    const auto& in = space.operands[static_cast<std::size_t>(r.vectorInput)];
    for (int d : r.outer)
        if (in.dependsOn[static_cast<std::size_t>(d)] && readsOneRun(space, r, sweepTile(space, r, vectorCalls, d)))
            out.push_back(d);
    return out;
}

std::optional<Schedule> streamedSchedule(const Space& space, const Roles& r, std::int64_t vectorCalls, int whole) {
    const std::size_t levels = space.levels.size();
    const auto v = static_cast<std::size_t>(r.vector);
    const std::int64_t V = space.dims[v].extent, K = space.dims[static_cast<std::size_t>(r.reduction)].extent;
    const std::int64_t B = r.broadcast < 0 ? 1 : space.dims[static_cast<std::size_t>(r.broadcast)].extent;
    const std::vector<std::int64_t> registerTiles = sweepTile(space, r, vectorCalls, whole);
    // One run needs no short reduction blocks: the tile reads it in long stretches, its accumulators
    // staying in registers (2816x1 fused GRU step: 4.3-4.4 ms in blocks of 64 to 2816 against 5.5 ms in
    // blocks of 16); blocks as long as the Goto blocking's keep the broadcast input's block in the
    // first cache at batch 4.
    const bool oneRun = readsOneRun(space, r, registerTiles);
    const std::int64_t kc = oneRun ? balanced(K, kLongestReductionBlock) : std::min(K, kStreams);
    const std::int64_t units = std::max<std::int64_t>(1, space.units);
    const std::int64_t share = std::max(vectorCalls, ceilDiv(V, units));
    // The units' shares of the vector dimension, then the reduction blocks, then the sweep over the
    // share in register tiles, each running through its block of the reduction.
    const int iv = r.vector, ib = r.broadcast, ik = r.reduction;
    std::vector<int> outer{iv, ik}, inner{iv, ik};
    if (ib >= 0) {
        outer.push_back(ib);
        inner.insert(inner.begin(), ib);
    }
    Schedule s;
    s.levels.resize(levels);
    const std::vector<std::int64_t> base = unitTiles(space);
    s.levels[0] = nestLevel(space, r, 0, base, V, B, K, outer, {});
    for (std::size_t l = 1; l + 2 < levels; ++l)
        s.levels[l] = nestLevel(space, r, l, base, share, B, kc, outer, {});
    s.levels[levels - 2] = nestLevel(space, r, levels - 2, base, vectorCalls, B, kc, inner, {});
    s.levels[levels - 1] = nestLevel(space, r, levels - 1, base, vectorCalls, B, 1, inner, {r.output});
    if (whole >= 0)
        for (std::size_t l = 1; l < levels; ++l)
            s.levels[l].tiles[static_cast<std::size_t>(whole)] = registerTiles[static_cast<std::size_t>(whole)];
    s.parallel.assign(space.dims.size(), false);
    s.unroll.assign(space.dims.size(), 1);
    s.packed.assign(space.operands.size(), false);
    s.parallel[v] = units > 1 && V >= units * vectorCalls;
    if (const int outer = outerParallelDim(space, r, vectorCalls, base); outer >= 0 && outer != whole)
        s.parallel[static_cast<std::size_t>(outer)] = true;
    if (illegal(space, s))
        return std::nullopt;
    if (oneRun)
        readBlocksSideBySide(space, r, s);
    return s;
}

} // namespace

namespace {

// The parts of a sliding-window product (a depthwise convolution: Y[oh, ow, c] += X[oh + r, ow + s, c]
// * F[r, s, c], the vector along c).
struct Window {
    int vector = -1;         // the instruction's dimension
    int slide = -1;          // the output dimension that slides along the input's innermost window index (ow)
    int taps = -1;           // the reduction beside it in that index (s)
    std::vector<int> around; // further output dimensions (n, oh): loops around, one index at a time
    std::vector<int> others; // further reductions (r): loops around the register tile
    int rowSlide = -1;       // an output dimension around that slides along another window index (oh) ...
    int rowTaps = -1;        // ... and the reduction beside it there (r)
};

bool findWindow(const Space& space, Window& w) {
    int output = -1;
    for (std::size_t o = 0; o < space.operands.size(); ++o)
        if (space.operands[o].output)
            output = static_cast<int>(o);
    if (output < 0)
        return false;
    const auto& out = space.operands[static_cast<std::size_t>(output)];
    // An output vector strided in memory (a depthwise layer's vector along its rows) measured 80 times
    // slower than one along the channels: not worth timing.
    if (!out.contiguous)
        return false;
    for (std::size_t d = 0; d < space.dims.size(); ++d)
        if (space.dims[d].instructionDim >= 0) {
            if (w.vector >= 0 || !out.dependsOn[d])
                return false;
            w.vector = static_cast<int>(d);
        }
    if (w.vector < 0)
        return false;
    // Of the first input read through a window: its innermost tensor index that adds an output
    // dimension and a reduction (ow + s), and the next one in, if any (oh + r: a 2-D window's rows).
    for (const auto& op : space.operands) {
        if (op.output)
            continue;
        std::vector<std::pair<int, int>> windows; // (slide, taps), innermost index last
        for (std::size_t t = 0; t < op.indexCoeff.size(); ++t) {
            int slide = -1, taps = -1;
            for (std::size_t k = 0; k < op.indexCoeff[t].size() && k < space.kernelDims.size(); ++k) {
                if (op.indexCoeff[t][k] == 0)
                    continue;
                const int d = space.kernelDims[k].loopDim;
                (out.dependsOn[static_cast<std::size_t>(d)] ? slide : taps) = d;
            }
            if (slide >= 0 && taps >= 0 && slide != w.vector)
                windows.emplace_back(slide, taps);
        }
        if (windows.empty())
            continue;
        std::tie(w.slide, w.taps) = windows.back();
        if (windows.size() >= 2)
            std::tie(w.rowSlide, w.rowTaps) = windows[windows.size() - 2];
        break;
    }
    if (w.slide < 0)
        return false;
    for (std::size_t d = 0; d < space.dims.size(); ++d) {
        const int i = static_cast<int>(d);
        if (i != w.vector && i != w.slide && i != w.taps)
            (out.dependsOn[d] ? w.around : w.others).push_back(i);
    }
    return true;
}

// The largest number of outputs along the slide whose register tile (the outputs, the window of input
// they read, the weights) fits the register file.
std::int64_t widestRow(const Space& space, const Window& w, std::vector<std::int64_t> tiles, std::size_t regs) {
    const std::int64_t extent = space.dims[static_cast<std::size_t>(w.slide)].extent;
    std::int64_t best = 0;
    for (std::int64_t t = 1; t <= extent; ++t) {
        tiles[static_cast<std::size_t>(w.slide)] = t;
        double bytes = 0;
        for (std::size_t o = 0; o < space.operands.size(); ++o)
            bytes += static_cast<double>(registerPressure(space, o, tiles.data())) * space.operands[o].bytesPerElement;
        if (bytes > static_cast<double>(space.levels[regs].bytes))
            break;
        best = t;
    }
    return best;
}

// The register tile's rows along the window's other sliding dimension: `rows` output rows with the
// whole window along it, so that neighbouring rows share the input rows they read.
void windowRows(const Space& space, const Window& w, std::int64_t rows, std::vector<std::int64_t>& tiles) {
    if (rows <= 1)
        return;
    tiles[static_cast<std::size_t>(w.rowSlide)] = rows;
    tiles[static_cast<std::size_t>(w.rowTaps)] = space.dims[static_cast<std::size_t>(w.rowTaps)].extent;
}

LevelSchedule windowLevel(const Space& space, std::size_t l, const std::vector<std::int64_t>& tiles,
                          const std::vector<int>& order) {
    LevelSchedule ls;
    ls.tiles = tiles;
    ls.order = order;
    ls.keeps = requiredKeeps(space, l);
    return ls;
}

} // namespace

std::optional<Schedule> windowSchedule(const Space& space, std::int64_t rowTile, std::int64_t rows) {
    Window w;
    const std::size_t levels = space.levels.size();
    if (space.registerLevel != static_cast<int>(levels) - 1 || levels < 3 || !findWindow(space, w) ||
        (rows > 1 && w.rowSlide < 0))
        return std::nullopt;
    const std::size_t regs = levels - 1;
    const auto v = static_cast<std::size_t>(w.vector), slide = static_cast<std::size_t>(w.slide),
               taps = static_cast<std::size_t>(w.taps);
    std::vector<std::int64_t> full(space.dims.size());
    for (std::size_t d = 0; d < space.dims.size(); ++d)
        full[d] = space.dims[d].extent;
    // Loops, outermost first: the dimensions around, the row tiles, the vectors, the further
    // reductions; the register tile holds one vector of outputs along a row and all its taps.
    std::vector<int> order = w.around;
    order.push_back(w.slide);
    order.push_back(w.vector);
    order.insert(order.end(), w.others.begin(), w.others.end());
    order.push_back(w.taps);
    std::vector<std::int64_t> row = full, vectorRow = full, tile(space.dims.size(), 1);
    for (int d : w.around)
        row[static_cast<std::size_t>(d)] = vectorRow[static_cast<std::size_t>(d)] = 1;
    row[slide] = vectorRow[slide] = tile[slide] = rowTile;
    vectorRow[v] = 1;
    tile[taps] = full[taps];
    windowRows(space, w, rows, row);
    windowRows(space, w, rows, vectorRow);
    windowRows(space, w, rows, tile);
    Schedule s;
    s.levels.resize(levels);
    s.levels[0] = windowLevel(space, 0, full, order);
    for (std::size_t l = 1; l + 2 < levels; ++l)
        s.levels[l] = windowLevel(space, l, row, order);
    s.levels[regs - 1] = windowLevel(space, regs - 1, vectorRow, order);
    s.levels[regs] = windowLevel(space, regs, tile, order);
    s.parallel.assign(space.dims.size(), false);
    s.unroll.assign(space.dims.size(), 1);
    s.packed.assign(space.operands.size(), false);
    // Several units take shares of the longest dimension around (the output rows).
    if (space.units > 1 && !w.around.empty()) {
        const int longest = *std::max_element(w.around.begin(), w.around.end(), [&](int a, int b) {
            return space.dims[static_cast<std::size_t>(a)].extent < space.dims[static_cast<std::size_t>(b)].extent;
        });
        s.parallel[static_cast<std::size_t>(longest)] = space.dims[static_cast<std::size_t>(longest)].extent >= space.units;
    }
    if (illegal(space, s))
        return std::nullopt;
    return s;
}

std::vector<std::int64_t> windowRowTiles(const Space& space, std::int64_t rows) {
    Window w;
    const std::size_t levels = space.levels.size();
    if (space.registerLevel != static_cast<int>(levels) - 1 || levels < 3 || !findWindow(space, w) ||
        (rows > 1 && w.rowSlide < 0))
        return {};
    std::vector<std::int64_t> tiles(space.dims.size(), 1);
    tiles[static_cast<std::size_t>(w.taps)] = space.dims[static_cast<std::size_t>(w.taps)].extent;
    windowRows(space, w, rows, tiles);
    const std::int64_t widest = widestRow(space, w, tiles, levels - 1);
    if (widest < 1)
        return {};
    // The widest row that cuts the output row evenly (no ragged tile at its end), and the widest the
    // registers hold where the even one is under half of it (a row of 17: 1 against 13). Rows of 13
    // on a row of 14 measured 95 µs against 34 for rows of 7: the ragged tile's calls are masked.
    const std::int64_t extent = space.dims[static_cast<std::size_t>(w.slide)].extent;
    std::int64_t even = widest;
    while (extent % even != 0)
        --even;
    std::vector<std::int64_t> out{even};
    if (even * 2 < widest)
        out.push_back(widest);
    return out;
}

std::vector<AnalyticalSchedule> analyticalSchedules(const Space& space) {
    std::vector<AnalyticalSchedule> out;
    // The register tiles that measured best with the Goto blocking on the DeepBench shapes.
    // (Their widths along the broadcast dimension are evened out: a row of 14 takes 4x5 and 2x7.)
    Roles r;
    findRoles(space, r); // names each blocking by the register tile it ends up with
    for (auto [vectorCalls, broadcastTile] : {std::pair<std::int64_t, std::int64_t>{4, 6}, {2, 12}}) {
        auto s = blockedSchedule(space, vectorCalls, broadcastTile);
        if (!s)
            continue;
        const auto& registers = s->levels.back().tiles;
        // A tile that spans a further dimension (a GRU's gates, held whole for its tail or taken in
        // to read a longer run) says so: goto-1x4x3.
        std::int64_t whole = 1;
        for (std::size_t d = 0; d < registers.size(); ++d)
            if (static_cast<int>(d) != r.vector && static_cast<int>(d) != r.broadcast && static_cast<int>(d) != r.reduction)
                whole *= registers[d];
        const std::string tile = std::to_string(registers[static_cast<std::size_t>(r.vector)]) + "x" +
                                 std::to_string(registers[static_cast<std::size_t>(r.broadcast)]) +
                                 (whole > 1 ? "x" + std::to_string(whole) : "");
        out.push_back({"goto-" + tile, "the Goto blocking, " + tile + " register tile", *s});
    }
    if (auto s = streamedSchedule(space))
        out.push_back({"sweep", "the column sweep", *s});
    for (std::int64_t t : windowRowTiles(space, 1))
        if (auto s = windowSchedule(space, t, 1))
            out.push_back({"window-" + std::to_string(t), "the window sweep, rows of " + std::to_string(t), *s});
    for (std::int64_t t : windowRowTiles(space, 2))
        if (auto s = windowSchedule(space, t, 2))
            out.push_back({"window-2x" + std::to_string(t), "the window sweep, two rows of " + std::to_string(t), *s});
    return out;
}

std::vector<PlacedAnalyticalSchedule> analyticalSchedules(const std::vector<const Space*>& spaces,
                                                          const std::function<bool(const Space&, const Schedule&)>& allowed) {
    std::vector<PlacedAnalyticalSchedule> out;
    for (std::size_t i = 0; i < spaces.size(); ++i)
        for (auto& a : analyticalSchedules(*spaces[i]))
            if (!allowed || allowed(*spaces[i], a.schedule))
                out.push_back({i, std::move(a)});
    return out;
}

} // namespace isamap::schedule
