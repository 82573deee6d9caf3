// The kernel library: every generator makes a module that parses, checks and prints back to itself;
// argument rules give their messages; library calls work from the text format; the sizes a
// generator turns into parameters can be overridden without breaking the kernel.
#include "frontend/library.h"
#include "ir/check.h"
#include "ir/printer.h"

#include <QtTest>
#include <set>

using namespace isamap;

Q_DECLARE_METATYPE(isamap::frontend::Args)

namespace {

std::string describe(const frontend::Args& args) {
    std::string out;
    for (const auto& [key, value] : args)
        out += (out.empty() ? "" : " ") + key + "=" + std::to_string(value);
    return out;
}

std::vector<std::int64_t> shapeOf(const ir::Kernel& k, const std::string& tensor) {
    const ir::TensorDecl* t = k.findTensor(tensor);
    if (!t)
        return {};
    return ir::shape(*t, k.paramValues()).value_or(std::vector<std::int64_t>{});
}

std::string messages(const std::vector<ir::Diagnostic>& diagnostics) {
    return ir::format(diagnostics);
}

bool anyMessageContains(const std::vector<ir::Diagnostic>& diagnostics, const std::string& text) {
    for (const auto& d : diagnostics)
        if (d.message.find(text) != std::string::npos)
            return true;
    return false;
}

using Shape = std::vector<std::int64_t>;

} // namespace

class TstLibrary : public QObject {
    Q_OBJECT
private slots:
    void everyFamilyIsPresent() {
        const std::set<std::string> expectedKernels = {
            "gemm",     "batched_gemm", "fully_connected", "conv2d", "depthwise", "pointwise",
            "bias_add", "relu",         "sigmoid",         "tanh"};
        const std::set<std::string> expectedGraphs = {"dwsep", "gru_cell", "gru_sequence", "lstm_cell",
                                                      "rnn_cell"};
        for (const auto& name : expectedKernels) {
            const frontend::Generator* g = frontend::findGenerator(name);
            QVERIFY2(g, name.c_str());
            QVERIFY2(!g->makesGraph, name.c_str());
        }
        for (const auto& name : expectedGraphs) {
            const frontend::Generator* g = frontend::findGenerator(name);
            QVERIFY2(g, name.c_str());
            QVERIFY2(g->makesGraph, name.c_str());
        }
    }

    void generatesChecksAndRoundTrips_data() {
        QTest::addColumn<QString>("generator");
        QTest::addColumn<frontend::Args>("args");
        for (const auto& g : frontend::generators())
            QTest::newRow((g.name + " defaults").c_str())
                << QString::fromStdString(g.name) << frontend::Args{};
        // Structural variants: each shapes the statements differently.
        const std::vector<std::pair<std::string, frontend::Args>> variants = {
            {"conv2d", {{"nhwc", 1}}},
            {"conv2d", {{"groups", 4}}},
            {"conv2d", {{"groups", 4}, {"nhwc", 1}}},
            {"conv2d", {{"stride", 2}, {"pad", 1}, {"dilation", 2}}},
            {"conv2d", {{"R", 5}, {"S", 20}, {"pad_h", 2}, {"pad_w", 0}, {"stride_h", 1}, {"stride_w", 2}}},
            {"depthwise", {{"nhwc", 1}, {"stride", 2}, {"pad", 1}}},
            {"depthwise", {{"blocked", 1}, {"stride", 2}, {"pad", 1}}},
            {"pointwise", {{"nhwc", 1}}},
            {"pointwise", {{"nhwc", 1}, {"packed", 1}, {"K", 96}}},
            {"dwsep", {{"nhwc", 1}, {"stride", 2}, {"pad", 1}}},
            {"dwsep", {{"nhwc", 1}, {"stride", 2}, {"pad", 1}, {"packed", 1}}},
            {"bias_add", {{"nhwc", 1}}},
            {"gru_cell", {{"I", 100}}},
            {"gru_sequence", {{"T", 1}}},
            {"lstm_cell", {{"I", 128}, {"B", 1}}},
            {"fully_connected", {{"act", 3}}},
        };
        for (const auto& [name, args] : variants)
            QTest::newRow((name + " " + describe(args)).c_str()) << QString::fromStdString(name) << args;
    }
    void generatesChecksAndRoundTrips() {
        QFETCH(QString, generator);
        QFETCH(frontend::Args, args);
        std::string error;
        auto module = frontend::generate(generator.toStdString(), args, error);
        QVERIFY2(module, error.c_str());
        const frontend::Generator* info = frontend::findGenerator(generator.toStdString());
        QVERIFY(info);
        QCOMPARE(!module->graphs.empty(), info->makesGraph);

        const std::string printed = ir::print(*module);
        auto reparsed = frontend::parseAndCheck(ir::SourceFile{"printed", printed});
        QVERIFY2(!ir::hasErrors(reparsed.diagnostics), messages(reparsed.diagnostics).c_str());
        QVERIFY2(reparsed.module == *module, printed.c_str());
    }

    void argumentValidation_data() {
        QTest::addColumn<QString>("generator");
        QTest::addColumn<frontend::Args>("args");
        QTest::addColumn<QString>("message");
        auto row = [](const char* name, const char* generator, frontend::Args args, const char* message) {
            QTest::newRow(name) << generator << args << message;
        };
        row("conv2d N", "conv2d", {{"N", 0}}, "'conv2d': N must be at least 1, not 0");
        row("conv2d groups", "conv2d", {{"groups", 0}}, "'conv2d': groups must be at least 1, not 0");
        row("conv2d nhwc", "conv2d", {{"nhwc", 2}}, "'conv2d': nhwc must be 0 or 1, not 2");
        row("conv2d stride", "conv2d", {{"stride", 0}}, "'conv2d': stride must be at least 1, not 0");
        row("conv2d dilation", "conv2d", {{"dilation", -1}}, "'conv2d': dilation must be at least 1, not -1");
        row("conv2d pad", "conv2d", {{"pad", -1}}, "'conv2d': pad must not be negative, not -1");
        row("conv2d stride_h", "conv2d", {{"stride_h", 0}},
            "'conv2d': stride_h must be at least 1 (or -1 for the value of stride), not 0");
        row("conv2d pad_w", "conv2d", {{"pad_w", -2}},
            "'conv2d': pad_w must not be negative (or -1 for the value of pad), not -2");
        row("conv2d groups divide C", "conv2d", {{"groups", 3}},
            "'conv2d': groups = 3 must divide the input channels C = 32");
        row("conv2d groups divide K", "conv2d", {{"groups", 4}, {"K", 66}},
            "'conv2d': groups = 4 must divide the output channels K = 66");
        row("conv2d filter height", "conv2d", {{"R", 60}},
            "'conv2d': the filter does not fit: R = 60 (dilation 1) spans 60 rows "
            "but the padded input height H + 2*pad_h is only 56");
        row("conv2d dilated width", "conv2d", {{"W", 8}, {"dilation", 5}, {"pad_w", 1}},
            "'conv2d': the filter does not fit: S = 3 (dilation 5) spans 11 columns "
            "but the padded input width W + 2*pad_w is only 10");
        row("depthwise C", "depthwise", {{"C", 0}}, "'depthwise': C must be at least 1, not 0");
        row("depthwise nhwc", "depthwise", {{"nhwc", -1}}, "'depthwise': nhwc must be 0 or 1, not -1");
        row("depthwise blocked", "depthwise", {{"blocked", 2}}, "'depthwise': blocked must be 0 or 1, not 2");
        row("depthwise blocked nhwc", "depthwise", {{"blocked", 1}, {"nhwc", 1}},
            "'depthwise': blocked channels are a layout of their own: nhwc must be 0 with blocked = 1");
        row("depthwise blocked C", "depthwise", {{"blocked", 1}, {"C", 40}},
            "'depthwise': blocked channels need C divisible by 16, not 40");
        row("depthwise fit", "depthwise", {{"H", 2}},
            "'depthwise': the filter does not fit: R = 3 (dilation 1) spans 3 rows "
            "but the padded input height H + 2*pad_h is only 2");
        row("pointwise K", "pointwise", {{"K", 0}}, "'pointwise': K must be at least 1, not 0");
        row("pointwise nhwc", "pointwise", {{"nhwc", 3}}, "'pointwise': nhwc must be 0 or 1, not 3");
        row("pointwise packed", "pointwise", {{"packed", 2}, {"nhwc", 1}}, "'pointwise': packed must be 0 or 1, not 2");
        row("pointwise packed nchw", "pointwise", {{"packed", 1}},
            "'pointwise': packed filters need channel-last activations (nhwc = 1)");
        row("pointwise packed K", "pointwise", {{"packed", 1}, {"nhwc", 1}, {"K", 40}},
            "'pointwise': packed filters need K divisible by 16, not 40");
        row("dwsep packed K", "dwsep", {{"packed", 1}, {"nhwc", 1}, {"K", 24}},
            "'dwsep': packed filters need K divisible by 16, not 24");
        row("dwsep K", "dwsep", {{"K", 0}}, "'dwsep': K must be at least 1, not 0");
        row("dwsep stride", "dwsep", {{"stride_w", -3}},
            "'dwsep': stride_w must be at least 1 (or -1 for the value of stride), not -3");
        row("gru_cell H", "gru_cell", {{"H", 0}}, "'gru_cell': H must be at least 1, not 0");
        row("gru_cell I", "gru_cell", {{"I", -1}},
            "'gru_cell': I must be at least 1 (or 0 for the same as H), not -1");
        row("gru_sequence T", "gru_sequence", {{"T", 0}}, "'gru_sequence': T must be at least 1, not 0");
        row("lstm_cell B", "lstm_cell", {{"B", 0}}, "'lstm_cell': B must be at least 1, not 0");
        row("rnn_cell H", "rnn_cell", {{"H", -5}}, "'rnn_cell': H must be at least 1, not -5");
        row("bias_add C", "bias_add", {{"C", 0}}, "'bias_add': C must be at least 1, not 0");
        row("bias_add nhwc", "bias_add", {{"nhwc", 5}}, "'bias_add': nhwc must be 0 or 1, not 5");
        row("relu W", "relu", {{"W", 0}}, "'relu': W must be at least 1, not 0");
        row("sigmoid N", "sigmoid", {{"N", 0}}, "'sigmoid': N must be at least 1, not 0");
        row("tanh H", "tanh", {{"H", -3}}, "'tanh': H must be at least 1, not -3");
    }
    void argumentValidation() {
        QFETCH(QString, generator);
        QFETCH(frontend::Args, args);
        QFETCH(QString, message);
        std::string error;
        QVERIFY(!frontend::generate(generator.toStdString(), args, error));
        QCOMPARE(QString::fromStdString(error), message);
    }

    void unknownGeneratorOrArgument() {
        std::string error;
        QVERIFY(!frontend::generate("winograd", {}, error));
        QVERIFY2(error.starts_with("unknown library kernel 'winograd'; the library has:"), error.c_str());
        QVERIFY2(error.find(" conv2d") != std::string::npos && error.find(" gru_cell") != std::string::npos,
                 error.c_str());

        QVERIFY(!frontend::generateText("conv2d", {{"stride_x", 2}}, error));
        QVERIFY2(
            error.starts_with("'conv2d' has no argument 'stride_x'; its arguments are: N C K H W R S stride"),
            error.c_str());
    }

    void libraryCallsInText() {
        const std::string text = "kernel g = gemm(M = 8, ta = 1)\n"
                                 "graph cell = gru_cell(H = 8, B = 2)\n"
                                 "graph block = dwsep(C = 4, K = 8, H = 10, W = 10, stride = 2, pad = 1)\n";
        auto result = frontend::parseAndCheck(ir::SourceFile{"calls.isa", text});
        QVERIFY2(!ir::hasErrors(result.diagnostics), messages(result.diagnostics).c_str());

        const ir::Kernel* g = result.module.findKernel("g");
        QVERIFY(g);
        QCOMPARE(g->findParam("M")->value, std::int64_t(8));
        QCOMPARE(shapeOf(*g, "A"), (Shape{48, 8})); // ta = 1: A stored K x M
        QCOMPARE(ir::print(g->statements.front()), std::string("C[m, n] += A[k, m] * B[k, n]"));

        const ir::Graph* cell = result.module.findGraph("cell");
        QVERIFY(cell);
        QCOMPARE(cell->nodes.size(), std::size_t(3));
        // A graph's kernels take the instance's name as a prefix.
        QVERIFY(result.module.findKernel("cell_gru_gates") && result.module.findKernel("cell_gru_tail"));
        QCOMPARE(cell->nodes.front().kernel, std::string("cell_gru_gates"));

        const ir::Graph* block = result.module.findGraph("block");
        QVERIFY(block);
        QCOMPARE(ir::shape(*block->findTensor("Y"), block->paramValues()).value(), (Shape{1, 8, 5, 5}));
    }

    void libraryCallErrorsInText_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("message");
        auto row = [](const char* name, const char* text, const char* message) {
            QTest::newRow(name) << text << message;
        };
        row("graph as kernel", "kernel k = gru_cell()\n", "makes a graph, not a single kernel");
        row("kernel as graph", "graph k = gemm()\n", "makes a kernel, not a graph");
        row("bad argument value", "kernel c = conv2d(groups = 3)\n",
            "groups = 3 must divide the input channels C = 32");
        row("unknown generator", "kernel x = nosuch(M = 1)\n", "unknown library kernel 'nosuch'");
        row("unknown argument", "kernel x = gemm(Q = 1)\n", "'gemm' has no argument 'Q'");
    }
    void libraryCallErrorsInText() {
        QFETCH(QString, text);
        QFETCH(QString, message);
        auto result = frontend::parseAndCheck(ir::SourceFile{"calls.isa", text.toStdString()});
        QVERIFY(ir::hasErrors(result.diagnostics));
        QVERIFY2(anyMessageContains(result.diagnostics, message.toStdString()),
                 messages(result.diagnostics).c_str());
        QCOMPARE(result.diagnostics.front().line, 1);
    }

    // The layouts each conv2d variant documents: NCHW with KCRS filters, NHWC with RSCK filters, and
    // 5-D views with a group dimension when groups > 1.
    void convolutionLayouts_data() {
        QTest::addColumn<frontend::Args>("args");
        QTest::addColumn<Shape>("x");
        QTest::addColumn<Shape>("f");
        QTest::addColumn<Shape>("y");
        const frontend::Args base = {{"N", 2}, {"C", 4}, {"K", 6}, {"H", 9},
                                     {"W", 8}, {"R", 3}, {"S", 2}, {"stride", 2}};
        auto with = [&](frontend::Args extra) {
            frontend::Args a = base;
            a.insert(extra.begin(), extra.end());
            return a;
        };
        // Output: (9 - 3) / 2 + 1 = 4 rows, (8 - 2) / 2 + 1 = 4 columns.
        QTest::newRow("nchw") << base << Shape{2, 4, 9, 8} << Shape{6, 4, 3, 2} << Shape{2, 6, 4, 4};
        QTest::newRow("nhwc") << with({{"nhwc", 1}}) << Shape{2, 9, 8, 4} << Shape{3, 2, 4, 6}
                              << Shape{2, 4, 4, 6};
        QTest::newRow("nchw grouped")
            << with({{"groups", 2}}) << Shape{2, 2, 2, 9, 8} << Shape{2, 3, 2, 3, 2} << Shape{2, 2, 3, 4, 4};
        QTest::newRow("nhwc grouped") << with({{"groups", 2}, {"nhwc", 1}}) << Shape{2, 9, 8, 2, 2}
                                      << Shape{3, 2, 2, 2, 3} << Shape{2, 4, 4, 2, 3};
    }
    void convolutionLayouts() {
        QFETCH(frontend::Args, args);
        QFETCH(Shape, x);
        QFETCH(Shape, f);
        QFETCH(Shape, y);
        std::string error;
        auto module = frontend::generate("conv2d", args, error);
        QVERIFY2(module, error.c_str());
        const ir::Kernel& k = module->kernels.front();
        QCOMPARE(shapeOf(k, "X"), x);
        QCOMPARE(shapeOf(k, "F"), f);
        QCOMPARE(shapeOf(k, "Y"), y);
    }

    void paddingBecomesAHaloAndNegativeOffsets() {
        std::string error;
        auto module = frontend::generate("conv2d", {{"pad_h", 1}, {"pad_w", 2}, {"nhwc", 1}}, error);
        QVERIFY2(module, error.c_str());
        const ir::Kernel& k = module->kernels.front();
        QCOMPARE(k.findTensor("X")->padding, (std::vector<std::int64_t>{0, 1, 2, 0}));
        QCOMPARE(ir::print(k.statements.front()),
                 std::string("Y[n, oh, ow, k] += X[n, oh + r - 1, ow + s - 2, c] * F[r, s, c, k]"));
        auto unpadded = frontend::generate("conv2d", {}, error);
        QVERIFY2(unpadded, error.c_str());
        QVERIFY(unpadded->kernels.front().findTensor("X")->padding.empty());
    }

    // Output extents are expressions over the sizes, so overriding a size keeps the kernel valid.
    void overriddenSizesStayConsistent() {
        std::string error;
        auto module = frontend::generate("conv2d",
                                         {{"C", 4},
                                          {"K", 6},
                                          {"H", 9},
                                          {"W", 8},
                                          {"R", 3},
                                          {"S", 2},
                                          {"stride", 2},
                                          {"pad", 1},
                                          {"dilation", 2},
                                          {"groups", 2}},
                                         error);
        QVERIFY2(module, error.c_str());
        ir::Module changed;
        changed.kernels.push_back(
            ir::withParams(module->kernels.front(), {{"H", 15}, {"W", 11}, {"R", 2}, {"K", 8}}));
        auto diagnostics = ir::check(changed, ir::SourceFile{"override", ""});
        QVERIFY2(!ir::hasErrors(diagnostics), messages(diagnostics).c_str());
        // (15 + 2 - 2*(2 - 1) - 1) / 2 + 1 = 8 rows; (11 + 2 - 2*(2 - 1) - 1) / 2 + 1 = 6 columns.
        QCOMPARE(shapeOf(changed.kernels.front(), "Y"), (Shape{1, 2, 4, 8, 6}));

        auto block = frontend::generate(
            "dwsep", {{"C", 4}, {"K", 8}, {"H", 12}, {"W", 12}, {"stride", 2}, {"pad", 1}}, error);
        QVERIFY2(block, error.c_str());
        ir::Graph& graph = block->graphs.front();
        graph = ir::withParams(graph, {{"H", 20}, {"W", 7}});
        diagnostics = ir::check(*block, ir::SourceFile{"override", ""});
        QVERIFY2(!ir::hasErrors(diagnostics), messages(diagnostics).c_str());
        QCOMPARE(ir::shape(*graph.findTensor("Y"), graph.paramValues()).value(), (Shape{1, 8, 10, 4}));
    }

    // The gates of a cell must form one GEMM of height GATES*H: g and j adjacent, and g's stride in W
    // and G equal to H times j's, so the two dimensions fuse into one affine dimension.
    void gateDimensionFusesWithHidden_data() {
        QTest::addColumn<QString>("generator");
        QTest::addColumn<QString>("kernel");
        QTest::addColumn<int>("gates");
        QTest::newRow("gru") << "gru_cell"
                             << "gru_gates" << 3;
        QTest::newRow("lstm") << "lstm_cell"
                              << "lstm_gates" << 4;
    }
    void gateDimensionFusesWithHidden() {
        QFETCH(QString, generator);
        QFETCH(QString, kernel);
        QFETCH(int, gates);
        const std::int64_t hidden = 5;
        std::string error;
        auto module = frontend::generate(generator.toStdString(), {{"H", hidden}, {"B", 2}, {"I", 7}}, error);
        QVERIFY2(module, error.c_str());
        const ir::Kernel* k = module->findKernel(kernel.toStdString());
        QVERIFY(k);
        const auto params = k->paramValues();
        const auto g =
            std::find_if(k->dims.begin(), k->dims.end(), [](const ir::DimDecl& d) { return d.name == "g"; });
        QVERIFY(g != k->dims.end() && g + 1 != k->dims.end());
        QCOMPARE((g + 1)->name, std::string("j"));
        QCOMPARE(ir::evaluate(g->extent, params), std::optional<std::int64_t>(gates));
        const auto w = ir::strides(*k->findTensor("W"), params).value();
        const auto out = ir::strides(*k->findTensor("G"), params).value();
        QCOMPARE(w[0], hidden * w[1]);     // W[g, j, i]
        QCOMPARE(out[1], hidden * out[2]); // G[b, g, j]
    }

    void gruSequenceHasTwoNodesPerStep() {
        std::string error;
        auto module = frontend::generate("gru_sequence", {{"T", 5}, {"H", 4}, {"B", 2}}, error);
        QVERIFY2(module, error.c_str());
        const ir::Graph& graph = module->graphs.front();
        QCOMPARE(graph.nodes.size(), std::size_t(2 * 5 + 1));
        auto binding = [&](const std::string& node, const std::string& tensor) {
            for (const auto& n : graph.nodes)
                if (n.name == node)
                    for (const auto& b : n.bindings)
                        if (b.kernelTensor == tensor)
                            return b.graphTensor + (b.fixedIndices.empty()
                                                        ? ""
                                                        : "[" + std::to_string(b.fixedIndices[0]) + "]");
            return std::string("unbound");
        };
        QCOMPARE(binding("recurrent0", "X"), std::string("H0"));
        QCOMPARE(binding("tail0", "Hprev"), std::string("H0"));
        QCOMPARE(binding("recurrent4", "X"), std::string("HS[3]"));
        QCOMPARE(binding("tail4", "GX"), std::string("GX_all[4]"));
        QCOMPARE(binding("tail4", "Hn"), std::string("HS[4]"));
    }
};

QTEST_GUILESS_MAIN(TstLibrary)
#include "tst_library.moc"
