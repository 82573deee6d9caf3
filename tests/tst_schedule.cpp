// Schedules and the cost model on real spaces: legality and its reasons, the text that parses back,
// the loop nest, and a cost model whose breakdown follows the reuse and capacity it is given.
#include "mapped_fixture.h"

#include "cost/cost.h"
#include "frontend/library.h"
#include "mapping/mapping.h"
#include "schedule/schedule.h"
#include "targets/catalog.h"

#include <QtTest>

using namespace isamap;

namespace {

using Fixture = testing::MappedKernel;

Fixture gemmOn(const std::string& targetName, std::int64_t M = 1760, std::int64_t N = 16, std::int64_t K = 1760) {
    return testing::mappedGemm(M, N, K, targetName);
}

int dimIndex(const schedule::Space& space, const std::string& name) {
    for (std::size_t d = 0; d < space.dims.size(); ++d)
        if (space.dims[d].name == name)
            return static_cast<int>(d);
    qFatal("no loop %s", name.c_str());
}

} // namespace

class TstSchedule : public QObject {
    Q_OBJECT
private slots:
    void spaceFollowsTheCandidate() {
        auto f = gemmOn("nnp-like");
        // mma32 bound to n, m, k: three loops in instruction tiles, hbm -> sram -> acc.
        QCOMPARE(f.space.dims.size(), std::size_t(3));
        for (const auto& d : f.space.dims)
            QCOMPARE(d.elementsPerStep, std::int64_t(32));
        QCOMPARE(f.space.dims[static_cast<std::size_t>(dimIndex(f.space, "m"))].extent, std::int64_t(55)); // 1760 / 32
        QStringList levels;
        for (const auto& l : f.space.levels)
            levels << QString::fromStdString(l.memory);
        QCOMPARE(levels, QStringList({"hbm", "sram", "acc"}));
        // The output depends on m and n, not on k.
        const auto& out = f.space.operands.front();
        QVERIFY(out.output);
        QVERIFY(out.dependsOn[static_cast<std::size_t>(dimIndex(f.space, "m"))]);
        QVERIFY(!out.dependsOn[static_cast<std::size_t>(dimIndex(f.space, "k"))]);
    }

    void footprintCountsOverlapOnce() {
        std::string error;
        auto m = frontend::generate("depthwise", {{"C", 8}, {"H", 30}, {"W", 30}, {"pad", 1}}, error);
        auto t = targets::loadTarget("host-avx512", error);
        auto r = mapping::mapKernel(m->kernels[0], t->target);
        auto space = schedule::makeSpace(m->kernels[0], t->target, r.candidates.front(), error);
        QVERIFY(space);
        std::size_t x = 0;
        while (space->operands[x].tensor != "X")
            ++x;
        // With every loop at its full extent the tile of X is the whole (unpadded-size) rows h + r.
        std::vector<std::int64_t> full;
        for (const auto& d : space->dims)
            full.push_back(d.extent);
        const std::int64_t whole = schedule::footprint(*space, x, full);
        std::vector<std::int64_t> one(space->dims.size(), 1);
        QVERIFY(schedule::footprint(*space, x, one) < whole);
        // Rows h and taps r overlap: 30 rows plus 2 halo rows, not 30 * 3.
        QVERIFY2(whole <= 1 * 8 * 32 * 32, qPrintable(QString::number(whole)));
    }

    void defaultScheduleIsLegalOnEveryTarget() {
        for (const char* t : {"nnp-like", "host-avx512", "host-avx2"}) {
            auto f = gemmOn(t);
            auto s = schedule::defaultSchedule(f.space);
            auto why = schedule::illegal(f.space, s);
            QVERIFY2(!why, why ? why->c_str() : "");
        }
    }

    void illegalSchedulesSayWhy() {
        auto f = gemmOn("host-avx512");
        auto s = schedule::defaultSchedule(f.space);
        const std::size_t l1 = 3, zmm = 4;
        QCOMPARE(f.space.levels[zmm].memory, std::string("zmm"));
        QCOMPARE(f.space.levels[l1].memory, std::string("l1"));

        auto big = s;
        big.levels[l1].tiles = big.levels[l1 - 1].tiles;
        auto why = schedule::illegal(f.space, big);
        QVERIFY(why);
        QVERIFY2(why->find("the tiles kept in l1 need") == 0 && why->find("it holds 32 KiB") != std::string::npos,
                 why->c_str());

        auto growing = s;
        growing.levels[zmm].tiles[0] = growing.levels[l1].tiles[0] + 1;
        why = schedule::illegal(f.space, growing);
        QVERIFY(why && why->find("must be between 1 and") != std::string::npos);

        auto dropped = s;
        dropped.levels[zmm].keeps[0] = false;
        why = schedule::illegal(f.space, dropped);
        QVERIFY(why && why->find("must be kept there") != std::string::npos);

        auto race = s;
        std::fill(race.parallel.begin(), race.parallel.end(), false);
        race.parallel[static_cast<std::size_t>(dimIndex(f.space, "k"))] = true;
        why = schedule::illegal(f.space, race);
        QVERIFY(why && why->find("race on C") != std::string::npos);
    }

    void textParsesBack() {
        for (const char* t : {"nnp-like", "host-avx512"}) {
            auto f = gemmOn(t);
            auto s = schedule::defaultSchedule(f.space);
            s.levels[1].doubleBuffered = true;
            std::swap(s.levels[1].order[0], s.levels[1].order[1]);
            const std::string text = schedule::printSchedule(f.space, s);
            std::string error;
            auto back = schedule::parseSchedule(f.space, text, error);
            QVERIFY2(back, error.c_str());
            QVERIFY(*back == s);
        }
        auto f = gemmOn("nnp-like");
        std::string error;
        QVERIFY(!schedule::parseSchedule(f.space, "schedule gemm on nnp-like\nlevel sram tiles q=2 keeps C\n", error));
        QVERIFY2(error.find("line 2: expected level hbm") == 0, error.c_str());
        QVERIFY(!schedule::parseSchedule(f.space, "level hbm tiles n=x keeps C\n", error));
        QVERIFY2(error == "line 1: expected LOOP=TILE, found 'n=x'", error.c_str());
    }

    void loopNestShowsCopiesAndCalls() {
        auto f = gemmOn("nnp-like");
        auto s = schedule::defaultSchedule(f.space);
        const std::string nest = schedule::printLoopNest(f.space, s);
        QVERIFY(nest.find("into sram") != std::string::npos);
        QVERIFY(nest.find("mma32(") != std::string::npos);
        QVERIFY(nest.find("// instruction calls") != std::string::npos);
    }

    void costFollowsReuseAndOverlap() {
        auto f = gemmOn("host-avx512", 512, 512, 512);
        auto s = schedule::defaultSchedule(f.space);
        std::fill(s.parallel.begin(), s.parallel.end(), false); // a serial baseline
        const auto base = cost::explain(f.space, s);
        QVERIFY(base.seconds > 0);
        QCOMPARE(cost::modeledSeconds(f.space, s), base.seconds);
        // The time is at least the compute and at least every term that is not overlapped... and the
        // compute alone is the calls at the instruction's rate.
        QVERIFY(base.seconds >= base.computeSeconds);
        const double calls = static_cast<double>(f.candidate.calls);
        QVERIFY(base.computeSeconds * f.space.throughput * f.space.clock >= calls / static_cast<double>(f.space.units) - 1);

        // Double-buffering every level can only hide transfers.
        auto buffered = s;
        for (std::size_t l = 1; l < buffered.levels.size(); ++l)
            buffered.levels[l].doubleBuffered = true;
        if (!schedule::illegal(f.space, buffered))
            QVERIFY(cost::modeledSeconds(f.space, buffered) <= base.seconds);

        // Running the m loop in parallel over two cores shortens the compute.
        auto parallel = s;
        const auto m = static_cast<std::size_t>(dimIndex(f.space, "m"));
        std::fill(parallel.parallel.begin(), parallel.parallel.end(), false);
        parallel.parallel[m] = true;
        parallel.levels[1].tiles[m] = (parallel.levels[0].tiles[m] + 1) / 2;
        for (std::size_t l = 2; l < parallel.levels.size(); ++l)
            parallel.levels[l].tiles[m] = std::min(parallel.levels[l].tiles[m], parallel.levels[1].tiles[m]);
        QVERIFY2(!schedule::illegal(f.space, parallel), schedule::illegal(f.space, parallel)->c_str());
        QVERIFY(cost::explain(f.space, parallel).computeSeconds < base.computeSeconds * 0.6);

        // Unrolling the loops the output depends on hides the FMA latency.
        auto unrolled = s;
        const auto n = static_cast<std::size_t>(dimIndex(f.space, "n"));
        unrolled.unroll[n] = std::min<std::int64_t>(4, unrolled.levels.back().tiles[n]);
        if (unrolled.unroll[n] > 1)
            QVERIFY(cost::explain(f.space, unrolled).computeSeconds < base.computeSeconds);
    }

    void breakdownNamesWhatBounds() {
        auto f = gemmOn("nnp-like");
        auto s = schedule::defaultSchedule(f.space);
        auto b = cost::explain(f.space, s);
        QVERIFY(!b.terms.empty());
        QVERIFY2(b.bound.find("-bound") != std::string::npos, b.bound.c_str());
        // Starve the schedule: the smallest sram tiles make hbm -> sram traffic dominate.
        auto starved = s;
        for (std::size_t l = 1; l < starved.levels.size(); ++l)
            std::fill(starved.levels[l].tiles.begin(), starved.levels[l].tiles.end(), 1);
        auto sb = cost::explain(f.space, starved);
        QVERIFY(sb.seconds > b.seconds);
        QVERIFY2(sb.bound.find("hbm -> sram") != std::string::npos, sb.bound.c_str());
    }
};

QTEST_GUILESS_MAIN(TstSchedule)
#include "tst_schedule.moc"
