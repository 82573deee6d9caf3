#include "sim/loopnest.h"

#include "support/integers.h"

#include <algorithm>

namespace isamap::sim {

LoopNest::LoopNest(const schedule::Space& space, const schedule::Schedule& s)
    : space_(space), s_(s), levels_(s.levels.size()), dims_(space.dims.size()) {
    for (const auto& d : space.dims)
        whole_.push_back({0, d.extent});
    if (levels_ < 2)
        return; // a single level: the whole problem is one outer iteration on one unit
    std::int64_t parallelTrips = 1;
    for (int d : s.levels[0].order) {
        const auto dd = static_cast<std::size_t>(d);
        const std::int64_t step = s.levels[1].tiles[dd];
        const std::int64_t trips = ceilDiv(space.dims[dd].extent, step);
        outerTrips_.push_back(trips);
        outerCount_ *= trips;
        if (s.parallel[dd])
            parallelTrips *= trips;
    }
    workers_ = std::max<std::int64_t>(1, std::min(space.units, parallelTrips));
}

Ranges LoopNest::outerTile(std::int64_t index) const {
    if (levels_ < 2)
        return whole_;
    Ranges tile = whole_;
    const auto& order = s_.levels[0].order;
    for (std::size_t i = order.size(); i-- > 0;) {
        const auto d = static_cast<std::size_t>(order[i]);
        const std::int64_t step = s_.levels[1].tiles[d];
        const std::int64_t at = index % outerTrips_[i];
        index /= outerTrips_[i];
        tile[d].lo = at * step;
        tile[d].hi = std::min(whole_[d].hi, tile[d].lo + step);
    }
    return tile;
}

std::int64_t LoopNest::workerOf(std::int64_t index) const {
    if (workers_ == 1)
        return 0;
    // The position among the parallel loops' iterations, the others left out; dealt round-robin.
    std::int64_t parallelIndex = 0, scale = 1;
    const auto& order = s_.levels[0].order;
    for (std::size_t i = order.size(); i-- > 0;) {
        const std::int64_t at = index % outerTrips_[i];
        index /= outerTrips_[i];
        if (s_.parallel[static_cast<std::size_t>(order[i])]) {
            parallelIndex += at * scale;
            scale *= outerTrips_[i];
        }
    }
    return parallelIndex % workers_;
}

std::vector<std::vector<std::int64_t>> LoopNest::outerByWorker() const {
    std::vector<std::vector<std::int64_t>> byWorker(static_cast<std::size_t>(workers_));
    for (std::int64_t i = 0; i < outerCount_; ++i)
        byWorker[static_cast<std::size_t>(workerOf(i))].push_back(i);
    return byWorker;
}

std::vector<std::int64_t> LoopNest::sizes(const Ranges& r) {
    std::vector<std::int64_t> out;
    for (const auto& x : r)
        out.push_back(x.hi - x.lo);
    return out;
}

std::int64_t LoopNest::points(const Ranges& r) {
    std::int64_t n = 1;
    for (const auto& x : r)
        n *= x.hi - x.lo;
    return n;
}

Residency::Residency(const schedule::Space& space, const schedule::Schedule& s) : space_(space), s_(s) {
    const std::size_t nl = s.levels.size(), no = space.operands.size();
    held_.assign(nl, std::vector<bool>(no, false));
    key_.assign(nl, std::vector<Ranges>(no));
    tile_.assign(nl, std::vector<Ranges>(no));
    innermost_.assign(no, 0);
    for (std::size_t o = 0; o < no; ++o)
        for (std::size_t l = 0; l < nl; ++l)
            if (s.levels[l].keeps[o])
                innermost_[o] = l;
}

std::size_t Residency::sourceOf(std::size_t o, std::size_t l) const {
    while (l-- > 1)
        if (s_.levels[l].keeps[o])
            return l;
    return 0;
}

Ranges Residency::keyOf(std::size_t o, const Ranges& tile) const {
    Ranges key = tile;
    for (std::size_t d = 0; d < key.size(); ++d)
        if (!space_.operands[o].dependsOn[d])
            key[d] = {};
    return key;
}

} // namespace isamap::sim
