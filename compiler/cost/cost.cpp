#include "cost/cost.h"

#include "support/integers.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace isamap::cost {

using schedule::Schedule;
using schedule::Space;

namespace {

// The figures' arrays are sized by what a schedule can hold (schedule::makeSpace refuses more).
using schedule::kMaxLevels;
using schedule::kMaxLoopDims;
using schedule::kMaxOperands;

// The sequential streams a CPU core's loads advance together along operand `o`: the runs of storage its
// register tile reads side by side, and how long a piece of each the loops around it read before they
// move on to other runs (a stream the prefetchers must pick up again later). No runs when the storage is
// not known per dimension.
struct Streams {
    std::int64_t runs = 0;
    double pieceBytes = 0;
};

// The model's figures without words: the hot path of every search, so no allocation.
struct Figures {
    double compute = 0;
    double total = 0;
    double calls = 0;
    // Per level and operand, written for the operands a level keeps (and only read for those): left
    // uninitialised, as zeroing them cost the searches a measurable share of each evaluation.
    std::array<std::array<double, kMaxOperands>, kMaxLevels> moveSeconds;
    std::array<std::array<double, kMaxOperands>, kMaxLevels> latencySeconds;
    std::array<std::array<double, kMaxOperands>, kMaxLevels> bytes;
    // Per level and operand: the level does not keep the operand, but a level below it fetches the
    // operand's tiles from above it, through it (moveSeconds and bytes are then written too). Written
    // for every level but the outermost and the registers.
    std::array<std::array<bool, kMaxOperands>, kMaxLevels> readThrough;
    // Per level: a cache that holds the kernel's whole data, which a repeated run finds there, so that
    // nothing moves into it from above. Written for every level but the outermost and the registers.
    std::array<bool, kMaxLevels> warm;
    double wholeBytes = 0; // every operand's whole footprint, summed
    // A core issuing its own moves: load and store instructions per operand, and packing.
    std::array<double, kMaxOperands> loadIssue{}, storeIssue{}, packSeconds{};
    double loads = 0, stores = 0; // the two issue paths, summed over the operands
    int packLevel[kMaxOperands] = {};
    // The output's reloads that wait on the stores of the visit before, a multiple of 4 KiB away.
    double aliasedReloads = 0;
    // A core's reads from every level it fetches from, one level's after another's (coreReadSeconds).
    double coreReads = 0;
    std::array<bool, kMaxLevels> servesCore{}; // per level: some of those reads hit in it
    // Per operand, found when first asked for (streamsOf): several levels' fills look at them.
    std::array<Streams, kMaxOperands> streams;
    std::array<bool, kMaxOperands> streamsKnown{};
};

using Trips = std::array<std::array<std::int64_t, kMaxLoopDims>, kMaxLevels>;

using Fetches = std::array<std::array<double, kMaxOperands>, kMaxLevels>;

// Times each operand's tile at each level is fetched. For level m, walk the loops above it from the
// innermost out: loops the operand does not depend on reuse its tile until a loop it does depend on has
// been passed, after which every loop refetches it. In one pass from the outermost loop in: the fetches
// into level m are the product of the trips down to the innermost relevant loop above m.
Fetches fetchCounts(const Space& space, const Schedule& s, const Trips& trips, std::size_t levels, std::size_t operands) {
    Fetches f; // every entry the callers read is written below
    for (std::size_t o = 0; o < operands; ++o) {
        const auto& op = space.operands[o];
        double product = 1, untilRelevant = 1;
        for (std::size_t m = 0; m < levels; ++m) {
            f[m][o] = untilRelevant;
            for (int d : s.levels[m].order) {
                const auto du = static_cast<std::size_t>(d);
                if (trips[m][du] <= 1)
                    continue;
                product *= static_cast<double>(trips[m][du]);
                if (op.dependsOn[du])
                    untilRelevant = product;
            }
        }
    }
    return f;
}

// Per operand on a CPU core: how often its register tile is visited, and the vectors it takes there.
struct RegisterTiles {
    std::array<double, kMaxOperands> visits{}, vectors{};
    double outputTiles = 1; // the output's distinct tiles (outputTiles below)
};

RegisterTiles registerTiles(const Space& space, const Schedule& s, const Fetches& fetches) {
    RegisterTiles t;
    const auto r = static_cast<std::size_t>(space.registerLevel);
    for (std::size_t o = 0; o < space.operands.size() && o < kMaxOperands; ++o) {
        const auto& op = space.operands[o];
        if (!op.output && op.loadCycles == 0 && op.storeCycles == 0)
            continue;
        t.visits[o] = fetches[r][o];
        t.vectors[o] = std::ceil(static_cast<double>(schedule::registerSlots(space, o, s.levels[r].tiles.data())) /
                                 static_cast<double>(op.lanes));
    }
    return t;
}

// The calls a core's out-of-order window holds ready to issue: it overlaps groups of calls whose chains
// follow one another in the instruction stream. The largest figure the measurement below allows (a
// window of 32 would overlap two of its groups and predict twice the rate measured).
constexpr double kReorderWindowCalls = 16;

// The chains of accumulators the core runs side by side. Code generation emits the register tile's
// calls in its loop order, so where a reduction loop sits inside the tile, an accumulator's next call
// follows only those of the output loops inside that loop: each group of calls is that many chains,
// and the out-of-order window overlaps as many groups as it holds. A GRU input product's tile of 10
// steps x 2 rows around 8 reduction steps (groups of 16 calls on 2 chains, of 20 accumulators) measured
// 17-20% of peak on Zen 5, where 2 chains predict 25% and 20 the full rate.
double interleavedChains(const Space& space, const Schedule& s, double accumulators) {
    const auto r = static_cast<std::size_t>(space.registerLevel);
    const auto& level = s.levels[r];
    double inner = 1, reduction = 1;
    bool insideReduction = false;
    for (auto it = level.order.rbegin(); it != level.order.rend() && !insideReduction; ++it) {
        const auto d = static_cast<std::size_t>(*it);
        const std::int64_t child = r + 1 < s.levels.size() ? s.levels[r + 1].tiles[d] : 1;
        const double trips = static_cast<double>(ceilDiv(level.tiles[d], child));
        if (trips <= 1)
            continue;
        if (space.operands[0].dependsOn[d]) {
            inner *= trips;
        } else {
            reduction = trips;
            insideReduction = true;
        }
    }
    if (!insideReduction)
        return accumulators;
    const double groupsInWindow = std::max(1.0, kReorderWindowCalls / (inner * reduction));
    return std::min(accumulators, inner * groupsInWindow);
}

// The output's register tiles (each visited once when nothing reloads them).
double outputTiles(const Space& space, const Schedule& s) {
    const auto& tiles = s.levels[static_cast<std::size_t>(space.registerLevel)].tiles;
    double n = 1;
    for (std::size_t d = 0; d < space.dims.size() && d < kMaxLoopDims; ++d)
        if (space.operands[0].dependsOn[d])
            n *= std::ceil(static_cast<double>(s.levels[0].tiles[d]) / static_cast<double>(std::max<std::int64_t>(1, tiles[d])));
    return n;
}

// Elements apart in the operand's storage for `units` steps of loop dimension d from its start: the
// kernel dimensions fused into d each take their digit of the position.
std::int64_t storageOffset(const Space& space, const schedule::Operand& op, std::size_t d, std::int64_t units) {
    const std::int64_t position = units * space.dims[d].elementsPerStep;
    std::int64_t offset = 0;
    for (std::size_t k = 0; k < space.kernelDims.size() && k < op.storageStride.size(); ++k) {
        const auto& kd = space.kernelDims[k];
        if (static_cast<std::size_t>(kd.loopDim) == d)
            offset += op.storageStride[k] * (position / kd.innerProduct % kd.extent);
    }
    return offset;
}

// Bytes from one visit of the output's register tile to the next: the step of the innermost loop
// around the register level that moves the output; 0 where none does.
std::int64_t nextOutputTileBytes(const Space& space, const Schedule& s) {
    const auto r = static_cast<std::size_t>(space.registerLevel);
    const auto& out = space.operands[0];
    for (std::size_t l = r; l-- > 0;)
        for (auto it = s.levels[l].order.rbegin(); it != s.levels[l].order.rend(); ++it) {
            const auto d = static_cast<std::size_t>(*it);
            const std::int64_t child = s.levels[l + 1].tiles[d];
            if (ceilDiv(s.levels[l].tiles[d], child) > 1 && out.dependsOn[d])
                return storageOffset(space, out, d, child) * out.bytesPerElement;
        }
    return 0;
}

// A load whose address matches a store still in flight in its low 12 bits waits for that store, as if
// it read what the store writes (the core compares no more of the address at first). A register tile
// of the output reloaded right after the one before it was stored, a multiple of 4 KiB away, waits so
// for each of its vectors: a GRU input product's tile of 20 vectors whose rows lie 24 KB apart
// (G[t, b, g, j], hidden 2048), visited for 16 steps of its reduction, measured 1.5 times as slow as
// the same schedule with the rows padded by 64 bytes (Zen 5): about 7 cycles per vector reloaded.
constexpr double kAliasedReloadCyclesPerVector = 7.0;

double aliasedReloadSeconds(const Space& space, const Schedule& s, const RegisterTiles& t, double perWorker) {
    const double reloads = t.visits[0] - t.outputTiles;
    if (reloads <= 0) // every search evaluation passes here: the step only where it can matter
        return 0;
    const std::int64_t step = nextOutputTileBytes(space, s);
    if (step == 0 || step % 4096 != 0)
        return 0;
    return reloads * t.vectors[0] * kAliasedReloadCyclesPerVector * perWorker / space.clock;
}

// On a CPU core, the accumulators are the output vectors of the register tile (code generation unrolls
// the tile whole), and an accumulator stored and loaded again between two visits of its tile carries
// that round trip on its chain, spread over the calls of one visit. Gives the latency per call of one
// chain, and sets `independent` to the number of chains the instruction stream interleaves.
double cpuChainLatency(const Space& space, const Schedule& s, const RegisterTiles& t, double calls, double& independent) {
    independent = std::max(1.0, t.vectors[0]);
    const double tiles = t.outputTiles;
    const double visits = t.visits[0];
    const double reloaded = visits > tiles ? 1.0 - tiles / visits : 0.0;
    const double callsPerVisit = std::max(1.0, calls / visits / independent);
    independent = std::max(1.0, interleavedChains(space, s, independent));
    return static_cast<double>(space.latencyCycles) + reloaded * space.reloadLatencyCycles / callsPerVisit;
}

// On a core that issues its own moves, every crossing into the register file is a load or store
// instruction beside the instruction's own calls, and an input the instruction cannot read in place is
// copied element by element into its layout (at the first level that keeps it, as code generation does).
void countIssuedMoves(const Space& space, const Schedule& s, const Fetches& fetches, const RegisterTiles& t,
                      double perWorker, Figures& f) {
    const auto r = static_cast<std::size_t>(space.registerLevel);
    const std::size_t no = std::min(space.operands.size(), kMaxOperands);
    for (std::size_t o = 0; o < no; ++o) {
        const auto& op = space.operands[o];
        const double cyclesToSeconds = perWorker / space.clock;
        if (op.loadCycles > 0 || op.storeCycles > 0) {
            const double transfers = t.visits[o] * t.vectors[o];
            f.loadIssue[o] = transfers * op.loadCycles * cyclesToSeconds;
            f.storeIssue[o] = op.output ? transfers * op.storeCycles * cyclesToSeconds : 0;
            f.loads += f.loadIssue[o];
            f.stores += f.storeIssue[o];
        }
        // A copy the schedule asks for costs a load and a store per instruction operand's worth.
        const double packCycles = op.packCycles > 0 ? op.packCycles
                                  : schedule::isPacked(s, o) ? 2 * op.loadCycles / static_cast<double>(std::max<std::int64_t>(1, op.lanes))
                                                             : 0;
        if (packCycles > 0) {
            const int kept = schedule::packLevel(s, o);
            const std::size_t level = kept >= 0 ? static_cast<std::size_t>(kept) : r - 1;
            f.packLevel[o] = static_cast<int>(level);
            const double elements = static_cast<double>(schedule::footprint(space, o, s.levels[level].tiles.data()));
            f.packSeconds[o] = elements * fetches[level][o] * packCycles * cyclesToSeconds;
        }
    }
}

// Elements of operand `o`'s storage that one step of loop `d` over tiles of `tile` steps moves it by; 0
// when the loop runs along several kernel dimensions (a fused loop), whose step is not one stride.
std::int64_t storageStep(const Space& space, std::size_t o, std::size_t d, std::int64_t tile) {
    const auto& op = space.operands[o];
    std::int64_t step = 0;
    int along = 0;
    for (std::size_t k = 0; k < space.kernelDims.size() && k < op.storageStride.size(); ++k)
        if (space.kernelDims[k].loopDim == static_cast<int>(d) && op.storageStride[k] != 0) {
            ++along;
            step = op.storageStride[k] * tile * space.dims[d].elementsPerStep / space.kernelDims[k].innerProduct;
        }
    return along == 1 ? step : 0;
}

Streams sequentialStreams(const Space& space, const Schedule& s, std::size_t o) {
    const auto r = static_cast<std::size_t>(space.registerLevel);
    const std::size_t nd = std::min(space.dims.size(), kMaxLoopDims);
    const auto first = schedule::storageRuns(space, o, s.levels[r].tiles.data());
    const double bytes = space.operands[o].bytesPerElement;
    Streams out{first.runs, static_cast<double>(first.length) * bytes};
    if (first.runs < 1)
        return out;
    // The loops from the innermost out: each that steps every run on from where its piece ends
    // lengthens the pieces; the first that does not starts new ones.
    // A loop that reads the pieces again from the caches (over a dimension the operand does not depend
    // on, a batch's rows) inside one that carries the streams on leaves the memory idle meanwhile, and
    // the streams start over: one stream's rate (a GRU step's two blocks side by side, each read whole
    // but in pieces of 12 KB read twice, once per row: 1.23-1.31 ms against the sweep's 0.85).
    std::int64_t piece = first.length;
    bool rereads = false;
    for (std::size_t l = r; l-- > 0;)
        for (auto d = s.levels[l].order.rbegin(); d != s.levels[l].order.rend(); ++d) {
            const auto dd = static_cast<std::size_t>(*d);
            if (dd >= nd)
                continue;
            const std::int64_t inner = s.levels[l + 1].tiles[dd], trips = ceilDiv(s.levels[l].tiles[dd], inner);
            if (trips <= 1)
                continue;
            if (!space.operands[o].dependsOn[dd]) {
                rereads = true;
                continue;
            }
            if (storageStep(space, o, dd, inner) != piece)
                return out;
            if (rereads)
                return Streams{1, out.pieceBytes};
            piece *= trips;
            out.pieceBytes = static_cast<double>(piece) * bytes;
        }
    return out;
}

const Streams& streamsOf(const Space& space, const Schedule& s, std::size_t o, Figures& f) {
    if (!f.streamsKnown[o]) {
        f.streams[o] = sequentialStreams(space, s, o);
        f.streamsKnown[o] = true;
    }
    return f.streams[o];
}

// Level m's parent is the last cache before the outermost memory, and it holds the kernel's whole data.
bool parentWarm(const Space& space, const Figures& f, std::size_t m) {
    const int parent = space.levels[m].parent;
    return parent >= 1 && space.levels[static_cast<std::size_t>(parent)].parent == 0 && f.warm[static_cast<std::size_t>(parent)];
}

// Reading from a last cache that holds the kernel's data, the prefetchers follow an operand's reads only
// along a run the loops continue; each piece they leave for another run is a miss of its own, and a
// core keeps about four such misses in flight. A 2560x2560 matrix-vector product from l3 (Zen 5), its
// register tile reading 1, 2 and 4 vectors of a column before the next column 10 KB on: 1.72, 1.10
// and 0.84 ms, 0.55 ms plus 2.9 ns per piece (l3's latency is 13 ns); 3072x2x1024, two vectors a
// column: 0.34-0.41 ms, against 0.19 for the column sweep's 512 bytes a column.
constexpr double kMissesInFlight = 4;

double piecesFromWarmCacheSeconds(const Space& space, const Schedule& s, std::size_t m, std::size_t o, double bytes, double share,
                                  Figures& f) {
    if (space.registerLevel < 0 || !parentWarm(space, f, m) || schedule::isPacked(s, o) || bytes <= 0)
        return 0;
    const auto parent = static_cast<std::size_t>(space.levels[m].parent);
    const Streams& streams = streamsOf(space, s, o, f);
    if (streams.pieceBytes <= 0)
        return 0;
    return bytes / streams.pieceBytes * space.levels[parent].latency / kMissesInFlight / share;
}

// The time to fill level `m` with `bytes` of operand `o`, at the level's bandwidth shared `share` ways.
// A CPU core's prefetchers follow a few sequential streams at once, when its loads advance them together,
// and each stream the loops leave and come back to is picked up again after about one access of the
// parent's latency. So where the register tile reads 2 to `streams` runs side by side, the bytes move at
// `streamsBandwidth` plus a parent latency per piece, never slower than along one stream. A GRU step's
// weights at hidden 2048, batch 2 (50 MB from memory, Zen 5), each timed against the column sweep
// (`isamap measure --against`), which the model had tied at 1.44 ms:
// - the sweep, four blocks side by side, each read whole: 0.85-0.93 ms;
// - two blocks side by side, the loops reading 393, 192, 48 and 12 KB of each before the next two:
//   1.05, 1.10, 1.30 and 1.47 times the sweep's time (0.2-0.35 us more per piece);
// - two side by side across 16 blocks, 768 bytes of each in turn: 2.04 times;
// - one block at a time: 1.56-1.60 times (35 GB/s, the one-stream rate).
// One thread's reads of a 384 MB buffer: 35 GB/s along one stream, 44-45 along 2 to 8, 38 along 12,
// 27-28 along 16. A packed operand is read by its copy, whose reads this does not follow. From a warm
// last cache, each piece also costs a miss (piecesFromWarmCacheSeconds).
double fillSeconds(const Space& space, const Schedule& s, std::size_t m, std::size_t o, double bytes, double share, Figures& f) {
    const auto& level = space.levels[m];
    const double alongOne = bytes / (level.bandwidth * share) + piecesFromWarmCacheSeconds(space, s, m, o, bytes, share, f);
    if (level.streams < 2 || space.registerLevel < 0 || schedule::isPacked(s, o) || bytes <= 0)
        return alongOne;
    const Streams& streams = streamsOf(space, s, o, f);
    if (streams.runs < 2 || streams.runs > level.streams || streams.pieceBytes <= 0)
        return alongOne;
    const double restart = level.parent >= 0 ? space.levels[static_cast<std::size_t>(level.parent)].latency : level.latency;
    const double alongSeveral = bytes / (level.streamsBandwidth * share) + bytes / streams.pieceBytes * restart / share;
    return std::min(alongOne, alongSeveral);
}

// One CPU core's loads wait on the same few outstanding requests whichever level answers them, so the
// bytes it reads from different levels take their times one after another, each at the rate of the
// level it comes from; the levels overlap only the same bytes passing through them. Each level's fills
// count only the bytes its parent held (what the parent did not itself fetch from above). A GRU step's
// weights at hidden 2048, batch 2 (50 MB from memory, Zen 5), in a tile that keeps blocks of 393 KB in
// l2 and reads them from there once per batch row: modeled at 1.44 ms as the larger of memory's time
// and l2's, measured 1.86-2.07 ms; the sum is 1.85. Gives the sum, and marks the levels it came from.
double coreReadSeconds(const Space& space, const Schedule& s, Figures& f) {
    const std::size_t nl = std::min(space.levels.size(), kMaxLevels);
    const std::size_t no = std::min(space.operands.size(), kMaxOperands);
    double seconds = 0;
    for (std::size_t o = 0; o < no; ++o) {
        double parentFilled = 0; // bytes of o the level above fetched from further up
        for (std::size_t m = 1; m < nl; ++m) {
            if (static_cast<int>(m) == space.registerLevel || !(s.levels[m].keeps[o] || f.readThrough[m][o]))
                continue;
            const double bytes = f.bytes[m][o];
            if (bytes <= 0)
                continue;
            const double held = std::max(0.0, bytes - parentFilled);
            const double time = f.moveSeconds[m][o] * held / bytes;
            if (time > 0)
                f.servesCore[static_cast<std::size_t>(std::max(0, space.levels[m].parent))] = true;
            seconds += time;
            parentFilled = bytes;
        }
    }
    return seconds;
}

// A level that does not keep an operand still carries what a level below it fetches of it from above:
// a matrix-vector sweep reads its matrix from memory straight into registers, every byte through each
// cache on the way. Sets those transfers in `f` and gives their time at level m. They count as
// overlapped with the calls, since no loop waits on a copy at that level: the hardware streams them
// (a GRU's gates at hidden 2816, batch 1, whose 95 MB of weights the column sweep reads from memory
// into registers: modeled 0.28 ms without them, 2.7 with them, measured 1.7-2.2).
double readThroughSeconds(const Space& space, const Schedule& s, const Fetches& fetchesInto, std::size_t m, Figures& f) {
    const std::size_t nl = std::min(space.levels.size(), kMaxLevels);
    const std::size_t no = std::min(space.operands.size(), kMaxOperands);
    const double share = space.levels[m].perUnit ? std::max(1.0, static_cast<double>(space.units)) : 1.0;
    double seconds = 0;
    for (std::size_t o = 0; o < no; ++o) {
        f.readThrough[m][o] = false;
        const auto& op = space.operands[o];
        if (s.levels[m].keeps[o] || !op.onPath[m])
            continue;
        std::size_t below = m + 1;
        while (below < nl && !s.levels[below].keeps[o])
            ++below;
        if (below == nl)
            continue;
        const double through = static_cast<double>(schedule::footprint(space, o, s.levels[below].tiles.data())) *
                               op.bytesPerElement * fetchesInto[below][o];
        // The cache holds what fits of the tile its loops walk over, kept or not.
        const double tile = static_cast<double>(schedule::footprint(space, o, s.levels[m].tiles.data())) * op.bytesPerElement;
        const double held = tile <= static_cast<double>(space.levels[m].bytes) ? tile * fetchesInto[m][o] : through;
        f.bytes[m][o] = std::min(through, held) * (op.output ? 2.0 : 1.0);
        // A warm level (compute(), below) already holds what passes through it, as it holds what it
        // keeps: a depthwise layer's window sweep (its input and output 100-200 KB, read through) was
        // modeled at 8-10 us with them charged to memory, against 0.9 measured.
        f.moveSeconds[m][o] = f.warm[m] ? 0.0 : fillSeconds(space, s, m, o, f.bytes[m][o], share, f);
        f.readThrough[m][o] = true;
        seconds += f.moveSeconds[m][o];
    }
    return seconds;
}

Figures compute(const Space& space, const Schedule& s) {
    Figures f;
    const std::size_t nl = std::min(space.levels.size(), kMaxLevels);
    const std::size_t nd = std::min(space.dims.size(), kMaxLoopDims);
    const std::size_t no = std::min(space.operands.size(), kMaxOperands);
    Trips trips; // written for every level and dimension below
    double calls = 1;
    for (std::size_t l = 0; l < nl; ++l)
        for (std::size_t d = 0; d < nd; ++d) {
            const std::int64_t child = l + 1 < nl ? s.levels[l + 1].tiles[d] : 1;
            trips[l][d] = ceilDiv(s.levels[l].tiles[d], child);
            calls *= static_cast<double>(trips[l][d]);
        }
    f.calls = calls;

    // Parallel loops of the outermost level spread over the units; a last partial wave costs a whole one.
    double parallelTrips = 1;
    for (std::size_t d = 0; d < nd; ++d)
        if (s.parallel[d])
            parallelTrips *= static_cast<double>(trips[0][d]);
    const double workers = std::max(1.0, std::min(static_cast<double>(space.units), parallelTrips));
    const double waves = std::ceil(parallelTrips / workers);
    const double callsPerWorker = calls / parallelTrips * waves;

    // Accumulating into registers chains calls through their output: independent accumulators (the
    // unrolled loops the output depends on) hide the latency, too few leave the unit waiting.
    double independent = 1;
    for (std::size_t d = 0; d < nd; ++d)
        if (space.operands[0].dependsOn[d])
            independent *= static_cast<double>(s.unroll[d]);
    double latency = static_cast<double>(space.latencyCycles);
    const Fetches fetchesInto = fetchCounts(space, s, trips, nl, no);
    RegisterTiles registers;
    if (space.registerLevel >= 0) {
        registers = registerTiles(space, s, fetchesInto);
        registers.outputTiles = outputTiles(space, s);
        latency = cpuChainLatency(space, s, registers, calls, independent);
    }
    const double needed = latency * space.throughput;
    const double stall = space.outputInRegisters && independent < needed ? needed / independent : 1.0;
    f.compute = callsPerWorker * stall / (space.throughput * space.clock);

    double serial = f.compute;
    if (space.registerLevel >= 0 && static_cast<std::size_t>(space.registerLevel) < nl) {
        countIssuedMoves(space, s, fetchesInto, registers, callsPerWorker / calls, f);
        f.aliasedReloads = aliasedReloadSeconds(space, s, registers, callsPerWorker / calls);
        serial = std::max({f.compute, f.loads, f.stores}) + f.aliasedReloads;
        for (std::size_t o = 0; o < no; ++o)
            serial += f.packSeconds[o];
    }
    for (std::size_t o = 0; o < no; ++o)
        f.wholeBytes += static_cast<double>(schedule::footprint(space, o, s.levels[0].tiles.data())) * space.operands[o].bytesPerElement;
    double overlapped = 0;
    for (std::size_t m = 1; m < nl; ++m) {
        if (static_cast<int>(m) == space.registerLevel)
            continue; // its moves are instructions, counted above
        // A CPU's caches keep what was last used, so a kernel whose data fits one whole finds it there
        // when it runs again, as measured runs do and a GRU's steps do with their weights: a step at
        // hidden 1024 (12.6 MB of weights, in the last cache) was modeled at 360 us from memory against
        // 100-130 measured. Such a warm level's transfers keep their bytes (what a cold start would
        // move) and lose their time. A virtual accelerator's levels are copied into by the schedule,
        // every run.
        f.warm[m] = space.registerLevel >= 0 && f.wholeBytes <= static_cast<double>(space.levels[m].bytes);
        const double streamed = readThroughSeconds(space, s, fetchesInto, m, f);
        double levelTime = 0;
        // Levels below the first one under the outermost are private to each unit: their traffic
        // divides among the workers. Every unit waits out its own requests' latency, concurrently.
        const double share = space.levels[m].perUnit ? workers : 1.0;
        const auto& source = space.levels[static_cast<std::size_t>(std::max(0, space.levels[m].parent))];
        std::size_t slowestRequest = kMaxOperands;
        for (std::size_t o = 0; o < no; ++o) {
            if (!s.levels[m].keeps[o])
                continue;
            const auto& op = space.operands[o];
            const double fetches = fetchesInto[m][o];
            const double elements = static_cast<double>(schedule::footprint(space, o, s.levels[m].tiles.data()));
            const double bytes = elements * op.bytesPerElement * fetches * (op.output ? 2.0 : 1.0);
            f.bytes[m][o] = bytes;
            f.moveSeconds[m][o] = f.warm[m] ? 0.0 : fillSeconds(space, s, m, o, bytes, share, f);
            f.latencySeconds[m][o] = s.levels[m].doubleBuffered || f.warm[m] ? 0.0 : fetches * source.latency / workers;
            levelTime += f.moveSeconds[m][o];
            if (!s.levels[m].doubleBuffered)
                serial += f.moveSeconds[m][o];
            if (slowestRequest == kMaxOperands || f.latencySeconds[m][o] > f.latencySeconds[m][slowestRequest])
                slowestRequest = o;
        }
        // The operands' requests into one level are in flight together: only the longest wait counts.
        for (std::size_t o = 0; o < no; ++o)
            if (o != slowestRequest)
                f.latencySeconds[m][o] = 0;
        if (slowestRequest != kMaxOperands)
            serial += f.latencySeconds[m][slowestRequest];
        overlapped = std::max(overlapped, streamed + (s.levels[m].doubleBuffered ? levelTime : 0.0));
    }
    if (space.registerLevel >= 0) {
        f.coreReads = coreReadSeconds(space, s, f);
        overlapped = std::max(overlapped, f.coreReads);
    }
    f.total = std::max(serial, overlapped);
    return f;
}

std::string percent(double fraction) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f%%", fraction * 100);
    return buf;
}

std::string megabytes(double bytes) {
    char buf[32];
    if (bytes >= 1e6)
        std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1e6);
    else
        std::snprintf(buf, sizeof buf, "%.0f KB", bytes / 1e3);
    return buf;
}

} // namespace

double modeledSeconds(const Space& space, const Schedule& s) { return compute(space, s).total; }

Rank rank(const Space& space, const Schedule& s) {
    const Breakdown b = explain(space, s);
    Rank r{b.seconds, 0};
    for (const auto& t : b.terms)
        r.work += t.seconds;
    return r;
}

bool ranksAbove(const Rank& a, const Rank& b) {
    if (a.seconds < b.seconds * (1 - 1e-9) || a.seconds > b.seconds * (1 + 1e-9))
        return a.seconds < b.seconds;
    return a.work < b.work;
}

Breakdown explain(const Space& space, const Schedule& s) {
    const Figures f = compute(space, s);
    Breakdown b;
    b.seconds = f.total;
    b.computeSeconds = f.compute;
    b.gflops = f.total > 0 ? space.usefulFlops / f.total / 1e9 : 0;
    b.terms.push_back({"compute: " + std::to_string(static_cast<long long>(f.calls)) + " calls of " + space.instruction,
                       f.compute, 0, false});
    const std::size_t no = std::min(space.operands.size(), kMaxOperands);
    for (std::size_t m = 1; m < space.levels.size() && m < kMaxLevels; ++m) {
        if (static_cast<int>(m) == space.registerLevel)
            continue;
        const std::string& parent = space.levels[static_cast<std::size_t>(std::max(0, space.levels[m].parent))].memory;
        // A warm level's transfers are listed with their bytes from a cold start and no time.
        const std::string stays = f.warm[m] ? "the kernel's " + megabytes(f.wholeBytes) + " stay in " + space.levels[m].memory +
                                                  " from one run to the next"
                                            : "";
        const std::string warm = f.warm[m] ? " (none: " + stays + ")" : "";
        if (f.warm[m]) // the innermost such level, which says the most
            b.held = stays + ": nothing moves " + space.levels.front().memory + " -> " + space.levels[m].memory;
        for (std::size_t o = 0; o < no; ++o) {
            const std::string route = parent + " -> " + space.levels[m].memory + " for " + space.operands[o].tensor;
            if (f.readThrough[m][o])
                b.terms.push_back({"bandwidth on " + route + " (read through, not kept)" + warm, f.moveSeconds[m][o], f.bytes[m][o], true});
            if (!s.levels[m].keeps[o])
                continue;
            b.terms.push_back({"bandwidth on " + route + warm, f.moveSeconds[m][o], f.bytes[m][o], s.levels[m].doubleBuffered});
            if (f.latencySeconds[m][o] > 0)
                b.terms.push_back({"latency on " + route, f.latencySeconds[m][o], 0, false});
        }
    }
    // Issued moves run beside the calls (the busiest issue path bounds the time); packing runs in line.
    std::vector<Term> paths; // the issue paths as wholes: what bounds the time, not listed per operand
    Term coreReads;          // the core's reads from several levels, summed
    if (space.registerLevel >= 0) {
        const std::string file = space.levels[static_cast<std::size_t>(space.registerLevel)].memory;
        for (std::size_t o = 0; o < no; ++o) {
            const auto& op = space.operands[o];
            if (f.loadIssue[o] > 0)
                b.terms.push_back({"load instructions into " + file + " for " + op.tensor, f.loadIssue[o], 0, true});
            if (f.storeIssue[o] > 0)
                b.terms.push_back({"store instructions from " + file + " for " + op.tensor, f.storeIssue[o], 0, true});
            if (f.packSeconds[o] > 0)
                b.terms.push_back({"packing " + op.tensor + " into the instruction's layout at " +
                                       space.levels[static_cast<std::size_t>(f.packLevel[o])].memory,
                                   f.packSeconds[o], 0, false});
        }
        if (f.aliasedReloads > 0)
            b.terms.push_back({"reloads of " + space.operands[0].tensor + " waiting on the stores before them, a multiple of 4 KiB away",
                               f.aliasedReloads, 0, false});
        paths.push_back({"load instructions into " + file, f.loads, 0, true});
        paths.push_back({"store instructions from " + file, f.stores, 0, true});
        std::string sources;
        for (std::size_t m = 0; m < space.levels.size() && m < kMaxLevels; ++m)
            if (f.servesCore[m])
                sources += (sources.empty() ? "" : ", ") + space.levels[m].memory;
        if (sources.find(", ") != std::string::npos)
            coreReads = {"bandwidth on one core's reads from " + sources + ", one level's after another's", f.coreReads, 0, true};
    }
    // What bounds it: the largest of the compute, the transfers, the packing and the issue paths (the
    // first of equals, so the compute wins a tie).
    const auto issuedMove = [](const Term& t) {
        return t.what.rfind("load instructions", 0) == 0 || t.what.rfind("store instructions", 0) == 0;
    };
    const Term* bound = &b.terms.front();
    for (const auto* list : {&b.terms, &paths})
        for (const auto& t : *list)
            if ((list == &paths || !issuedMove(t)) && t.seconds > bound->seconds)
                bound = &t;
    // Every level adds a little to the core's reads; their sum is named only where it says more than
    // the largest single term does.
    if (coreReads.seconds > bound->seconds * 1.1)
        bound = &coreReads;
    double useful = 1;
    for (const auto& kd : space.kernelDims)
        useful *= static_cast<double>(kd.extent);
    const double slots = f.calls * space.instructionPoints;
    b.utilisation = slots > 0 ? useful / slots : 0;
    const double share = b.seconds > 0 ? bound->seconds / b.seconds : 0;
    if (bound == &b.terms.front())
        b.bound = "compute-bound: " + percent(share) + " of the time in " + space.instruction + " calls";
    else if (issuedMove(*bound))
        b.bound = "issue-bound on " + bound->what + ": " + percent(share) + " of the time";
    else if (bound->what.rfind("packing", 0) == 0)
        b.bound = "packing-bound: " + percent(share) + " of the time " + bound->what;
    else if (bound->what.rfind("reloads", 0) == 0)
        b.bound = "reload-bound: " + percent(share) + " of the time in " + bound->what;
    else
        b.bound = (bound->what.rfind("latency", 0) == 0 ? "latency-bound on " : "bandwidth-bound on ") +
                  bound->what.substr(bound->what.find(" on ") + 4) + ": " + percent(share) + " of the time";
    return b;
}

} // namespace isamap::cost
