// A library kernel mapped onto a bundled target, with the schedule space of its best candidate: the
// starting point of the schedule, constraint, search and simulator tests.
#pragma once

#include "frontend/library.h"
#include "mapping/mapping.h"
#include "schedule/schedule.h"
#include "targets/catalog.h"

#include <QtGlobal>

namespace isamap::testing {

struct MappedKernel {
    ir::Kernel kernel;
    ir::Target target;
    mapping::MappingResult mapping;
    mapping::Candidate candidate; // the best valid one
    schedule::Space space;
};

inline MappedKernel mappedKernel(const std::string& generator, const frontend::Args& args, const std::string& targetName) {
    std::string error;
    auto m = frontend::generate(generator, args, error);
    auto t = m ? targets::loadTarget(targetName, error) : std::nullopt;
    if (!m || !t)
        qFatal("%s", error.c_str());
    auto r = mapping::mapKernel(m->kernels[0], t->target);
    if (r.candidates.empty() || !r.candidates.front().valid)
        qFatal("no valid candidate for %s on %s", generator.c_str(), targetName.c_str());
    auto space = schedule::makeSpace(m->kernels[0], t->target, r.candidates.front(), error);
    if (!space)
        qFatal("%s", error.c_str());
    const mapping::Candidate best = r.candidates.front();
    return {m->kernels[0], t->target, std::move(r), best, std::move(*space)};
}

inline MappedKernel mappedGemm(std::int64_t M, std::int64_t N, std::int64_t K, const std::string& targetName,
                               std::int64_t dtype = 0) {
    return mappedKernel("gemm", {{"M", M}, {"N", N}, {"K", K}, {"dtype", dtype}}, targetName);
}

// The index of the loop named `name` in `space`.
inline int dimIndex(const schedule::Space& space, const std::string& name) {
    for (std::size_t d = 0; d < space.dims.size(); ++d)
        if (space.dims[d].name == name)
            return static_cast<int>(d);
    qFatal("no loop %s", name.c_str());
}

} // namespace isamap::testing
