// Constraints on the schedule space: the text form and its diagnostics, what a set allows on a real
// space (GEMM 1760x16x1760 on nnp-like and host-avx512), what apply forces, and the smallest subset of
// an unsatisfiable set that explains why.
#include "mapped_fixture.h"

#include "constraints/constraints.h"
#include "frontend/library.h"
#include "ir/types.h"
#include "mapping/mapping.h"
#include "schedule/schedule.h"
#include "targets/catalog.h"

#include <QtTest>
#include <random>

using namespace isamap;
using constraints::Constraint;
using Kind = Constraint::Kind;

namespace {

constraints::ParseResult parseText(const std::string& text) {
    return constraints::parse(ir::SourceFile{"constraints.txt", text});
}

constraints::Set parseSet(const std::string& text) {
    auto result = parseText(text);
    if (!result.diagnostics.empty())
        qFatal("%s", ir::format(result.diagnostics).c_str());
    return result.set;
}

using Fixture = testing::MappedKernel;

Fixture gemmOn(const std::string& targetName) { return testing::mappedGemm(1760, 16, 1760, targetName); }

std::size_t loop(const schedule::Space& space, const std::string& name) {
    for (std::size_t d = 0; d < space.dims.size(); ++d)
        if (space.dims[d].name == name)
            return d;
    qFatal("no loop %s", name.c_str());
}

std::size_t level(const schedule::Space& space, const std::string& memory) {
    for (std::size_t l = 0; l < space.levels.size(); ++l)
        if (space.levels[l].memory == memory)
            return l;
    qFatal("no level %s", memory.c_str());
}

std::size_t operand(const schedule::Space& space, const std::string& tensor) {
    for (std::size_t o = 0; o < space.operands.size(); ++o)
        if (space.operands[o].tensor == tensor)
            return o;
    qFatal("no operand %s", tensor.c_str());
}

std::int64_t tileOf(const schedule::Space& space, const schedule::Schedule& s, const std::string& memory,
                    const std::string& loopName) {
    return s.levels[level(space, memory)].tiles[loop(space, loopName)];
}

QStringList orderAt(const schedule::Space& space, const schedule::Schedule& s, const std::string& memory) {
    QStringList names;
    for (int d : s.levels[level(space, memory)].order)
        names << QString::fromStdString(space.dims[static_cast<std::size_t>(d)].name);
    return names;
}

// Every tile between 1 and its parent's, the outermost level the full extents, unroll within the
// innermost tile: the shape schedule::illegal demands before it looks at capacity.
bool tilesNest(const schedule::Space& space, const schedule::Schedule& s) {
    for (std::size_t d = 0; d < space.dims.size(); ++d) {
        if (s.levels[0].tiles[d] != space.dims[d].extent)
            return false;
        for (std::size_t l = 1; l < s.levels.size(); ++l)
            if (s.levels[l].tiles[d] < 1 || s.levels[l].tiles[d] > s.levels[l - 1].tiles[d])
                return false;
        if (s.unroll[d] < 1 || s.unroll[d] > s.levels.back().tiles[d])
            return false;
    }
    return true;
}

// Bytes of the tiles kept at a level, counted independently of the library.
double keptBytes(const schedule::Space& space, const schedule::Schedule& s, const std::string& memory) {
    const auto& l = s.levels[level(space, memory)];
    double bytes = 0;
    for (std::size_t o = 0; o < space.operands.size(); ++o)
        if (l.keeps[o])
            bytes += static_cast<double>(schedule::footprint(space, o, l.tiles)) * space.operands[o].bytesPerElement *
                     (l.doubleBuffered ? 2 : 1);
    return bytes;
}

// A small real search: the default schedule and random tilings of it, each steered by apply; feasible
// when one of them is legal and allowed.
bool someScheduleSatisfies(const schedule::Space& space, const constraints::Set& set) {
    std::mt19937_64 rng(7);
    for (int trial = 0; trial < 200; ++trial) {
        schedule::Schedule s = schedule::defaultSchedule(space);
        if (trial > 0)
            for (std::size_t l = 1; l < s.levels.size(); ++l)
                for (std::size_t d = 0; d < space.dims.size(); ++d) {
                    const std::int64_t parent = s.levels[l - 1].tiles[d];
                    int maxShift = 0;
                    while ((std::int64_t(1) << (maxShift + 1)) <= parent)
                        ++maxShift;
                    const int shift = std::uniform_int_distribution<int>(0, maxShift)(rng);
                    s.levels[l].tiles[d] = std::min(parent, std::int64_t(1) << shift);
                    s.unroll[d] = 1;
                }
        set.apply(space, s);
        if (!schedule::illegal(space, s) && set.allows(space, s))
            return true;
    }
    return false;
}

std::vector<std::size_t> indices(std::initializer_list<std::size_t> list) { return list; }

} // namespace

class TstConstraints : public QObject {
    Q_OBJECT
private slots:
    // ---- the text form -------------------------------------------------------------------------

    void parsesEveryForm() {
        const auto result = parseText(R"(# the header's example, one of each form
pin instruction mma32
pin candidate "mma32: i=n, j=m, k=k; c=C, a=B, b=A"
tile m at l1 = 4                       # fix a tile size
tile k at l1 <= 8
tile k at l1 >= 2

tile n at l2 != 3
order at l1: k innermost
order at l1: k inside n
order at l1: k outside n
order at l2: n, m
keep B in l1
not keep B in l2
cap l2 <= 512 KiB
parallel m
not parallel k
)");
        QVERIFY2(result.diagnostics.empty(), ir::format(result.diagnostics).c_str());
        const auto& items = result.set.items;
        QCOMPARE(items.size(), std::size_t(15));

        QCOMPARE(items[0].kind, Kind::PinInstruction);
        QCOMPARE(items[0].name, std::string("mma32"));
        QCOMPARE(items[1].kind, Kind::PinCandidate);
        QCOMPARE(items[1].name, std::string("mma32: i=n, j=m, k=k; c=C, a=B, b=A"));

        QCOMPARE(items[2].kind, Kind::TileEquals);
        QCOMPARE(items[2].loop, std::string("m"));
        QCOMPARE(items[2].level, std::string("l1"));
        QCOMPARE(items[2].value, std::int64_t(4));
        // The text is the line as written, trimmed, without its comment; loc points at its start.
        QCOMPARE(items[2].text, std::string("tile m at l1 = 4"));
        QCOMPARE(items[2].loc.line, 4);
        QCOMPARE(items[2].loc.column, 1);
        QCOMPARE(items[3].kind, Kind::TileAtMost);
        QCOMPARE(items[3].value, std::int64_t(8));
        QCOMPARE(items[4].kind, Kind::TileAtLeast);
        QCOMPARE(items[4].value, std::int64_t(2));
        QCOMPARE(items[5].kind, Kind::TileNot);
        QCOMPARE(items[5].loop, std::string("n"));
        QCOMPARE(items[5].level, std::string("l2"));
        QCOMPARE(items[5].value, std::int64_t(3));
        QCOMPARE(items[5].loc.line, 8); // after the blank line

        QCOMPARE(items[6].kind, Kind::OrderInnermost);
        QCOMPARE(items[6].level, std::string("l1"));
        QCOMPARE(items[6].loop, std::string("k"));
        QCOMPARE(items[7].kind, Kind::OrderInside);
        QCOMPARE(items[7].loop, std::string("k"));
        QCOMPARE(items[7].other, std::string("n"));
        QCOMPARE(items[8].kind, Kind::OrderOutside);
        QCOMPARE(items[8].loop, std::string("k"));
        QCOMPARE(items[8].other, std::string("n"));
        QCOMPARE(items[9].kind, Kind::OrderPrefix);
        QCOMPARE(items[9].level, std::string("l2"));
        QCOMPARE(items[9].prefix, std::vector<std::string>({"n", "m"}));

        QCOMPARE(items[10].kind, Kind::Keep);
        QCOMPARE(items[10].operand, std::string("B"));
        QCOMPARE(items[10].level, std::string("l1"));
        QCOMPARE(items[11].kind, Kind::NotKeep);
        QCOMPARE(items[11].operand, std::string("B"));
        QCOMPARE(items[11].level, std::string("l2"));
        QCOMPARE(items[11].text, std::string("not keep B in l2"));

        QCOMPARE(items[12].kind, Kind::Cap);
        QCOMPARE(items[12].level, std::string("l2"));
        QCOMPARE(items[12].value, std::int64_t(512 * 1024));

        QCOMPARE(items[13].kind, Kind::Parallel);
        QCOMPARE(items[13].loop, std::string("m"));
        QCOMPARE(items[14].kind, Kind::NotParallel);
        QCOMPARE(items[14].loop, std::string("k"));
        QCOMPARE(items[14].loc.line, 17);
    }

    void capSizesTakeUnits_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<qint64>("bytes");
        QTest::newRow("bytes") << "cap l1 <= 64 B" << qint64(64);
        QTest::newRow("KiB") << "cap l2 <= 512 KiB" << qint64(524288);
        QTest::newRow("KiB without a space") << "cap l2 <= 512KiB" << qint64(524288);
        QTest::newRow("fractional") << "cap l1 <= 1.5 KiB" << qint64(1536);
        QTest::newRow("MiB") << "cap sram <= 2 MiB" << qint64(2 * 1048576);
        QTest::newRow("GiB") << "cap hbm <= 1 GiB" << qint64(1073741824);
        QTest::newRow("KB") << "cap l1 <= 3 KB" << qint64(3000);
        QTest::newRow("MB") << "cap l2 <= 4 MB" << qint64(4000000);
        QTest::newRow("GB") << "cap hbm <= 2 GB" << qint64(2000000000);
    }
    void capSizesTakeUnits() {
        QFETCH(QString, text);
        QFETCH(qint64, bytes);
        const auto set = parseSet(text.toStdString());
        QCOMPARE(set.items.size(), std::size_t(1));
        QCOMPARE(set.items[0].kind, Kind::Cap);
        QCOMPARE(set.items[0].value, std::int64_t(bytes));
    }

    void fusedLoopNamesAndEmptyText() {
        const auto set = parseSet("tile g.j at l1 = 2\norder at l1: g.j, c\n");
        QCOMPARE(set.items[0].loop, std::string("g.j"));
        QCOMPARE(set.items[1].prefix, std::vector<std::string>({"g.j", "c"}));
        // Only comments and blank lines: no constraint, no complaint.
        const auto empty = parseText("# nothing yet\n\n   \n# still nothing\n");
        QVERIFY(empty.diagnostics.empty());
        QVERIFY(empty.set.items.empty());
    }

    void eachMistakeIsReportedAtItsPlace_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<int>("line");
        QTest::addColumn<int>("column");
        QTest::addColumn<QString>("message");

        QTest::newRow("unknown keyword") << "tiel m at l1 = 4" << 1 << 1 << "unknown constraint 'tiel'";
        QTest::newRow("missing at") << "tile m l1 = 4" << 1 << 8 << "expected 'at' after the loop name, found 'l1'";
        QTest::newRow("strict comparison") << "tile k at l1 < 8" << 1 << 14
                                           << "expected a comparison ('=', '<=', '>=' or '!='), found '<'";
        QTest::newRow("strict greater") << "tile k at l1 > 8" << 1 << 14
                                        << "expected a comparison ('=', '<=', '>=' or '!='), found '>'";
        QTest::newRow("no comparison") << "tile k at l1 8" << 1 << 14
                                       << "expected a comparison ('=', '<=', '>=' or '!='), found '8'";
        QTest::newRow("reversed comparison") << "tile k at l1 => 8" << 1 << 14 << "'=>' is not a comparison";
        QTest::newRow("missing tile size") << "tile k at l1 <=" << 1 << 16
                                           << "expected a tile size (a whole number of the loop's units), found end of line";
        QTest::newRow("zero tile") << "tile k at l1 = 0" << 1 << 16 << "a tile size is at least 1";
        QTest::newRow("cap without a unit") << "cap l2 <= 512" << 1 << 14 << "expected a unit after 512, found end of line";
        QTest::newRow("cap with a wrong unit") << "cap l2 <= 512 GHz" << 1 << 15 << "'GHz' is not a unit of a size in bytes";
        QTest::newRow("cap as a lower bound") << "cap l2 >= 1 MiB" << 1 << 8 << "a cap is an upper bound: write '<='";
        QTest::newRow("cap without a size") << "cap l2 <= KiB" << 1 << 11 << "expected a size, found 'KiB'";
        QTest::newRow("unterminated candidate string") << "pin candidate \"mma32: i=n, j=m" << 1 << 15
                                                       << "unterminated string";
        QTest::newRow("candidate key without quotes") << "pin candidate mma32" << 1 << 15
                                                      << "expected the candidate's key in quotes, found 'mma32'";
        QTest::newRow("pin of what") << "pin mma32" << 1 << 5
                                     << "expected 'instruction' or 'candidate' after 'pin', found 'mma32'";
        QTest::newRow("order without colon") << "order at l1 k innermost" << 1 << 13
                                             << "expected ':' after the memory name, found 'k'";
        QTest::newRow("order without at") << "order l1: k innermost" << 1 << 7 << "expected 'at' after 'order', found 'l1'";
        QTest::newRow("order with an unknown word")
            << "order at l1: k first" << 1 << 16
            << "expected 'innermost', 'inside', 'outside' or ',' after the loop name, found 'first'";
        QTest::newRow("order naming a loop twice") << "order at l2: n, m, n" << 1 << 20
                                                   << "loop 'n' appears twice in the order";
        QTest::newRow("order relative to itself") << "order at l2: n inside n" << 1 << 23
                                                  << "a loop cannot be placed relative to itself";
        QTest::newRow("keep without in") << "keep B l1" << 1 << 8 << "expected 'in' after the operand, found 'l1'";
        QTest::newRow("keep without operand") << "keep in l1" << 1 << 9 << "expected 'in' after the operand, found 'l1'";
        QTest::newRow("negated tile") << "not tile m at l1 = 4" << 1 << 5
                                      << "expected 'keep' or 'parallel' after 'not', found 'tile'";
        QTest::newRow("parallel without loop") << "# a comment\n\ntile m at l1 = 4\nparallel\n" << 4 << 9
                                               << "expected a loop name after 'parallel', found end of line";
        QTest::newRow("two constraints on a line") << "parallel m n" << 1 << 12 << "unexpected 'n' after the constraint";
        QTest::newRow("stray character") << "tile m at l1 = 4 $" << 1 << 18
                                         << "unexpected character '$' after the constraint";
        QTest::newRow("number where a name goes") << "parallel 4" << 1 << 10
                                                  << "expected a loop name after 'parallel', found '4'";
    }
    void eachMistakeIsReportedAtItsPlace() {
        QFETCH(QString, text);
        QFETCH(int, line);
        QFETCH(int, column);
        QFETCH(QString, message);
        const auto result = parseText(text.toStdString());
        QCOMPARE(result.diagnostics.size(), std::size_t(1));
        const auto& d = result.diagnostics[0];
        QCOMPARE(d.severity, ir::Severity::Error);
        QCOMPARE(QString::fromStdString(d.message), message);
        QCOMPARE(d.line, line);
        QCOMPARE(d.column, column);
        QCOMPARE(d.file, std::string("constraints.txt"));
        // A malformed line yields no constraint; the valid ones around it still do.
        QCOMPARE(result.set.items.size(), std::size_t(text.contains("tile m at l1 = 4\n") ? 1 : 0));
    }

    void everyBadLineIsReportedWithCaretAndHint() {
        const auto result = parseText("tile m at l1 = 4\ntiel k at l1 = 2\ncap l2 <= 3\nparallel m\n");
        QCOMPARE(result.diagnostics.size(), std::size_t(2));
        QCOMPARE(result.set.items.size(), std::size_t(2));
        QCOMPARE(result.set.items[1].kind, Kind::Parallel);
        QCOMPARE(result.diagnostics[0].line, 2);
        QCOMPARE(QString::fromStdString(ir::format(result.diagnostics[0])),
                 QString("constraints.txt:2:1: error: unknown constraint 'tiel'\n"
                         "    tiel k at l1 = 2\n"
                         "    ^~~~\n"
                         "hint: a constraint starts with pin, tile, order, keep, not, cap or parallel\n"));
        QCOMPARE(QString::fromStdString(ir::format(result.diagnostics[1])),
                 QString::fromStdString("constraints.txt:3:12: error: expected a unit after 3, found end of line\n"
                                        "    cap l2 <= 3\n"
                                        "    " + std::string(11, ' ') + "^\n"
                                        "hint: the units of a size are " + ir::unitList(ir::Quantity::Bytes) + "\n"));
        const auto unterminated = parseText("pin candidate \"mma32: i=n\n");
        QCOMPARE(QString::fromStdString(unterminated.diagnostics.at(0).hint), QString("close it with \" on the same line"));
    }

    // ---- against a real space --------------------------------------------------------------------

    void fixedTileIsForcedByApplyAndCheckedByAllows() {
        const auto f = gemmOn("host-avx512");
        const auto set = parseSet("tile m at l1 = 8");
        auto s = schedule::defaultSchedule(f.space);
        const std::int64_t before = tileOf(f.space, s, "l1", "m");
        const std::int64_t l2Before = tileOf(f.space, s, "l2", "m");
        QVERIFY(before != 8);
        std::string why;
        QVERIFY(!set.allows(f.space, s, &why));
        QCOMPARE(QString::fromStdString(why), QString("breaks `tile m at l1 = 8`: its tile there is %1").arg(before));

        set.apply(f.space, s);
        QCOMPARE(tileOf(f.space, s, "l1", "m"), std::int64_t(8));
        QCOMPARE(tileOf(f.space, s, "zmm", "m"), std::int64_t(8)); // was 16: never above its parent's
        QCOMPARE(tileOf(f.space, s, "l2", "m"), l2Before); // the levels above are left alone
        QVERIFY(tilesNest(f.space, s));
        QVERIFY2(set.allows(f.space, s, &why), why.c_str());
        const auto illegal = schedule::illegal(f.space, s);
        QVERIFY2(!illegal, illegal ? illegal->c_str() : "");

        // The same on the accelerator, where the fix is below the default.
        const auto nnp = gemmOn("nnp-like");
        const auto fixSram = parseSet("tile m at sram = 2");
        auto t = schedule::defaultSchedule(nnp.space);
        QVERIFY(!fixSram.allows(nnp.space, t));
        fixSram.apply(nnp.space, t);
        QCOMPARE(tileOf(nnp.space, t, "sram", "m"), std::int64_t(2));
        QCOMPARE(tileOf(nnp.space, t, "acc", "m"), std::int64_t(2));
        QVERIFY(fixSram.allows(nnp.space, t));
        QVERIFY(!schedule::illegal(nnp.space, t));
    }

    void boundsClamp() {
        const auto f = gemmOn("host-avx512");
        const auto s0 = schedule::defaultSchedule(f.space);
        QCOMPARE(tileOf(f.space, s0, "l2", "k"), std::int64_t(128));
        QCOMPARE(tileOf(f.space, s0, "l1", "n"), std::int64_t(2));

        const auto set = parseSet("tile k at l2 <= 64\ntile n at l1 >= 4\n");
        std::string why;
        QVERIFY(!set.allows(f.space, s0, &why));
        QCOMPARE(QString::fromStdString(why), QString("breaks `tile k at l2 <= 64`: its tile there is 128"));
        auto s = s0;
        set.apply(f.space, s);
        QCOMPARE(tileOf(f.space, s, "l2", "k"), std::int64_t(64));
        QCOMPARE(tileOf(f.space, s, "l1", "n"), std::int64_t(4));
        QVERIFY(tileOf(f.space, s, "l1", "k") <= 64);
        QVERIFY(tilesNest(f.space, s));
        QVERIFY2(set.allows(f.space, s, &why), why.c_str());

        // A bound already met changes nothing.
        auto same = s0;
        parseSet("tile k at l2 <= 512\ntile n at l1 >= 1\n").apply(f.space, same);
        QCOMPARE(same, s0);

        // A lower bound deep in the hierarchy raises the levels above it, which must hold that much.
        auto raised = s0;
        const auto deep = parseSet("tile k at zmm >= 4");
        deep.apply(f.space, raised);
        QCOMPARE(tileOf(f.space, raised, "zmm", "k"), std::int64_t(4));
        QCOMPARE(tileOf(f.space, raised, "l1", "k"), std::int64_t(4));
        QVERIFY(tilesNest(f.space, raised));
        QVERIFY(deep.allows(f.space, raised));

        // One forbidden size: the nearest allowed one.
        auto avoided = s0;
        const auto notThis = parseSet("tile k at l2 != 128");
        QVERIFY(!notThis.allows(f.space, avoided));
        notThis.apply(f.space, avoided);
        QCOMPARE(tileOf(f.space, avoided, "l2", "k"), std::int64_t(127));
        QVERIFY(notThis.allows(f.space, avoided));
    }

    void aBoundBeyondTheLoopNeverLeavesTheRange() {
        const auto f = gemmOn("host-avx512");
        const auto set = parseSet("tile m at l1 >= 1000");
        auto s = schedule::defaultSchedule(f.space);
        set.apply(f.space, s);
        QCOMPARE(tileOf(f.space, s, "l1", "m"), std::int64_t(110)); // the whole loop, not 1000
        QVERIFY(tilesNest(f.space, s));
        std::string why;
        QVERIFY(!set.allows(f.space, s, &why));
        QCOMPARE(QString::fromStdString(why), QString("breaks `tile m at l1 >= 1000`: its tile there is 110"));

        // Contradictory and arbitrary bounds, at every level: apply keeps the tiles nested.
        std::mt19937 rng(3);
        const char* memories[] = {"l3", "l2", "l1", "zmm"};
        const char* loops[] = {"m", "n", "k"};
        const char* comparisons[] = {"=", "<=", ">=", "!="};
        for (int round = 0; round < 200; ++round) {
            std::string text;
            for (int i = 0; i < 4; ++i)
                text += std::string("tile ") + loops[rng() % 3] + " at " + memories[rng() % 4] + " " + comparisons[rng() % 4] +
                        " " + std::to_string(1 + rng() % 2000) + "\n";
            auto t = schedule::defaultSchedule(f.space);
            t.unroll[loop(f.space, "m")] = 16;
            parseSet(text).apply(f.space, t);
            QVERIFY2(tilesNest(f.space, t), text.c_str());
            const auto illegal = schedule::illegal(f.space, t);
            QVERIFY2(!illegal || !QString::fromStdString(*illegal).contains("must be between"), illegal ? illegal->c_str() : "");
        }
    }

    void orderConstraintsReorder() {
        const auto f = gemmOn("nnp-like");
        auto s = schedule::defaultSchedule(f.space);
        QCOMPARE(orderAt(f.space, s, "sram"), QStringList({"n", "m", "k"}));
        const auto innermost = parseSet("order at sram: m innermost");
        std::string why;
        QVERIFY(!innermost.allows(f.space, s, &why));
        QCOMPARE(QString::fromStdString(why), QString("breaks `order at sram: m innermost`: the innermost loop there is k"));
        innermost.apply(f.space, s);
        QCOMPARE(orderAt(f.space, s, "sram"), QStringList({"n", "k", "m"}));
        QCOMPARE(orderAt(f.space, s, "acc"), QStringList({"n", "m", "k"})); // other levels untouched
        QVERIFY(innermost.allows(f.space, s));
        QVERIFY(!schedule::illegal(f.space, s));

        const auto h = gemmOn("host-avx512");
        auto t = schedule::defaultSchedule(h.space);
        QCOMPARE(orderAt(h.space, t, "l2"), QStringList({"m", "n", "k"}));
        const auto relative = parseSet("order at l2: k outside m\norder at l2: n inside k\n");
        QVERIFY(!relative.allows(h.space, t, &why));
        QCOMPARE(QString::fromStdString(why), QString("breaks `order at l2: k outside m`: k is inside m there"));
        relative.apply(h.space, t);
        QCOMPARE(orderAt(h.space, t, "l2"), QStringList({"k", "m", "n"}));
        QVERIFY(relative.allows(h.space, t));

        const auto prefix = parseSet("order at l1: k, n\norder at l1: m innermost\n");
        QVERIFY(!prefix.allows(h.space, t, &why));
        QCOMPARE(QString::fromStdString(why), QString("breaks `order at l1: k, n`: the order there is m, n, k"));
        prefix.apply(h.space, t);
        QCOMPARE(orderAt(h.space, t, "l1"), QStringList({"k", "n", "m"}));
        QVERIFY(prefix.allows(h.space, t));
        QVERIFY(!schedule::illegal(h.space, t));
    }

    void keepAndNotKeep() {
        const auto f = gemmOn("host-avx512");
        const auto s0 = schedule::defaultSchedule(f.space);
        QVERIFY(s0.levels[level(f.space, "l2")].keeps[operand(f.space, "A")]);

        const auto notKeep = parseSet("not keep A in l2");
        std::string why;
        QVERIFY(!notKeep.allows(f.space, s0, &why));
        QCOMPARE(QString::fromStdString(why), QString("breaks `not keep A in l2`: A is kept there"));
        auto s = s0;
        notKeep.apply(f.space, s);
        QVERIFY(!s.levels[level(f.space, "l2")].keeps[operand(f.space, "A")]);
        QVERIFY(notKeep.allows(f.space, s));
        QVERIFY(!schedule::illegal(f.space, s)); // A passes through l2 without a copy

        const auto keep = parseSet("keep A in l2");
        QVERIFY(!keep.allows(f.space, s, &why));
        QCOMPARE(QString::fromStdString(why), QString("breaks `keep A in l2`: A is not kept there"));
        keep.apply(f.space, s);
        QCOMPARE(s, s0);
        QVERIFY(keep.allows(f.space, s));

        // apply forces what is asked; legality stays the schedule's own check: the instruction reads
        // B from sram, so not keeping it there cannot run.
        const auto nnp = gemmOn("nnp-like");
        auto t = schedule::defaultSchedule(nnp.space);
        const auto dropB = parseSet("not keep B in sram");
        dropB.apply(nnp.space, t);
        QVERIFY(dropB.allows(nnp.space, t));
        const auto illegal = schedule::illegal(nnp.space, t);
        QVERIFY(illegal && QString::fromStdString(*illegal).contains("B must be kept there"));
    }

    void parallelAndNotParallel() {
        const auto f = gemmOn("nnp-like");
        auto s = schedule::defaultSchedule(f.space);
        QVERIFY(s.parallel[loop(f.space, "m")]);
        QVERIFY(parseSet("parallel m").allows(f.space, s));

        const auto serial = parseSet("not parallel m");
        std::string why;
        QVERIFY(!serial.allows(f.space, s, &why));
        QCOMPARE(QString::fromStdString(why), QString("breaks `not parallel m`: m runs in parallel"));
        serial.apply(f.space, s);
        QVERIFY(!s.parallel[loop(f.space, "m")]);
        QVERIFY(serial.allows(f.space, s));
        QVERIFY(!schedule::illegal(f.space, s));

        const auto h = gemmOn("host-avx512");
        auto t = schedule::defaultSchedule(h.space);
        const auto parallelN = parseSet("parallel n\nnot parallel m\n");
        QVERIFY(!parallelN.allows(h.space, t, &why));
        QCOMPARE(QString::fromStdString(why), QString("breaks `parallel n`: n does not run in parallel"));
        parallelN.apply(h.space, t);
        QVERIFY(t.parallel[loop(h.space, "n")]);
        QVERIFY(!t.parallel[loop(h.space, "m")]);
        QVERIFY(parallelN.allows(h.space, t));
        QVERIFY(!schedule::illegal(h.space, t));
    }

    void capRejectsALevelUsedAboveIt() {
        const auto f = gemmOn("host-avx512");
        auto s = schedule::defaultSchedule(f.space);
        const double used = keptBytes(f.space, s, "l1");
        QVERIFY(used > 4096);
        const auto exact = std::to_string(static_cast<std::int64_t>(used));
        QVERIFY(parseSet("cap l1 <= " + exact + " B").allows(f.space, s));
        std::string why;
        QVERIFY(!parseSet("cap l1 <= " + std::to_string(static_cast<std::int64_t>(used) - 1) + " B").allows(f.space, s, &why));
        const auto below = std::to_string(static_cast<std::int64_t>(used) - 1);
        QVERIFY2(QString::fromStdString(why).startsWith(
                     QString::fromStdString("breaks `cap l1 <= " + below + " B`: the tiles kept there need ")),
                 why.c_str());
        // Double buffering doubles what the level holds.
        auto doubled = s;
        doubled.levels[level(f.space, "l1")].doubleBuffered = true;
        QVERIFY(!parseSet("cap l1 <= " + exact + " B").allows(f.space, doubled));
        QVERIFY(parseSet("cap l1 <= " + std::to_string(2 * static_cast<std::int64_t>(used)) + " B").allows(f.space, doubled));

        // apply shrinks the level's tiles under the cap, keeping the nest legal.
        const auto small = parseSet("cap l1 <= 4 KiB");
        QVERIFY(!small.allows(f.space, s, &why));
        QVERIFY2(QString::fromStdString(why).startsWith("breaks `cap l1 <= 4 KiB`: the tiles kept there need "), why.c_str());
        small.apply(f.space, s);
        QVERIFY(keptBytes(f.space, s, "l1") <= 4096);
        QVERIFY(tilesNest(f.space, s));
        QVERIFY2(small.allows(f.space, s, &why), why.c_str());
        const auto illegal = schedule::illegal(f.space, s);
        QVERIFY2(!illegal, illegal ? illegal->c_str() : "");
    }

    void pinsChooseTheCandidate() {
        const auto f = gemmOn("nnp-like");
        const auto& chosen = f.mapping.candidates.front();
        const auto byInstruction = parseSet("pin instruction " + chosen.instruction);
        const auto byKey = parseSet("pin candidate \"" + chosen.key + "\"");
        QVERIFY(byInstruction.allowsCandidate(chosen));
        QVERIFY(byKey.allowsCandidate(chosen));
        QVERIFY(byKey.allows(f.space, schedule::defaultSchedule(f.space)));
        int others = 0;
        for (const auto& c : f.mapping.candidates) {
            if (!c.valid || c.key == chosen.key)
                continue;
            ++others;
            std::string why;
            QVERIFY(!byKey.allowsCandidate(c, &why));
            QCOMPARE(why, "breaks `pin candidate \"" + chosen.key + "\"`: the candidate is \"" + c.key + "\"");
            QCOMPARE(byInstruction.allowsCandidate(c), c.instruction == chosen.instruction);
        }
        QVERIFY(others > 0);
        std::string why;
        const auto elsewhere = parseSet("pin instruction vfmadd_bcast_f32");
        QVERIFY(!elsewhere.allows(f.space, schedule::defaultSchedule(f.space), &why));
        QCOMPARE(why, "breaks `pin instruction vfmadd_bcast_f32`: the schedule uses instruction " + chosen.instruction);
    }

    void unknownNamesAreSaidInWords() {
        const auto f = gemmOn("nnp-like");
        const auto set = parseSet("tile q at l1 = 4\nkeep D in sram\norder at sram: m inside z\nparallel m\ncap sram <= 1 MiB\n");
        const auto unknown = set.unknownNames(f.space);
        QCOMPARE(unknown, std::vector<std::string>({
                              "`tile q at l1 = 4`: there is no loop 'q' (the loops are n, m, k)",
                              "`tile q at l1 = 4`: there is no memory level 'l1' (the levels are hbm, sram, acc)",
                              "`keep D in sram`: there is no operand 'D' (the operands are C, B, A)",
                              "`order at sram: m inside z`: there is no loop 'z' (the loops are n, m, k)",
                          }));
        QVERIFY(parseSet("parallel m\ncap sram <= 1 MiB\n").unknownNames(f.space).empty());
        // A constraint the space cannot even name is not silently met.
        std::string why;
        auto s = schedule::defaultSchedule(f.space);
        set.apply(f.space, s); // and apply leaves what it cannot name alone
        QVERIFY(!set.allows(f.space, s, &why));
        QCOMPARE(why, std::string("breaks `tile q at l1 = 4`: there is no loop 'q' (the loops are n, m, k)"));
    }

    // ---- conflicts ---------------------------------------------------------------------------------

    void conflictFindsTheMinimalSubset() {
        const auto f = gemmOn("nnp-like");
        const auto feasible = [&](const constraints::Set& set) { return someScheduleSatisfies(f.space, set); };

        const auto set = parseSet("tile m at sram = 2\ntile m at sram >= 4\nparallel m\nkeep B in sram\n");
        QVERIFY(!feasible(set));
        QCOMPARE(constraints::conflict(set, feasible), indices({0, 1}));

        // A conflict across levels (acc's m tile would need sram's to be as large), among constraints
        // that have nothing to do with it.
        const auto across = parseSet("not parallel n\nkeep C in acc\ntile m at acc >= 4\norder at sram: k innermost\n"
                                     "tile m at sram <= 2\n");
        QCOMPARE(constraints::conflict(across, feasible), indices({2, 4}));

        // A cap below what one instruction call accumulates (a 32x16 f32 tile of C, 2 KiB): the cap alone.
        const auto cramped = parseSet("keep C in acc\ncap acc <= 1 KiB\nparallel m\n");
        QCOMPARE(constraints::conflict(cramped, feasible), indices({1}));

        // Feasible: nothing to explain.
        const auto fine = parseSet("tile m at sram = 2\nparallel m\nkeep B in sram\norder at sram: m innermost\n");
        QVERIFY(feasible(fine));
        QVERIFY(constraints::conflict(fine, feasible).empty());
    }

    void conflictIsADeletionFilter() {
        // An oracle that only fails when both the second and the fourth constraint are present.
        const auto set = parseSet("parallel m\ntile m at l1 = 1\nparallel n\ntile m at l1 >= 2\nkeep B in l1\n");
        int calls = 0;
        const auto feasible = [&](const constraints::Set& s) {
            ++calls;
            bool fixed = false, bounded = false;
            for (const auto& c : s.items) {
                fixed = fixed || c.kind == Kind::TileEquals;
                bounded = bounded || c.kind == Kind::TileAtLeast;
            }
            return !(fixed && bounded);
        };
        QCOMPARE(constraints::conflict(set, feasible), indices({1, 3}));
        QCOMPARE(calls, 1 + 5); // the whole set, then one try per constraint
    }
};

QTEST_GUILESS_MAIN(TstConstraints)
#include "tst_constraints.moc"
