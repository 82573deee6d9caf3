// The instruction mapper: the showcases, each candidate proved sound by running the kernel through it;
// validity decided from the access functions alone; the reasons given for rejected candidates.
#include "frontend/library.h"
#include "interp/interpreter.h"
#include "ir/printer.h"
#include "mapping/execute.h"
#include "mapping/mapping.h"
#include "targets/catalog.h"

#include <QtTest>
#include <cmath>

using namespace isamap;

namespace {

ir::Target target(const std::string& name) {
    std::string error;
    auto loaded = targets::loadTarget(name, error);
    if (!loaded)
        qFatal("%s", error.c_str());
    return loaded->target;
}

ir::Module generate(const std::string& name, const frontend::Args& args) {
    std::string error;
    auto m = frontend::generate(name, args, error);
    if (!m)
        qFatal("%s", error.c_str());
    return *m;
}

ir::Kernel parseKernel(const std::string& text) {
    auto result = frontend::parseAndCheck(ir::SourceFile{"test.isa", text});
    if (ir::hasErrors(result.diagnostics))
        qFatal("%s", ir::format(result.diagnostics).c_str());
    return result.module.kernels.front();
}

// Tolerance by type: instruction tiles round to the accumulator's type after every call.
bool close(double a, double b, ir::ScalarType t) {
    if (!ir::isFloat(t))
        return a == b;
    return std::fabs(a - b) <= 1e-4 * std::max(1.0, std::fabs(b));
}

// Runs every valid candidate of the kernel on the target and compares with the reference. Returns the
// number of candidates proved.
int proveAll(const ir::Kernel& kernel, const ir::Target& t) {
    const auto result = mapping::mapKernel(kernel, t);
    auto reference = interp::randomInputs(kernel, 11);
    auto inputs = reference;
    for (auto& [name, b] : inputs) // detach: the reference run must not write into the mapped run's inputs
        b.storage = std::make_shared<interp::Values>(*b.storage);
    if (auto error = interp::run(kernel, reference))
        qFatal("%s", error->c_str());
    int proved = 0;
    for (const auto& c : result.candidates) {
        if (!c.valid)
            continue;
        auto buffers = inputs;
        for (auto& [name, b] : buffers)
            b.storage = std::make_shared<interp::Values>(*b.storage);
        const ir::Instruction* ins = t.findInstruction(c.instruction);
        auto error = mapping::runMapped(kernel, *ins, c, buffers);
        if (error) {
            QTest::qFail(("candidate " + c.key + ": " + *error).c_str(), __FILE__, __LINE__);
            return -1;
        }
        for (const auto& tensor : kernel.tensors) {
            if (tensor.role != ir::TensorRole::Out && tensor.role != ir::TensorRole::InOut)
                continue;
            const auto& want = reference.at(tensor.name);
            const auto& got = buffers.at(tensor.name);
            bool same = true;
            std::vector<std::int64_t> where;
            want.forEach([&](const std::vector<std::int64_t>& idx) {
                if (same && !close(got.at(idx), want.at(idx), tensor.type)) {
                    same = false;
                    where = idx;
                }
            });
            if (!same) {
                QTest::qFail(("candidate " + c.key + " of " + kernel.name + " on " + t.name + " gives a different " +
                              tensor.name)
                                 .c_str(),
                             __FILE__, __LINE__);
                return -1;
            }
        }
        ++proved;
    }
    return proved;
}

const mapping::Candidate* findValid(const mapping::MappingResult& r, const std::string& instruction,
                                    const std::vector<std::pair<std::string, std::string>>& binding) {
    for (const auto& c : r.candidates) {
        if (!c.valid || c.instruction != instruction)
            continue;
        bool all = true;
        for (const auto& [e, expr] : binding) {
            auto it = std::find_if(c.dims.begin(), c.dims.end(),
                                   [&](const mapping::DimBinding& d) { return d.instructionDim == e; });
            all = all && it != c.dims.end() && it->kernelDims.size() == 1 && it->kernelDims[0] == expr;
        }
        if (all)
            return &c;
    }
    return nullptr;
}

const char* kGemmVariant = "kernel gemm(M = 36, N = 10, K = 9) {\n  dim m < M, n < N\n  reduce k < K\n"
                           "  in A : f32[M, K]\n  in B : f32[K, N]\n  out C : f32[M, N]\n  C[m, n] += A[m, k] * B[k, n]\n}\n";

} // namespace

class TstMapping : public QObject {
    Q_OBJECT
private slots:
    // GEMM with every transpose combination onto every target, in the element types each target has.
    void gemmOntoEveryTarget_data() {
        QTest::addColumn<QString>("target");
        QTest::addColumn<int>("dtype");
        const std::pair<const char*, std::vector<int>> targets[] = {
            {"host-avx512", {0, 1, 3}}, {"host-avx2", {0}}, {"nnp-like", {0, 1}}, {"tpu-like", {4}}, {"tensorcore-like", {2}}};
        for (const auto& [name, dtypes] : targets)
            for (int d : dtypes)
                QTest::newRow(qPrintable(QString("%1 dtype=%2").arg(name).arg(d))) << QString(name) << d;
    }

    void gemmOntoEveryTarget() {
        QFETCH(QString, target);
        QFETCH(int, dtype);
        const auto t = ::target(target.toStdString());
        for (int ta = 0; ta <= 1; ++ta)
            for (int tb = 0; tb <= 1; ++tb) {
                auto m = generate("gemm", {{"M", 19}, {"N", 18}, {"K", 9}, {"ta", ta}, {"tb", tb}, {"dtype", dtype}});
                const auto result = mapping::mapKernel(m.kernels[0], t);
                QVERIFY2(result.validCount() > 0, qPrintable(QString("ta=%1 tb=%2").arg(ta).arg(tb)));
                // The best candidate binds the instruction's dimensions to real kernel dimensions.
                const auto& best = result.candidates.front();
                QVERIFY(best.valid && !best.dominated);
                QVERIFY(std::any_of(best.dims.begin(), best.dims.end(),
                                    [](const mapping::DimBinding& d) { return !d.kernelDims.empty(); }));
                QVERIFY(proveAll(m.kernels[0], t) > 0);
            }
    }

    void conv2dOntoMatrixInstructionsWithoutIm2col() {
        const auto t = target("nnp-like");
        auto m = generate("conv2d", {{"N", 1}, {"C", 3}, {"K", 4}, {"H", 4}, {"W", 4}, {"pad", 1}});
        const auto result = mapping::mapKernel(m.kernels[0], t);
        // Output channels against pixels, reducing over input channels: the filter window stays a loop
        // around the instruction and X is read in place.
        const auto* direct = findValid(result, "mma32", {{"i", "k"}, {"j", "ow"}, {"k", "c"}});
        QVERIFY(direct);
        QVERIFY(std::find(direct->outerLoops.begin(), direct->outerLoops.end(), "r") != direct->outerLoops.end());
        // Binding the filter's rows to the reduction reads X through an overlapping view, without a copy.
        bool overlapping = false;
        for (const auto& c : result.candidates)
            for (const auto& o : c.operands)
                overlapping |= c.valid && o.overlapping && o.kernelTensor == "X";
        QVERIFY(overlapping);
        QVERIFY(proveAll(m.kernels[0], t) > 0);
    }

    void depthwiseSeparableBlock() {
        auto m = generate("dwsep", {{"C", 4}, {"K", 6}, {"H", 5}, {"W", 5}, {"pad", 1}});
        const ir::Graph& g = m.graphs.front();
        auto instanceOf = [&](const ir::Node& n) { return *ir::nodeKernel(m, g, n); };
        const ir::Kernel depthwise = instanceOf(g.nodes[0]);
        const ir::Kernel pointwise = instanceOf(g.nodes[1]);
        const auto nnp = target("nnp-like");
        const auto host = target("host-avx512");

        // The pointwise half: channels against pixels, a matrix multiplication.
        auto pw = mapping::mapKernel(pointwise, nnp);
        QVERIFY(pw.validCount() > 0);
        QVERIFY(std::any_of(pw.candidates.begin(), pw.candidates.end(), [](const mapping::Candidate& c) {
            return c.valid && c.dims[2].kernelDims == std::vector<std::string>{"c"} && !c.dims[0].kernelDims.empty() &&
                   !c.dims[1].kernelDims.empty();
        }));
        QVERIFY(proveAll(pointwise, nnp) > 0);

        // The depthwise half onto the host's vector FMA, along the output row.
        auto dwHost = mapping::mapKernel(depthwise, host);
        QVERIFY(findValid(dwHost, "vfmadd_bcast_f32", {{"i", "ow"}}));
        QVERIFY(proveAll(depthwise, host) > 0);

        // And, the paper's showcase, as a matrix product on nnp-like: the pixels (oh, ow) fused into the
        // instruction's rows against the filter taps, X seen through an overlapping strided view.
        auto dwNnp = mapping::mapKernel(depthwise, nnp);
        const auto pixelsAgainstTaps = std::find_if(dwNnp.candidates.begin(), dwNnp.candidates.end(), [](const auto& c) {
            return c.valid && c.instruction == "mma32" && c.dims[0].kernelDims == std::vector<std::string>{"oh", "ow"} &&
                   c.dims[2].kernelDims.size() == 1 && (c.dims[2].kernelDims[0] == "r" || c.dims[2].kernelDims[0] == "s");
        });
        QVERIFY(pixelsAgainstTaps != dwNnp.candidates.end());
        QVERIFY(std::any_of(pixelsAgainstTaps->operands.begin(), pixelsAgainstTaps->operands.end(),
                            [](const auto& o) { return o.kernelTensor == "X" && o.overlapping; }));
        QVERIFY(proveAll(depthwise, nnp) > 0);
    }

    void gruGatesAreOneGemmOfHeight3H() {
        auto m = generate("gru_cell", {{"H", 12}, {"B", 3}});
        const ir::Kernel gates = ir::withParams(*m.findKernel("gru_gates"), {{"H", 12}, {"B", 3}, {"I", 12}});
        const auto nnp = target("nnp-like");
        auto r = mapping::mapKernel(gates, nnp);
        const auto fused = std::find_if(r.candidates.begin(), r.candidates.end(), [](const mapping::Candidate& c) {
            return c.valid && std::any_of(c.dims.begin(), c.dims.end(), [](const mapping::DimBinding& d) {
                       return d.kernelDims == std::vector<std::string>{"g", "j"};
                   });
        });
        QVERIFY(fused != r.candidates.end());
        const auto& gj = *std::find_if(fused->dims.begin(), fused->dims.end(), [](const auto& d) { return d.kernelDims.size() == 2; });
        QCOMPARE(gj.kernelExtent, std::int64_t(36)); // 3H
        QCOMPARE(gj.expression(gates), std::string("g*12 + j"));
        // The fused binding needs fewer calls than the one that leaves g as a loop.
        const auto* split = findValid(r, fused->instruction, {{gj.instructionDim, "j"}});
        QVERIFY(split);
        QVERIFY(fused->calls < split->calls);
        QVERIFY(proveAll(gates, nnp) > 0);
    }

    void lowPrecisionDotProductsNeedPairsAndQuads() {
        const auto host = target("host-avx512");
        auto int8 = generate("gemm", {{"M", 20}, {"N", 3}, {"K", 10}, {"dtype", 3}});
        auto r = mapping::mapKernel(int8.kernels[0], host);
        const auto* vnni = findValid(r, "vpdpbusd_bcast", {{"i", "m"}, {"q", "k"}});
        QVERIFY(vnni);
        // Column-major A is contiguous along m; the instruction wants quads of k together.
        QVERIFY(std::any_of(vnni->layoutChanges.begin(), vnni->layoutChanges.end(),
                            [](const std::string& s) { return s.find("pack A") == 0; }));
        QVERIFY(proveAll(int8.kernels[0], host) > 0);

        auto bf16 = generate("gemm", {{"M", 20}, {"N", 3}, {"K", 10}, {"dtype", 1}});
        r = mapping::mapKernel(bf16.kernels[0], host);
        QVERIFY(findValid(r, "vdpbf16ps_bcast", {{"i", "m"}, {"p", "k"}}));
        QVERIFY(proveAll(bf16.kernels[0], host) > 0);
    }

    // Validity comes from the access functions: GEMMs written other ways map as a GEMM does.
    void gemmWrittenOtherWays_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("i");
        QTest::addColumn<QString>("j");
        QTest::addColumn<QString>("k");
        QTest::newRow("renamed") << QString("kernel product(P = 36, Q = 10, R = 9) {\n  dim x < P, y < Q\n  reduce z < R\n"
                                            "  in L : f32[P, R]\n  in W : f32[R, Q]\n  out O : f32[P, Q]\n"
                                            "  O[x, y] += L[x, z] * W[z, y]\n}\n")
                                 << "x" << "y" << "z";
        QTest::newRow("reordered dimensions") << QString(kGemmVariant).replace("dim m < M, n < N\n  reduce k < K",
                                                                               "reduce k < K\n  dim n < N, m < M")
                                              << "m" << "n" << "k";
        QTest::newRow("operands swapped") << QString(kGemmVariant).replace("A[m, k] * B[k, n]", "B[k, n] * A[m, k]")
                                          << "m" << "n" << "k";
        QTest::newRow("transposed layout") << QString(kGemmVariant).replace("in A : f32[M, K]", "in A : f32[M, K] transposed(1, 0)")
                                           << "m" << "n" << "k";
        QTest::newRow("batch dimension") << QString("kernel bmm(BT = 2, M = 36, N = 10, K = 9) {\n  dim b < BT, m < M, n < N\n"
                                                    "  reduce k < K\n  in A : f32[BT, M, K]\n  in B : f32[BT, K, N]\n"
                                                    "  out C : f32[BT, M, N]\n  C[b, m, n] += A[b, m, k] * B[b, k, n]\n}\n")
                                         << "m" << "n" << "k";
        QTest::newRow("strided operand") << QString(kGemmVariant).replace("in A : f32[M, K]", "in A : f32[M, 2*K]")
                                                                   .replace("A[m, k]", "A[m, 2*k]")
                                         << "m" << "n" << "k";
    }

    void gemmWrittenOtherWays() {
        QFETCH(QString, text);
        QFETCH(QString, i);
        QFETCH(QString, j);
        QFETCH(QString, k);
        const auto nnp = target("nnp-like");
        const ir::Kernel kernel = parseKernel(text.toStdString());
        auto r = mapping::mapKernel(kernel, nnp);
        const auto* c = findValid(r, "mma32", {{"i", i.toStdString()}, {"j", j.toStdString()}, {"k", k.toStdString()}});
        QVERIFY2(c, qPrintable(text));
        // Same extents as the plain GEMM: same utilisation, whatever the writing.
        const auto plain = mapping::mapKernel(parseKernel(kGemmVariant), nnp);
        QCOMPARE(c->utilisation, findValid(plain, "mma32", {{"i", "m"}, {"j", "n"}, {"k", "k"}})->utilisation);
        QVERIFY(proveAll(kernel, nnp) > 0);
    }

    void stridedOperandNeedsPacking() {
        const ir::Kernel kernel = parseKernel(QString(kGemmVariant).replace("in B : f32[K, N]", "in B : f32[K, 7*N]")
                                                  .replace("B[k, n]", "B[k, 7*n]")
                                                  .toStdString());
        auto r = mapping::mapKernel(kernel, target("nnp-like"));
        const auto* c = findValid(r, "mma32", {{"i", "m"}, {"j", "n"}, {"k", "k"}});
        QVERIFY(c);
        QVERIFY(std::find(c->layoutChanges.begin(), c->layoutChanges.end(),
                          "pack B: its stride along the instruction's j is 7, the instruction needs unit stride") !=
                c->layoutChanges.end());
    }

    void rejectedCandidatesSayWhy() {
        auto r = mapping::mapKernel(parseKernel(kGemmVariant), target("nnp-like"));
        auto reasonFor = [&](const std::vector<std::pair<std::string, std::string>>& prefix) -> std::string {
            for (const auto& c : r.candidates) {
                if (c.valid || c.dims.size() != prefix.size())
                    continue;
                bool match = true;
                for (std::size_t i = 0; i < prefix.size(); ++i)
                    match = match && c.dims[i].instructionDim == prefix[i].first &&
                            c.dims[i].kernelDims == std::vector<std::string>{prefix[i].second};
                if (match)
                    return c.reason;
            }
            return "(no such rejected candidate)";
        };
        QCOMPARE(reasonFor({{"i", "k"}}),
                 std::string("output C does not depend on k, which is bound to i but the instruction's c does"));
        QCOMPARE(reasonFor({{"i", "m"}, {"j", "n"}, {"k", "m"}}), std::string("(no such rejected candidate)"));
        QCOMPARE(reasonFor({{"i", "m"}, {"j", "k"}}),
                 std::string("output C does not depend on k, which is bound to j but the instruction's c does"));
        QCOMPARE(reasonFor({{"i", "m"}, {"j", "n"}, {"k", "n"}}), std::string("(no such rejected candidate)"));

        auto elementwise = parseKernel("kernel act(N = 8) {\n  dim i < N\n  in X : f32[N]\n  out Y : f32[N]\n  Y[i] = relu(X[i])\n}\n");
        auto e = mapping::mapKernel(elementwise, target("nnp-like"));
        const auto* mma = std::find_if(e.candidates.begin(), e.candidates.end(),
                                       [](const auto& c) { return c.instruction == "mma32"; }).base();
        QCOMPARE(mma->reason, std::string("the instruction accumulates a sum (+=), the kernel's statement assigns (=)"));

        auto wrongType = mapping::mapKernel(generate("gemm", {{"dtype", 4}}).kernels[0], target("host-avx512"));
        QVERIFY(std::any_of(wrongType.candidates.begin(), wrongType.candidates.end(), [](const auto& c) {
            return c.instruction == "vpdpbusd_bcast" && c.reason == "A is i8 but the instruction's a is u8";
        }));
    }

    void reductionDimensionOntoSpatialIsRejectedInWords() {
        auto r = mapping::mapKernel(parseKernel(kGemmVariant), target("host-avx512"));
        QVERIFY(std::any_of(r.candidates.begin(), r.candidates.end(), [](const mapping::Candidate& c) {
            return c.reason == "output C does not depend on k, which is bound to i but the instruction's c does";
        }));
    }

    void orderAndIdsAreStable() {
        const auto kernel = parseKernel(kGemmVariant);
        const auto t = target("nnp-like");
        const auto a = mapping::mapKernel(kernel, t);
        const auto b = mapping::mapKernel(kernel, t);
        QCOMPARE(a.candidates.size(), b.candidates.size());
        std::set<std::string> keys;
        for (std::size_t i = 0; i < a.candidates.size(); ++i) {
            QCOMPARE(a.candidates[i].id, static_cast<int>(i + 1));
            QCOMPARE(a.candidates[i].key, b.candidates[i].key);
            QVERIFY2(keys.insert(a.candidates[i].key).second, a.candidates[i].key.c_str());
        }
    }

    void symmetricChoicesAreGrouped() {
        // c = a * b with two scalar operands: swapping them changes nothing, so it is one candidate.
        auto r = mapping::mapKernel(parseKernel(kGemmVariant), target("host-avx512"));
        QVERIFY(std::any_of(r.candidates.begin(), r.candidates.end(),
                            [](const mapping::Candidate& c) { return c.symmetricCount > 1; }));
    }
};

QTEST_GUILESS_MAIN(TstMapping)
#include "tst_mapping.moc"
