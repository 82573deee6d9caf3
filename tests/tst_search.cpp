// The schedule search: every strategy is reproducible from its seed, never returns worse than the
// default schedule, and only returns legal schedules the constraints allow; exhaustive search finds
// the optimum of a small space (checked against a brute force written here) and refuses a huge one;
// cancelling and a time budget stop a run promptly.
#include "mapped_fixture.h"

#include "constraints/constraints.h"
#include "cost/cost.h"
#include "frontend/library.h"
#include "mapping/mapping.h"
#include "schedule/schedule.h"
#include "search/search.h"
#include "targets/catalog.h"

#include <QtTest>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <limits>

using namespace isamap;

namespace {

// The space of the first valid candidate of a GEMM on a target.
schedule::Space gemmSpace(std::int64_t m, std::int64_t n, std::int64_t k, const std::string& targetName) {
    return testing::mappedGemm(m, n, k, targetName).space;
}

std::unique_ptr<search::Strategy> strategy(const std::string& name) {
    std::string error;
    auto s = search::makeStrategy(name, error);
    if (!s)
        qFatal("%s", error.c_str());
    return s;
}

// Every schedule returned is legal, allowed, costed as said, distinct and ranked best first.
void checkResults(const schedule::Space& space, const search::Result& r, const constraints::Set* set = nullptr) {
    for (std::size_t i = 0; i < r.best.size(); ++i) {
        const auto& e = r.best[i];
        const auto why = schedule::illegal(space, e.schedule);
        QVERIFY2(!why, why ? why->c_str() : "");
        std::string broken;
        QVERIFY2(!set || set->allows(space, e.schedule, &broken), broken.c_str());
        QCOMPARE(e.seconds, cost::modeledSeconds(space, e.schedule));
        QVERIFY(e.evaluation >= 1 && e.evaluation <= r.evaluations);
        if (i > 0)
            QVERIFY(r.best[i - 1].seconds <= e.seconds);
        for (std::size_t j = 0; j < i; ++j)
            QVERIFY(!(r.best[j].schedule == e.schedule));
    }
}

void addStrategyRows() {
    QTest::addColumn<QString>("name");
    for (const auto& n : search::strategyNames())
        QTest::newRow(n.c_str()) << QString::fromStdString(n);
}

// The minimum modeled time over every legal schedule of a space whose loops are all short, enumerated
// here independently of the search: every tile from 1 to its parent's, every order of every loop,
// double buffering, every parallel subset of the loops the output depends on, every unroll factor
// (1, 2, 4, 8, up to the innermost tile), the keeps of the default schedule.
double bruteForceOptimum(const schedule::Space& space) {
    const std::size_t nl = space.levels.size();
    const std::size_t nd = space.dims.size();
    double best = std::numeric_limits<double>::infinity();
    schedule::Schedule s = schedule::defaultSchedule(space);
    std::function<void(std::size_t, std::size_t)> tiles; // level, loop
    auto rest = [&] {
        std::vector<int> order(nd);
        for (std::size_t i = 0; i < nd; ++i)
            order[i] = static_cast<int>(i);
        std::function<void(std::size_t)> orders = [&](std::size_t l) {
            if (l == nl) {
                for (unsigned buffered = 0; buffered < (1u << (nl - 1)); ++buffered) {
                    for (std::size_t b = 1; b < nl; ++b)
                        s.levels[b].doubleBuffered = (buffered >> (b - 1)) & 1;
                    for (unsigned parallel = 0; parallel < (1u << nd); ++parallel) {
                        for (std::size_t d = 0; d < nd; ++d)
                            s.parallel[d] = (parallel >> d) & 1;
                        std::function<void(std::size_t)> unroll = [&](std::size_t d) {
                            if (d == nd) {
                                if (!schedule::illegal(space, s))
                                    best = std::min(best, cost::modeledSeconds(space, s));
                                return;
                            }
                            for (std::int64_t u : {1, 2, 4, 8})
                                if (u <= s.levels.back().tiles[d]) {
                                    s.unroll[d] = u;
                                    unroll(d + 1);
                                }
                        };
                        unroll(0);
                    }
                }
                return;
            }
            std::vector<int> perm = order;
            do {
                s.levels[l].order = perm;
                orders(l + 1);
            } while (std::next_permutation(perm.begin(), perm.end()));
        };
        orders(0);
    };
    tiles = [&](std::size_t l, std::size_t d) {
        if (l == nl)
            return rest();
        if (d == nd)
            return tiles(l + 1, 0);
        for (std::int64_t t = 1; t <= s.levels[l - 1].tiles[d]; ++t) {
            s.levels[l].tiles[d] = t;
            tiles(l, d + 1);
        }
    };
    tiles(1, 0);
    return best;
}

// A space with nothing to choose: one memory, one loop of one iteration.
schedule::Space singlePointSpace() {
    schedule::Space space;
    space.kernel = "scale";
    space.target = "toy";
    space.candidateKey = "toy";
    space.instruction = "op";
    space.dims = {{"i", 1, 0, 8}};
    space.kernelDims = {{"i", 8, 0, 1}};
    schedule::Operand c;
    c.tensor = "C";
    c.instructionOperand = "c";
    c.output = true;
    c.requiredMemory = "mem";
    c.dependsOn = {true};
    c.onPath = {true};
    c.indexCoeff = {{1}};
    space.operands = {c};
    space.levels = {{"mem", 1 << 20, 1e9, 1e-9, 0}};
    space.instructionCalls = 1;
    space.instructionPoints = 8;
    space.usefulFlops = 16;
    return space;
}

} // namespace

class TstSearch : public QObject {
    Q_OBJECT

private slots:
    void namesMakeTheirStrategies() {
        const auto names = search::strategyNames();
        QCOMPARE(names.size(), std::size_t{5});
        for (const auto& n : names)
            QCOMPARE(strategy(n)->name(), n);
        std::string error;
        QVERIFY(!search::makeStrategy("hill-climbing", error));
        QVERIFY(error.find("hill-climbing") != std::string::npos);
        QVERIFY(error.find("annealing") != std::string::npos);
    }

    void sameSeedSameBest_data() { addStrategyRows(); }
    void sameSeedSameBest() {
        QFETCH(QString, name);
        const auto space = gemmSpace(1760, 16, 1760, "nnp-like");
        search::Options options;
        options.seed = 7;
        options.budget.evaluations = 20000;
        const auto first = strategy(name.toStdString())->run(space, options);
        const auto second = strategy(name.toStdString())->run(space, options);
        QVERIFY(!first.best.empty());
        QCOMPARE(second.evaluations, first.evaluations);
        QCOMPARE(second.best.size(), first.best.size());
        for (std::size_t i = 0; i < first.best.size(); ++i) {
            QVERIFY(second.best[i].schedule == first.best[i].schedule);
            QCOMPARE(second.best[i].seconds, first.best[i].seconds);
            QCOMPARE(second.best[i].evaluation, first.best[i].evaluation);
        }
    }

    void noWorseThanDefault_data() { addStrategyRows(); }
    void noWorseThanDefault() {
        QFETCH(QString, name);
        const auto space = gemmSpace(1760, 16, 1760, "nnp-like");
        const double baseline = cost::modeledSeconds(space, schedule::defaultSchedule(space));
        search::Options options;
        options.seed = 3;
        options.budget.evaluations = 20000;
        options.keepBest = 5;
        std::vector<search::Progress> progress;
        std::vector<double> improvements;
        options.onProgress = [&](const search::Progress& p) { progress.push_back(p); };
        options.onImprovement = [&](const search::Evaluated& e) { improvements.push_back(e.seconds); };
        const auto r = strategy(name.toStdString())->run(space, options);
        QCOMPARE(r.strategy, name.toStdString());
        QCOMPARE(r.evaluations, options.budget.evaluations);
        QCOMPARE(r.best.size(), options.keepBest);
        checkResults(space, r);
        QVERIFY(r.best.front().seconds <= baseline);
        // The searched space holds better schedules than the default one; the sampling strategies find
        // one (exhaustive visits the space in order, and 20,000 points are only the start of it).
        if (name != "exhaustive")
            QVERIFY(r.best.front().seconds < baseline);
        // Improvements come strictly better each time and end at the best.
        QVERIFY(!improvements.empty());
        for (std::size_t i = 1; i < improvements.size(); ++i)
            QVERIFY(improvements[i] < improvements[i - 1]);
        QCOMPARE(improvements.back(), r.best.front().seconds);
        // Progress about every hundredth of the budget, and once at the end.
        QVERIFY(progress.size() >= 100 && progress.size() <= 110);
        for (std::size_t i = 1; i < progress.size(); ++i) {
            QVERIFY(progress[i].evaluations >= progress[i - 1].evaluations);
            QVERIFY(progress[i].fraction >= progress[i - 1].fraction);
            QVERIFY(progress[i].bestSeconds <= progress[i - 1].bestSeconds || progress[i - 1].bestSeconds == 0);
        }
        QCOMPARE(progress.back().fraction, 1.0);
        QCOMPARE(progress.back().bestSeconds, r.best.front().seconds);
    }

    void exhaustiveFindsTheOptimum() {
        const auto space = gemmSpace(64, 32, 48, "nnp-like");
        search::Options options;
        const auto r = strategy("exhaustive")->run(space, options);
        QVERIFY(r.exhausted);
        QVERIFY(!r.cancelled);
        QVERIFY(!r.best.empty());
        checkResults(space, r);
        const double optimum = bruteForceOptimum(space);
        QCOMPARE(r.best.front().seconds, optimum);
        // No other strategy beats it.
        for (const auto& n : search::strategyNames()) {
            options.budget.evaluations = 5000;
            const auto other = strategy(n)->run(space, options);
            QVERIFY(!other.best.empty());
            QVERIFY(other.best.front().seconds >= optimum);
        }
    }

    void exhaustiveRefusesAHugeSpace() {
        const auto space = gemmSpace(5124, 700, 2048, "nnp-like");
        const auto start = std::chrono::steady_clock::now();
        const auto r = strategy("exhaustive")->run(space, search::Options{});
        QVERIFY(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
        QVERIFY(!r.exhausted);
        QCOMPARE(r.evaluations, std::int64_t{0});
        QVERIFY(r.best.empty());
        QVERIFY2(r.note.find("4415675904 schedules") != std::string::npos, r.note.c_str());
        QVERIFY2(r.note.find("annealing") != std::string::npos, r.note.c_str());
    }

    void cancelStopsPromptly_data() { addStrategyRows(); }
    void cancelStopsPromptly() {
        QFETCH(QString, name);
        const auto space = gemmSpace(1760, 16, 1760, "nnp-like");
        std::atomic<bool> cancel{false};
        std::int64_t cancelledAt = 0;
        search::Options options;
        options.budget.evaluations = 900000;
        options.cancel = &cancel;
        options.onProgress = [&](const search::Progress& p) {
            if (p.evaluations >= 30000 && !cancel) {
                cancel = true;
                cancelledAt = p.evaluations;
            }
        };
        const auto r = strategy(name.toStdString())->run(space, options);
        QVERIFY(r.cancelled);
        QVERIFY(!r.exhausted);
        QVERIFY(cancelledAt > 0);
        QVERIFY2(r.evaluations - cancelledAt <= 300, qPrintable(QString::number(r.evaluations - cancelledAt)));
        QVERIFY(!r.best.empty());
        checkResults(space, r);
    }

    void secondsBudgetStopsNearItsTime_data() { addStrategyRows(); }
    void secondsBudgetStopsNearItsTime() {
        QFETCH(QString, name);
        // Host spaces are far too large for exhaustive search to finish first.
        const auto space = gemmSpace(1760, 16, 1760, name == "exhaustive" ? "nnp-like" : "host-avx512");
        search::Options options;
        options.budget.seconds = name == "exhaustive" ? 0.05 : 0.4;
        std::vector<double> fractions;
        options.onProgress = [&](const search::Progress& p) { fractions.push_back(p.fraction); };
        const auto start = std::chrono::steady_clock::now();
        const auto r = strategy(name.toStdString())->run(space, options);
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        QVERIFY2(r.elapsed >= options.budget.seconds, qPrintable(QString::number(r.elapsed)));
        // The clock is read every few dozen evaluations; a shared machine may add a little.
        QVERIFY2(wall <= options.budget.seconds + 0.25, qPrintable(QString::number(wall)));
        QVERIFY(!r.cancelled);
        QVERIFY(!r.exhausted);
        QVERIFY(!r.best.empty());
        checkResults(space, r);
        QVERIFY(fractions.size() >= 50);
        QVERIFY(fractions.back() >= 0.99);
    }

    void constraintsAreRespected_data() { addStrategyRows(); }
    void constraintsAreRespected() {
        QFETCH(QString, name);
        const auto space = gemmSpace(1760, 16, 1760, "nnp-like");
        const int m = testing::dimIndex(space, "m");
        const int k = testing::dimIndex(space, "k");
        constraints::Set set;
        constraints::Constraint tile;
        tile.kind = constraints::Constraint::Kind::TileEquals;
        tile.loop = "k";
        tile.level = "sram";
        tile.value = 2;
        tile.text = "tile k at sram = 2";
        constraints::Constraint innermost;
        innermost.kind = constraints::Constraint::Kind::OrderInnermost;
        innermost.loop = "m";
        innermost.level = "sram";
        innermost.text = "order at sram: m innermost";
        set.items = {tile, innermost};
        QVERIFY(set.unknownNames(space).empty());

        search::Options options;
        options.seed = 5;
        options.budget.evaluations = name == "exhaustive" ? 0 : 20000;
        options.constraints = &set;
        const auto r = strategy(name.toStdString())->run(space, options);
        QVERIFY(!r.best.empty());
        QVERIFY(r.exhausted == (name == "exhaustive"));
        checkResults(space, r, &set);
        for (const auto& e : r.best) {
            QCOMPARE(e.schedule.levels[1].tiles[static_cast<std::size_t>(k)], std::int64_t{2});
            QCOMPARE(e.schedule.levels[1].order.back(), m);
        }
        // The unconstrained search does better: the constraints did bind.
        options.constraints = nullptr;
        const auto free = strategy(name.toStdString())->run(space, options);
        QVERIFY(free.best.front().seconds < r.best.front().seconds);
    }

    void aSpaceOfOnePoint_data() { addStrategyRows(); }
    void aSpaceOfOnePoint() {
        QFETCH(QString, name);
        const auto space = singlePointSpace();
        const auto only = schedule::defaultSchedule(space);
        QVERIFY(!schedule::illegal(space, only));
        search::Options options;
        options.budget.evaluations = 1000;
        const auto r = strategy(name.toStdString())->run(space, options);
        QVERIFY(r.exhausted);
        QCOMPARE(r.evaluations, std::int64_t{1});
        QCOMPARE(r.best.size(), std::size_t{1});
        QVERIFY(r.best.front().schedule == only);
    }
};

QTEST_GUILESS_MAIN(TstSearch)
#include "tst_search.moc"
