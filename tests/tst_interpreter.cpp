// The reference interpreter against identities and hand-written computations: the library's kernels
// and graphs compute what their names promise, layouts and groupings agree with each other, and the
// element types round and wrap as the hardware would store them.
#include "frontend/library.h"
#include "fusion/fusion.h"
#include "interp/interpreter.h"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

using namespace isamap;

Q_DECLARE_METATYPE(isamap::frontend::Args)
Q_DECLARE_METATYPE(std::vector<int>)

namespace {

using Index = std::vector<std::int64_t>;

const char* why(const std::optional<std::string>& error) {
    return error ? error->c_str() : "";
}

// dst's dimension i is src's dimension order[i]: copies the same logical data into another layout.
void copyPermuted(const interp::Buffer& src, interp::Buffer& dst, const std::vector<int>& order) {
    src.forEach([&](const Index& index) {
        Index target(order.size());
        for (std::size_t i = 0; i < order.size(); ++i)
            target[i] = index[static_cast<std::size_t>(order[i])];
        dst.at(target) = src.at(index);
    });
}

// A buffer of the same shape and layout with storage of its own: copying a Buffer copies a view,
// so an "expected" buffer made by plain copy would alias the result it is compared with.
interp::Buffer detached(const interp::Buffer& b) {
    interp::Buffer copy = b;
    copy.storage = std::make_shared<interp::Values>(*b.storage);
    return copy;
}

// Where an element of `first`'s tensor sits in `second`'s, per tensor; a tensor not named sits where it is.
using Placements = std::map<std::string, std::function<Index(const Index&)>>;

// Two kernels that compute the same Y from X and F, some of them laid out differently (`placed`):
// `first`'s random inputs are moved to their places in `second`'s, and both outputs must be equal,
// element for element, and not all zero.
void expectSameOutput(const ir::Kernel& first, const ir::Kernel& second, std::uint64_t seed, const Placements& placed) {
    auto place = [&](const std::string& tensor, const Index& i) {
        const auto p = placed.find(tensor);
        return p == placed.end() ? i : p->second(i);
    };
    interp::Buffers p = interp::randomInputs(first, seed);
    interp::Buffers q;
    for (const std::string tensor : {"X", "F"}) {
        q.emplace(tensor, *interp::allocate(*second.findTensor(tensor), second.paramValues()));
        p.at(tensor).forEach([&](const Index& i) { q.at(tensor).at(place(tensor, i)) = p.at(tensor).at(i); });
    }
    auto failure = interp::run(first, p);
    QVERIFY2(!failure, why(failure));
    failure = interp::run(second, q);
    QVERIFY2(!failure, why(failure));
    double largest = 0;
    p.at("Y").forEach([&](const Index& i) { largest = std::max(largest, std::fabs(p.at("Y").at(i) - q.at("Y").at(place("Y", i)))); });
    QCOMPARE(largest, 0.0);
    QVERIFY(interp::checksum(p.at("Y")).sum != 0);
}

double sigmoid(double x) {
    return 1 / (1 + std::exp(-x));
}

using Vector = std::vector<double>;

// The innermost row of a buffer at a fixed leading index: X[b, :] is rowOf(X, {b}).
Vector rowOf(const interp::Buffer& b, Index prefix) {
    Vector out(static_cast<std::size_t>(b.shape.back()));
    prefix.push_back(0);
    for (std::size_t i = 0; i < out.size(); ++i) {
        prefix.back() = static_cast<std::int64_t>(i);
        out[i] = b.at(prefix);
    }
    return out;
}

double dot(const Vector& a, const Vector& b) {
    double sum = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        sum += a[i] * b[i];
    return sum;
}

// The matrix part of gate g's pre-activation for hidden unit j: W[g, j, :] x + U[g, j, :] h.
double gateInput(const interp::Buffers& p, std::int64_t g, std::int64_t j, const Vector& x, const Vector& h) {
    return dot(rowOf(p.at("W"), {g, j}), x) + dot(rowOf(p.at("U"), {g, j}), h);
}

// One GRU step for one batch row, written out in double precision in cuDNN's form: the reset gate
// scales the recurrent candidate term after its bias has been added.
Vector gruStep(const interp::Buffers& p, const Vector& x, const Vector& h) {
    Vector next(h.size());
    for (std::size_t jj = 0; jj < h.size(); ++jj) {
        const auto j = static_cast<std::int64_t>(jj);
        auto fromInput = [&](std::int64_t g) {
            return dot(rowOf(p.at("W"), {g, j}), x) + p.at("BX").at({g, j});
        };
        auto fromState = [&](std::int64_t g) {
            return dot(rowOf(p.at("U"), {g, j}), h) + p.at("BH").at({g, j});
        };
        const double reset = sigmoid(fromInput(0) + fromState(0));
        const double update = sigmoid(fromInput(1) + fromState(1));
        const double candidate = std::tanh(fromInput(2) + reset * fromState(2));
        next[jj] = (1 - update) * candidate + update * h[jj];
    }
    return next;
}

// Largest |actual - expected| / (1 + |expected|) along a row of `actual`: relative for large values,
// absolute near zero, so that the f32 rounding of values of order one stays far below 1e-5.
double rowError(const interp::Buffer& actual, const Index& prefix, const Vector& expected) {
    const Vector got = rowOf(actual, prefix);
    double worst = 0;
    for (std::size_t i = 0; i < expected.size(); ++i)
        worst = std::max(worst, std::fabs(got[i] - expected[i]) / (1 + std::fabs(expected[i])));
    return worst;
}

std::optional<ir::Module> parsed(const std::string& text, std::string& error) {
    auto result = frontend::parseAndCheck(ir::SourceFile{"test.isa", text});
    if (ir::hasErrors(result.diagnostics)) {
        error = ir::format(result.diagnostics);
        return std::nullopt;
    }
    return std::move(result.module);
}

} // namespace

class TstInterpreter : public QObject {
    Q_OBJECT
private slots:
    // C(m,n) = A(m,k) B(k,n) with every matrix column-major, as DeepBench stores them.
    void gemm2x2ByHand() {
        std::string error;
        auto module = frontend::generate("gemm", {{"M", 2}, {"N", 2}, {"K", 2}}, error);
        QVERIFY2(module, error.c_str());
        const ir::Kernel& gemm = module->kernels.front();
        interp::Buffers b = interp::randomInputs(gemm, 1);
        auto& A = b.at("A");
        auto& B = b.at("B");
        A.at({0, 0}) = 1, A.at({0, 1}) = 2, A.at({1, 0}) = 3, A.at({1, 1}) = 4;
        B.at({0, 0}) = 5, B.at({0, 1}) = 6, B.at({1, 0}) = 7, B.at({1, 1}) = 8;
        QCOMPARE(*A.storage, (interp::Values{1, 3, 2, 4})); // column-major storage
        auto failure = interp::run(gemm, b);
        QVERIFY2(!failure, why(failure));
        const auto& C = b.at("C");
        QCOMPARE(C.at({0, 0}), 19.0);
        QCOMPARE(C.at({0, 1}), 22.0);
        QCOMPARE(C.at({1, 0}), 43.0);
        QCOMPARE(C.at({1, 1}), 50.0);
    }

    // A 1x1 convolution is a GEMM of filters (K x C) against pixels (C x H*W).
    void conv1x1EqualsGemm() {
        const std::int64_t C = 3, K = 4, H = 2, W = 3;
        std::string error;
        auto conv =
            frontend::generate("conv2d", {{"C", C}, {"K", K}, {"H", H}, {"W", W}, {"R", 1}, {"S", 1}}, error);
        QVERIFY2(conv, error.c_str());
        auto gemm = frontend::generate("gemm", {{"M", K}, {"N", H * W}, {"K", C}}, error);
        QVERIFY2(gemm, error.c_str());

        interp::Buffers c = interp::randomInputs(conv->kernels.front(), 7);
        interp::Buffers g = interp::randomInputs(gemm->kernels.front(), 8);
        c.at("F").forEach([&](const Index& i) { g.at("A").at({i[0], i[1]}) = c.at("F").at(i); });
        c.at("X").forEach([&](const Index& i) { g.at("B").at({i[1], i[2] * W + i[3]}) = c.at("X").at(i); });
        auto failure = interp::run(conv->kernels.front(), c);
        QVERIFY2(!failure, why(failure));
        failure = interp::run(gemm->kernels.front(), g);
        QVERIFY2(!failure, why(failure));

        double worst = 0;
        c.at("Y").forEach([&](const Index& i) {
            worst = std::max(worst, std::fabs(c.at("Y").at(i) - g.at("C").at({i[1], i[2] * W + i[3]})));
        });
        QVERIFY2(worst < 1e-6, std::to_string(worst).c_str());
        QVERIFY(interp::checksum(c.at("Y")).sum != 0);
    }

    // Different padding and stride per axis, with dilation, against the definition as a loop.
    void paddedStridedConvMatchesNaiveLoop() {
        const std::int64_t N = 2, C = 3, K = 2, H = 7, W = 6, R = 3, S = 2;
        const std::int64_t strideH = 2, strideW = 1, padH = 1, padW = 2, dilation = 2;
        std::string error;
        auto module = frontend::generate("conv2d",
                                         {{"N", N},
                                          {"C", C},
                                          {"K", K},
                                          {"H", H},
                                          {"W", W},
                                          {"R", R},
                                          {"S", S},
                                          {"stride_h", strideH},
                                          {"stride_w", strideW},
                                          {"pad_h", padH},
                                          {"pad_w", padW},
                                          {"dilation", dilation}},
                                         error);
        QVERIFY2(module, error.c_str());
        const ir::Kernel& conv = module->kernels.front();
        interp::Buffers b = interp::randomInputs(conv, 3);
        auto failure = interp::run(conv, b);
        QVERIFY2(!failure, why(failure));

        const std::int64_t OH = (H + 2 * padH - dilation * (R - 1) - 1) / strideH + 1;
        const std::int64_t OW = (W + 2 * padW - dilation * (S - 1) - 1) / strideW + 1;
        const auto& X = b.at("X");
        const auto& F = b.at("F");
        const auto& Y = b.at("Y");
        QCOMPARE(Y.shape, (Index{N, K, OH, OW}));
        double worst = 0;
        for (std::int64_t n = 0; n < N; ++n)
            for (std::int64_t k = 0; k < K; ++k)
                for (std::int64_t oh = 0; oh < OH; ++oh)
                    for (std::int64_t ow = 0; ow < OW; ++ow) {
                        double sum = 0;
                        for (std::int64_t c = 0; c < C; ++c)
                            for (std::int64_t r = 0; r < R; ++r)
                                for (std::int64_t s = 0; s < S; ++s) {
                                    const std::int64_t ih = oh * strideH + r * dilation - padH;
                                    const std::int64_t iw = ow * strideW + s * dilation - padW;
                                    if (ih >= 0 && ih < H && iw >= 0 && iw < W)
                                        sum += X.at({n, c, ih, iw}) * F.at({k, c, r, s});
                                }
                        worst = std::max(worst, std::fabs(Y.at({n, k, oh, ow}) - static_cast<float>(sum)));
                    }
        QVERIFY2(worst < 1e-6, std::to_string(worst).c_str());
    }

    // The same logical data in NCHW and NHWC give the same logical result.
    void nchwAndNhwcAgree_data() {
        QTest::addColumn<QString>("generator");
        QTest::addColumn<frontend::Args>("args");
        QTest::addColumn<std::vector<int>>("activationOrder"); // NHWC dimension i is NCHW dimension order[i]
        QTest::addColumn<std::vector<int>>("filterOrder");
        const frontend::Args conv = {{"N", 2}, {"C", 4},      {"K", 6},  {"H", 6},
                                     {"W", 5}, {"stride", 2}, {"pad", 1}};
        frontend::Args grouped = conv;
        grouped["groups"] = 2;
        QTest::newRow("conv2d") << "conv2d" << conv << std::vector<int>{0, 2, 3, 1}
                                << std::vector<int>{2, 3, 1, 0};
        QTest::newRow("conv2d grouped")
            << "conv2d" << grouped << std::vector<int>{0, 3, 4, 1, 2} << std::vector<int>{3, 4, 2, 0, 1};
        QTest::newRow("depthwise") << "depthwise" << frontend::Args{{"C", 3}, {"H", 5}, {"W", 5}, {"pad", 1}}
                                   << std::vector<int>{0, 2, 3, 1} << std::vector<int>{1, 2, 0};
        QTest::newRow("pointwise") << "pointwise" << frontend::Args{{"C", 3}, {"K", 2}, {"H", 2}, {"W", 3}}
                                   << std::vector<int>{0, 2, 3, 1} << std::vector<int>{1, 0};
    }
    void nchwAndNhwcAgree() {
        QFETCH(QString, generator);
        QFETCH(frontend::Args, args);
        QFETCH(std::vector<int>, activationOrder);
        QFETCH(std::vector<int>, filterOrder);
        std::string error;
        auto nchw = frontend::generate(generator.toStdString(), args, error);
        QVERIFY2(nchw, error.c_str());
        args["nhwc"] = 1;
        auto nhwc = frontend::generate(generator.toStdString(), args, error);
        QVERIFY2(nhwc, error.c_str());

        interp::Buffers first = interp::randomInputs(nchw->kernels.front(), 11);
        interp::Buffers second = interp::randomInputs(nhwc->kernels.front(), 12);
        copyPermuted(first.at("X"), second.at("X"), activationOrder);
        copyPermuted(first.at("F"), second.at("F"), filterOrder);
        auto failure = interp::run(nchw->kernels.front(), first);
        QVERIFY2(!failure, why(failure));
        failure = interp::run(nhwc->kernels.front(), second);
        QVERIFY2(!failure, why(failure));

        interp::Buffer expected = detached(second.at("Y"));
        copyPermuted(first.at("Y"), expected, activationOrder);
        auto difference = interp::compare(second.at("Y"), expected);
        QVERIFY(difference);
        QCOMPARE(difference->largest, 0.0);
        QVERIFY(interp::checksum(expected).sum != 0);
    }

    // A grouped convolution is G independent convolutions over slices of channels and filters.
    void groupedConvEqualsPerGroupConvs() {
        const std::int64_t G = 2, C = 4, K = 6;
        const frontend::Args sizes = {{"N", 2}, {"H", 5}, {"W", 5}, {"R", 3}, {"S", 3}, {"pad", 1}};
        frontend::Args groupedArgs = sizes, singleArgs = sizes;
        groupedArgs.insert({{"C", C}, {"K", K}, {"groups", G}});
        singleArgs.insert({{"C", C / G}, {"K", K / G}});
        std::string error;
        auto grouped = frontend::generate("conv2d", groupedArgs, error);
        QVERIFY2(grouped, error.c_str());
        auto single = frontend::generate("conv2d", singleArgs, error);
        QVERIFY2(single, error.c_str());

        interp::Buffers all = interp::randomInputs(grouped->kernels.front(), 5);
        auto failure = interp::run(grouped->kernels.front(), all);
        QVERIFY2(!failure, why(failure));
        for (std::int64_t g = 0; g < G; ++g) {
            interp::Buffers part = interp::randomInputs(single->kernels.front(), 6);
            // X[n, g, c, h, w] -> X[n, c, h, w]; F[g, k, c, r, s] -> F[k, c, r, s]
            part.at("X").forEach([&](const Index& i) {
                part.at("X").at(i) = all.at("X").at({i[0], g, i[1], i[2], i[3]});
            });
            part.at("F").forEach([&](const Index& i) {
                part.at("F").at(i) = all.at("F").at({g, i[0], i[1], i[2], i[3]});
            });
            failure = interp::run(single->kernels.front(), part);
            QVERIFY2(!failure, why(failure));
            double worst = 0;
            part.at("Y").forEach([&](const Index& i) {
                worst = std::max(worst,
                                 std::fabs(part.at("Y").at(i) - all.at("Y").at({i[0], g, i[1], i[2], i[3]})));
            });
            QCOMPARE(worst, 0.0);
        }
    }

    // A depthwise convolution is a grouped convolution with one channel per group:
    // X[n, c, h, w] is X[n, g = c, 0, h, w] and F[c, r, s] is F[g = c, 0, 0, r, s].
    void depthwiseEqualsConvWithAGroupPerChannel() {
        const std::int64_t C = 3;
        const frontend::Args window = {{"N", 2}, {"H", 6},        {"W", 7},   {"R", 3},
                                       {"S", 2}, {"stride_h", 2}, {"pad", 1}, {"dilation", 2}};
        frontend::Args depthwiseArgs = window, convArgs = window;
        depthwiseArgs.insert({"C", C});
        convArgs.insert({{"C", C}, {"K", C}, {"groups", C}});
        std::string error;
        auto dw = frontend::generate("depthwise", depthwiseArgs, error);
        QVERIFY2(dw, error.c_str());
        auto conv = frontend::generate("conv2d", convArgs, error);
        QVERIFY2(conv, error.c_str());

        interp::Buffers d = interp::randomInputs(dw->kernels.front(), 13);
        interp::Buffers c = interp::randomInputs(conv->kernels.front(), 14);
        d.at("X").forEach([&](const Index& i) {
            c.at("X").at({i[0], i[1], 0, i[2], i[3]}) = d.at("X").at(i);
        });
        d.at("F").forEach([&](const Index& i) { c.at("F").at({i[0], 0, 0, i[1], i[2]}) = d.at("F").at(i); });
        auto failure = interp::run(dw->kernels.front(), d);
        QVERIFY2(!failure, why(failure));
        failure = interp::run(conv->kernels.front(), c);
        QVERIFY2(!failure, why(failure));

        double worst = 0;
        d.at("Y").forEach([&](const Index& i) {
            worst = std::max(worst, std::fabs(d.at("Y").at(i) - c.at("Y").at({i[0], i[1], 0, i[2], i[3]})));
        });
        QCOMPARE(worst, 0.0);
        QVERIFY(interp::checksum(d.at("Y")).sum != 0);
    }

    // Channels in blocks of 16 hold channel-last X[n, h, w, c] at [n, c/16, h, w, c%16] and F[r, s, c] at
    // [c/16, r, s, c%16]; the outputs match element for element, the zero halo included.
    void blockedDepthwiseEqualsChannelLast() {
        const frontend::Args window = {{"C", 48}, {"H", 7}, {"W", 6}, {"stride", 2}, {"pad", 1}};
        frontend::Args lastArgs = window, blockedArgs = window;
        lastArgs["nhwc"] = 1;
        blockedArgs["blocked"] = 1;
        std::string error;
        auto last = frontend::generate("depthwise", lastArgs, error);
        QVERIFY2(last, error.c_str());
        auto blocked = frontend::generate("depthwise", blockedArgs, error);
        QVERIFY2(blocked, error.c_str());

        // Where an activation's element [n, h, w, c] sits with its channels in blocks.
        const auto inBlocks = [](const Index& i) { return Index{i[0], i[3] / 16, i[1], i[2], i[3] % 16}; };
        expectSameOutput(last->kernels.front(), blocked->kernels.front(), 23,
                         {{"X", inBlocks}, {"F", [](const Index& i) { return Index{i[2] / 16, i[0], i[1], i[2] % 16}; }},
                          {"Y", inBlocks}});
    }

    // A pointwise convolution is conv2d with a 1x1 filter: F[k, c] is F[k, c, 0, 0].
    void pointwiseEqualsOneByOneConv() {
        const frontend::Args sizes = {{"N", 2}, {"C", 3}, {"K", 4}, {"H", 3}, {"W", 2}};
        frontend::Args convArgs = sizes;
        convArgs.insert({{"R", 1}, {"S", 1}});
        std::string error;
        auto pw = frontend::generate("pointwise", sizes, error);
        QVERIFY2(pw, error.c_str());
        auto conv = frontend::generate("conv2d", convArgs, error);
        QVERIFY2(conv, error.c_str());

        expectSameOutput(pw->kernels.front(), conv->kernels.front(), 15,
                         {{"F", [](const Index& i) { return Index{i[0], i[1], 0, 0}; }}});
    }

    // Filters pre-packed in blocks of 16 output channels, F[K/16, C, 16], hold F[c, k] at [k/16, c, k%16].
    void packedPointwiseEqualsPlain() {
        const frontend::Args sizes = {{"C", 5}, {"K", 48}, {"H", 3}, {"W", 4}, {"nhwc", 1}};
        frontend::Args packedArgs = sizes;
        packedArgs["packed"] = 1;
        std::string error;
        auto plain = frontend::generate("pointwise", sizes, error);
        QVERIFY2(plain, error.c_str());
        auto packed = frontend::generate("pointwise", packedArgs, error);
        QVERIFY2(packed, error.c_str());
        QCOMPARE(packed->kernels.front().findTensor("F")->shape.size(), std::size_t{3});

        expectSameOutput(plain->kernels.front(), packed->kernels.front(), 21,
                         {{"F", [](const Index& i) { return Index{i[1] / 16, i[0], i[1] % 16}; }}});
    }

    void dwsepGraphEqualsDepthwiseThenPointwise_data() {
        QTest::addColumn<frontend::Args>("args");
        const frontend::Args base = {{"N", 2}, {"C", 3},      {"K", 4},  {"H", 7},
                                     {"W", 6}, {"stride", 2}, {"pad", 1}};
        frontend::Args nhwc = base;
        nhwc["nhwc"] = 1;
        QTest::newRow("nchw") << base;
        QTest::newRow("nhwc") << nhwc;
    }
    void dwsepGraphEqualsDepthwiseThenPointwise() {
        QFETCH(frontend::Args, args);
        std::string error;
        auto block = frontend::generate("dwsep", args, error);
        QVERIFY2(block, error.c_str());
        auto dw = frontend::generate(
            "depthwise",
            {{"N", 2}, {"C", 3}, {"H", 7}, {"W", 6}, {"stride", 2}, {"pad", 1}, {"nhwc", args["nhwc"]}},
            error);
        QVERIFY2(dw, error.c_str());
        // (7 + 2 - 3) / 2 + 1 = 4 rows, (6 + 2 - 3) / 2 + 1 = 3 columns.
        auto pw = frontend::generate(
            "pointwise", {{"N", 2}, {"C", 3}, {"K", 4}, {"H", 4}, {"W", 3}, {"nhwc", args["nhwc"]}}, error);
        QVERIFY2(pw, error.c_str());

        const ir::Graph& graph = block->graphs.front();
        interp::Buffers whole = interp::randomInputs(graph, 9);
        auto failure = interp::run(graph, *block, whole);
        QVERIFY2(!failure, why(failure));

        interp::Buffers first{{"X", whole.at("X")}, {"F", whole.at("FD")}};
        failure = interp::run(dw->kernels.front(), first);
        QVERIFY2(!failure, why(failure));
        interp::Buffers second{{"X", first.at("Y")}, {"F", whole.at("FP")}};
        failure = interp::run(pw->kernels.front(), second);
        QVERIFY2(!failure, why(failure));

        auto difference = interp::compare(whole.at("Y"), second.at("Y"));
        QVERIFY(difference);
        QCOMPARE(difference->largest, 0.0);
        QVERIFY(interp::checksum(whole.at("Y")).sum != 0);
    }

    void gruCellMatchesItsEquations() {
        const std::int64_t B = 2, H = 3, I = 4;
        std::string error;
        auto module = frontend::generate("gru_cell", {{"B", B}, {"H", H}, {"I", I}}, error);
        QVERIFY2(module, error.c_str());
        const ir::Graph& graph = module->graphs.front();
        interp::Buffers b = interp::randomInputs(graph, 21);
        auto failure = interp::run(graph, *module, b);
        QVERIFY2(!failure, why(failure));

        double worst = 0;
        for (std::int64_t row = 0; row < B; ++row)
            worst =
                std::max(worst, rowError(b.at("Hn"), {row},
                                         gruStep(b, rowOf(b.at("X"), {row}), rowOf(b.at("Hprev"), {row}))));
        QVERIFY2(worst < 1e-5, std::to_string(worst).c_str());
    }

    // T steps through fixed-index bindings: step t reads HS[t - 1] (H0 first) and X[t].
    void gruSequenceMatchesStepByStep() {
        const std::int64_t T = 3, B = 2, H = 3, I = 2;
        std::string error;
        auto module = frontend::generate("gru_sequence", {{"T", T}, {"B", B}, {"H", H}, {"I", I}}, error);
        QVERIFY2(module, error.c_str());
        const ir::Graph& graph = module->graphs.front();
        interp::Buffers b = interp::randomInputs(graph, 22);
        auto failure = interp::run(graph, *module, b);
        QVERIFY2(!failure, why(failure));

        double worst = 0;
        for (std::int64_t row = 0; row < B; ++row) {
            Vector state = rowOf(b.at("H0"), {row});
            for (std::int64_t t = 0; t < T; ++t) {
                state = gruStep(b, rowOf(b.at("X"), {t, row}), state);
                worst = std::max(worst, rowError(b.at("HS"), {t, row}, state));
            }
        }
        QVERIFY2(worst < 1e-5, std::to_string(worst).c_str());
    }

    void lstmCellMatchesItsEquations() {
        const std::int64_t B = 2, H = 3, I = 5;
        std::string error;
        auto module = frontend::generate("lstm_cell", {{"B", B}, {"H", H}, {"I", I}}, error);
        QVERIFY2(module, error.c_str());
        const ir::Graph& graph = module->graphs.front();
        interp::Buffers b = interp::randomInputs(graph, 23);
        auto failure = interp::run(graph, *module, b);
        QVERIFY2(!failure, why(failure));

        double worstC = 0, worstH = 0;
        for (std::int64_t row = 0; row < B; ++row) {
            const Vector x = rowOf(b.at("X"), {row}), h = rowOf(b.at("Hprev"), {row});
            const Vector c = rowOf(b.at("Cprev"), {row});
            Vector cellNext(H), hiddenNext(H);
            for (std::int64_t j = 0; j < H; ++j) {
                // Gates in the order i, f, g, o.
                auto gate = [&](std::int64_t g) {
                    return gateInput(b, g, j, x, h) + b.at("Bias").at({g, j});
                };
                const auto jj = static_cast<std::size_t>(j);
                cellNext[jj] = sigmoid(gate(1)) * c[jj] + sigmoid(gate(0)) * std::tanh(gate(2));
                hiddenNext[jj] = sigmoid(gate(3)) * std::tanh(cellNext[jj]);
            }
            worstC = std::max(worstC, rowError(b.at("Cn"), {row}, cellNext));
            worstH = std::max(worstH, rowError(b.at("Hn"), {row}, hiddenNext));
        }
        QVERIFY2(worstC < 1e-5, std::to_string(worstC).c_str());
        QVERIFY2(worstH < 1e-5, std::to_string(worstH).c_str());
    }

    void rnnCellMatchesItsEquation() {
        const std::int64_t B = 3, H = 4, I = 2;
        std::string error;
        auto module = frontend::generate("rnn_cell", {{"B", B}, {"H", H}, {"I", I}}, error);
        QVERIFY2(module, error.c_str());
        const ir::Graph& graph = module->graphs.front();
        interp::Buffers b = interp::randomInputs(graph, 24);
        auto failure = interp::run(graph, *module, b);
        QVERIFY2(!failure, why(failure));
        double worst = 0;
        for (std::int64_t row = 0; row < B; ++row) {
            const Vector x = rowOf(b.at("X"), {row}), h = rowOf(b.at("Hprev"), {row});
            Vector next(H);
            for (std::int64_t j = 0; j < H; ++j)
                next[static_cast<std::size_t>(j)] = std::tanh(
                    dot(rowOf(b.at("W"), {j}), x) + dot(rowOf(b.at("U"), {j}), h) + b.at("Bias").at({j}));
            worst = std::max(worst, rowError(b.at("Hn"), {row}, next));
        }
        QVERIFY2(worst < 1e-5, std::to_string(worst).c_str());
    }

    void elementwiseKernels() {
        std::string error;
        auto bias =
            frontend::generate("bias_add", {{"N", 1}, {"C", 3}, {"H", 2}, {"W", 2}, {"nhwc", 1}}, error);
        QVERIFY2(bias, error.c_str());
        interp::Buffers b = interp::randomInputs(bias->kernels.front(), 31);
        auto failure = interp::run(bias->kernels.front(), b);
        QVERIFY2(!failure, why(failure));
        b.at("Y").forEach([&](const Index& i) {
            QCOMPARE(b.at("Y").at(i), double(float(b.at("X").at(i) + b.at("bias").at({i[3]}))));
        });

        const std::map<std::string, double (*)(double)> activations = {
            {"relu", [](double x) { return x > 0 ? x : 0.0; }},
            {"sigmoid", sigmoid},
            {"tanh", [](double x) { return std::tanh(x); }}};
        for (const auto& [name, fn] : activations) {
            auto module = frontend::generate(name, {{"N", 2}, {"C", 3}, {"H", 1}, {"W", 4}}, error);
            QVERIFY2(module, error.c_str());
            interp::Buffers a = interp::randomInputs(module->kernels.front(), 32);
            failure = interp::run(module->kernels.front(), a);
            QVERIFY2(!failure, why(failure));
            int zeros = 0;
            a.at("Y").forEach([&](const Index& i) {
                QCOMPARE(a.at("Y").at(i), double(float(fn(a.at("X").at(i)))));
                zeros += a.at("Y").at(i) == 0;
            });
            if (name == "relu")
                QVERIFY(zeros > 0); // random inputs in [-1, 1) have negatives to clip
        }
    }

    // A 3x3 max-pool over a zero halo: with all inputs negative, every window that reaches into the
    // halo yields exactly 0, and the others the largest of their (negative) inputs. `max=` must
    // start from minus infinity, not from zero, for the latter.
    void maxReductionSeesTheZeroHalo() {
        std::string error;
        auto module = parsed(R"(kernel maxpool(H = 4, W = 5) {
  dim oh < H, ow < W
  reduce r < 3, s < 3
  in X : f32[H, W] padded(1, 1)
  out Y : f32[H, W]
  Y[oh, ow] max= X[oh + r - 1, ow + s - 1]
}
)",
                             error);
        QVERIFY2(module, error.c_str());
        const ir::Kernel& pool = module->kernels.front();
        interp::Buffers b = interp::randomInputs(pool, 41);
        auto& X = b.at("X");
        X.forEach([&](const Index& i) { X.at(i) = -1.0 - 0.25 * double(i[0] * 5 + i[1]); });
        auto failure = interp::run(pool, b);
        QVERIFY2(!failure, why(failure));
        const auto& Y = b.at("Y");
        // Interior outputs: the window's top-left input is the largest, X[oh - 1, ow - 1].
        QCOMPARE(Y.at({1, 1}), X.at({0, 0}));
        QCOMPARE(Y.at({2, 3}), X.at({1, 2}));
        QCOMPARE(Y.at({1, 1}), -1.0);
        for (std::int64_t oh = 0; oh < 4; ++oh)
            for (std::int64_t ow = 0; ow < 5; ++ow)
                if (oh == 0 || ow == 0 || oh == 3 || ow == 4)
                    QCOMPARE(Y.at({oh, ow}), 0.0);
                else
                    QVERIFY(Y.at({oh, ow}) < 0);
    }

    // Sums of products as the interpreter runs them a row at a time, against loops written here:
    // a window read backwards (a negative step along the row) through a strided, padded input, whose
    // halo falls at the end of the first rows and at the start of the last; and a product whose output moves along the row (the
    // reduction declared outermost), each element's terms still added in the reduction's order.
    void rowsOfProductsMatchLoops() {
        std::string error;
        auto module = parsed(R"(kernel flipped(N = 6) {
  dim c < 2, o < N
  reduce r < 5
  in X : f32[2, 2 * N - 1] padded(0, 3)
  in F : f32[5]
  out Y : f32[2, N]
  Y[c, o] += X[c, 2*o - r + 1] * F[r]
}
kernel outer(M = 3, K = 4) {
  reduce k < K
  dim m < M
  in A : f32[M, K]
  in B : f32[K]
  out C : f32[M]
  C[m] += A[m, k] * B[k]
}
)",
                             error);
        QVERIFY2(module, error.c_str());
        const ir::Kernel& flipped = *module->findKernel("flipped");
        interp::Buffers b = interp::randomInputs(flipped, 5);
        auto failure = interp::run(flipped, b);
        QVERIFY2(!failure, why(failure));
        const auto &X = b.at("X"), &F = b.at("F"), &Y = b.at("Y");
        int halo = 0;
        for (std::int64_t c = 0; c < 2; ++c)
            for (std::int64_t o = 0; o < 6; ++o) {
                double sum = 0;
                for (std::int64_t r = 0; r < 5; ++r) {
                    const std::int64_t i = 2 * o - r + 1;
                    const bool outside = i < 0 || i >= 11;
                    halo += outside;
                    sum += (outside ? 0.0 : X.at({c, i})) * F.at({r});
                }
                QCOMPARE(Y.at({c, o}), static_cast<double>(static_cast<float>(sum)));
            }
        // The rows of o = 0 and 1 reach into it on the left, o = 5 on the right: in storage, the
        // right halo of X's first row is where its second row begins, so a read there shows.
        QCOMPARE(halo, 10);

        const ir::Kernel& outer = *module->findKernel("outer");
        interp::Buffers c = interp::randomInputs(outer, 6);
        failure = interp::run(outer, c);
        QVERIFY2(!failure, why(failure));
        for (std::int64_t m = 0; m < 3; ++m) {
            double sum = 0;
            for (std::int64_t k = 0; k < 4; ++k)
                sum += c.at("A").at({m, k}) * c.at("B").at({k});
            QCOMPARE(c.at("C").at({m}), static_cast<double>(static_cast<float>(sum)));
        }
    }

    // A large tensor's values start on a 2 MB boundary, where huge pages can back them; a small one's
    // come from the heap. Both start at zero, as a vector's do.
    void largeValuesLieOnLargePages() {
        const interp::Values large(std::size_t{8} << 20, 0.0); // 64 MB
        QCOMPARE(reinterpret_cast<std::uintptr_t>(large.data()) % (std::uintptr_t{2} << 20), std::uintptr_t{0});
        QCOMPARE(*std::max_element(large.begin(), large.end()), 0.0);
        interp::Values small(16, 1.5);
        small.resize(1 << 22, 2.0); // grows past the threshold: moved to the large pages, values kept
        QCOMPARE(small[15], 1.5);
        QCOMPARE(small.back(), 2.0);
        QCOMPARE(reinterpret_cast<std::uintptr_t>(small.data()) % (std::uintptr_t{2} << 20), std::uintptr_t{0});
    }

    // i8 operands multiplied and summed in i32, then narrowed to i8 with wrap-around.
    void int8DotProductAccumulatesInInt32() {
        std::string error;
        auto module = parsed(R"(kernel dot_i8(M = 2, K = 4) {
  dim m < M
  reduce k < K
  in A : i8[M, K]
  in B : i8[K]
  out C : i32[M]
  out D : i8[M]
  C[m] += i32(A[m, k]) * i32(B[k])
  D[m] = i8(C[m])
}
)",
                             error);
        QVERIFY2(module, error.c_str());
        const ir::Kernel& dot = module->kernels.front();
        interp::Buffers b = interp::randomInputs(dot, 51);
        const double a[2][4] = {{127, -128, 100, 5}, {1, 2, 3, 4}};
        const double v[4] = {127, -128, 100, -7};
        for (std::int64_t k = 0; k < 4; ++k) {
            b.at("A").at({0, k}) = a[0][k];
            b.at("A").at({1, k}) = a[1][k];
            b.at("B").at({k}) = v[k];
        }
        auto failure = interp::run(dot, b);
        QVERIFY2(!failure, why(failure));
        // 127*127 + 128*128 + 100*100 - 5*7 = 42478; 127 - 256 + 300 - 28 = 143.
        QCOMPARE(b.at("C").at({0}), 42478.0);
        QCOMPARE(b.at("C").at({1}), 143.0);
        // 42478 = 165*256 + 238 and 238 - 256 = -18; 143 - 256 = -113.
        QCOMPARE(b.at("D").at({0}), -18.0);
        QCOMPARE(b.at("D").at({1}), -113.0);
    }

    // bf16 keeps 8 significant bits: 1 + 2^-8 lies halfway between 1 and 1 + 2^-7 and rounds to the
    // even neighbour 1; 1 + 3*2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6 and rounds to 1 + 2^-6.
    void bf16RoundsToNearestEven() {
        std::string error;
        auto module = parsed(R"(kernel narrow(N = 4) {
  dim i < N
  in X : f32[N]
  out Y : f32[N]
  out Z : bf16[N]
  Y[i] = f32(bf16(X[i])) * 2
  Z[i] = bf16(X[i])
}
)",
                             error);
        QVERIFY2(module, error.c_str());
        const ir::Kernel& narrow = module->kernels.front();
        interp::Buffers b = interp::randomInputs(narrow, 61);
        const double inputs[4] = {1 + std::ldexp(1, -8), 1 + 3 * std::ldexp(1, -8),
                                  1 + std::ldexp(1, -8) + std::ldexp(1, -20), -(1 + 3 * std::ldexp(1, -8))};
        const double rounded[4] = {1, 1 + std::ldexp(1, -6), 1 + std::ldexp(1, -7), -(1 + std::ldexp(1, -6))};
        for (std::int64_t i = 0; i < 4; ++i)
            b.at("X").at({i}) = inputs[i];
        auto failure = interp::run(narrow, b);
        QVERIFY2(!failure, why(failure));
        for (std::int64_t i = 0; i < 4; ++i) {
            QCOMPARE(b.at("Z").at({i}), rounded[i]);
            QCOMPARE(b.at("Y").at({i}), 2 * rounded[i]);
        }
    }

    // Each step's tail folds into its recurrent gates: one merged kernel for all steps, whose statements
    // after the product run at [b, j] and read the three gates there. The fused graph computes the
    // same states bit for bit, and the sampled reference (valuesAt) of the merged kernel gives the
    // values its whole run does.
    void gruStepsFuseIntoOneKernel() {
        std::string error;
        auto module = frontend::generate("gru_sequence", {{"H", 24}, {"B", 2}, {"I", 16}, {"T", 4}, {"wt", 1}}, error);
        QVERIFY2(module, error.c_str());
        const ir::Graph& graph = module->graphs.front();
        const auto fused = fusion::fuseEpilogues(*module, graph);
        QCOMPARE(fused.fusedPairs, 4);
        QCOMPARE(fused.graph.nodes.size(), std::size_t{5});
        QCOMPARE(fused.module.kernels.size(), module->kernels.size() + 1);
        for (std::size_t n = 2; n < fused.graph.nodes.size(); ++n)
            QCOMPARE(fused.graph.nodes[n].kernel, fused.graph.nodes[1].kernel);
        interp::Buffers original = interp::randomInputs(graph, 5), merged = interp::randomInputs(graph, 5);
        QVERIFY2(!interp::run(graph, *module, original), "original");
        QVERIFY2(!interp::run(fused.graph, fused.module, merged), "fused");
        const auto difference = interp::compare(original.at("HS"), merged.at("HS"));
        QVERIFY(difference);
        QCOMPARE(difference->largest, 0.0);

        auto step = *ir::nodeKernel(fused.module, fused.graph, fused.graph.nodes[1]);
        QVERIFY(ir::epiloguePoint(step, error));
        interp::Buffers whole = interp::randomInputs(step, 9);
        const interp::Buffers inputs = whole;
        QVERIFY2(!interp::run(step, whole), "step");
        const std::vector<Index> points{{0, 0}, {1, 23}, {0, 17}, {1, 5}};
        std::vector<double> values;
        QVERIFY2(!interp::valuesAt(step, inputs, points, values), "valuesAt");
        for (std::size_t i = 0; i < points.size(); ++i)
            QCOMPARE(values[i], whole.at("Hn").at(points[i]));
    }

    // The reference at given outputs (valuesAt) equals the whole run's, bit for bit, at every output
    // of a GEMM with a transposed input and of a padded, strided convolution: more points than the
    // batch valuesAt runs side by side (512), so two batches.
    void valuesAtEveryOutputEqualTheWholeRun_data() {
        QTest::addColumn<QString>("generator");
        QTest::addColumn<QString>("output");
        QTest::newRow("gemm 30x25x7, A transposed") << "gemm" << "C";
        QTest::newRow("conv2d 3x3, stride 2, padded") << "conv2d" << "Y";
    }
    void valuesAtEveryOutputEqualTheWholeRun() {
        QFETCH(QString, generator);
        QFETCH(QString, output);
        std::string error;
        const frontend::Args args = generator == "gemm"
                                        ? frontend::Args{{"M", 30}, {"N", 25}, {"K", 7}, {"ta", 1}}
                                        : frontend::Args{{"C", 3}, {"K", 16}, {"H", 13}, {"W", 13}, {"stride", 2}, {"pad", 1}};
        auto module = frontend::generate(generator.toStdString(), args, error);
        QVERIFY2(module, error.c_str());
        const ir::Kernel& kernel = module->kernels.front();
        const interp::Buffers inputs = interp::randomInputs(kernel, 3);
        interp::Buffers whole = inputs;
        QVERIFY2(!interp::run(kernel, whole), "run");
        const interp::Buffer& expected = whole.at(output.toStdString());
        std::vector<Index> points;
        expected.forEach([&](const Index& i) { points.push_back(i); });
        QVERIFY(points.size() > 512);
        std::vector<double> values;
        const auto failure = interp::valuesAt(kernel, inputs, points, values);
        QVERIFY2(!failure, why(failure));
        QCOMPARE(values.size(), points.size());
        for (std::size_t i = 0; i < points.size(); ++i)
            QCOMPARE(values[i], expected.at(points[i]));
    }

    // Weights with the gates inside blocks of outputs (wt = 3: [H/JB, I, 3, JB]) hold the same values
    // as input-major ones ([3, H, I] stored g, i, j): the same step, bit for bit.
    void gruGatesInsideBlocksEqualInputMajor() {
        std::string error;
        const frontend::Args args{{"H", 64}, {"B", 3}, {"I", 16}};
        auto plainArgs = args, blockedArgs = args;
        plainArgs["wt"] = 1;
        blockedArgs["wt"] = 3;
        auto plain = frontend::generate("gru_cell", plainArgs, error);
        auto blocked = frontend::generate("gru_cell", blockedArgs, error);
        QVERIFY2(plain && blocked, error.c_str());
        interp::Buffers a = interp::randomInputs(plain->graphs.front(), 11);
        interp::Buffers b = interp::randomInputs(blocked->graphs.front(), 11);
        for (const char* name : {"X", "Hprev", "BX", "BH"})
            b[name] = detached(a.at(name));
        const std::int64_t block = b.at("U").shape[3];
        QCOMPARE(block, std::int64_t{16}); // at batch 2 to 4 a step's blocks are one vector, read two side by side
        for (const char* name : {"W", "U"})
            a.at(name).forEach([&](const Index& gji) {
                b.at(name).at({gji[1] / block, gji[2], gji[0], gji[1] % block}) = a.at(name).at(gji);
            });
        QVERIFY2(!interp::run(plain->graphs.front(), *plain, a), "plain");
        QVERIFY2(!interp::run(blocked->graphs.front(), *blocked, b), "blocked");
        const auto difference = interp::compare(a.at("Hn"), b.at("Hn"));
        QVERIFY(difference);
        QCOMPARE(difference->largest, 0.0);
    }

    // The statements after the first must share one point, the first output's with dimensions dropped.
    void epiloguePointsAreChecked() {
        std::string error;
        auto module = frontend::generate("gru_cell", {{"H", 8}, {"B", 1}, {"wt", 1}}, error);
        const auto fused = fusion::fuseEpilogues(*module, module->graphs.front());
        auto step = *ir::nodeKernel(fused.module, fused.graph, fused.graph.nodes[1]);
        const auto point = ir::epiloguePoint(step, error);
        QVERIFY2(point, error.c_str());
        QCOMPARE(point->acrossDims, std::vector<std::string>{"g"});
        QCOMPARE(point->indices.size(), std::size_t{2});
        auto wrongGate = step; // a gate past the three
        ir::forEachAccess(wrongGate.statements[1].value, [](ir::Access& a) {
            if (a.tensor == "G")
                a.indices[1].constant = 3;
        });
        QVERIFY(!ir::epiloguePoint(wrongGate, error));
        QVERIFY2(error.find("reads G at other indices") != std::string::npos, error.c_str());
        auto elsewhere = step; // a temporary read at another hidden unit
        ir::forEachAccess(elsewhere.statements[3].value, [](ir::Access& a) {
            if (a.tensor.find("reset") != std::string::npos)
                a.indices[1].constant = 1;
        });
        QVERIFY(!ir::epiloguePoint(elsewhere, error));
        QVERIFY2(error.find("reset") != std::string::npos, error.c_str());
    }

    // The storage walk visits every element once, each with its storage offset and its row-major
    // position, in the order of storage: on a column-major matrix, a slice of a padded tensor, a row
    // and a scalar.
    void storageWalkVisitsEachElementInStorageOrder() {
        interp::Buffer whole;
        whole.shape = {3, 4, 5};
        whole.strides = {40, 8, 1}; // rows padded to 8
        whole.storage = std::make_shared<interp::Values>(120, 0.0);
        interp::Buffer columnMajor;
        columnMajor.shape = {6, 7};
        columnMajor.strides = {1, 6};
        columnMajor.storage = std::make_shared<interp::Values>(42, 0.0);
        const interp::Buffer plane = interp::sliceOf(whole, {1});
        const interp::Buffer row = interp::sliceOf(whole, {2, 1});
        const interp::Buffer scalar = interp::sliceOf(whole, {1, 2, 3});
        QCOMPARE(scalar.shape.size(), std::size_t(0));
        for (const interp::Buffer* b : std::initializer_list<const interp::Buffer*>{&whole, &columnMajor, &plane, &row, &scalar}) {
            std::vector<std::int64_t> offsetAt; // by row-major position, as forEach sees them
            b->forEach([&](const std::vector<std::int64_t>& index) { offsetAt.push_back(b->offsetOf(index)); });
            std::vector<std::int64_t> visited, seen(offsetAt.size(), 0);
            b->forEachStored([&](std::int64_t at, std::int64_t position) {
                QVERIFY(position >= 0 && position < static_cast<std::int64_t>(offsetAt.size()));
                QCOMPARE(at, offsetAt[static_cast<std::size_t>(position)]);
                ++seen[static_cast<std::size_t>(position)];
                visited.push_back(at);
            });
            QVERIFY(std::all_of(seen.begin(), seen.end(), [](std::int64_t n) { return n == 1; }));
            QVERIFY(std::is_sorted(visited.begin(), visited.end()));
        }
    }

    // A random tensor's values follow its logical indices, not its storage: the same seed gives a
    // row-major and a column-major matrix the same value at each index, though one is filled in the
    // order of the other's transpose.
    void randomValuesFollowTheIndicesNotTheLayout() {
        auto matrix = [](std::vector<std::int64_t> strides) {
            interp::Buffer b;
            b.shape = {6, 7};
            b.strides = std::move(strides);
            b.storage = std::make_shared<interp::Values>(42, 0.0);
            interp::fillRandom(b, 11);
            return b;
        };
        const interp::Buffer rowMajor = matrix({7, 1}), columnMajor = matrix({1, 6});
        QVERIFY(*rowMajor.storage != *columnMajor.storage);
        std::set<double> distinct;
        rowMajor.forEach([&](const std::vector<std::int64_t>& index) {
            QCOMPARE(columnMajor.at(index), rowMajor.at(index));
            distinct.insert(rowMajor.at(index));
        });
        QCOMPARE(distinct.size(), std::size_t(42));
    }

    void missingInputIsReported() {
        std::string error;
        auto module = frontend::generate("relu", {{"N", 1}, {"C", 1}, {"H", 1}, {"W", 2}}, error);
        QVERIFY2(module, error.c_str());
        interp::Buffers none;
        auto failure = interp::run(module->kernels.front(), none);
        QVERIFY(failure);
        QCOMPARE(*failure, std::string("kernel 'relu': no values given for input 'X'"));
    }
};

QTEST_GUILESS_MAIN(TstInterpreter)
#include "tst_interpreter.moc"
