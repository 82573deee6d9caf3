// Code generation through LLVM: every generated kernel is run on this CPU through the real JIT and
// compared with the reference interpreter (measure::measureInProcess refuses a wrong answer), over
// the layouts, data types, edge cases and schedules that exercise each path of the emitter; and the
// measuring worker survives kernels that crash or hang.
#include "cli_process.h"
#include "codegen/codegen.h"
#include "codegen/jit.h"
#include "constraints/constraints.h"
#include "frontend/library.h"
#include "fusion/fusion.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "mapped_fixture.h"
#include "measure/graph.h"
#include "measure/measure.h"
#include "search/search.h"
#include "targets/catalog.h"
#include "targets/host.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <fstream>
#include <sstream>

using namespace isamap;

namespace {

// Verifies once, times nothing: enough to prove the code right.
measure::Options verifyOnly() {
    measure::Options o;
    o.minRuns = 1;
    o.minSeconds = 0;
    return o;
}

// Lowers each node of a graph at the default schedule of its first candidate with a space (a merged GRU
// step has none where the gates are lanes), element-wise nodes as plain loops, counting each kind.
// `edit` changes the kernel's text before the code is generated, to plant a wrong node.
measure::LowerNode defaultLowering(const ir::Target& target, int* elementwise = nullptr, int* mapped = nullptr,
                                   std::function<std::string(std::string)> edit = {}) {
    return [=](const ir::Node&, const ir::Kernel& node, std::string& e) -> std::unique_ptr<codegen::Code> {
        ir::Kernel k = node;
        if (edit) {
            auto parsed = ir::parse(ir::SourceFile{"edited", edit(ir::print(node))});
            if (parsed.module.kernels.size() != 1) {
                e = "the edited kernel does not parse";
                return nullptr;
            }
            k = parsed.module.kernels.front();
        }
        if (codegen::isElementwise(k)) {
            if (elementwise)
                ++*elementwise;
            return codegen::generateElementwise(k, {}, e);
        }
        if (mapped)
            ++*mapped;
        for (const auto& c : mapping::mapKernel(k, target).candidates)
            if (c.valid && c.statement == 0)
                if (auto space = schedule::makeSpace(k, target, c, e))
                    return codegen::generate(k, target, c, *space, schedule::defaultSchedule(*space), {}, e);
        return nullptr;
    };
}

struct Mapped {
    ir::Kernel kernel;
    ir::Target target;
    std::vector<mapping::Candidate> candidates; // the valid ones
};

// A kernel mapped on this CPU.
Mapped mapKernelOnHost(const ir::Kernel& kernel) {
    std::string error;
    auto t = targets::hostTarget(error);
    if (!t)
        qFatal("%s", error.c_str());
    Mapped out{kernel, t->target, {}};
    for (const auto& c : mapping::mapKernel(out.kernel, out.target).candidates)
        if (c.valid && c.statement == 0) // statements after the first fuse as its epilogue
            out.candidates.push_back(c);
    return out;
}

// The generator's first kernel, or the one named `kernel`, mapped on this CPU.
// Lines of `text` holding `what` (and `also`, when given).
int linesWith(const std::string& text, const std::string& what, const std::string& also = "") {
    std::istringstream lines(text);
    int count = 0;
    for (std::string line; std::getline(lines, line);)
        count += line.find(what) != std::string::npos && (also.empty() || line.find(also) != std::string::npos);
    return count;
}

// The shortest loop of `assembly` (from a label to the jump back to it) that holds `instruction`.
std::string innermostLoopWith(const std::string& assembly, const std::string& instruction) {
    std::vector<std::string> lines;
    std::istringstream in(assembly);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    std::map<std::string, std::size_t> labels;
    std::string best;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string& line = lines[i];
        if (!line.empty() && line[0] == '.' && line.back() == ':')
            labels[line.substr(0, line.size() - 1)] = i;
        const auto jump = line.find("\tj");
        const auto target = line.rfind('\t');
        if (jump == std::string::npos || target == std::string::npos || !labels.count(line.substr(target + 1)))
            continue;
        std::string body;
        for (std::size_t k = labels[line.substr(target + 1)]; k <= i; ++k)
            body += lines[k] + "\n";
        if (body.find(instruction) != std::string::npos && (best.empty() || body.size() < best.size()))
            best = body;
    }
    return best;
}

// True when the target's vector registers are AVX-512's 32 zmm (host-avx512 and its Zen 5 variant): the
// tests whose tiles are sized for that many registers skip elsewhere.
bool hasAvx512Registers(const ir::Target& target) {
    return std::any_of(target.memories.begin(), target.memories.end(),
                       [](const ir::Memory& m) { return m.name == "zmm" && m.registers == 32; });
}

Mapped mapOnHost(const std::string& generator, const frontend::Args& args, const std::string& kernel = "") {
    std::string error;
    auto m = frontend::generate(generator, args, error);
    if (!m)
        qFatal("%s", error.c_str());
    const auto named = std::find_if(m->kernels.begin(), m->kernels.end(), [&](const ir::Kernel& k) { return k.name == kernel; });
    return mapKernelOnHost(kernel.empty() || named == m->kernels.end() ? m->kernels[0] : *named);
}

// A GRU cell's recurrent gates with the element-wise tail fused into them (fusion.h), mapped on this CPU.
Mapped fusedGruStep(const frontend::Args& args) {
    std::string error;
    auto m = frontend::generate("gru_cell", args, error);
    if (!m)
        qFatal("%s", error.c_str());
    const auto fused = fusion::fuseEpilogues(*m, m->graphs.front());
    for (const auto& node : fused.graph.nodes)
        if (node.name == "recurrent_gates+tail")
            return mapKernelOnHost(*ir::nodeKernel(fused.module, fused.graph, node));
    qFatal("the GRU cell's tail did not fuse");
}

// Each node at its column sweep (the streamed schedule) through the first valid candidate that has one.
measure::LowerNode sweepLowering(const ir::Target& target) {
    return [target](const ir::Node&, const ir::Kernel& k, std::string& e) -> std::unique_ptr<codegen::Code> {
        for (const auto& c : mapping::mapKernel(k, target).candidates)
            if (c.valid && c.statement == 0)
                if (auto space = schedule::makeSpace(k, target, c, e))
                    if (auto s = schedule::streamedSchedule(*space))
                        return codegen::generate(k, target, c, *space, *s, {}, e);
        return nullptr;
    };
}

// The verdict on one schedule, with what went wrong in the failure message; checked against `shared`
// when given (made with verifyOnly()), as a graph node's proposals are.
void expectVerified(const Mapped& m, const mapping::Candidate& c, const schedule::Space& space,
                    const schedule::Schedule& s, const measure::Options& options = verifyOnly(),
                    measure::Reference* shared = nullptr) {
    const std::string where = m.kernel.name + " through " + c.key + ":\n" + schedule::printSchedule(space, s);
    const auto r = shared ? measure::measureInProcess(m.kernel, m.target, c, space, s, options, *shared)
                          : measure::measureInProcess(m.kernel, m.target, c, space, s, options);
    QVERIFY2(r.status == measure::Status::Ok, (where + "\n" + r.message).c_str());
    QVERIFY2(r.checkedElements > 0, where.c_str());
    QVERIFY(r.largestError <= r.tolerance);
}

// Every valid candidate's default schedule, plus schedules of spread quality from the search space
// (different tiles, orders, placements, parallel loops), all checked against one shared reference.
void verifyKernel(const std::string& generator, const frontend::Args& args, std::size_t sampled) {
    const Mapped m = mapOnHost(generator, args);
    QVERIFY2(!m.candidates.empty(), generator.c_str());
    measure::Reference reference(m.kernel, verifyOnly());
    for (const auto& c : m.candidates) {
        std::string error;
        auto space = schedule::makeSpace(m.kernel, m.target, c, error);
        QVERIFY2(space, error.c_str());
        expectVerified(m, c, *space, schedule::defaultSchedule(*space), verifyOnly(), &reference);
        if (QTest::currentTestFailed())
            return;
        for (const auto& e : search::spreadSample(*space, sampled, /*seed=*/7, /*evaluations=*/400)) {
            expectVerified(m, c, *space, e.schedule, verifyOnly(), &reference);
            if (QTest::currentTestFailed())
                return;
        }
    }
}

// The first candidate's default schedule, verified on a sample of its output however small it is.
measure::Result checkedOnASample(const Mapped& m) {
    std::string error;
    auto space = schedule::makeSpace(m.kernel, m.target, m.candidates.front(), error);
    if (!space)
        qFatal("%s", error.c_str());
    measure::Options o = verifyOnly();
    o.fullCheckPoints = 1000; // force the sampled check
    return measure::measureInProcess(m.kernel, m.target, m.candidates.front(), *space, schedule::defaultSchedule(*space), o);
}

} // namespace

class CodegenTest : public QObject {
    Q_OBJECT

private slots:
    void gemmLayoutsAndRaggedEdges_data() {
        QTest::addColumn<int>("M");
        QTest::addColumn<int>("N");
        QTest::addColumn<int>("K");
        QTest::addColumn<int>("ta");
        QTest::addColumn<int>("tb");
        QTest::newRow("divisible") << 64 << 32 << 48 << 0 << 0;
        QTest::newRow("ragged") << 37 << 23 << 19 << 0 << 0;
        QTest::newRow("A transposed, ragged") << 45 << 17 << 33 << 1 << 0;
        QTest::newRow("B transposed") << 48 << 20 << 16 << 0 << 1;
        QTest::newRow("both transposed, ragged") << 19 << 35 << 21 << 1 << 1;
        QTest::newRow("matrix-vector") << 70 << 1 << 64 << 0 << 0;
        QTest::newRow("one row") << 1 << 40 << 30 << 0 << 0;
    }
    void gemmLayoutsAndRaggedEdges() {
        QFETCH(int, M);
        QFETCH(int, N);
        QFETCH(int, K);
        QFETCH(int, ta);
        QFETCH(int, tb);
        verifyKernel("gemm", {{"M", M}, {"N", N}, {"K", K}, {"ta", ta}, {"tb", tb}}, 6);
    }

    // Dot-product instructions read interleaved pairs (bf16) or quads (int8): their operands are packed.
    void lowPrecisionGemm_data() {
        QTest::addColumn<int>("dtype");
        QTest::newRow("bf16 -> f32 (vdpbf16ps)") << 1;
        QTest::newRow("u8 x i8 -> i32 (vpdpbusd)") << 3;
    }
    void lowPrecisionGemm() {
        QFETCH(int, dtype);
        const Mapped m = mapOnHost("gemm", {{"M", 40}, {"N", 9}, {"K", 22}, {"dtype", dtype}});
        bool dotProduct = false;
        for (const auto& c : m.candidates)
            dotProduct = dotProduct || c.instruction.find("bcast") != std::string::npos;
        QVERIFY(dotProduct);
        verifyKernel("gemm", {{"M", 40}, {"N", 9}, {"K", 22}, {"dtype", dtype}}, 4);
    }

    // Pre-packed weights (packed = 1, and blocked by rows, packed = 2) are read in place: the first
    // candidate packs nothing, and the code is right over spread schedules and ragged edges.
    void prePackedWeights_data() {
        QTest::addColumn<int>("dtype");
        QTest::addColumn<int>("packed");
        QTest::newRow("bf16, [K/2, M, 2]") << 1 << 1;
        QTest::newRow("u8 x i8, [K/4, M, 4]") << 3 << 1;
        QTest::newRow("u8 x i8, [M/16, K/4, 16, 4]") << 3 << 2;
        QTest::newRow("bf16, [M/16, K/2, 16, 2]") << 1 << 2;
    }
    void prePackedWeights() {
        QFETCH(int, dtype);
        QFETCH(int, packed);
        const frontend::Args args{{"M", 48}, {"N", 5}, {"K", 24}, {"dtype", dtype}, {"packed", packed}};
        const Mapped m = mapOnHost("gemm", args);
        QVERIFY(!m.candidates.empty());
        QVERIFY2(m.candidates.front().layoutChanges.empty(), m.candidates.front().key.c_str());
        std::string error;
        auto space = schedule::makeSpace(m.kernel, m.target, m.candidates.front(), error);
        QVERIFY(space);
        auto code = codegen::generate(m.kernel, m.target, m.candidates.front(), *space, schedule::defaultSchedule(*space), {}, error);
        QVERIFY2(code, error.c_str());
        for (const auto& line : code->decisions().lines)
            QVERIFY2(line.find("packed into") == std::string::npos, line.c_str());
        verifyKernel("gemm", args, 3);
    }

    // Padding reads the zero halo; strides and overlapping windows go through the packing.
    void convolutions() {
        verifyKernel("conv2d", {{"C", 5}, {"K", 20}, {"H", 7}, {"W", 6}, {"R", 3}, {"S", 3}, {"pad", 1}}, 2);
        verifyKernel("conv2d", {{"C", 4}, {"K", 17}, {"H", 9}, {"W", 9}, {"stride", 2}, {"nhwc", 1}}, 2);
        verifyKernel("depthwise", {{"C", 18}, {"H", 8}, {"W", 8}, {"pad", 1}}, 2);
    }

    // Element-wise kernels (statements, temporaries, sigmoid and tanh) lower as plain loops; a GRU
    // sequence runs through its node kernels (default schedules, slices of the graph's tensors).
    // Each step's tail fuses into its recurrent gates (one kernel for every step), the gates written at
    // plain indices or, with blocked weights, at `16*jb + ji`.
    void gruSequenceRunsThroughGeneratedCode_data() {
        QTest::addColumn<int>("wt");
        QTest::addColumn<int>("hidden");
        QTest::newRow("output-major") << 0 << 40;
        QTest::newRow("input-major") << 1 << 40;
        QTest::newRow("blocked input-major") << 2 << 48; // blocks of 16 outputs
        QTest::newRow("gates inside blocks") << 3 << 48;
    }
    void gruSequenceRunsThroughGeneratedCode() {
        QFETCH(int, wt);
        QFETCH(int, hidden);
        std::string error;
        auto module = frontend::generate("gru_sequence", {{"H", hidden}, {"B", 3}, {"T", 3}, {"wt", wt}}, error);
        auto host = targets::hostTarget(error);
        QVERIFY2(module && host, error.c_str());
        int elementwise = 0, mapped = 0;
        measure::GraphRunner runner(*module, defaultLowering(host->target, &elementwise, &mapped));
        const auto r = runner.verify(module->graphs.front(), verifyOnly());
        QVERIFY2(r.status == measure::Status::Ok, r.message.c_str());
        // Node by node: the input gates of the 3 steps (3 x 3 x 3H), and each step's recurrent gates (the
        // graph's GH, which the merged step still writes) and state (3 x 3 x H).
        QCOMPARE(r.checkedElements, static_cast<std::int64_t>(27 * hidden + 27 * hidden + 9 * hidden));
        QVERIFY(r.largestError < 1e-5);
        // Seven nodes: the input gates, then per step the recurrent gates and the tail, fused or apart.
        QCOMPARE(runner.compiledKernels(), 2);
        QCOMPARE(runner.fusedPairs(), 3);
        QCOMPARE(elementwise, 0);
        QCOMPARE(mapped, 2);
        const auto timed = runner.time(module->graphs.front(), verifyOnly(), 1e6);
        QCOMPARE(timed.status, measure::Status::Ok);
        QVERIFY(timed.secondsMedian > 0);
        // A graph's share of peak is read as a kernel's: its GFLOP/s over the FMA peak of the threads it ran on.
        // The default lowering splits each kernel's parallel loop over the target's cores.
        const auto* core = host->target.findUnit("core");
        QVERIFY(core);
        QCOMPARE(timed.threads, static_cast<int>(core->count));
        // The peak comes from the user's cache; where that cannot be written it is measured again, a
        // few percent apart.
        QVERIFY(timed.peakGflops > 0);
        QVERIFY(std::abs(timed.peakGflops / (measure::peakGflopsPerThread() * timed.threads) - 1) < 0.25);
        QCOMPARE(timed.peakFraction, timed.gflops / timed.peakGflops);
    }

    // A cached peak that does not say it is the fastest run (the median of the runs, written before
    // the peak was the fastest) is measured again and written back, saying so.
    void aCachedPeakFromTheMedianIsMeasuredAgain() {
        QTemporaryDir cache;
        QVERIFY(cache.isValid());
        const QByteArray before = qgetenv("XDG_CACHE_HOME");
        qputenv("XDG_CACHE_HOME", cache.path().toUtf8());
        const std::string file = cache.path().toStdString() + "/isamap-studio-fma-peak";
        std::ofstream(file) << targets::detectHost().name << " 1.5\n";
        const double peak = measure::peakGflopsPerThread();
        std::ifstream in(file);
        std::string name, how;
        double written = 0;
        in >> name >> written >> how;
        if (before.isNull())
            qunsetenv("XDG_CACHE_HOME");
        else
            qputenv("XDG_CACHE_HOME", before);
        QVERIFY(peak > 1.5);
        QVERIFY(std::abs(written / peak - 1) < 1e-5); // as written, six digits
        QCOMPARE(how, std::string("fastest"));
    }

    // A node of more iteration points than Options::fullCheckPoints is checked on a sample of its
    // output: here the input gates of the three steps (62208 points over a limit of 30000) at 256
    // random elements and the two corners, the steps (20736 points each) whole.
    void aLargeNodeIsCheckedOnASample() {
        std::string error;
        auto module = frontend::generate("gru_sequence", {{"H", 48}, {"B", 3}, {"T", 3}, {"wt", 3}}, error);
        auto host = targets::hostTarget(error);
        QVERIFY2(module && host, error.c_str());
        measure::GraphRunner runner(*module, defaultLowering(host->target));
        measure::Options options = verifyOnly();
        options.fullCheckPoints = 30000;
        const auto r = runner.verify(module->graphs.front(), options);
        QVERIFY2(r.status == measure::Status::Ok, r.message.c_str());
        QVERIFY(r.sampled);
        QCOMPARE(r.checkedElements, static_cast<std::int64_t>(options.sampledOutputs + 2 + 27 * 48 + 9 * 48));
        QVERIFY(r.largestError < 1e-5);
        QVERIFY(!runner.verify(module->graphs.front(), verifyOnly()).sampled);
    }

    // Fifty steps of a GRU with random weights amplify f32's rounding: H = 256 gives states of the
    // opposite sign to the interpreter's run of the whole graph at the end, every step being right.
    // Checked node by node, on the inputs the generated code gave each step, the graph passes with
    // every step's difference within the kernel rule.
    void aLongRecurrenceIsVerifiedNodeByNode() {
        std::string error;
        auto module = frontend::generate("gru_sequence", {{"H", 256}, {"B", 1}, {"T", 50}, {"wt", 3}}, error);
        auto host = targets::hostTarget(error);
        QVERIFY2(module && host, error.c_str());
        measure::GraphRunner runner(*module, defaultLowering(host->target));
        std::vector<double> heard; // the progress: one report per step (the input gates, then 50 steps)
        std::string last;
        const auto r = runner.verify(module->graphs.front(), verifyOnly(), [&](double fraction, const std::string& node) {
            heard.push_back(fraction);
            last = node;
        });
        QVERIFY2(r.status == measure::Status::Ok, r.message.c_str());
        QCOMPARE(r.checkedElements, static_cast<std::int64_t>(2 * 50 * 3 * 256 + 50 * 256)); // GX, GH, HS
        QCOMPARE(heard.size(), std::size_t{51});
        QVERIFY(std::is_sorted(heard.begin(), heard.end()));
        QCOMPARE(heard.back(), 1.0);
        QCOMPARE(last, std::string("recurrent49+tail49"));
        QVERIFY(r.largestError < 1e-4);
    }

    // Each GRU step runs the same code over the same weights as the step before, and every second one
    // takes its blocks of outputs backwards, starting on the weights the step before read last: on one
    // worker and on each of two. Every step is still right. Asked not to, the runner takes every step
    // forwards.
    void recurrentStepsAlternateTheirDirection() {
        std::string error;
        auto module = frontend::generate("gru_sequence", {{"H", 256}, {"B", 1}, {"T", 5}, {"wt", 3}}, error);
        auto host = targets::hostTarget(error);
        QVERIFY2(module && host, error.c_str());
        for (int cores : {1, 2}) {
            for (bool alternate : {true, false}) {
                measure::GraphRunner runner(*module, sweepLowering(targets::withCores(host->target, cores)), true,
                                            alternate ? measure::Sweeps::Alternating : measure::Sweeps::Forwards);
                const auto r = runner.verify(module->graphs.front(), verifyOnly());
                QVERIFY2(r.status == measure::Status::Ok, r.message.c_str());
                QCOMPARE(runner.fusedPairs(), 5);
                QCOMPARE(runner.alternatedSteps(), alternate ? 2 : 0); // steps 1 and 3 of 0..4
                std::string report;
                for (const auto& line : runner.fusionReport())
                    report += line + "\n";
                QCOMPARE(report.find("backwards") != std::string::npos, alternate);
            }
        }
    }

    // By default the runner times whole runs both ways, in pairs, and alternates only where that is
    // faster: the steps it then profiles go the way it chose, and its report says which, with both times.
    void recurrentStepsAlternateWhereThatIsFaster() {
        std::string error;
        auto module = frontend::generate("gru_sequence", {{"H", 256}, {"B", 1}, {"T", 5}, {"wt", 3}}, error);
        auto host = targets::hostTarget(error);
        QVERIFY2(module && host, error.c_str());
        measure::GraphRunner runner(*module, sweepLowering(targets::withCores(host->target, 1)));
        const auto steps = runner.profile(module->graphs.front(), verifyOnly(), 3, error);
        QVERIFY2(steps.size() == 6, error.c_str());
        const double ratio = runner.alternatingOverForwards();
        QVERIFY(ratio > 0);
        const bool alternated = ratio < 1;
        QCOMPARE(runner.alternatedSteps(), alternated ? 2 : 0);
        for (int t = 0; t < 5; ++t)
            QCOMPARE(steps[static_cast<std::size_t>(t + 1)].backwards, alternated && t % 2 == 1);
        std::string report;
        for (const auto& line : runner.fusionReport())
            report += line + "\n";
        const std::string said = alternated ? "ran 2 node(s) backwards" : "ran every node forwards: taking 2 node(s) backwards";
        QVERIFY2(report.find(said) != std::string::npos, report.c_str());
        QVERIFY2(report.find(" all forwards (medians of ") != std::string::npos, report.c_str());
        // A graph only checked is not timed either way: its steps alternate, and its report says so.
        measure::GraphRunner checker(*module, sweepLowering(targets::withCores(host->target, 1)));
        QCOMPARE(checker.verify(module->graphs.front(), verifyOnly()).status, measure::Status::Ok);
        QCOMPARE(checker.alternatingOverForwards(), 0.0);
        QCOMPARE(checker.alternatedSteps(), 2);
        QVERIFY(!checker.fusionReport().empty());
        QVERIFY2(checker.fusionReport().back().rfind("checked 2 node(s) backwards", 0) == 0, checker.fusionReport().back().c_str());
        // Nothing to decide where no step repeats another's code over the same input.
        auto single = frontend::generate("gru_sequence", {{"H", 256}, {"B", 1}, {"T", 1}, {"wt", 3}}, error);
        measure::GraphRunner one(*single, sweepLowering(targets::withCores(host->target, 1)));
        QCOMPARE(one.verify(single->graphs.front(), verifyOnly()).status, measure::Status::Ok);
        QCOMPARE(one.alternatingOverForwards(), 0.0);
    }

    // Where a run's time goes: each step timed on its own inside whole runs, in the order they ran. The
    // recurrence's steps share one code and take turns in direction, and together the steps take about
    // what a whole run takes (had each step's figure been a whole run's, they would add up to six).
    void aGraphRunIsProfiledStepByStep() {
        std::string error;
        auto module = frontend::generate("gru_sequence", {{"H", 256}, {"B", 1}, {"T", 5}, {"wt", 3}}, error);
        auto host = targets::hostTarget(error);
        QVERIFY2(module && host, error.c_str());
        measure::GraphRunner runner(*module, sweepLowering(targets::withCores(host->target, 1)), true, measure::Sweeps::Alternating);
        const auto steps = runner.profile(module->graphs.front(), measure::Options{}, 20, error);
        QVERIFY2(steps.size() == 6, error.c_str()); // the input product, then 5 steps with their tails fused
        QCOMPARE(steps[0].nodes, std::string("input_gates"));
        QCOMPARE(steps[0].code, 0);
        for (int t = 0; t < 5; ++t) {
            const auto& step = steps[static_cast<std::size_t>(t + 1)];
            QCOMPARE(step.nodes, "recurrent" + std::to_string(t) + "+tail" + std::to_string(t));
            QCOMPARE(step.code, 1);
            QCOMPARE(step.backwards, t % 2 == 1);
        }
        double together = 0;
        for (const auto& step : steps) {
            QVERIFY(step.seconds > 0);
            together += step.seconds;
        }
        measure::Options o;
        o.minRuns = 200;
        o.minSeconds = 0;
        const auto whole = runner.time(module->graphs.front(), o, 0);
        QVERIFY2(whole.status == measure::Status::Ok, whole.message.c_str());
        const std::string figures = std::to_string(together) + " s by step, " + std::to_string(whole.secondsMedian) + " s whole";
        QVERIFY2(together > 0.25 * whole.secondsMedian && together < 4 * whole.secondsMedian, figures.c_str());
    }

    // `isamap graph` on a recurrence puts its steps on one line where the time goes, with each direction's
    // median; --no-alternate runs them all forwards and says nothing of directions; by default it says
    // which way it found faster.
    void graphCommandProfilesARecurrence() {
        const QStringList args{"graph", "gru_sequence", "H=256", "B=1", "T=4", "wt=3", "--target", "host", "--threads", "1",
                               "--budget", "100", "--runs", "1", "--pick", "model"};
        auto chosen = testing::isamapCli(args);
        QVERIFY2(chosen.status == 0, qPrintable(chosen.err));
        QVERIFY2(chosen.out.contains(QRegularExpression("ran (2 node\\(s\\) backwards|every node forwards).* all forwards \\(medians of [0-9]+ pairs")),
                 qPrintable(chosen.out));
        auto alternating = testing::isamapCli(args + QStringList{"--alternate"});
        QVERIFY2(alternating.status == 0, qPrintable(alternating.err));
        QVERIFY2(alternating.out.contains("(the column sweep)"), qPrintable(alternating.out));
        QVERIFY2(alternating.out.contains("ran 2 node(s) backwards"), qPrintable(alternating.out));
        QVERIFY2(alternating.out.contains("recurrent0+tail0 .. recurrent3+tail3 (4 nodes)"), qPrintable(alternating.out));
        QVERIFY2(alternating.out.contains("; forwards ") && alternating.out.contains(", backwards "), qPrintable(alternating.out));
        auto forwards = testing::isamapCli(args + QStringList{"--no-alternate"});
        QVERIFY2(forwards.status == 0, qPrintable(forwards.err));
        QVERIFY2(forwards.out.contains("recurrent0+tail0 .. recurrent3+tail3 (4 nodes)"), qPrintable(forwards.out));
        QVERIFY2(!forwards.out.contains("backwards"), qPrintable(forwards.out));
        QVERIFY2(!forwards.out.contains("the first 10 together"), qPrintable(forwards.out));
        // Twenty steps or more: the first ten together, against ten at the median, to show how long
        // the steps take to settle.
        QStringList longer = args;
        longer.replace(longer.indexOf("T=4"), "T=20");
        auto twenty = testing::isamapCli(longer + QStringList{"--no-alternate"});
        QVERIFY2(twenty.status == 0, qPrintable(twenty.err));
        const auto seconds = [](const QString& number, const QString& unit) {
            return number.toDouble() * (unit == "s" ? 1.0 : unit == "ms" ? 1e-3 : 1e-6);
        };
        const auto settling = QRegularExpression(R"(each ([0-9.]+) (us|ms|s) \(median\), the slowest \S+ at ([0-9.]+) (us|ms|s); )"
                                                 R"(the first 10 together ([0-9.]+) (us|ms|s), against ([0-9.]+) (us|ms|s) for 10 at the median)")
                                  .match(twenty.out);
        QVERIFY2(settling.hasMatch(), qPrintable(twenty.out));
        const double middle = seconds(settling.captured(1), settling.captured(2));
        const double slowest = seconds(settling.captured(3), settling.captured(4));
        const double first = seconds(settling.captured(5), settling.captured(6));
        const double tenAtMedian = seconds(settling.captured(7), settling.captured(8));
        QVERIFY2(std::abs(tenAtMedian - 10 * middle) <= 0.01 * tenAtMedian, qPrintable(twenty.out));
        // Ten steps, no more: no slower than ten of the slowest.
        QVERIFY2(first > 0 && first <= 1.01 * 10 * slowest, qPrintable(twenty.out));
    }

    // Verified, timed and profiled, a graph is prepared once when the runner keeps it, and each time
    // when it does not; a different graph is prepared anew.
    void aKeptGraphIsPreparedOnce() {
        std::string error;
        auto module = frontend::generate("gru_sequence", {{"H", 32}, {"B", 2}, {"T", 3}, {"wt", 3}}, error);
        auto shorter = frontend::generate("gru_sequence", {{"H", 32}, {"B", 2}, {"T", 2}, {"wt", 3}}, error);
        auto host = targets::hostTarget(error);
        QVERIFY2(module && shorter && host, error.c_str());
        for (const bool keep : {true, false}) {
            measure::GraphRunner runner(*module, defaultLowering(host->target));
            runner.keepPrepared(keep);
            const ir::Graph& graph = module->graphs.front();
            QCOMPARE(runner.verify(graph, verifyOnly()).status, measure::Status::Ok);
            QCOMPARE(runner.time(graph, verifyOnly(), 1e6).status, measure::Status::Ok);
            QVERIFY2(!runner.profile(graph, verifyOnly(), 2, error).empty(), error.c_str());
            QCOMPARE(runner.preparations(), keep ? 1 : 3);
            QCOMPARE(runner.time(shorter->graphs.front(), verifyOnly(), 1e6).status, measure::Status::Ok);
            QCOMPARE(runner.preparations(), keep ? 2 : 4);
        }
    }

    // Schedules checked against one shared reference each start from its inputs, whatever the ones
    // before wrote: an accumulating (inout) output starts from its random values every time, not from
    // the interpreter's result or another schedule's, though they run on the same refilled memory.
    void aSharedReferenceKeepsItsInputs() {
        const auto parsed = ir::parse(ir::SourceFile{"acc", R"(kernel gemm_acc(M = 40, N = 12, K = 24) {
  dim m < M, n < N
  reduce k < K
  in A : f32[M, K] col_major
  in B : f32[K, N] col_major
  inout C : f32[M, N] col_major
  C[m, n] += A[m, k] * B[k, n]
}
)"});
        QVERIFY(parsed.diagnostics.empty());
        const Mapped m = mapKernelOnHost(parsed.module.kernels.front());
        QVERIFY(!m.candidates.empty());
        std::string error;
        auto space = schedule::makeSpace(m.kernel, m.target, m.candidates.front(), error);
        QVERIFY2(space, error.c_str());
        measure::Reference reference(m.kernel, verifyOnly());
        expectVerified(m, m.candidates.front(), *space, schedule::defaultSchedule(*space), verifyOnly(), &reference);
        for (const auto& e : search::spreadSample(*space, 3, /*seed=*/11, /*evaluations=*/200))
            expectVerified(m, m.candidates.front(), *space, e.schedule, verifyOnly(), &reference);
        QCOMPARE(reference.tensorsMade(), std::size_t{3}); // A, B and C, refilled for each schedule after the first
        // Dropped, the kept tensors are made anew in fresh memory for the next check, from the same inputs.
        reference.dropTensors();
        expectVerified(m, m.candidates.front(), *space, schedule::defaultSchedule(*space), verifyOnly(), &reference);
        QCOMPARE(reference.tensorsMade(), std::size_t{6});
        // Above Options::fullCheckPoints the sampled reference refuses an inout accumulation (its
        // output starts from its own values); the check then runs the kernel whole instead.
        measure::Options sampling = verifyOnly();
        sampling.fullCheckPoints = 1000;
        const auto r = measure::measureInProcess(m.kernel, m.target, m.candidates.front(), *space,
                                                 schedule::defaultSchedule(*space), sampling);
        QVERIFY2(r.status == measure::Status::Ok, r.message.c_str());
        QVERIFY(!r.sampled);
        QCOMPARE(r.checkedElements, static_cast<std::int64_t>(40 * 12));
    }

    // A node whose code computes something else (its sigmoids made tanh) is named, with the element
    // where it differs from the interpreter's run of that node on the same inputs.
    void aWrongNodeIsNamed() {
        std::string error;
        auto module = frontend::generate("gru_sequence", {{"H", 48}, {"B", 2}, {"T", 3}, {"wt", 3}}, error);
        auto host = targets::hostTarget(error);
        QVERIFY2(module && host, error.c_str());
        auto tanhForSigmoid = [](std::string text) {
            for (auto at = text.find("sigmoid("); at != std::string::npos; at = text.find("sigmoid(", at))
                text.replace(at, 7, "tanh");
            return text;
        };
        measure::GraphRunner runner(*module, defaultLowering(host->target, nullptr, nullptr, tanhForSigmoid));
        const auto r = runner.verify(module->graphs.front(), verifyOnly());
        QCOMPARE(r.status, measure::Status::Mismatch);
        QVERIFY2(r.message.find("node recurrent0+tail0 wrote") == 0, r.message.c_str());
        QVERIFY2(r.message.find(" at HS[0, ") != std::string::npos, r.message.c_str());
        measure::GraphRunner right(*module, defaultLowering(host->target));
        QCOMPARE(right.verify(module->graphs.front(), verifyOnly()).status, measure::Status::Ok);
    }

    // Blocked GRU weights (wt = 2) write the gates at `128*jb + ji`: generated code over spread
    // schedules, and the sampled reference, which takes the index apart again.
    void blockedGruWeights() {
        verifyKernel("gru_cell", {{"H", 96}, {"B", 2}, {"wt", 2}}, 2);
        const auto r = checkedOnASample(mapOnHost("gru_cell", {{"H", 256}, {"B", 2}, {"wt", 2}}));
        QVERIFY2(r.status == measure::Status::Ok, r.message.c_str());
        QVERIFY(r.sampled);
    }

    // Element-wise statements after the mapped one run as an epilogue on the register tiles: a bias and
    // each activation, sizes that do not divide, schedules of spread quality (whose reductions are
    // split around the register sweep, so the epilogue must wait for the last visit).
    void epiloguesFuseIntoTheProducer() {
        verifyKernel("fully_connected", {{"BATCH", 13}, {"IN", 37}, {"OUT", 45}, {"act", 1}}, 3);
        verifyKernel("fully_connected", {{"BATCH", 8}, {"IN", 20}, {"OUT", 33}, {"act", 2}}, 1);
        verifyKernel("fully_connected", {{"BATCH", 5}, {"IN", 16}, {"OUT", 40}, {"act", 3}, {"bias", 0}}, 1);
        const Mapped m = mapOnHost("fully_connected", {{"BATCH", 64}, {"IN", 512}, {"OUT", 700}, {"act", 2}});
        std::string error;
        auto space = schedule::makeSpace(m.kernel, m.target, m.candidates.front(), error);
        QVERIFY(space);
        auto code = codegen::generate(m.kernel, m.target, m.candidates.front(), *space, schedule::defaultSchedule(*space), {}, error);
        QVERIFY2(code, error.c_str());
        bool said = false;
        for (const auto& line : code->decisions().lines)
            said = said || line.find("fused as an epilogue") != std::string::npos;
        QVERIFY(said);
        // Checked on a sample: the reference applies the epilogue at each sampled point.
        const auto r = checkedOnASample(m);
        QVERIFY2(r.status == measure::Status::Ok, r.message.c_str());
        QVERIFY(r.sampled);
        QVERIFY(r.worstAt.rfind("Y[", 0) == 0);
    }

    // A GRU step's three gates and their tail in one kernel: the tail reads the three gates of one
    // hidden unit together, so each candidate's space holds the gates whole in the register tile, and
    // the epilogue combines their three accumulators. Verified on every candidate's default schedule,
    // spread schedules, the analytical ones, and on a sample of a larger step.
    void gruGatesAndTailFuse_data() {
        QTest::addColumn<int>("wt");
        QTest::addColumn<int>("hidden");
        QTest::newRow("input-major") << 1 << 72;
        QTest::newRow("gates inside blocks") << 3 << 64; // written at 16*jb + ji (blocks of 16 at batch 3)
    }
    void gruGatesAndTailFuse() {
        QFETCH(int, wt);
        QFETCH(int, hidden);
        const Mapped m = fusedGruStep({{"H", hidden}, {"B", 3}, {"I", 50}, {"wt", wt}});
        QCOMPARE(m.kernel.statements.size(), std::size_t{5});
        QVERIFY(m.kernel.findTensor("G")->role == ir::TensorRole::Tmp);
        int spaces = 0;
        for (const auto& c : m.candidates) {
            std::string error;
            auto space = schedule::makeSpace(m.kernel, m.target, c, error);
            if (!space) { // a candidate that maps the gates into the instruction's lanes, or has no room for them
                QVERIFY2(error.find("whole in one register tile") != std::string::npos, error.c_str());
                continue;
            }
            ++spaces;
            QCOMPARE(space->wholeInRegisters.size(), std::size_t{1});
            const auto gates = static_cast<std::size_t>(space->wholeInRegisters.front());
            QCOMPARE(space->dims[gates].name, std::string("g"));
            std::vector<schedule::Schedule> schedules{schedule::defaultSchedule(*space)};
            for (const auto& e : search::spreadSample(*space, 3, /*seed=*/7, /*evaluations=*/400))
                schedules.push_back(e.schedule);
            for (const auto& a : schedule::analyticalSchedules(*space))
                schedules.push_back(a.schedule);
            for (const auto& s : schedules) {
                QCOMPARE(s.levels.back().tiles[gates], std::int64_t{3});
                expectVerified(m, c, *space, s);
                if (QTest::currentTestFailed())
                    return;
            }
            auto code = codegen::generate(m.kernel, m.target, c, *space, schedules.front(), {}, error);
            QVERIFY2(code, error.c_str());
            bool said = false;
            for (const auto& line : code->decisions().lines)
                said = said || line.find("combine the accumulators across g") != std::string::npos;
            QVERIFY(said);
            // One gate per register tile cannot feed the tail.
            auto split = schedules.front();
            split.levels.back().tiles[gates] = 1;
            const auto why = schedule::illegal(*space, split);
            QVERIFY(why && why->find("whole extent") != std::string::npos);
        }
        QVERIFY(spaces > 0);
        const auto r = checkedOnASample(fusedGruStep({{"H", 256}, {"B", 2}, {"wt", wt}}));
        QVERIFY2(r.status == measure::Status::Ok, r.message.c_str());
        QVERIFY(r.sampled);
        QVERIFY2(r.worstAt.rfind("Hn[", 0) == 0, r.worstAt.c_str());
    }

    // At batch 1 nothing in a GRU step's register tile reuses the weights, so each vector of them holds a
    // register for one call only: the column sweep reads four blocks of 32 outputs side by side (four
    // streams through memory), its loop over the inputs with 24 accumulators in registers and no spill
    // (the tail after it, once per 512 inputs, does spill). At batch 2 and 4 the weights come in blocks
    // of 16 outputs, each weight vector feeding one call per row, and the tile reads two blocks.
    void aMatrixVectorSweepReadsBlocksSideBySide() {
        for (std::int64_t batch : {1, 2, 4}) {
            const Mapped m = fusedGruStep({{"H", 512}, {"B", batch}, {"wt", 3}});
            if (!hasAvx512Registers(m.target))
                QSKIP("the tile is sized for AVX-512's 32 vector registers");
            std::string error;
            auto space = schedule::makeSpace(m.kernel, targets::withCores(m.target, 1), m.candidates.front(), error);
            QVERIFY2(space, error.c_str());
            const auto sweep = schedule::streamedSchedule(*space);
            QVERIFY(sweep);
            const auto jb = static_cast<std::size_t>(testing::dimIndex(*space, "jb"));
            QCOMPARE(sweep->levels.back().tiles[jb], batch == 4 ? std::int64_t(2) : std::int64_t(4));
            expectVerified(m, m.candidates.front(), *space, *sweep);
            auto code = codegen::generate(m.kernel, m.target, m.candidates.front(), *space, *sweep, {}, error);
            QVERIFY2(code, error.c_str());
            const std::string loop = innermostLoopWith(code->assembly(error), "vfmadd231ps");
            // 3 gates x 2 vectors x 4 blocks of 32; 3 gates x 4 blocks of 16 x 2 rows; 3 x 2 blocks x 4 rows
            QCOMPARE(linesWith(loop, "vfmadd231ps"), 24);
            QCOMPARE(linesWith(loop, "(%rsp)"), 0);
        }
        // The gates without the tail hold all three gates in the tile too, which makes the weights one run.
        const Mapped gates = mapOnHost("gru_cell", {{"H", 512}, {"B", 1}, {"wt", 3}});
        std::string error;
        auto space = schedule::makeSpace(gates.kernel, targets::withCores(gates.target, 1), gates.candidates.front(), error);
        QVERIFY2(space, error.c_str());
        const auto sweep = schedule::streamedSchedule(*space);
        QVERIFY(sweep);
        QCOMPARE(sweep->levels.back().tiles[static_cast<std::size_t>(testing::dimIndex(*space, "g"))], std::int64_t(3));
        expectVerified(gates, gates.candidates.front(), *space, *sweep);
    }

    // The GRU input product's Goto tile with the gates taken in (goto-2x4x3: 2 vectors of outputs by 3
    // gates by 4 steps) computes what the interpreter does, and its reduction loop holds the 24
    // accumulators in registers: 24 FMAs and no stack access.
    void aGotoTileTakesInTheGates() {
        const Mapped m = mapOnHost("gru_sequence", {{"H", 256}, {"B", 2}, {"T", 8}, {"wt", 3}}, "gru_input_gates");
        if (!hasAvx512Registers(m.target))
            QSKIP("the tile is sized for AVX-512's 32 vector registers");
        std::string error;
        auto space = schedule::makeSpace(m.kernel, targets::withCores(m.target, 1), m.candidates.front(), error);
        QVERIFY2(space, error.c_str());
        const auto named = schedule::analyticalSchedules(*space);
        const auto wide = std::find_if(named.begin(), named.end(), [](const auto& a) { return a.name == "goto-2x4x3"; });
        QVERIFY(wide != named.end());
        expectVerified(m, m.candidates.front(), *space, wide->schedule);
        auto code = codegen::generate(m.kernel, m.target, m.candidates.front(), *space, wide->schedule, {}, error);
        QVERIFY2(code, error.c_str());
        const std::string loop = innermostLoopWith(code->assembly(error), "vfmadd231ps");
        QCOMPARE(linesWith(loop, "vfmadd231ps"), 24);
        QCOMPARE(linesWith(loop, "(%rsp)"), 0);
    }

    void epiloguesThatAreNotPointwiseAreRefused() {
        std::string error;
        const auto parsed = ir::parse(ir::SourceFile{"tail.isa", R"(kernel transposed_tail(M = 8, N = 8, K = 8) {
  dim m < M, n < N
  reduce k < K
  in A : f32[M, K]
  in B : f32[K, N]
  out C : f32[M, N]
  out D : f32[M, N]
  C[m, n] += A[m, k] * B[k, n]
  D[m, n] = C[n, m]
})"});
        QVERIFY(parsed.diagnostics.empty());
        const auto& module = parsed.module;
        auto host = targets::hostTarget(error);
        QVERIFY(host);
        const auto r = mapping::mapKernel(module.kernels[0], host->target);
        const auto c = std::find_if(r.candidates.begin(), r.candidates.end(), [](const auto& x) { return x.valid && x.statement == 0; });
        QVERIFY(c != r.candidates.end());
        auto space = schedule::makeSpace(module.kernels[0], host->target, *c, error);
        QVERIFY(space);
        auto code = codegen::generate(module.kernels[0], host->target, *c, *space, schedule::defaultSchedule(*space), {}, error);
        QVERIFY(!code);
        QVERIFY2(error.find("reads C at other indices") != std::string::npos, error.c_str());
    }

    // A graph's bias-and-ReLU nodes fold into the convolutions before them: two kernels instead of four,
    // the same values as the interpreter's run of the original graph, and the same without fusion.
    void graphNodesFuse() {
        std::string error;
        auto module = frontend::generate("dwsep", {{"C", 16}, {"K", 24}, {"H", 9}, {"W", 7}, {"pad", 1}, {"nhwc", 1}, {"act", 1}}, error);
        auto host = targets::hostTarget(error);
        QVERIFY2(module && host, error.c_str());
        const ir::Graph& graph = module->graphs.front();
        const auto fused = fusion::fuseEpilogues(*module, graph);
        QCOMPARE(fused.fusedPairs, 2);
        QCOMPARE(fused.graph.nodes.size(), std::size_t{2});
        interp::Buffers original = interp::randomInputs(graph, 3);
        interp::Buffers merged = interp::randomInputs(graph, 3);
        QVERIFY(!interp::run(graph, *module, original));
        QVERIFY(!interp::run(fused.graph, fused.module, merged));
        const auto& want = original.at("Y");
        double largest = 0;
        want.forEach([&](const std::vector<std::int64_t>& i) { largest = std::max(largest, std::fabs(want.at(i) - merged.at("Y").at(i))); });
        QCOMPARE(largest, 0.0);
        auto lower = [&](const ir::Node&, const ir::Kernel& k, std::string& e) -> std::unique_ptr<codegen::Code> {
            if (codegen::isElementwise(k))
                return codegen::generateElementwise(k, {}, e);
            const auto r = mapping::mapKernel(k, host->target);
            const auto c = std::find_if(r.candidates.begin(), r.candidates.end(), [](const auto& x) { return x.valid && x.statement == 0; });
            auto space = schedule::makeSpace(k, host->target, *c, e);
            return space ? codegen::generate(k, host->target, *c, *space, schedule::defaultSchedule(*space), {}, e) : nullptr;
        };
        // A merged kernel alone, its intermediate a temporary the code gets as scratch.
        const ir::Kernel& mergedKernel = *fused.module.findKernel(fused.graph.nodes.front().kernel);
        QVERIFY(mergedKernel.findTensor("Y")->role == ir::TensorRole::Tmp);
        const auto mapped = mapping::mapKernel(mergedKernel, host->target);
        const auto first = std::find_if(mapped.candidates.begin(), mapped.candidates.end(), [](const auto& x) { return x.valid && x.statement == 0; });
        auto mergedSpace = schedule::makeSpace(mergedKernel, host->target, *first, error);
        QVERIFY(mergedSpace);
        const auto alone = measure::measureInProcess(mergedKernel, host->target, *first, *mergedSpace,
                                                     schedule::defaultSchedule(*mergedSpace), verifyOnly());
        QVERIFY2(alone.status == measure::Status::Ok, alone.message.c_str());
        measure::GraphRunner fusedRunner(*module, lower);
        auto r = fusedRunner.verify(graph, verifyOnly());
        QVERIFY2(r.status == measure::Status::Ok, r.message.c_str());
        QCOMPARE(fusedRunner.fusedPairs(), 2);
        QCOMPARE(fusedRunner.compiledKernels(), 2);
        measure::GraphRunner apart(*module, lower, /*fuse=*/false);
        r = apart.verify(graph, verifyOnly());
        QVERIFY2(r.status == measure::Status::Ok, r.message.c_str());
        QCOMPARE(apart.compiledKernels(), 4);
    }

    // A depthwise then a pointwise convolution whose parallel loops both step output rows run band by
    // band (two rows of the intermediate at a time), on one worker and on two, with the interpreter's
    // values; without fusion they run one after the other.
    void graphNodesRunBandByBand() {
        std::string error;
        auto module = frontend::generate("dwsep", {{"C", 16}, {"K", 24}, {"H", 11}, {"W", 7}, {"pad", 1}, {"nhwc", 1}}, error);
        auto host = targets::hostTarget(error);
        QVERIFY2(module && host, error.c_str());
        for (int threads : {1, 2}) {
            auto lower = [&](const ir::Node&, const ir::Kernel& k, std::string& e) -> std::unique_ptr<codegen::Code> {
                const std::string row = k.findDim("oh") ? "oh" : "h";
                std::string text;
                for (const auto& d : k.dims)
                    if (!d.reduction)
                        text += (d.name == row ? "parallel " : "not parallel ") + d.name + "\n";
                const auto parsed = constraints::parse(ir::SourceFile{"bands", text + "tile " + row + " at l3 = 2\n"});
                // The first candidate that leaves the rows a loop of their own.
                std::optional<schedule::Space> space;
                const mapping::Candidate* c = nullptr;
                const auto mapped = mapping::mapKernel(k, host->target);
                for (const auto& x : mapped.candidates) {
                    if (!x.valid || x.statement != 0 || c)
                        continue;
                    space = schedule::makeSpace(k, host->target, x, e);
                    if (space && parsed.set.unknownNames(*space).empty())
                        c = &x;
                }
                if (!c)
                    return nullptr;
                auto s = schedule::defaultSchedule(*space);
                parsed.set.apply(*space, s);
                if (auto why = schedule::illegal(*space, s)) {
                    e = *why;
                    return nullptr;
                }
                codegen::Options o;
                o.threads = threads;
                return codegen::generate(k, host->target, *c, *space, s, o, e);
            };
            measure::GraphRunner runner(*module, lower);
            const auto r = runner.verify(module->graphs.front(), verifyOnly());
            QVERIFY2(r.status == measure::Status::Ok, r.message.c_str());
            std::string report;
            for (const auto& line : runner.fusionReport())
                report += line + "\n";
            QVERIFY2(runner.bandPairs() == 1, report.c_str());
            QVERIFY(report.find("band by band") != std::string::npos);
            measure::GraphRunner apart(*module, lower, /*fuse=*/false);
            QCOMPARE(apart.verify(module->graphs.front(), verifyOnly()).status, measure::Status::Ok);
            QCOMPARE(apart.bandPairs(), 0);
        }
    }

    // `isamap graph` runs a graph as a user would: the bias-and-ReLU nodes fused, each node at the model's
    // best schedule of the search's and the analytical ones within the user's constraints, the result
    // verified. Held to parallel output rows, the depthwise and pointwise nodes run band by band. (Left
    // free, the model's ties at this size may give them loops of their own.)
    void graphCommandFusesAndVerifies() {
        QTemporaryDir dir;
        const QString parallelRows = testing::writeFile(dir, "rows.constraints",
                                                        "parallel oh\nparallel h\nnot parallel ow\nnot parallel w\n"
                                                        "not parallel c\nnot parallel k\n");
        const QStringList args{"graph", "dwsep", "--target", "host", "C=16", "K=24", "H=9", "W=9", "pad=1", "nhwc=1",
                               "act=1", "--budget", "300", "--runs", "1", "--pick", "model", "--constraints", parallelRows};
        auto fused = testing::isamapCli(args);
        QVERIFY2(fused.status == 0, qPrintable(fused.err));
        QVERIFY2(fused.out.contains("fused dw_act into dw") && fused.out.contains("fused pw_act into pw"), qPrintable(fused.out));
        QVERIFY(fused.out.contains("verified node by node against the interpreter:"));
        // The time to choose the schedules (the search) apart from the JIT's compiling.
        const auto costs = QRegularExpression(R"(2 kernels: schedules chosen in ([0-9.]+) s \(searched\), compiled in ([0-9.]+) s)").match(fused.out);
        QVERIFY2(costs.hasMatch(), qPrintable(fused.out));
        QVERIFY2(costs.captured(2).toDouble() > 0, qPrintable(fused.out));
        // The two nodes run band by band: one step where the time goes.
        QVERIFY2(fused.out.contains("where the time goes: each node timed on its own inside 5 runs"), qPrintable(fused.out));
        QVERIFY2(fused.out.contains("dw+dw_act and pw+pw_act, band by band"), qPrintable(fused.out));
        QVERIFY2(fused.out.contains("100%"), qPrintable(fused.out));
        // Times in the unit that suits them: this small graph's run in microseconds.
        QVERIFY2(fused.out.contains(QRegularExpression("time: median [0-9.]+ us over [0-9]+ runs")), qPrintable(fused.out));
        // The analytical schedules are proposals beside the search's, by the same model. (The depthwise
        // node's 12 KB stay in the first cache from run to run, and 300 evaluations tie the window sweep.)
        // On one core and 14 rows of 14 the model ties one row of 7 and two at the compute bound; two
        // rows do less work in all (fewer input loads) and are taken. (On two, 7 pairs of rows split
        // unevenly and one row is modeled faster.)
        auto rows = testing::isamapCli({"graph", "dwsep", "--target", "host", "C=64", "K=32", "H=14", "W=14", "pad=1",
                                        "nhwc=1", "--threads", "1", "--budget", "300", "--runs", "1", "--pick", "model"});
        QVERIFY2(rows.status == 0, qPrintable(rows.err));
        QVERIFY2(rows.out.contains("(the window sweep, two rows of 7)"), qPrintable(rows.out));
        // By default each node runs the fastest of the model's four best, timed: both nodes say so.
        auto timed = testing::isamapCli({"graph", "dwsep", "--target", "host", "C=64", "K=32", "H=14", "W=14", "pad=1",
                                         "nhwc=1", "--threads", "1", "--budget", "300", "--runs", "1"});
        QVERIFY2(timed.status == 0, qPrintable(timed.err));
        QCOMPARE(timed.out.count(", the fastest of the model's 4 best"), 2);
        QVERIFY2(timed.out.contains("measured "), qPrintable(timed.out));
        // Under each node, every proposal timed, in the model's order, and which was taken.
        const QRegularExpression proposal("\\n      [1-4]\\. .+ \\(.+\\): modeled [0-9.e+]+ us, measured [0-9.e+]+ us( \\(taken\\))?(?=\\n)");
        QCOMPARE(timed.out.count(proposal), 8);
        QCOMPARE(timed.out.count(" us (taken)\n"), 2);
        // The two fastest of each node timed again in turn, and the faster over the pairs taken.
        const QRegularExpression pairing("^      timed in turn, [0-9]+ pairs: ([1-4])\\. takes ([0-9.]+) times as long as ([1-4])\\. "
                                         "\\(middle half of the pairs [0-9.]+-[0-9.]+\\)$");
        int pairings = 0;
        QString taken;
        for (const QString& line : timed.out.split('\n')) {
            if (line.endsWith(" us (taken)"))
                taken = line.trimmed().section('.', 0, 0);
            const auto m = pairing.match(line);
            if (!m.hasMatch())
                continue;
            ++pairings;
            const QString faster = m.captured(2).toDouble() < 1 ? m.captured(1) : m.captured(3);
            QVERIFY2(taken == faster, qPrintable(line + " but " + taken + ". was taken"));
        }
        QCOMPARE(pairings, 2);
        QVERIFY(testing::isamapCli({"graph", "dwsep", "--target", "host", "--pick", "fastest"}).status != 0);
        auto apart = testing::isamapCli(args + QStringList{"--no-fuse"});
        QVERIFY2(apart.status == 0, qPrintable(apart.err));
        QVERIFY(!apart.out.contains("fused"));
        QVERIFY2(apart.out.contains("4 kernels: schedules chosen in"), qPrintable(apart.out));
    }

    // `isamap tune` says when the model rates an analytical schedule below what its search found: a
    // depthwise layer's window sweep, which 200 evaluations do not reach. Of the sweeps on one row and on
    // two, which the model times alike, it names the one `isamap graph` ranks first: two rows, less work.
    void tuneNamesTheAnalyticalScheduleItsSearchMissed() {
        auto r = testing::isamapCli({"tune", "depthwise", "--target", "host", "C=64", "H=14", "W=14", "pad=1", "nhwc=1",
                                     "--threads", "1", "--budget", "200"});
        QVERIFY2(r.status == 0, qPrintable(r.err));
        QVERIFY2(r.out.contains("the model rates an analytical schedule (the window sweep, two rows of 7"), qPrintable(r.out));
        QVERIFY(r.out.contains("below the search's best: the search did not reach it"));
    }

    void bigKernelsAreCheckedOnASample() {
        const auto r = checkedOnASample(mapOnHost("gemm", {{"M", 512}, {"N", 256}, {"K", 256}}));
        QVERIFY2(r.status == measure::Status::Ok, r.message.c_str());
        QVERIFY(r.sampled);
        QCOMPARE(r.checkedElements, static_cast<std::int64_t>(verifyOnly().sampledOutputs + 2));
        QVERIFY(r.verification().find("random sample") != std::string::npos);
    }

    void timingReportsMedianAndPeak() {
        const Mapped m = mapOnHost("gemm", {{"M", 128}, {"N", 64}, {"K", 64}});
        std::string error;
        auto space = schedule::makeSpace(m.kernel, m.target, m.candidates.front(), error);
        QVERIFY(space);
        measure::Options o;
        o.minRuns = 5;
        o.minSeconds = 0.01;
        const auto r = measure::measureInProcess(m.kernel, m.target, m.candidates.front(), *space,
                                                 schedule::defaultSchedule(*space), o);
        QVERIFY2(r.status == measure::Status::Ok, r.message.c_str());
        QVERIFY(r.runs >= 5);
        QVERIFY(r.secondsMin <= r.secondsMedian && r.secondsMedian <= r.secondsMax);
        QVERIFY(r.gflops > 0);
        QVERIFY(r.peakGflops > 1); // measured by the FMA microbenchmark
        QVERIFY(r.peakFraction > 0 && r.peakFraction < 1.5);
    }

    void codeIsShownAsLlvmIrAndAssembly() {
        const Mapped m = mapOnHost("gemm", {{"M", 64}, {"N", 16}, {"K", 16}});
        std::string error;
        auto space = schedule::makeSpace(m.kernel, m.target, m.candidates.front(), error);
        QVERIFY(space);
        auto code = codegen::generate(m.kernel, m.target, m.candidates.front(), *space, schedule::defaultSchedule(*space),
                                      {}, error);
        QVERIFY2(code, error.c_str());
        QVERIFY(code->llvmIR().find("llvm.fma.v16f32") != std::string::npos);
        const std::string assembly = code->assembly(error);
        QVERIFY2(assembly.find("vfmadd") != std::string::npos, assembly.substr(0, 2000).c_str());
        QVERIFY(assembly.find("zmm") != std::string::npos);
        QVERIFY(code->cHeader().find("void isamap_gemm(const float* A, const float* B, float* C);") != std::string::npos);
        QVERIFY(!code->decisions().lines.empty());
    }

    // A 2x12 register tile (24 accumulators, the BLIS shape) written by the schedule with m outside n:
    // code generation walks it n outside m, so that one broadcast of B is live at a time instead of
    // twelve (walked as written, LLVM spills 14 vector registers here). Dimensions that divide evenly
    // get no edge path at all: nothing masked in the code.
    void aWideRegisterTileStaysInRegisters() {
        const Mapped m = mapOnHost("gemm", {{"M", 256}, {"N", 96}, {"K", 512}});
        if (!hasAvx512Registers(m.target))
            QSKIP("the 24-accumulator tile needs AVX-512's 32 vector registers");
        const auto& c = m.candidates.front();
        std::string error;
        auto space = schedule::makeSpace(m.kernel, m.target, c, error);
        QVERIFY2(space, error.c_str());
        auto s = schedule::blockedSchedule(*space, 2, 12);
        QVERIFY(s);
        auto& order = s->levels.back().order;
        const auto vector = std::find_if(space->dims.begin(), space->dims.end(), [](const auto& d) { return d.instructionDim >= 0; }) - space->dims.begin();
        std::stable_partition(order.begin(), order.end(), [&](int d) { return d == vector; });
        expectVerified(m, c, *space, *s);
        auto code = codegen::generate(m.kernel, m.target, c, *space, *s, {}, error);
        QVERIFY2(code, error.c_str());
        const std::string assembly = code->assembly(error);
        QVERIFY(assembly.find("vfmadd231ps") != std::string::npos);
        QCOMPARE(linesWith(assembly, "zmm", "(%rsp)"), 0); // no vector register spilled to the stack
        QVERIFY(code->llvmIR().find("llvm.masked") == std::string::npos);
        // The same blocking with every dimension ragged keeps its edge tests and stays exact.
        const Mapped ragged = mapOnHost("gemm", {{"M", 200}, {"N", 50}, {"K", 700}});
        auto raggedSpace = schedule::makeSpace(ragged.kernel, ragged.target, ragged.candidates.front(), error);
        QVERIFY2(raggedSpace, error.c_str());
        auto raggedBlocked = schedule::blockedSchedule(*raggedSpace, 2, 12);
        QVERIFY(raggedBlocked);
        expectVerified(ragged, ragged.candidates.front(), *raggedSpace, *raggedBlocked);
    }

    // A register tile of 14 broadcasts read in place from B, each a row of B apart: each call's address is
    // the tile's pointer plus a constant, so the loop holds one pointer for all fourteen. (Summed as one
    // index per call, LLVM kept fourteen pointers, spilled them, and reloaded one from the stack before
    // every FMA: 5124x700x2048 ran at 33-51 GFLOP/s, 54-86 now.)
    void broadcastsOfATileShareOnePointer() {
        const Mapped m = mapOnHost("gemm", {{"M", 96}, {"N", 112}, {"K", 2048}});
        if (!hasAvx512Registers(m.target))
            QSKIP("the 14-accumulator tile is sized for AVX-512's 32 vector registers");
        const auto& c = m.candidates.front();
        std::string error;
        auto space = schedule::makeSpace(m.kernel, targets::withCores(m.target, 1), c, error);
        QVERIFY2(space, error.c_str());
        // The shape of a search's pick for 5124x700x2048: one vector of A by 14 broadcasts of B, the
        // reduction innermost, nothing packed.
        const auto s = schedule::parseSchedule(*space,
                                               "level dram tiles m=6 k=2048 n=112 keeps C A B\n"
                                               "level l3 tiles m=3 k=32 n=112 keeps C A B double_buffered\n"
                                               "level l2 tiles n=14 m=3 k=32 keeps C A B double_buffered\n"
                                               "level l1 tiles m=1 n=14 k=16 keeps C A B double_buffered\n"
                                               "level zmm tiles m=1 n=14 k=16 keeps C A\n"
                                               "parallel none\n"
                                               "unroll m=1 n=2 k=1\n",
                                               error);
        QVERIFY2(s, error.c_str());
        expectVerified(m, c, *space, *s);
        auto code = codegen::generate(m.kernel, m.target, c, *space, *s, {}, error);
        QVERIFY2(code, error.c_str());
        const std::string loop = innermostLoopWith(code->assembly(error), "{1to16}");
        QVERIFY2(!loop.empty(), error.c_str());
        QVERIFY2(linesWith(loop, "{1to16}") >= 14, loop.c_str());
        QVERIFY2(loop.find("(%rsp)") == std::string::npos, loop.c_str());
    }

    // The window sweep's two-row tiles: 14 (or 8) accumulators, 9 weights and 36 input vectors read,
    // which the register check counts as one input row (schedule::registerPressure). That holds only
    // if LLVM interleaves the loads with their calls: the code must not spill, at stride 1 or 2, with
    // channels last or in blocks of 16 (where the blocks loop around the tile).
    void aTwoRowWindowStaysInRegisters_data() {
        QTest::addColumn<QString>("layout");
        QTest::newRow("channel-last") << "nhwc";
        QTest::newRow("blocked") << "blocked";
    }
    void aTwoRowWindowStaysInRegisters() {
        QFETCH(QString, layout);
        // 28 outputs a row either way: rows of 7 at stride 1, of 4 at stride 2 (2T + 1 input vectors a row).
        for (const auto& [stride, width] : {std::pair<std::int64_t, std::int64_t>{1, 7}, {2, 4}}) {
            const std::int64_t size = 28 * stride;
            const Mapped m = mapOnHost("depthwise", {{"C", 64}, {"H", size}, {"W", size}, {"stride", stride}, {"pad", 1},
                                                     {layout.toStdString(), 1}});
            if (!hasAvx512Registers(m.target))
                QSKIP("the two-row tile is sized for AVX-512's 32 vector registers");
            const auto& c = m.candidates.front();
            std::string error;
            auto space = schedule::makeSpace(m.kernel, m.target, c, error);
            QVERIFY2(space, error.c_str());
            QCOMPARE(schedule::windowRowTiles(*space, 2), std::vector<std::int64_t>{width});
            const auto s = schedule::windowSchedule(*space, width, 2);
            QVERIFY(s);
            expectVerified(m, c, *space, *s);
            auto code = codegen::generate(m.kernel, m.target, c, *space, *s, {}, error);
            QVERIFY2(code, error.c_str());
            const std::string assembly = code->assembly(error);
            // The whole tile's calls, unrolled, and no vector register spilled to the stack.
            QVERIFY2(linesWith(assembly, "vfmadd") >= 2 * width * 9, assembly.substr(0, 2000).c_str());
            QCOMPARE(linesWith(assembly, "zmm", "(%rsp)"), 0);
        }
    }

    // A register tile of 8 accumulators whose 4 reduction steps each read 8 filter vectors and 4
    // broadcasts: LLVM, left to unroll the sweep whole, hoisted all 48 inputs and spilled 24 vectors. The
    // sweep is kept rolled and nothing spills; a small tile's sweep is still left to LLVM.
    void aLargeTileKeepsItsSweepRolled() {
        const Mapped m = mapOnHost("pointwise", {{"C", 512}, {"K", 512}, {"H", 14}, {"W", 14}, {"nhwc", 1}, {"packed", 1}});
        if (!hasAvx512Registers(m.target))
            QSKIP("the tile is sized for AVX-512's 32 vector registers");
        const auto c = std::find_if(m.candidates.begin(), m.candidates.end(),
                                    [](const mapping::Candidate& x) { return x.key == "vfmadd_bcast_f32: i=ki; c=Y, a=F, b=X"; });
        QVERIFY(c != m.candidates.end());
        std::string error;
        auto space = schedule::makeSpace(m.kernel, targets::withCores(m.target, 1), *c, error);
        QVERIFY2(space, error.c_str());
        auto tiled = [&](const std::string& l1, const std::string& registers) {
            return schedule::parseSchedule(*space,
                                           "level dram tiles c=512 n=1 h=14 kb=8 w=14 ki=4 keeps Y F X\n"
                                           "level l3 tiles ki=4 n=1 kb=4 w=14 h=2 c=512 keeps Y F X\n"
                                           "level l2 tiles ki=4 n=1 c=512 kb=2 w=14 h=2 keeps Y F X\n"
                                           "level l1 tiles " + l1 + " keeps Y F X\n"
                                           "level zmm tiles " + registers + " keeps Y F\n"
                                           "parallel none\n",
                                           error);
        };
        const auto large = tiled("ki=4 n=1 h=2 w=1 kb=2 c=8", "c=2 n=1 w=1 kb=1 ki=4 h=2");
        QVERIFY2(large, error.c_str());
        const auto small = tiled("ki=4 n=1 h=2 w=1 kb=2 c=8", "c=1 n=1 w=1 kb=1 ki=1 h=2");
        QVERIFY2(small, error.c_str());
        for (const auto& [s, rolled] : {std::pair{&*large, true}, std::pair{&*small, false}}) {
            expectVerified(m, *c, *space, *s);
            auto code = codegen::generate(m.kernel, m.target, *c, *space, *s, {}, error);
            QVERIFY2(code, error.c_str());
            const std::string assembly = code->assembly(error);
            QCOMPARE(linesWith(assembly, "zmm", "(%rsp)"), 0);
            std::string decisions;
            for (const auto& line : code->decisions().lines)
                decisions += line + "\n";
            QVERIFY2((decisions.find("kept rolled") != std::string::npos) == rolled, decisions.c_str());
            QCOMPARE(code->llvmIR().find("llvm.loop.unroll.disable") != std::string::npos, rolled);
        }
    }

    // Inputs the schedule packs are copied a vector at a time into micro-panels and read back exactly,
    // ragged edges included.
    void packedPanelsAreCopiedAsVectors() {
        const Mapped m = mapOnHost("gemm", {{"M", 1024}, {"N", 192}, {"K", 256}});
        const auto& c = m.candidates.front();
        std::string error;
        auto space = schedule::makeSpace(m.kernel, targets::withCores(m.target, 1), c, error);
        QVERIFY2(space, error.c_str());
        auto s = schedule::blockedSchedule(*space, 4, 6);
        QVERIFY(s);
        QVERIFY2(s->packed[1] && s->packed[2], schedule::printSchedule(*space, *s).c_str());
        expectVerified(m, c, *space, *s);
        auto code = codegen::generate(m.kernel, m.target, c, *space, *s, {}, error);
        QVERIFY2(code, error.c_str());
        std::string decisions;
        for (const auto& line : code->decisions().lines)
            decisions += line + "\n";
        QVERIFY2(decisions.find("A: packed into micro-panels of 4 calls") != std::string::npos, decisions.c_str());
        QVERIFY2(decisions.find("B: packed into micro-panels of 6 calls") != std::string::npos, decisions.c_str());
        // A's copy moves whole vectors: no gather, and no masked load where M divides into vectors.
        // (B's one element per call is copied as scalars, which LLVM may turn into a scatter.)
        const std::string ir = code->llvmIR();
        QVERIFY(ir.find("llvm.masked.gather") == std::string::npos);
        QVERIFY(ir.find("llvm.masked.load") == std::string::npos);
        QVERIFY(ir.find("A.packed") != std::string::npos && ir.find("B.packed") != std::string::npos);
        // Every dimension ragged: the copy masks the last vector and pads the last micro-panel.
        const Mapped ragged = mapOnHost("gemm", {{"M", 1000}, {"N", 190}, {"K", 250}});
        auto raggedSpace = schedule::makeSpace(ragged.kernel, targets::withCores(ragged.target, 1), ragged.candidates.front(), error);
        QVERIFY2(raggedSpace, error.c_str());
        auto raggedBlocked = schedule::blockedSchedule(*raggedSpace, 4, 6);
        QVERIFY(raggedBlocked);
        raggedBlocked->packed[1] = raggedBlocked->packed[2] = true;
        expectVerified(ragged, ragged.candidates.front(), *raggedSpace, *raggedBlocked);
    }

    // An input whose last vector runs past the edge of an output dimension (M = 1000 rows, 16 lanes)
    // is still read as whole vectors, the last one masked: its extra lanes only feed output lanes that
    // are never stored. Past the edge of a reduction (int8 quads over K = 22) it is not: a neighbour's
    // bytes would be added into real outputs.
    void raggedRowsAreReadAsVectors() {
        std::string error;
        auto decisionsOf = [&](const Mapped& m, const schedule::Space& space, const schedule::Schedule& s) {
            auto code = codegen::generate(m.kernel, m.target, m.candidates.front(), space, s, {}, error);
            std::string text;
            for (const auto& line : code ? code->decisions().lines : std::vector<std::string>{})
                text += line + "\n";
            return text;
        };
        const Mapped m = mapOnHost("gemm", {{"M", 1000}, {"N", 190}, {"K", 250}});
        auto space = schedule::makeSpace(m.kernel, targets::withCores(m.target, 1), m.candidates.front(), error);
        QVERIFY2(space, error.c_str());
        auto inPlace = schedule::blockedSchedule(*space, 4, 6);
        QVERIFY(inPlace);
        inPlace->packed.assign(inPlace->packed.size(), false);
        std::string decisions = decisionsOf(m, *space, *inPlace);
        QVERIFY2(decisions.find("A: read in place as whole vectors") != std::string::npos, decisions.c_str());
        expectVerified(m, m.candidates.front(), *space, *inPlace);

        const Mapped quads = mapOnHost("gemm", {{"M", 40}, {"N", 9}, {"K", 24}, {"dtype", 3}, {"packed", 1}});
        auto quadSpace = schedule::makeSpace(quads.kernel, quads.target, quads.candidates.front(), error);
        QVERIFY2(quadSpace, error.c_str());
        decisions = decisionsOf(quads, *quadSpace, schedule::defaultSchedule(*quadSpace));
        QVERIFY2(decisions.find("A: read in place as whole vectors") != std::string::npos, decisions.c_str());
        expectVerified(quads, quads.candidates.front(), *quadSpace, schedule::defaultSchedule(*quadSpace));

        const Mapped shortK = mapOnHost("gemm", {{"M", 48}, {"N", 9}, {"K", 22}, {"dtype", 3}});
        auto shortSpace = schedule::makeSpace(shortK.kernel, shortK.target, shortK.candidates.front(), error);
        QVERIFY2(shortSpace, error.c_str());
        decisions = decisionsOf(shortK, *shortSpace, schedule::defaultSchedule(*shortSpace));
        QVERIFY2(decisions.find("A: read in place") == std::string::npos, decisions.c_str());
        expectVerified(shortK, shortK.candidates.front(), *shortSpace, schedule::defaultSchedule(*shortSpace));
    }

    // A block copied into its packing buffer a vector at a time prefetches its source about 8 KiB
    // ahead (a read prefetch: the output's are writes); the copy stays exact, ragged rows included.
    void packedCopiesPrefetchAhead() {
        const Mapped m = mapOnHost("gemm", {{"M", 1000}, {"N", 190}, {"K", 250}});
        std::string error;
        auto space = schedule::makeSpace(m.kernel, targets::withCores(m.target, 1), m.candidates.front(), error);
        QVERIFY2(space, error.c_str());
        auto s = schedule::blockedSchedule(*space, 4, 6);
        QVERIFY(s);
        const std::string readPrefetch = "i32 0, i32 3, i32 1)";
        auto irOf = [&](const schedule::Schedule& schedule) {
            auto code = codegen::generate(m.kernel, m.target, m.candidates.front(), *space, schedule, {}, error);
            return code ? code->llvmIR() : error;
        };
        s->packed.assign(s->packed.size(), false);
        QVERIFY(irOf(*s).find(readPrefetch) == std::string::npos);
        for (std::size_t o = 0; o < space->operands.size(); ++o)
            s->packed[o] = space->operands[o].tensor != "C";
        const std::string ir = irOf(*s);
        QVERIFY2(ir.find("llvm.prefetch") != std::string::npos && ir.find(readPrefetch) != std::string::npos,
                 "no read prefetch in the packing copy");
        expectVerified(m, m.candidates.front(), *space, *s);
    }

    // The column sweep generates exact code for a matrix-vector product and a ragged two-column one.
    void analyticalSchedulesAreExact() {
        for (auto [M, N] : {std::pair<std::int64_t, std::int64_t>{1000, 1}, {203, 2}}) {
            const Mapped m = mapOnHost("gemm", {{"M", M}, {"N", N}, {"K", 100}});
            std::string error;
            auto space = schedule::makeSpace(m.kernel, m.target, m.candidates.front(), error);
            QVERIFY2(space, error.c_str());
            auto s = schedule::streamedSchedule(*space);
            QVERIFY(s);
            expectVerified(m, m.candidates.front(), *space, *s);
        }
        // Products with further output dimensions, looped around the nest: a GRU's three gates (around
        // the sweep, or the Goto blocking when the batch is long enough to broadcast), the steps and the
        // batch of its input product, a channels-last convolution's rows.
        const std::vector<std::tuple<std::string, frontend::Args, std::string>> products{
            {"gru_cell", {{"H", 72}, {"B", 1}, {"I", 50}, {"wt", 1}}, ""},
            {"gru_cell", {{"H", 72}, {"B", 3}, {"I", 50}, {"wt", 1}}, ""},
            {"gru_sequence", {{"H", 40}, {"B", 2}, {"I", 24}, {"T", 7}, {"wt", 1}}, "gru_input_gates"},
            {"pointwise", {{"C", 24}, {"K", 40}, {"H", 5}, {"W", 9}, {"nhwc", 1}}, ""},
            // Filters pre-packed in blocks of 32 output channels: the blocks loop around the product.
            {"pointwise", {{"C", 24}, {"K", 96}, {"H", 5}, {"W", 9}, {"nhwc", 1}, {"packed", 1}}, ""},
            // The window sweep: a ragged vector of channels, a stride of 2, a ragged row tile; the zero
            // halo read through clamped addresses.
            {"depthwise", {{"C", 40}, {"H", 9}, {"W", 11}, {"stride", 1}, {"pad", 1}, {"nhwc", 1}}, ""},
            {"depthwise", {{"C", 32}, {"H", 10}, {"W", 10}, {"stride", 2}, {"pad", 1}, {"nhwc", 1}}, ""},
            {"depthwise", {{"C", 16}, {"H", 4}, {"W", 17}, {"stride", 1}, {"pad", 1}, {"nhwc", 1}}, ""}, // rows of 1 and 13
            // A full convolution's window: the input channels and the window's rows loop around the tile.
            {"conv2d", {{"C", 4}, {"K", 17}, {"H", 9}, {"W", 9}, {"stride", 2}, {"pad", 1}, {"nhwc", 1}}, ""},
            // Dot-product instructions on pre-packed weights: u8 x s8 in quads, bf16 in pairs, blocked by rows.
            {"gemm", {{"M", 80}, {"N", 13}, {"K", 64}, {"dtype", 3}, {"packed", 1}}, ""},
            {"gemm", {{"M", 64}, {"N", 2}, {"K", 96}, {"dtype", 1}, {"packed", 2}}, ""},
        };
        for (const auto& [generator, args, kernel] : products) {
            const Mapped m = mapOnHost(generator, args, kernel);
            QCOMPARE(QString::fromStdString(m.kernel.name), QString::fromStdString(kernel.empty() ? m.kernel.name : kernel));
            // As the tuners do: the first candidate that has analytical schedules.
            bool found = false;
            for (const auto& c : m.candidates) {
                std::string error;
                auto space = schedule::makeSpace(m.kernel, m.target, c, error);
                QVERIFY2(space, error.c_str());
                for (const auto& a : schedule::analyticalSchedules(*space)) {
                    expectVerified(m, c, *space, a.schedule);
                    found = true;
                }
                if (found)
                    break;
            }
            QVERIFY2(found, m.kernel.name.c_str());
        }
    }

    void virtualTargetsAndIllegalSchedulesAreRefused() {
        auto mk = testing::mappedGemm(64, 32, 32, "nnp-like");
        std::string error;
        QVERIFY(!codegen::generate(mk.kernel, mk.target, mk.candidate, mk.space, schedule::defaultSchedule(mk.space), {},
                                   error));
        QVERIFY2(error.find("no `lower llvm` steps") != std::string::npos, error.c_str());

        const Mapped m = mapOnHost("gemm", {{"M", 64}, {"N", 32}, {"K", 32}});
        auto space = schedule::makeSpace(m.kernel, m.target, m.candidates.front(), error);
        QVERIFY(space);
        auto s = schedule::defaultSchedule(*space);
        s.levels.back().tiles.assign(s.levels.back().tiles.size(), 64); // far more than the registers hold
        error.clear();
        QVERIFY(!codegen::generate(m.kernel, m.target, m.candidates.front(), *space, s, {}, error));
        QVERIFY2(error.find("illegal") != std::string::npos, error.c_str());
    }

    // The worker is the real `isamap worker`; a kernel planted to crash or hang does not stop us.
    void workerSurvivesCrashAndHang() {
        const Mapped m = mapOnHost("gemm", {{"M", 32}, {"N", 8}, {"K", 8}});
        std::string error;
        auto space = schedule::makeSpace(m.kernel, m.target, m.candidates.front(), error);
        QVERIFY(space);
        const auto s = schedule::defaultSchedule(*space);
        measure::Options o = verifyOnly();
        o.timeLimitSeconds = 20;

        auto good = measure::measureInWorker(ISAMAP_CLI, measure::makeJob(m.kernel, m.target, m.candidates.front(), *space, s, o));
        QVERIFY2(good.status == measure::Status::Ok, good.message.c_str());
        QVERIFY(good.secondsMedian > 0);

        o.codegen.fault = codegen::Options::Fault::Crash;
        auto crashed = measure::measureInWorker(ISAMAP_CLI, measure::makeJob(m.kernel, m.target, m.candidates.front(), *space, s, o));
        QCOMPARE(crashed.status, measure::Status::Crashed);
        QVERIFY2(crashed.message.find("signal") != std::string::npos, crashed.message.c_str());

        o.codegen.fault = codegen::Options::Fault::Hang;
        o.timeLimitSeconds = 3;
        QElapsedTimer clock;
        clock.start();
        auto hung = measure::measureInWorker(ISAMAP_CLI, measure::makeJob(m.kernel, m.target, m.candidates.front(), *space, s, o));
        QCOMPARE(hung.status, measure::Status::TimedOut);
        QVERIFY(clock.elapsed() < 15000);

        // And the next measurement still works.
        o.codegen.fault = codegen::Options::Fault::None;
        auto after = measure::measureInWorker(ISAMAP_CLI, measure::makeJob(m.kernel, m.target, m.candidates.front(), *space, s, o));
        QCOMPARE(after.status, measure::Status::Ok);
    }

    // Two schedules timed in turn in one worker: a register tile of one vector, whose one accumulator
    // waits out each FMA's latency, against the Goto tile; the pairs' ratio says which is slower.
    void twoSchedulesAreTimedInTurn() {
        const Mapped m = mapOnHost("gemm", {{"M", 192}, {"N", 192}, {"K", 192}});
        const auto& c = m.candidates.front();
        std::string error;
        auto space = schedule::makeSpace(m.kernel, m.target, c, error);
        QVERIFY2(space, error.c_str());
        std::optional<schedule::Schedule> tiled;
        for (const auto& a : schedule::analyticalSchedules(*space))
            if (a.name.rfind("goto-", 0) == 0 && !tiled)
                tiled = a.schedule;
        QVERIFY(tiled);
        schedule::Schedule oneVector = *tiled;
        for (auto& t : oneVector.levels.back().tiles)
            t = 1;
        oneVector.unroll.assign(oneVector.unroll.size(), 1);
        measure::Options o;
        o.minRuns = 40;
        o.minSeconds = 0;
        o.timeLimitSeconds = 60;

        auto p = measure::compareInWorker(ISAMAP_CLI, measure::makePairedJob(m.kernel, m.target, {c, *space, *tiled},
                                                                             {c, *space, oneVector}, o));
        QVERIFY2(p.ok(), p.failure().c_str());
        QCOMPARE(p.pairs, 40);
        QCOMPARE(p.first.runs, 40);
        QCOMPARE(p.second.runs, 40);
        QVERIFY(p.first.checkedElements > 0 && p.second.checkedElements > 0);
        QVERIFY(p.ratioLow <= p.ratioMedian && p.ratioMedian <= p.ratioHigh);
        QVERIFY2(p.ratioMedian > 2, std::to_string(p.ratioMedian).c_str());
        QVERIFY(p.second.secondsMedian > p.first.secondsMedian);

        auto same = measure::compareInWorker(ISAMAP_CLI, measure::makePairedJob(m.kernel, m.target, {c, *space, *tiled},
                                                                                {c, *space, *tiled}, o));
        QVERIFY2(same.ok(), same.failure().c_str());
        QVERIFY2(same.ratioMedian > 0.67 && same.ratioMedian < 1.5, std::to_string(same.ratioMedian).c_str());

        o.codegen.fault = codegen::Options::Fault::Crash;
        auto crashed = measure::compareInWorker(ISAMAP_CLI, measure::makePairedJob(m.kernel, m.target, {c, *space, *tiled},
                                                                                   {c, *space, oneVector}, o));
        QCOMPARE(crashed.first.status, measure::Status::Crashed);
        QVERIFY2(crashed.failure().find("signal") != std::string::npos, crashed.failure().c_str());
    }

    // Timed as a graph runs a recurrence's steps (isamap measure --alternate), every other run takes the
    // parallel loop backwards: a GRU's column sweep (its blocks of outputs parallel, on one core too) is
    // timed so, in process, in the worker and in pairs, and `isamap measure --alternate` says so; the Goto
    // tile of a GEMM on one core has no parallel loop and runs forwards. That a backwards run computes the same is recurrentStepsAlternateTheirDirection's
    // check.
    void aRecurrentStepIsTimedInBothDirections() {
        const Mapped gates = mapOnHost("gru_cell", {{"H", 512}, {"B", 1}, {"wt", 3}});
        const ir::Target one = targets::withCores(gates.target, 1);
        std::string error;
        auto space = schedule::makeSpace(gates.kernel, one, gates.candidates.front(), error);
        QVERIFY2(space, error.c_str());
        const auto sweep = schedule::streamedSchedule(*space);
        QVERIFY(sweep);
        measure::Options o;
        o.minRuns = 6;
        o.minSeconds = 0;
        o.alternateSweeps = true;
        const auto inProcess = measure::measureInProcess(gates.kernel, one, gates.candidates.front(), *space, *sweep, o);
        QVERIFY2(inProcess.status == measure::Status::Ok, inProcess.message.c_str());
        QVERIFY(inProcess.alternated);
        const auto inWorker = measure::measureInWorker(
            ISAMAP_CLI, measure::makeJob(gates.kernel, one, gates.candidates.front(), *space, *sweep, o));
        QVERIFY2(inWorker.status == measure::Status::Ok, inWorker.message.c_str());
        QVERIFY(inWorker.alternated);
        // Timed in pairs, the second run of each pair goes backwards, so each of the two alternates too.
        const measure::Contender contender{gates.candidates.front(), *space, *sweep};
        const auto paired = measure::compareInWorker(ISAMAP_CLI, measure::makePairedJob(gates.kernel, one, contender, contender, o));
        QVERIFY2(paired.ok(), paired.failure().c_str());
        QVERIFY(paired.first.alternated && paired.second.alternated);
        QCOMPARE(paired.pairs, 6);
        o.alternateSweeps = false;
        QVERIFY(!measure::measureInProcess(gates.kernel, one, gates.candidates.front(), *space, *sweep, o).alternated);
        const auto pairedForwards = measure::compareInWorker(ISAMAP_CLI, measure::makePairedJob(gates.kernel, one, contender, contender, o));
        QVERIFY2(pairedForwards.ok(), pairedForwards.failure().c_str());
        QVERIFY(!pairedForwards.first.alternated && !pairedForwards.second.alternated);

        // The command line says how a figure was taken, alone and in pairs, and only when asked.
        QTemporaryDir dir;
        const QString file = testing::writeFile(dir, "sweep.schedule", schedule::printSchedule(*space, *sweep).c_str());
        const QStringList measureSweep = {"measure", "gru_cell", "H=512", "B=1", "wt=3", "--kernel",
                                          QString::fromStdString(gates.kernel.name), "--target", "host", "--schedule", file,
                                          "--threads", "1", "--runs", "4"};
        auto alternating = testing::isamapCli(measureSweep + QStringList{"--alternate"});
        QVERIFY2(alternating.status == 0, qPrintable(alternating.err + alternating.out));
        QCOMPARE(alternating.out.count("forwards and backwards in turn"), 1);
        auto alternatingPairs = testing::isamapCli(measureSweep + QStringList{"--alternate", "--against", file});
        QVERIFY2(alternatingPairs.status == 0, qPrintable(alternatingPairs.err + alternatingPairs.out));
        QCOMPARE(alternatingPairs.out.count("forwards and backwards in turn"), 2);
        auto forwards = testing::isamapCli(measureSweep);
        QVERIFY2(forwards.status == 0, qPrintable(forwards.err + forwards.out));
        QVERIFY2(forwards.out.contains("checked all"), qPrintable(forwards.out));
        QVERIFY(!forwards.out.contains("backwards"));

        const Mapped gemm = mapOnHost("gemm", {{"M", 96}, {"N", 96}, {"K", 96}});
        auto gemmSpace = schedule::makeSpace(gemm.kernel, targets::withCores(gemm.target, 1), gemm.candidates.front(), error);
        QVERIFY2(gemmSpace, error.c_str());
        const auto analytical = schedule::analyticalSchedules(*gemmSpace);
        const auto gotoBlocking = std::find_if(analytical.begin(), analytical.end(),
                                        [](const auto& a) { return a.name.rfind("goto-", 0) == 0; });
        QVERIFY(gotoBlocking != analytical.end());
        o.alternateSweeps = true;
        const auto r = measure::measureInProcess(gemm.kernel, targets::withCores(gemm.target, 1), gemm.candidates.front(),
                                                 *gemmSpace, gotoBlocking->schedule, o);
        QVERIFY2(r.status == measure::Status::Ok, r.message.c_str());
        QVERIFY(!r.alternated);
    }

    // tune --measure on the host, a project, then export linked into a C program that checks the result.
    void exportedKernelLinksIntoACProgram() {
        QTemporaryDir dir;
        const QString project = dir.filePath("p.isamap");
        auto tuned = testing::isamapCli({"tune", "gemm", "--target", "host", "M=48", "N=20", "K=24", "--budget", "300",
                                         "--top", "2", "--measure", "2", "--project", project});
        QVERIFY2(tuned.status == 0, qPrintable(tuned.err + tuned.out));
        QVERIFY2(tuned.out.contains("measured on this CPU against modeled"), qPrintable(tuned.out));
        QVERIFY(tuned.out.contains("checked all 960 output elements"));

        const QString out = dir.filePath("out");
        auto exported = testing::isamapCli({"export", "gemm", "--schedule", "1", "--project", project, "-o", out});
        QVERIFY2(exported.status == 0, qPrintable(exported.err));
        QVERIFY(QFile::exists(out + "/isamap_gemm.o"));
        QVERIFY(QFile::exists(out + "/isamap_gemm.h"));

        // Column-major as the kernel says: A is M x K, B is K x N.
        const QByteArray program = R"(#include "isamap_gemm.h"
#include <math.h>
#include <stdio.h>
int main(void) {
    enum { M = 48, N = 20, K = 24 };
    static float A[M * K], B[K * N], C[M * N];
    for (int i = 0; i < M * K; ++i) A[i] = (float)((i * 7) % 11) - 5;
    for (int i = 0; i < K * N; ++i) B[i] = (float)((i * 5) % 13) - 6;
    isamap_gemm(A, B, C);
    for (int m = 0; m < M; ++m)
        for (int n = 0; n < N; ++n) {
            float want = 0;
            for (int k = 0; k < K; ++k) want += A[m + k * M] * B[k + n * K];
            if (fabsf(C[m + n * M] - want) > 1e-3f) { printf("wrong at %d %d: %f %f\n", m, n, C[m + n * M], want); return 1; }
        }
    printf("ok\n");
    return 0;
})";
        testing::writeFile(dir, "out/main.c", program);
        QProcess cc;
        cc.setWorkingDirectory(out);
        cc.start("cc", {"-O2", "main.c", "isamap_gemm.o", "isamap_runtime.c", "-lpthread", "-lm", "-o", "main"});
        QVERIFY(cc.waitForFinished(60000));
        QVERIFY2(cc.exitCode() == 0, cc.readAllStandardError().constData());
        QProcess run;
        run.start(out + "/main", {});
        QVERIFY(run.waitForFinished(30000));
        QCOMPARE(run.exitCode(), 0);
        QCOMPARE(run.readAllStandardOutput().trimmed(), QByteArray("ok"));
    }

    // tune --measure --json gives each measured schedule's text, the analytical ones too: a user can
    // take the Goto blocking, edit it, and time it with `isamap measure`.
    void measuredAnalyticalScheduleTextRunsAgain() {
        auto tuned = testing::isamapCli({"tune", "gemm", "--target", "host", "M=96", "N=30", "K=40", "--budget", "50",
                                         "--threads", "1", "--measure", "1", "--json"});
        QVERIFY2(tuned.status == 0, qPrintable(tuned.err));
        const auto measured = QJsonDocument::fromJson(tuned.out.toUtf8()).object()["measured"].toObject()["schedules"].toArray();
        QString gotoText;
        for (const auto& entry : measured)
            if (entry.toObject()["analytical"].toString().startsWith("the Goto blocking"))
                gotoText = entry.toObject()["schedule"].toString();
        QVERIFY2(gotoText.contains("level zmm tiles"), qPrintable(tuned.out));
        QTemporaryDir dir;
        const QString file = testing::writeFile(dir, "goto.schedule", gotoText.toUtf8());
        auto again = testing::isamapCli({"measure", "gemm", "--target", "host", "--schedule", file, "M=96", "N=30", "K=40",
                                         "--threads", "1", "--runs", "3"});
        QVERIFY2(again.status == 0, qPrintable(again.err + again.out));
        QVERIFY2(again.out.contains("checked all 2880 output elements"), qPrintable(again.out));
        // Beside the measurement, the model's view of the same schedule.
        QVERIFY2(again.out.contains(QRegularExpression("\\nmodeled [0-9.]+ us, [a-z-]+-bound[^\\n]*; measured over modeled [0-9.]+\\n")),
                 qPrintable(again.out));
        QVERIFY2(again.out.contains("where the time goes ("), qPrintable(again.out));
        auto paired = testing::isamapCli({"measure", "gemm", "--target", "host", "--schedule", file, "--against", file, "M=96",
                                          "N=30", "K=40", "--threads", "1", "--runs", "20"});
        QVERIFY2(paired.status == 0, qPrintable(paired.err + paired.out));
        QVERIFY2(paired.out.contains("two schedules timed in turn on the same inputs, "), qPrintable(paired.out));
        QVERIFY2(paired.out.contains("second over first, time per pair: median"), qPrintable(paired.out));
        QVERIFY2(paired.out.contains(QRegularExpression("modeled: first ([0-9.]+ us), second \\1; second over first 1.000\\n")),
                 qPrintable(paired.out));
    }

    // `measure --threads N` models the schedule for the N cores it runs on, as `tune` does: a schedule
    // with parallel loops is modeled at twice the time on one core as on two.
    void measureModelsTheThreadsItRunsOn() {
        auto tuned = testing::isamapCli({"tune", "gemm", "--target", "host", "M=256", "N=64", "K=64", "--budget", "300",
                                         "--threads", "2", "--top", "1", "--json"});
        QVERIFY2(tuned.status == 0, qPrintable(tuned.err));
        const QString text = QJsonDocument::fromJson(tuned.out.toUtf8()).object()["schedules"].toArray()[0].toObject()["schedule"].toString();
        QVERIFY2(text.contains(QRegularExpression("\nparallel [a-z]")) && !text.contains("parallel none"), qPrintable(text));
        QTemporaryDir dir;
        const QString file = testing::writeFile(dir, "parallel.schedule", text.toUtf8());
        const QRegularExpression modeled("\nmodeled ([0-9.]+) us, ");
        double seconds[2] = {};
        for (int threads : {1, 2}) {
            auto r = testing::isamapCli({"measure", "gemm", "--target", "host", "--schedule", file, "M=256", "N=64", "K=64",
                                         "--threads", QString::number(threads), "--runs", "3"});
            QVERIFY2(r.status == 0, qPrintable(r.err + r.out));
            const auto m = modeled.match(r.out);
            QVERIFY2(m.hasMatch(), qPrintable(r.out));
            seconds[threads - 1] = m.captured(1).toDouble();
        }
        QVERIFY2(seconds[0] > 1.8 * seconds[1], qPrintable(QString::number(seconds[0]) + " and " + QString::number(seconds[1])));
    }

    void tuneEmitsAssembly() {
        auto r = testing::isamapCli({"tune", "gemm", "--target", "host", "M=32", "N=8", "K=8", "--budget", "100",
                                     "--emit", "asm"});
        QVERIFY2(r.status == 0, qPrintable(r.err));
        QVERIFY(r.out.contains("host assembly of the best schedule"));
        QVERIFY(r.out.contains("vfmadd"));
    }

    // A kernel with an epilogue (bias and ReLU after the product): the tuner schedules the statement code
    // generation maps, and what it measures is the fused kernel, verified.
    void tuneMeasuresAKernelWithAnEpilogue() {
        auto r = testing::isamapCli({"tune", "fully_connected", "--target", "host", "BATCH=2", "IN=64", "OUT=48", "act=1",
                                     "--budget", "100", "--measure", "1"});
        QVERIFY2(r.status == 0, qPrintable(r.err));
        QVERIFY2(r.out.contains("checked all 96 output elements"), qPrintable(r.out + r.err));
        QVERIFY(!r.out.contains("(statement 2)"));
    }
};

QTEST_GUILESS_MAIN(CodegenTest)
#include "tst_codegen.moc"
