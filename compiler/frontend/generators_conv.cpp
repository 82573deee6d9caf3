// Convolution family: conv2d (NCHW or NHWC; strided, padded, dilated, grouped), depthwise, pointwise,
// and the depthwise-separable block `dwsep` as a graph of the last two.
//
// Sizes (N, C, K, H, W, R, S, and G for grouped convolutions) are kernel parameters, and the output
// extents are size expressions over them, so a kernel stays consistent when a person overrides a size.
// Stride, padding and dilation are structural: they are the coefficients and constants of the affine
// indices and the width of the input's zero halo, so they are written into the text as numbers.
#include "frontend/generator_spec.h"

#include <cstdlib>

namespace isamap::frontend {

namespace {

// The sliding window along one spatial axis.
struct Window {
    std::int64_t stride = 1;
    std::int64_t pad = 0;      // zero halo on each side of the input
    std::int64_t dilation = 1; // distance between neighbouring filter taps
};

// `stride_h = -1` means "the same as stride"; the per-axis arguments exist because DeepBench's
// convolutions give height and width their own padding and stride.
Window windowAlong(const Args& a, const std::string& axis) {
    auto pick = [&](const std::string& base) {
        const std::int64_t v = a.at(base + "_" + axis);
        return v == -1 ? a.at(base) : v;
    };
    return Window{pick("stride"), pick("pad"), a.at("dilation")};
}

std::vector<GeneratorArg> windowArgs() {
    return {{"stride", 1, "step of the window along both axes"},
            {"pad", 0, "zero rows/columns around the input on each side, both axes"},
            {"dilation", 1, "distance between filter taps along both axes"},
            {"stride_h", -1, "stride along the height; -1: same as stride"},
            {"stride_w", -1, "stride along the width; -1: same as stride"},
            {"pad_h", -1, "padding along the height; -1: same as pad"},
            {"pad_w", -1, "padding along the width; -1: same as pad"}};
}

std::string validateWindow(const Args& a) {
    if (auto p = requirePositive(a, {"stride", "dilation"}); !p.empty())
        return p;
    if (a.at("pad") < 0)
        return "pad must not be negative, not " + str(a.at("pad"));
    for (const std::string axis : {"h", "w"}) {
        const std::int64_t stride = a.at("stride_" + axis), pad = a.at("pad_" + axis);
        if (stride != -1 && stride < 1)
            return "stride_" + axis + " must be at least 1 (or -1 for the value of stride), not " +
                   str(stride);
        if (pad != -1 && pad < 0)
            return "pad_" + axis + " must not be negative (or -1 for the value of pad), not " + str(pad);
    }
    return {};
}

// The output extent floor((in + 2*pad - dilation*(taps - 1) - 1) / stride) + 1, as computed by the
// size expressions below; nothing when the filter does not fit into the padded input.
std::optional<std::int64_t> outputSize(std::int64_t in, std::int64_t taps, const Window& w) {
    const std::int64_t room = in + 2 * w.pad - w.dilation * (taps - 1) - 1;
    if (room < 0)
        return std::nullopt;
    return room / w.stride + 1;
}

// "the filter does not fit" message for one axis, or "".
std::string requireFit(const Args& a, const std::string& in, const std::string& taps,
                       const std::string& axis) {
    const Window w = windowAlong(a, axis);
    if (outputSize(a.at(in), a.at(taps), w))
        return {};
    const std::int64_t span = w.dilation * (a.at(taps) - 1) + 1;
    const bool height = axis == "h";
    return "the filter does not fit: " + taps + " = " + str(a.at(taps)) + " (dilation " + str(w.dilation) +
           ") spans " + str(span) + (height ? " rows" : " columns") + " but the padded input " +
           (height ? "height" : "width") + " " + in + " + 2*pad_" + axis + " is only " +
           str(a.at(in) + 2 * w.pad);
}

std::string withConstant(const std::string& e, std::int64_t c) {
    if (c == 0)
        return e;
    return e + (c > 0 ? " + " : " - ") + str(std::llabs(c));
}

std::string scaled(std::int64_t coeff, const std::string& name) {
    return coeff == 1 ? name : str(coeff) + "*" + name;
}

// outputSize as a size expression over the parameters `in` and `taps`, constants folded so that the
// common cases read naturally: "H - R + 1", "(H - R + 2) / 2 + 1".
std::string outputExtent(const std::string& in, const std::string& taps, const Window& w) {
    const std::string span = in + " - " + (w.dilation == 1 ? taps : str(w.dilation) + " * " + taps);
    const std::int64_t slack = 2 * w.pad + w.dilation - 1;
    if (w.stride == 1)
        return withConstant(span, slack + 1);
    return "(" + withConstant(span, slack) + ") / " + str(w.stride) + " + 1";
}

// The input row (or column) that output position `out` reads through tap `tap`:
// stride*out + dilation*tap - pad; reads before 0 or past the end land in the zero halo.
std::string inputIndex(const std::string& out, const std::string& tap, const Window& w) {
    return withConstant(scaled(w.stride, out) + " + " + scaled(w.dilation, tap), -w.pad);
}

// The four (or, with groups, five) entries of an activation shape or index in the kernel's layout.
std::string order(bool nhwc, const std::string& batch, const std::string& channel, const std::string& h,
                  const std::string& w) {
    return nhwc ? batch + ", " + h + ", " + w + ", " + channel : batch + ", " + channel + ", " + h + ", " + w;
}

// `padded(...)` for an activation tensor, or nothing when neither axis is padded. `innerZeros`: the
// zeros of any axes after the four (the channels within a block).
std::string haloAttribute(bool nhwc, const std::string& channelZeros, const Window& wh, const Window& ww,
                          const std::string& innerZeros = "") {
    if (wh.pad == 0 && ww.pad == 0)
        return "";
    return " padded(" + order(nhwc, "0", channelZeros, str(wh.pad), str(ww.pad)) + (innerZeros.empty() ? "" : ", " + innerZeros) + ")";
}

// "N = 1, C = 32, ..." for the named arguments, in that order: a kernel's or graph's parameter list.
std::string paramList(const Args& a, const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names)
        out += (out.empty() ? "" : ", ") + n + " = " + str(a.at(n));
    return out;
}

// ---- conv2d ------------------------------------------------------------------------------------

// Y = X (*) F. With groups, input channel g*(C/G) + c is written as the index pair [g, c] of a 5-D
// view of the same memory, so that every index stays affine with integer coefficients.
// Filters: F[K, C, R, S] with NCHW; F[R, S, C, K] (HWIO) with NHWC.
std::string conv2d(const Args& a) {
    const Window wh = windowAlong(a, "h"), ww = windowAlong(a, "w");
    const bool nhwc = a.at("nhwc") == 1;
    const bool grouped = a.at("groups") > 1;
    const std::string oh = outputExtent("H", "R", wh), ow = outputExtent("W", "S", ww);
    // Channel pieces, as shape entries and as indices; a group's own channels are c and k.
    const std::string inChannels = grouped ? "G, C / G" : "C", outChannels = grouped ? "G, K / G" : "K";
    const std::string perGroup = grouped ? "C / G" : "C";
    const std::string c = grouped ? "g, c" : "c", k = grouped ? "g, k" : "k";
    const std::string outDims = grouped ? "g < G, k < K / G" : "k < K";
    const std::string reduce = nhwc ? "r < R, s < S, c < " + perGroup : "c < " + perGroup + ", r < R, s < S";
    const std::string filterShape =
        nhwc ? "R, S, " + perGroup + ", " + outChannels : outChannels + ", " + perGroup + ", R, S";
    const std::string filterIndex = nhwc ? "r, s, c, " + k : k + ", c, r, s";

    Args sizes = a;
    sizes["G"] = a.at("groups");
    std::vector<std::string> params = {"N", "C", "K", "H", "W", "R", "S"};
    if (grouped)
        params.insert(params.begin() + 1, "G");
    std::string out = "kernel conv2d(" + paramList(sizes, params) + ") {\n";
    out += "  dim " + order(nhwc, "n < N", outDims, "oh < " + oh, "ow < " + ow) + "\n";
    out += "  reduce " + reduce + "\n";
    out += "  in X : f32[" + order(nhwc, "N", inChannels, "H", "W") + "]" +
           haloAttribute(nhwc, grouped ? "0, 0" : "0", wh, ww) + "\n";
    out += "  in F : f32[" + filterShape + "]\n";
    out += "  out Y : f32[" + order(nhwc, "N", outChannels, oh, ow) + "]\n";
    out += "  Y[" + order(nhwc, "n", k, "oh", "ow") + "] += X[" +
           order(nhwc, "n", c, inputIndex("oh", "r", wh), inputIndex("ow", "s", ww)) + "] * F[" +
           filterIndex + "]\n";
    return out + "}\n";
}

std::string validateConv2d(const Args& a) {
    std::string p = requirePositive(a, {"N", "C", "K", "H", "W", "R", "S", "groups"});
    if (p.empty())
        p = requireFlag(a, {"nhwc"});
    if (p.empty())
        p = validateWindow(a);
    const std::int64_t groups = a.at("groups");
    if (p.empty() && a.at("C") % groups != 0)
        p = "groups = " + str(groups) + " must divide the input channels C = " + str(a.at("C"));
    if (p.empty() && a.at("K") % groups != 0)
        p = "groups = " + str(groups) + " must divide the output channels K = " + str(a.at("K"));
    if (p.empty())
        p = requireFit(a, "H", "R", "h");
    if (p.empty())
        p = requireFit(a, "W", "S", "w");
    return p;
}

// ---- depthwise and pointwise -------------------------------------------------------------------

// Channels in blocks of 16, each block's plane channel-last: [N, C/16, H, W, 16] (oneDNN's nChw16c).
// With channel-last activations a row of pixels is C floats apart, 2 KB at 512 channels, so every
// pixel a depthwise register tile reads for one vector of channels falls in the same two of the L1
// cache's 64 sets; in blocks, a block's plane is one run and the rows it reads are consecutive lines.
bool blockedChannels(const Args& a) { return a.count("blocked") && a.at("blocked") == 1; }
constexpr int channelBlock = 16;

// One filter per channel: Y[n, c, oh, ow] += X[n, c, ...] * F[c, r, s]. Filters: F[C, R, S] with NCHW,
// F[R, S, C] with NHWC, F[C/16, R, S, 16] with blocked channels.
std::string depthwise(const Args& a) {
    const Window wh = windowAlong(a, "h"), ww = windowAlong(a, "w");
    const bool nhwc = a.at("nhwc") == 1;
    const std::string oh = outputExtent("H", "R", wh), ow = outputExtent("W", "S", ww);
    const std::string ih = inputIndex("oh", "r", wh), iw = inputIndex("ow", "s", ww);
    std::string out = "kernel depthwise(" + paramList(a, {"N", "C", "H", "W", "R", "S"}) + ") {\n";
    if (blockedChannels(a)) {
        const std::string block = str(channelBlock), blocks = "C / " + block;
        out += "  dim n < N, cb < " + blocks + ", oh < " + oh + ", ow < " + ow + ", c < " + block + "\n";
        out += "  reduce r < R, s < S\n";
        out += "  in X : f32[N, " + blocks + ", H, W, " + block + "]" + haloAttribute(false, "0", wh, ww, "0") + "\n";
        out += "  in F : f32[" + blocks + ", R, S, " + block + "]\n";
        out += "  out Y : f32[N, " + blocks + ", " + oh + ", " + ow + ", " + block + "]\n";
        out += "  Y[n, cb, oh, ow, c] += X[n, cb, " + ih + ", " + iw + ", c] * F[cb, r, s, c]\n";
        return out + "}\n";
    }
    out += "  dim " + order(nhwc, "n < N", "c < C", "oh < " + oh, "ow < " + ow) + "\n";
    out += "  reduce r < R, s < S\n";
    out += "  in X : f32[" + order(nhwc, "N", "C", "H", "W") + "]" + haloAttribute(nhwc, "0", wh, ww) + "\n";
    out += std::string("  in F : f32[") + (nhwc ? "R, S, C" : "C, R, S") + "]\n";
    out += "  out Y : f32[" + order(nhwc, "N", "C", oh, ow) + "]\n";
    out += "  Y[" + order(nhwc, "n", "c", "oh", "ow") + "] += X[" + order(nhwc, "n", "c", ih, iw) + "] * F[" +
           (nhwc ? "r, s, c" : "c, r, s") + "]\n";
    return out + "}\n";
}

std::string validateDepthwise(const Args& a) {
    std::string p = requirePositive(a, {"N", "C", "H", "W", "R", "S"});
    if (p.empty())
        p = requireFlag(a, {"nhwc"});
    if (p.empty() && a.count("blocked")) // the dwsep block has no blocked layout
        p = requireFlag(a, {"blocked"});
    if (p.empty() && blockedChannels(a) && a.at("nhwc") == 1)
        p = "blocked channels are a layout of their own: nhwc must be 0 with blocked = 1";
    if (p.empty() && blockedChannels(a) && a.at("C") % channelBlock != 0)
        p = "blocked channels need C divisible by " + str(channelBlock) + ", not " + str(a.at("C"));
    if (p.empty())
        p = validateWindow(a);
    if (p.empty())
        p = requireFit(a, "H", "R", "h");
    if (p.empty())
        p = requireFit(a, "W", "S", "w");
    return p;
}

// Filters pre-packed (`packed = 1`, channel-last only) as a library reorders its weights once ahead of
// time: blocks of KB output channels (64, 32 or 16), each block's filters one run over the input
// channels, [K/KB, C, KB]. A register tile of output-channel vectors then reads its filters as one
// stream, with nothing to pack per call.
bool packedFilters(const Args& a) { return a.count("packed") && a.at("packed") == 1; }

std::string pointwiseFilterShape(const Args& a) {
    if (packedFilters(a)) {
        const std::string kb = str(vectorBlock(a.at("K")));
        return "f32[K / " + kb + ", C, " + kb + "]";
    }
    return a.at("nhwc") == 1 ? "f32[C, K]" : "f32[K, C]";
}

// A 1x1 convolution: channels against pixels. Filters as conv2d's with R = S = 1: F[K, C] with
// NCHW, F[C, K] with NHWC.
std::string pointwise(const Args& a) {
    const bool nhwc = a.at("nhwc") == 1;
    // Packed filters split the output channels into blocks (kb) and the channels within one (ki).
    const bool packed = packedFilters(a);
    const std::string kb = packed ? str(vectorBlock(a.at("K"))) : "";
    const std::string channels = packed ? "kb < K / " + kb + ", ki < " + kb : "k < K";
    const std::string k = packed ? kb + "*kb + ki" : "k";
    const std::string filter = packed ? "kb, c, ki" : nhwc ? "c, k" : "k, c";
    std::string out = "kernel pointwise(" + paramList(a, {"N", "C", "K", "H", "W"}) + ") {\n";
    out += "  dim " + order(nhwc, "n < N", channels, "h < H", "w < W") + "\n";
    out += "  reduce c < C\n";
    out += "  in X : f32[" + order(nhwc, "N", "C", "H", "W") + "]\n";
    out += "  in F : " + pointwiseFilterShape(a) + "\n";
    out += "  out Y : f32[" + order(nhwc, "N", "K", "H", "W") + "]\n";
    out += "  Y[" + order(nhwc, "n", k, "h", "w") + "] += X[" + order(nhwc, "n", "c", "h", "w") + "] * F[" + filter + "]\n";
    return out + "}\n";
}

std::string validatePointwise(const Args& a) {
    auto p = requirePositive(a, {"N", "C", "K", "H", "W"});
    if (p.empty())
        p = requireFlag(a, {"nhwc", "packed"});
    if (p.empty() && packedFilters(a) && a.at("nhwc") != 1)
        p = "packed filters need channel-last activations (nhwc = 1)";
    if (p.empty() && packedFilters(a) && vectorBlock(a.at("K")) == 0)
        p = "packed filters need K divisible by 16, not " + str(a.at("K"));
    return p;
}

// ---- the depthwise-separable block ---------------------------------------------------------------

// Depthwise then pointwise through a temporary D: the two kernels exactly as their own generators
// make them, and a graph whose tensors have the same layouts, so every binding matches.
// Y = relu(X + bias[c]): a batch normalisation folded into a per-channel bias, then the activation,
// as MobileNet runs after each convolution.
std::string biasRelu(bool nhwc) {
    const std::string index = nhwc ? "n, h, w, c" : "n, c, h, w";
    const std::string shape = order(nhwc, "N", "C", "H", "W");
    return "kernel bias_relu(N = 1, C = 32, H = 112, W = 112) {\n"
           "  dim " + std::string(nhwc ? "n < N, h < H, w < W, c < C" : "n < N, c < C, h < H, w < W") + "\n"
           "  in X : f32[" + shape + "]\n"
           "  in bias : f32[C]\n"
           "  out Y : f32[" + shape + "]\n"
           "  Y[" + index + "] = relu(X[" + index + "] + bias[c])\n"
           "}\n";
}

std::string dwsep(const Args& a) {
    const Window wh = windowAlong(a, "h"), ww = windowAlong(a, "w");
    const bool nhwc = a.at("nhwc") == 1;
    const bool act = a.count("act") && a.at("act") == 1;
    Args pointwiseArgs = a;
    pointwiseArgs["H"] = *outputSize(a.at("H"), a.at("R"), wh);
    pointwiseArgs["W"] = *outputSize(a.at("W"), a.at("S"), ww);
    const std::string oh = outputExtent("H", "R", wh), ow = outputExtent("W", "S", ww);

    std::string out = depthwise(a) + pointwise(pointwiseArgs) + (act ? biasRelu(nhwc) : "");
    out += "graph dwsep(" + paramList(a, {"N", "C", "K", "H", "W", "R", "S"}) + ") {\n";
    out += "  in X : f32[" + order(nhwc, "N", "C", "H", "W") + "]\n";
    out += std::string("  in FD : f32[") + (nhwc ? "R, S, C" : "C, R, S") + "]\n";
    out += "  in FP : " + pointwiseFilterShape(a) + "\n";
    if (act)
        out += "  in BD : f32[C]\n  in BP : f32[K]\n";
    const std::string d = "f32[" + order(nhwc, "N", "C", oh, ow) + "]", y = "f32[" + order(nhwc, "N", "K", oh, ow) + "]";
    out += "  tmp D : " + d + "\n";
    if (act)
        out += "  tmp DA : " + d + "\n  tmp YP : " + y + "\n";
    out += "  out Y : " + y + "\n";
    out += std::string("  node dw : depthwise(N = N, C = C, H = H, W = W, R = R, S = S) { X = X, F = FD, Y = D }\n");
    if (act)
        out += "  node dw_act : bias_relu(N = N, C = C, H = " + oh + ", W = " + ow + ") { X = D, bias = BD, Y = DA }\n";
    out += "  node pw : pointwise(N = N, C = C, K = K, H = " + oh + ", W = " + ow + ") { X = " +
           (act ? "DA" : "D") + ", F = FP, Y = " + (act ? "YP" : "Y") + " }\n";
    if (act)
        out += "  node pw_act : bias_relu(N = N, C = K, H = " + oh + ", W = " + ow + ") { X = YP, bias = BP, Y = Y }\n";
    return out + "}\n";
}

std::string validateDwsep(const Args& a) {
    std::string p = validateDepthwise(a);
    if (p.empty())
        p = requirePositive(a, {"K"});
    if (p.empty())
        p = requireFlag(a, {"act"});
    return p.empty() ? validatePointwise(a) : p;
}

std::vector<GeneratorArg> concat(std::vector<GeneratorArg> head, const std::vector<GeneratorArg>& tail) {
    head.insert(head.end(), tail.begin(), tail.end());
    return head;
}

} // namespace

void addConvGenerators(std::vector<GeneratorSpec>& out) {
    const GeneratorArg layout{"nhwc", 0, "0: NCHW activations, 1: NHWC"};
    const GeneratorArg packedArg{"packed", 0, "1: pointwise filters pre-packed in blocks of 64, 32 or 16 output channels, "
                                              "[K/KB, C, KB] (channel-last only)"};
    out.push_back(
        {{"conv2d",
          "2-D convolution, NCHW (filters KCRS) or NHWC (filters RSCK), strided, padded, dilated, grouped",
          concat({{"N", 1, "batch"},
                  {"C", 32, "input channels"},
                  {"K", 64, "output channels"},
                  {"H", 56, "input height, without padding"},
                  {"W", 56, "input width, without padding"},
                  {"R", 3, "filter height"},
                  {"S", 3, "filter width"}},
                 concat(windowArgs(), {{"groups", 1, "channel groups; must divide C and K"}, layout})),
          false},
         validateConv2d,
         conv2d});
    out.push_back({{"depthwise", "depthwise convolution: one R x S filter per channel",
                    concat({{"N", 1, "batch"},
                            {"C", 32, "channels"},
                            {"H", 112, "input height, without padding"},
                            {"W", 112, "input width, without padding"},
                            {"R", 3, "filter height"},
                            {"S", 3, "filter width"}},
                           concat(windowArgs(), {layout, {"blocked", 0, "1: channels in blocks of 16, [N, C/16, H, W, 16], "
                                                                       "filters [C/16, R, S, 16] (with nhwc = 0)"}})),
                    false},
                   validateDepthwise,
                   depthwise});
    out.push_back({{"pointwise",
                    "pointwise (1x1) convolution: a GEMM of channels against pixels",
                    {{"N", 1, "batch"},
                     {"C", 32, "input channels"},
                     {"K", 64, "output channels"},
                     {"H", 112, "height"},
                     {"W", 112, "width"},
                     layout,
                     packedArg},
                    false},
                   validatePointwise,
                   pointwise});
    out.push_back({{"dwsep", "depthwise-separable block: depthwise then pointwise, as a graph",
                    concat({{"N", 1, "batch"},
                            {"C", 32, "input channels"},
                            {"K", 64, "output channels"},
                            {"H", 112, "input height, without padding"},
                            {"W", 112, "input width, without padding"},
                            {"R", 3, "depthwise filter height"},
                            {"S", 3, "depthwise filter width"}},
                           concat(windowArgs(), {layout, {"act", 0, "1: a per-channel bias and a ReLU after each convolution"}, packedArg})),
                    true},
                   validateDwsep,
                   dwsep});
}

} // namespace isamap::frontend
