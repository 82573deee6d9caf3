// The simulator of the virtual accelerators: functional runs that match the reference interpreter,
// a timeline that stays inside the simulated time, double-buffering that pays where transfers
// dominate, refusals with their reasons, budgets, sampling of big kernels, and agreement in order of
// magnitude and in ranking with the (independent) cost model.
#include "mapped_fixture.h"

#include "cost/cost.h"
#include "frontend/library.h"
#include "mapping/mapping.h"
#include "schedule/schedule.h"
#include "sim/sim.h"
#include "targets/catalog.h"

#include <QElapsedTimer>
#include <QtTest>

using namespace isamap;

namespace {

using Fixture = testing::MappedKernel;

Fixture fixture(const std::string& generator, const std::map<std::string, std::int64_t>& args, const std::string& targetName) {
    return testing::mappedKernel(generator, args, targetName);
}

Fixture gemm(std::int64_t M, std::int64_t N, std::int64_t K, const std::string& targetName = "nnp-like", std::int64_t dtype = 0) {
    return testing::mappedGemm(M, N, K, targetName, dtype);
}

std::optional<sim::SimResult> simulate(const Fixture& f, const schedule::Schedule& s, std::string& error,
                                       const sim::SimOptions& options = {}) {
    return sim::simulate(f.kernel, f.target, f.candidate, f.space, s, options, error);
}

// Every level below the outermost holds one instruction tile per loop: the most transfers there are.
schedule::Schedule starved(const schedule::Space& space) {
    schedule::Schedule s = schedule::defaultSchedule(space);
    for (std::size_t l = 1; l < s.levels.size(); ++l)
        std::fill(s.levels[l].tiles.begin(), s.levels[l].tiles.end(), 1);
    std::fill(s.unroll.begin(), s.unroll.end(), 1);
    return s;
}

bool hasEntry(const sim::SimResult& r, const std::string& resourcePart) {
    for (const auto& e : r.timeline)
        if (e.resource.find(resourcePart) != std::string::npos)
            return true;
    return false;
}

void checkTimelineInside(const sim::SimResult& r) {
    QVERIFY(!r.timeline.empty());
    for (const auto& e : r.timeline) {
        QVERIFY2(e.start >= 0 && e.start <= e.end, e.what.c_str());
        QVERIFY2(e.end <= r.seconds * (1 + 1e-12), e.what.c_str());
    }
}

} // namespace

class TstSim : public QObject {
    Q_OBJECT
private slots:
    void smallGemmIsVerifiedAndTimed() {
        auto f = gemm(70, 40, 50);
        std::string error;
        auto r = simulate(f, schedule::defaultSchedule(f.space), error);
        QVERIFY2(r, error.c_str());
        QVERIFY2(r->verified, r->verification.c_str());
        QVERIFY(r->verification.find("verified") != std::string::npos);
        QVERIFY(r->largestError < 1e-4);
        QVERIFY(r->seconds > 0);
        QCOMPARE(r->cycles, r->seconds * f.space.clock);
        QVERIFY(hasEntry(*r, "mme"));        // compute
        QVERIFY(hasEntry(*r, "hbm -> sram")); // transfers
        QVERIFY(hasEntry(*r, "sram -> acc"));
        checkTimelineInside(*r);
        QVERIFY(!r->sampled);
        QVERIFY(!r->bytesPerLevel.empty());
        for (const auto& c : r->counters)
            QVERIFY(c.busyFraction >= 0 && c.busyFraction <= 1 + 1e-9);
    }

    void tiledParallelGemmIsVerified() {
        // Many tiles at every level, several units, k outermost: outputs reloaded and written back.
        auto f = gemm(200, 100, 150);
        schedule::Schedule s = starved(f.space);
        for (std::size_t d = 0; d < f.space.dims.size(); ++d)
            s.levels[1].tiles[d] = std::min<std::int64_t>(2, f.space.dims[d].extent);
        std::reverse(s.levels[0].order.begin(), s.levels[0].order.end());
        std::string error;
        QVERIFY2(!schedule::illegal(f.space, s), schedule::illegal(f.space, s)->c_str());
        auto r = simulate(f, s, error);
        QVERIFY2(r, error.c_str());
        QVERIFY2(r->verified, r->verification.c_str());
        checkTimelineInside(*r);
        // The default spreads the first output loop over the matrix engines: more than one is busy.
        auto d = simulate(f, schedule::defaultSchedule(f.space), error);
        QVERIFY2(d, error.c_str());
        QVERIFY(d->verified);
    }

    void smallConvIsVerified() {
        auto f = fixture("conv2d", {{"N", 1}, {"C", 8}, {"K", 16}, {"H", 10}, {"W", 10}, {"R", 3}, {"S", 3}, {"pad", 1}},
                         "nnp-like");
        std::string error;
        auto r = simulate(f, schedule::defaultSchedule(f.space), error);
        QVERIFY2(r, error.c_str());
        QVERIFY2(r->verified, r->verification.c_str());
        checkTimelineInside(*r);
        auto t = simulate(f, starved(f.space), error);
        QVERIFY2(t, error.c_str());
        QVERIFY2(t->verified, t->verification.c_str());
    }

    void integerGemmOnTpuIsExact() {
        // Two paths from ddr: unified_buffer -> accumulators, and weights.
        auto f = gemm(20, 130, 140, "tpu-like", 4);
        std::string error;
        auto r = simulate(f, schedule::defaultSchedule(f.space), error);
        QVERIFY2(r, error.c_str());
        QVERIFY2(r->verified, r->verification.c_str());
        QCOMPARE(r->largestError, 0.0);
        auto t = simulate(f, starved(f.space), error);
        QVERIFY2(t, error.c_str());
        QVERIFY2(t->verified, t->verification.c_str());
    }

    void everyVirtualTargetVerifies() {
        const std::vector<std::pair<std::string, std::int64_t>> targets = {{"nnp-like", 1}, {"tpu-like", 4}, {"tensorcore-like", 2}};
        for (const auto& [name, dtype] : targets) {
            auto f = gemm(45, 70, 60, name, dtype);
            std::string error;
            for (const auto& s : {schedule::defaultSchedule(f.space), starved(f.space)}) {
                auto r = simulate(f, s, error);
                QVERIFY2(r, (name + ": " + error).c_str());
                QVERIFY2(r->verified, (name + ": " + r->verification).c_str());
                checkTimelineInside(*r);
            }
        }
    }

    void doubleBufferingHelpsTransferHeavySchedules() {
        auto f = gemm(256, 256, 256);
        std::string error;
        sim::SimOptions timed;
        timed.functional = false;
        // Transfer-heavy: one tile at a time in sram on one matrix engine, so that without a second
        // buffer the loads of the next tile wait for the compute of this one.
        schedule::Schedule single = starved(f.space);
        std::fill(single.parallel.begin(), single.parallel.end(), false);
        schedule::Schedule doubled = single;
        doubled.levels[1].doubleBuffered = true;
        QVERIFY(!schedule::illegal(f.space, doubled));
        auto a = simulate(f, single, error, timed);
        auto b = simulate(f, doubled, error, timed);
        QVERIFY2(a && b, error.c_str());
        QVERIFY2(b->seconds < a->seconds * 0.99, (std::to_string(b->seconds) + " vs " + std::to_string(a->seconds)).c_str());
        // The default schedule: double-buffering the accumulators does not slow it down.
        schedule::Schedule def = schedule::defaultSchedule(f.space);
        schedule::Schedule defDoubled = def;
        defDoubled.levels.back().doubleBuffered = true;
        if (!schedule::illegal(f.space, defDoubled)) {
            auto c = simulate(f, def, error, timed);
            auto d = simulate(f, defDoubled, error, timed);
            QVERIFY2(c && d, error.c_str());
            QVERIFY(d->seconds <= c->seconds * (1 + 1e-9));
        }
        // And it still computes the right thing.
        auto small = gemm(70, 40, 50);
        schedule::Schedule smallDoubled = starved(small.space);
        smallDoubled.levels[1].doubleBuffered = true;
        auto v = simulate(small, smallDoubled, error);
        QVERIFY2(v && v->verified, error.c_str());
    }

    void stallsNameTheirCause() {
        auto f = gemm(256, 256, 256);
        std::string error;
        sim::SimOptions timed;
        timed.functional = false;
        auto r = simulate(f, starved(f.space), error, timed);
        QVERIFY2(r, error.c_str());
        const sim::ResourceCounters* unit = nullptr;
        for (const auto& c : r->counters)
            if (c.resource == "mme0")
                unit = &c;
        QVERIFY(unit);
        QVERIFY(unit->stallSeconds > 0);
        QVERIFY2(unit->stallCause.rfind("waiting for ", 0) == 0, unit->stallCause.c_str());
        QVERIFY2(unit->stallCause.find(" for ") != std::string::npos, unit->stallCause.c_str());
        QVERIFY(r->verification.find("timed only") != std::string::npos);

        // The timeline is capped, and says so.
        QVERIFY(!r->timelineTruncated);
        sim::SimOptions capped = timed;
        capped.maxTimelineEntries = 100;
        auto c = simulate(f, starved(f.space), error, capped);
        QVERIFY2(c, error.c_str());
        QVERIFY(c->timelineTruncated);
        QCOMPARE(c->timeline.size(), std::size_t(100));
        QCOMPARE(c->seconds, r->seconds);
    }

    void refusesWithReasons() {
        auto f = gemm(70, 40, 50);
        std::string error;
        schedule::Schedule bad = schedule::defaultSchedule(f.space);
        bad.levels[1].tiles[0] = f.space.dims[0].extent + 1;
        QVERIFY(!simulate(f, bad, error));
        QVERIFY2(error.find("illegal") != std::string::npos, error.c_str());
        QVERIFY2(error.find("must be between") != std::string::npos, error.c_str());

        schedule::Schedule notKept = schedule::defaultSchedule(f.space);
        std::size_t sram = 1;
        QCOMPARE(f.space.levels[sram].memory, std::string("sram"));
        std::size_t input = 0;
        while (f.space.operands[input].output || f.space.operands[input].requiredMemory != "sram")
            ++input;
        notKept.levels[sram].keeps[input] = false;
        error.clear();
        QVERIFY(!simulate(f, notKept, error));
        QVERIFY2(error.find("does not keep " + f.space.operands[input].tensor) != std::string::npos, error.c_str());

        auto host = gemm(64, 64, 64, "host-avx512");
        error.clear();
        QVERIFY(!simulate(host, schedule::defaultSchedule(host.space), error));
        QVERIFY2(error.find("host CPU") != std::string::npos, error.c_str());
    }

    void budgetsStopTheRun() {
        auto f = gemm(256, 256, 256);
        std::string error;
        sim::SimOptions tiny;
        tiny.maxEvents = 10;
        tiny.functional = false;
        QVERIFY(!simulate(f, starved(f.space), error, tiny));
        QVERIFY2(error.find("maxEvents") != std::string::npos, error.c_str());
        sim::SimOptions noTime;
        noTime.maxSeconds = 0;
        error.clear();
        QVERIFY(!simulate(f, starved(f.space), error, noTime));
        QVERIFY2(error.find("maxSeconds") != std::string::npos, error.c_str());
    }

    void deepBenchGemmIsQuick() {
        auto f = gemm(5124, 700, 2048); // DeepBench inference_server_set
        std::string error;
        QElapsedTimer timer;
        timer.start();
        auto r = simulate(f, schedule::defaultSchedule(f.space), error);
        const qint64 ms = timer.elapsed();
        QVERIFY2(r, error.c_str());
        QVERIFY2(ms < 1000, std::to_string(ms).c_str());
        // Checked on a scaled-down instance of the same schedule, and the result says so.
        QVERIFY(r->verified);
        QVERIFY2(r->verification.find("scaled-down instance") != std::string::npos, r->verification.c_str());
        QVERIFY(!r->sampling.empty());
        QCOMPARE(r->sampled, r->sampling.rfind("extrapolated", 0) == 0);
        qInfo("deepbench 5124x700x2048 default: %.3g s simulated in %lld ms; %s", r->seconds, static_cast<long long>(ms),
              r->sampling.c_str());

        // A starved schedule has too many tasks: a prefix is simulated and extrapolated.
        timer.restart();
        auto s = simulate(f, starved(f.space), error);
        const qint64 sms = timer.elapsed();
        QVERIFY2(s, error.c_str());
        QVERIFY2(sms < 1000, std::to_string(sms).c_str());
        QVERIFY(s->sampled);
        QVERIFY(s->sampling.rfind("extrapolated from ", 0) == 0);
        checkTimelineInside(*s);
        qInfo("deepbench starved: %.3g s simulated in %lld ms; %s", s->seconds, static_cast<long long>(sms), s->sampling.c_str());
    }

    void samplingAgreesWithTheFullRun() {
        auto f = gemm(1024, 512, 512);
        schedule::Schedule s = starved(f.space);
        std::string error;
        sim::SimOptions full;
        full.functional = false;
        full.maxTasks = 10'000'000;
        sim::SimOptions sampled = full;
        sampled.maxTasks = 20000;
        auto a = simulate(f, s, error, full);
        auto b = simulate(f, s, error, sampled);
        QVERIFY2(a && b, error.c_str());
        QVERIFY(!a->sampled);
        QVERIFY(b->sampled);
        QVERIFY2(std::abs(b->seconds - a->seconds) < 0.05 * a->seconds,
                 (std::to_string(b->seconds) + " vs " + std::to_string(a->seconds)).c_str());
    }

    // Transfers go at the rate of the target's own move instructions: a slower DMA makes a
    // transfer-bound schedule slower, and nothing else changes.
    void transfersUseTheTargetsMoveInstructions() {
        auto f = gemm(512, 512, 512);
        const schedule::Schedule s = starved(f.space);
        std::string error;
        sim::SimOptions timed;
        timed.functional = false;
        auto normal = simulate(f, s, error, timed);
        QVERIFY2(normal, error.c_str());
        bool found = false;
        for (auto& ins : f.target.instructions)
            if (ins.name == "dma_load") {
                ins.throughput /= 10;
                found = true;
            }
        QVERIFY(found);
        auto slowDma = simulate(f, s, error, timed);
        QVERIFY2(slowDma, error.c_str());
        QVERIFY2(slowDma->seconds > 2 * normal->seconds,
                 (std::to_string(slowDma->seconds) + " vs " + std::to_string(normal->seconds)).c_str());
    }

    // Too big to compute in the interpreter: the same mapping and schedule structure are checked on a
    // scaled-down instance, and the result says so.
    void bigKernelsAreVerifiedOnAScaledDownInstance() {
        auto f = gemm(512, 256, 512);
        const schedule::Schedule s = schedule::defaultSchedule(f.space);
        std::string error;
        sim::SimOptions options;
        options.maxFunctionalCalls = 300;
        QVERIFY(f.space.instructionCalls > options.maxFunctionalCalls);
        auto r = simulate(f, s, error, options);
        QVERIFY2(r, error.c_str());
        QVERIFY(r->verified);
        QVERIFY2(r->verification.rfind("verified on a scaled-down instance (M=", 0) == 0, r->verification.c_str());
        QVERIFY(r->verification.find("the full-size result was not computed") != std::string::npos);
        QVERIFY(r->seconds > 0);
        sim::SimOptions timedOnly = options;
        timedOnly.functional = false;
        auto t = simulate(f, s, error, timedOnly);
        QVERIFY2(t, error.c_str());
        QVERIFY(!t->verified);
        QCOMPARE(t->seconds, r->seconds); // the check does not change the timing
    }

    void agreesWithTheCostModelInOrderAndRank() {
        auto f = gemm(512, 512, 512);
        std::string error;
        sim::SimOptions timed;
        timed.functional = false;
        const schedule::Schedule good = schedule::defaultSchedule(f.space);
        const schedule::Schedule poor = starved(f.space);
        const double modeledGood = cost::modeledSeconds(f.space, good);
        const double modeledPoor = cost::modeledSeconds(f.space, poor);
        QVERIFY(modeledPoor > 3 * modeledGood); // far apart in the model
        auto g = simulate(f, good, error, timed);
        auto p = simulate(f, poor, error, timed);
        QVERIFY2(g && p, error.c_str());
        qInfo("512^3 default: modeled %.3g s, simulated %.3g s; starved: modeled %.3g s, simulated %.3g s", modeledGood,
              g->seconds, modeledPoor, p->seconds);
        for (auto [modeled, simulated] : {std::pair{modeledGood, g->seconds}, std::pair{modeledPoor, p->seconds}}) {
            QVERIFY2(simulated < 10 * modeled && modeled < 10 * simulated,
                     (std::to_string(modeled) + " vs " + std::to_string(simulated)).c_str());
        }
        QVERIFY(p->seconds > g->seconds);
    }
};

QTEST_GUILESS_MAIN(TstSim)
#include "tst_sim.moc"
