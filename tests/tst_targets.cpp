// The bundled targets: each parses and checks, carries the instructions it promises with their real
// shapes, runs through the interpreter with its own semantics, and the host variant is chosen by the
// CPU's features.
#include "interp/interpreter.h"
#include "targets/catalog.h"
#include "targets/host.h"

#include <QtTest>

#include <algorithm>

using namespace isamap;

namespace {

ir::Target load(const std::string& name) {
    std::string error;
    auto loaded = targets::loadTarget(name, error);
    if (!loaded)
        qFatal("cannot load %s: %s", name.c_str(), error.c_str());
    return loaded->target;
}

std::vector<std::int64_t> extents(const ir::Instruction& ins, bool reduction) {
    std::vector<std::int64_t> out;
    for (const auto& d : ins.body.dims)
        if (d.reduction == reduction)
            out.push_back(*ir::evaluate(d.extent, {}));
    return out;
}

// The compute instruction whose statement is a multiply-accumulate over the given extents.
const ir::Instruction* findMatrixInstruction(const ir::Target& t, std::vector<std::int64_t> spatial,
                                             std::vector<std::int64_t> reduction) {
    for (const auto& ins : t.instructions)
        if (ins.kind == ir::Instruction::Kind::Compute && extents(ins, false) == spatial &&
            extents(ins, true) == reduction)
            return &ins;
    return nullptr;
}

} // namespace

class TstTargets : public QObject {
    Q_OBJECT
private slots:
    void everyBundledTargetLoads() {
        QStringList names;
        for (const auto& t : targets::bundledTargets())
            names << QString::fromStdString(t.name);
        QCOMPARE(names, QStringList({"host-avx2", "host-avx512", "host-avx512-zen5", "nnp-like", "tensorcore-like", "tpu-like"}));
        for (const auto& name : names) {
            const auto t = load(name.toStdString());
            QVERIFY(!t.memories.empty());
            QVERIFY(!t.units.empty());
            bool hasMove = false;
            for (const auto& ins : t.instructions)
                hasMove |= ins.kind == ir::Instruction::Kind::Move;
            QVERIFY2(hasMove, qPrintable(name + " has no data-movement instruction"));
        }
    }

    void hostAvx512HasItsInstructions() {
        const auto t = load("host-avx512");
        const auto* zmm = t.findMemory("zmm");
        QVERIFY(zmm);
        QCOMPARE(zmm->registers, std::int64_t(32));
        QCOMPARE(zmm->bytes, std::uint64_t(32 * 64));
        const auto* fma = t.findInstruction("vfmadd_bcast_f32");
        QVERIFY(fma);
        QCOMPARE(extents(*fma, false), std::vector<std::int64_t>({16}));
        const auto* bf16 = t.findInstruction("vdpbf16ps_bcast");
        QVERIFY(bf16);
        QCOMPARE(extents(*bf16, true), std::vector<std::int64_t>({2}));
        const auto* vnni = t.findInstruction("vpdpbusd_bcast");
        QVERIFY(vnni);
        QCOMPARE(extents(*vnni, true), std::vector<std::int64_t>({4}));
        for (const auto* ins : {fma, bf16, vnni}) {
            const bool lowersToLlvm = std::any_of(ins->lowerings.begin(), ins->lowerings.end(),
                                                  [](const ir::Lowering& l) { return l.backend == "llvm"; });
            QVERIFY2(lowersToLlvm, ins->name.c_str());
        }
    }

    void hostAvx2HasNoAvx512Instructions() {
        const auto t = load("host-avx2");
        const auto* fma = t.findInstruction("vfmadd_bcast_f32");
        QVERIFY(fma);
        QCOMPARE(extents(*fma, false), std::vector<std::int64_t>({8}));
        QVERIFY(!t.findInstruction("vdpbf16ps_bcast"));
        QVERIFY(!t.findInstruction("vpdpbusd_bcast"));
    }

    void acceleratorsHaveTheirMatrixEngines() {
        QVERIFY(findMatrixInstruction(load("nnp-like"), {32, 32}, {32}));
        QVERIFY(findMatrixInstruction(load("tensorcore-like"), {16, 16}, {16}));
        const auto tpu = load("tpu-like");
        bool has128 = false;
        for (const auto& ins : tpu.instructions)
            for (auto e : extents(ins, true))
                has128 |= e == 128;
        QVERIFY2(has128, "tpu-like has no instruction reducing over the 128 rows of its array");
    }

    // An instruction is a kernel: the interpreter runs its statement with its own semantics.
    void vnniDotProductComputesWhatTheHardwareDoes() {
        const auto t = load("host-avx512");
        const auto* vnni = t.findInstruction("vpdpbusd_bcast");
        QVERIFY(vnni);
        auto buffers = interp::randomInputs(vnni->body, 3);
        // Remember the accumulator's starting values (inout), then run.
        std::string inoutName;
        std::string wideName;
        for (const auto& tensor : vnni->body.tensors) {
            if (tensor.role == ir::TensorRole::InOut)
                inoutName = tensor.name;
            else if (tensor.shape.size() == 2)
                wideName = tensor.name;
        }
        QVERIFY(!inoutName.empty() && !wideName.empty());
        std::string narrowName;
        for (const auto& tensor : vnni->body.tensors)
            if (tensor.role == ir::TensorRole::In && tensor.name != wideName)
                narrowName = tensor.name;
        std::vector<double> before;
        for (int i = 0; i < 16; ++i)
            before.push_back(buffers.at(inoutName).at({i}));
        QVERIFY(!interp::run(vnni->body, buffers));
        for (int i = 0; i < 16; ++i) {
            double expected = before[static_cast<std::size_t>(i)];
            for (int q = 0; q < 4; ++q)
                expected += buffers.at(wideName).at({i, q}) * buffers.at(narrowName).at({q});
            QCOMPARE(buffers.at(inoutName).at({i}), expected);
        }
    }

    void hostTargetIsChosenByFeatures() {
        std::string error;
        targets::HostCpu zen4{"znver4", {"avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512bf16", "avx512vnni"}};
        auto chosen = targets::hostTargetFor(zen4, error);
        QVERIFY2(chosen, error.c_str());
        QCOMPARE(chosen->target.name, std::string("host-avx512"));

        // Zen 5 runs 512-bit operations whole: its own description, two FMAs a cycle where Zen 4 has one.
        auto zen5 = zen4;
        zen5.name = "generic"; // what LLVM 16 calls it
        zen5.features.insert("avx512vp2intersect");
        chosen = targets::hostTargetFor(zen5, error);
        QVERIFY2(chosen, error.c_str());
        QCOMPARE(chosen->target.name, std::string("host-avx512-zen5"));
        const auto& fma = *std::find_if(chosen->target.instructions.begin(), chosen->target.instructions.end(),
                                        [](const ir::Instruction& i) { return i.name == "vfmadd_bcast_f32"; });
        QCOMPARE(fma.throughput, 2.0);

        targets::HostCpu haswell{"haswell", {"avx2", "fma"}};
        chosen = targets::hostTargetFor(haswell, error);
        QVERIFY2(chosen, error.c_str());
        QCOMPARE(chosen->target.name, std::string("host-avx2"));

        targets::HostCpu old{"core2", {"sse4.1"}};
        QVERIFY(!targets::hostTargetFor(old, error));
        QVERIFY2(QString::fromStdString(error).contains("no bundled host target fits this CPU (core2)"), error.c_str());
        QVERIFY(QString::fromStdString(error).contains("host-avx2 needs avx2 fma"));
    }

    void thisMachineGetsAHostTarget() {
        const auto cpu = targets::detectHost();
        QVERIFY(!cpu.name.empty());
        std::string error;
        auto chosen = targets::hostTarget(error);
        if (!cpu.has("avx2"))
            QSKIP("this CPU has no AVX2; no bundled host target fits it");
        QVERIFY2(chosen, error.c_str());
        QVERIFY(targets::missingFeatures(cpu, chosen->target.features).empty());
    }
};

QTEST_GUILESS_MAIN(TstTargets)
#include "tst_targets.moc"
