// Element-wise kernels over 4-D activations: bias_add (a per-channel bias, NCHW or NHWC) and the
// activations relu, sigmoid and tanh. Element-wise kernels assign with `=`: nothing is reduced.
#include "frontend/generator_spec.h"

namespace isamap::frontend {

namespace {

std::string sizeParams(const Args& a) {
    return "N = " + str(a.at("N")) + ", C = " + str(a.at("C")) + ", H = " + str(a.at("H")) +
           ", W = " + str(a.at("W"));
}

std::string validateShape(const Args& a) {
    return requirePositive(a, {"N", "C", "H", "W"});
}

std::vector<GeneratorArg> shapeArgs() {
    return {{"N", 1, "batch"}, {"C", 64, "channels"}, {"H", 56, "height"}, {"W", 56, "width"}};
}

// Y = X + bias[c], the bias broadcast over batch and pixels; the channel sits second (NCHW) or
// last (NHWC), as in the convolution it usually follows.
std::string biasAdd(const Args& a) {
    const bool nhwc = a.at("nhwc") == 1;
    const std::string index = nhwc ? "n, h, w, c" : "n, c, h, w";
    const std::string shape = nhwc ? "N, H, W, C" : "N, C, H, W";
    std::string out = "kernel bias_add(" + sizeParams(a) + ") {\n";
    out +=
        std::string("  dim ") + (nhwc ? "n < N, h < H, w < W, c < C" : "n < N, c < C, h < H, w < W") + "\n";
    out += "  in X : f32[" + shape + "]\n";
    out += "  in bias : f32[C]\n";
    out += "  out Y : f32[" + shape + "]\n";
    out += "  Y[" + index + "] = X[" + index + "] + bias[c]\n";
    return out + "}\n";
}

// Y = fn(X). The layout does not matter to an element-wise kernel; N, C, H, W only name the four
// dimensions as they usually are after a convolution (set some to 1 for a lower rank).
std::string activation(const std::string& fn, const Args& a) {
    std::string out = "kernel " + fn + "(" + sizeParams(a) + ") {\n";
    out += "  dim n < N, c < C, h < H, w < W\n";
    out += "  in X : f32[N, C, H, W]\n";
    out += "  out Y : f32[N, C, H, W]\n";
    out += "  Y[n, c, h, w] = " + fn + "(X[n, c, h, w])\n";
    return out + "}\n";
}

} // namespace

void addElementwiseGenerators(std::vector<GeneratorSpec>& out) {
    std::vector<GeneratorArg> biasArgs = shapeArgs();
    biasArgs.push_back({"nhwc", 0, "0: channel second (NCHW), 1: channel last (NHWC)"});
    out.push_back({{"bias_add", "Y = X + bias, one bias per channel", biasArgs, false},
                   [](const Args& a) {
                       auto p = validateShape(a);
                       return p.empty() ? requireFlag(a, {"nhwc"}) : p;
                   },
                   biasAdd});
    const std::vector<std::pair<std::string, std::string>> activations = {
        {"relu", "Y = max(X, 0)"}, {"sigmoid", "Y = 1 / (1 + exp(-X))"}, {"tanh", "Y = tanh(X)"}};
    for (const auto& [fn, summary] : activations)
        out.push_back({{fn, summary, shapeArgs(), false}, validateShape, [fn = fn](const Args& a) {
                           return activation(fn, a);
                       }});
}

} // namespace isamap::frontend
