// `peer_onednn dwsep`: a MobileNet-v1 depthwise-separable block, batch 1: a 3x3 depthwise convolution
// (groups = channels, padding 1, the row's stride) then a 1x1 pointwise convolution to out_channels, no
// bias or activation. Every tensor uses format_tag::any so that oneDNN picks its own layouts (a plain
// NCHW depthwise falls back to a much slower path); inputs and weights are reordered once, outside the
// timing. Each row gives three lines: the depthwise alone, the pointwise alone, and the block (both,
// with the reorder between them if the two primitives chose different layouts for the tensor they share).
#include "onednn_common.h"

#include <cmath>
#include <functional>
#include <vector>

namespace isamap::bench::peers::onednn {

namespace {

const std::vector<std::string> kDwsepColumns = {"layer", "channels", "out_channels", "h", "w", "stride"};
constexpr long kTaps = 3;
constexpr int kSampledElements = 40;

struct DwsepProblem {
    long channels = 0, outChannels = 0, h = 0, w = 0, stride = 0;
    long outH() const { return (h + 2 - kTaps) / stride + 1; }
    long outW() const { return (w + 2 - kTaps) / stride + 1; }
};

// The user's tensors, in plain layouts: input NCHW, depthwise weights [C][1][1][3][3], pointwise weights
// [OC][C][1][1], and plain copies of the two outputs for the check.
struct DwsepTensors {
    memory input, depthwiseWeights, pointwiseWeights, depthwiseOutput, pointwiseOutput;
};

DwsepTensors makeDwsepTensors(const DwsepProblem& p) {
    DwsepTensors t{plainMemory({1, p.channels, p.h, p.w}, DataType::f32, Tag::nchw),
                   plainMemory({p.channels, 1, 1, kTaps, kTaps}, DataType::f32, Tag::goihw),
                   plainMemory({p.outChannels, p.channels, 1, 1}, DataType::f32, Tag::oihw),
                   plainMemory({1, p.channels, p.outH(), p.outW()}, DataType::f32, Tag::nchw),
                   plainMemory({1, p.outChannels, p.outH(), p.outW()}, DataType::f32, Tag::nchw)};
    fillUniform(t.input, 31, -1, 1);
    fillUniform(t.depthwiseWeights, 32, -1, 1);
    fillUniform(t.pointwiseWeights, 33, -1, 1);
    return t;
}

DwsepProblem dwsepProblemOf(const ShapeRow& row) {
    return {row.positive("channels"), row.positive("out_channels"), row.positive("h"), row.positive("w"),
            row.positive("stride")};
}

memory::desc anyLayout(const Dims& dims) {
    return {dims, DataType::f32, Tag::any};
}

dnnl::convolution_forward::primitive_desc depthwiseDesc(const DwsepProblem& p, const DwsepTensors& t) {
    const dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, anyLayout(t.input.get_desc().dims()),
        anyLayout(t.depthwiseWeights.get_desc().dims()), anyLayout(t.depthwiseOutput.get_desc().dims()),
        {p.stride, p.stride}, {1, 1}, {1, 1});
    return {desc, context().engine};
}

dnnl::convolution_forward::primitive_desc pointwiseDesc(const DwsepTensors& t) {
    const dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
        anyLayout(t.depthwiseOutput.get_desc().dims()), anyLayout(t.pointwiseWeights.get_desc().dims()),
        anyLayout(t.pointwiseOutput.get_desc().dims()), {1, 1}, {0, 0}, {0, 0});
    return {desc, context().engine};
}

// The depthwise output of the reference at one position, from the plain input and weights.
double referenceDepthwise(const DwsepProblem& p, const DwsepTensors& t, long c, long y, long x) {
    const float* input = elements<float>(t.input).data();
    const float* weights = elements<float>(t.depthwiseWeights).data();
    double sum = 0;
    for (long r = 0; r < kTaps; ++r)
        for (long s = 0; s < kTaps; ++s) {
            const long iy = y * p.stride + r - 1, ix = x * p.stride + s - 1;
            if (iy >= 0 && iy < p.h && ix >= 0 && ix < p.w)
                sum += input[(c * p.h + iy) * p.w + ix] * static_cast<double>(weights[(c * kTaps + r) * kTaps + s]);
        }
    return sum;
}

std::string positionText(long channel, long pixel) {
    return "channel " + std::to_string(channel) + ", pixel " + std::to_string(pixel);
}

// Compares sampled elements of the depthwise output (when `depthwise`) or of the pointwise output, the
// latter against a reference chain computed from the plain input, so the block's data flow is checked too.
void checkDwsep(const DwsepProblem& p, const DwsepTensors& t, memory result, bool depthwise) {
    memory plain = depthwise ? t.depthwiseOutput : t.pointwiseOutput;
    dnnl::reorder(result, plain).execute(context().stream, result, plain);
    context().stream.wait();
    const long pixels = p.outH() * p.outW();
    const long channels = depthwise ? p.channels : p.outChannels;
    const float* got = elements<float>(plain).data();
    const float* weights = elements<float>(t.pointwiseWeights).data();
    SampleCheck check(std::string(depthwise ? "depthwise" : "pointwise") + " of the block");
    for (const Position at : samplePositions(channels, pixels, kSampledElements, 13)) {
        const long y = at.col / p.outW(), x = at.col % p.outW();
        double want = 0, magnitude = 0;
        if (depthwise) {
            want = referenceDepthwise(p, t, at.row, y, x);
            magnitude = 9.0;
        } else {
            for (long c = 0; c < p.channels; ++c) {
                const double term = weights[at.row * p.channels + c] * referenceDepthwise(p, t, c, y, x);
                want += term;
                magnitude += std::abs(term);
            }
        }
        check.compare(positionText(at.row, at.col), got[at.row * pixels + at.col], want, kF32Tolerance, magnitude);
    }
    check.throwIfWrong();
}

struct TimedPart {
    std::string name;
    std::function<void()> call;
    std::function<void()> check;
    double flops;
};

void benchmarkDwsep(const ShapeRow& row, const Options& options) {
    const DwsepProblem p = dwsepProblemOf(row);
    const DwsepTensors t = makeDwsepTensors(p);
    const auto depthwisePd = depthwiseDesc(p, t);
    const auto pointwisePd = pointwiseDesc(t);
    const memory input = reorderedTo(t.input, depthwisePd.src_desc());
    const memory depthwiseWeights = reorderedTo(t.depthwiseWeights, depthwisePd.weights_desc());
    const memory pointwiseWeights = reorderedTo(t.pointwiseWeights, pointwisePd.weights_desc());
    memory middle(depthwisePd.dst_desc(), context().engine);
    memory pointwiseInput = reorderedTo(middle, pointwisePd.src_desc());
    memory output(pointwisePd.dst_desc(), context().engine);
    const dnnl::convolution_forward depthwise(depthwisePd), pointwise(pointwisePd);
    dnnl::stream& stream = context().stream;

    const auto runDepthwise = [&] {
        depthwise.execute(stream, {{DNNL_ARG_SRC, input}, {DNNL_ARG_WEIGHTS, depthwiseWeights}, {DNNL_ARG_DST, middle}});
    };
    const auto runPointwise = [&] {
        pointwise.execute(stream,
                          {{DNNL_ARG_SRC, pointwiseInput}, {DNNL_ARG_WEIGHTS, pointwiseWeights}, {DNNL_ARG_DST, output}});
    };
    const auto runBetween = [&] {
        if (pointwiseInput.get(true) != middle.get(true))
            dnnl::reorder(middle, pointwiseInput).execute(stream, middle, pointwiseInput);
    };
    const double outputsPerChannel = static_cast<double>(p.outH()) * p.outW();
    const double depthwiseFlops = 2.0 * p.channels * outputsPerChannel * kTaps * kTaps;
    const double pointwiseFlops = 2.0 * p.outChannels * outputsPerChannel * p.channels;
    const std::vector<TimedPart> parts = {
        // The depthwise part's check also fills the pointwise input for the part after it.
        {"depthwise", [&] { runDepthwise(); stream.wait(); },
         [&] { runBetween(); stream.wait(); checkDwsep(p, t, middle, true); }, depthwiseFlops},
        {"pointwise", [&] { runPointwise(); stream.wait(); }, [&] { checkDwsep(p, t, output, false); }, pointwiseFlops},
        {"block", [&] { runDepthwise(); runBetween(); runPointwise(); stream.wait(); },
         [&] { checkDwsep(p, t, output, false); }, depthwiseFlops + pointwiseFlops},
    };
    for (const TimedPart& part : parts) {
        const Timing timing = warmUpCheckAndTime(part.call, part.check, options);
        std::vector<std::string> fields = row.fields;
        fields.push_back(part.name);
        printResult(fields, options.threads, timing, part.flops);
    }
}

} // namespace

void runDwsepBenchmark(const Options& options) {
    std::vector<std::string> columns = kDwsepColumns;
    columns.push_back("part");
    runShapes(options, kDwsepColumns, columns, [](const ShapeRow& row) { dwsepProblemOf(row); },
              [&](const ShapeRow& row) { benchmarkDwsep(row, options); });
}

} // namespace isamap::bench::peers::onednn
