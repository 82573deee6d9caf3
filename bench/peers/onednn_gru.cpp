// `peer_onednn gru`: GRU inference over a whole sequence through oneDNN's gru_forward primitive, with
// the weights reordered once into the format the primitive chose. Shapes `hidden,batch,steps`; the input
// size equals the hidden size, as in DeepBench.
//
// oneDNN's GRU, gates in the order u, r, o (weights as [input][gate][output]):
//   u = sigmoid(W_u x + U_u h + b_u)
//   r = sigmoid(W_r x + U_r h + b_r)
//   o = tanh(W_o x + U_o (r * h) + b_o)
//   h' = u * h + (1 - u) * o
#include "onednn_common.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace isamap::bench::peers::onednn {

namespace {

const std::vector<std::string> kGruColumns = {"hidden", "batch", "steps"};
constexpr long kGates = 3;

// A full sequence is too long to recompute naively, so the check recomputes the first steps in full,
// which exercises both GEMMs, the gates and the recurrence; the later steps run the same code.
constexpr long kCheckedSteps = 2;

struct GruProblem {
    long hidden = 0, batch = 0, steps = 0;
};

struct GruTensors {
    memory input;        // [steps][batch][hidden]
    memory initialState; // [1][1][batch][hidden]
    memory inputWeights; // [1][1][hidden][gate][hidden]
    memory stateWeights; // [1][1][hidden][gate][hidden]
    memory bias;         // [1][1][gate][hidden]
    memory output;       // [steps][batch][hidden]
};

GruTensors makeGruTensors(const GruProblem& p) {
    const long h = p.hidden;
    GruTensors t{plainMemory({p.steps, p.batch, h}, DataType::f32, Tag::tnc),
                 plainMemory({1, 1, p.batch, h}, DataType::f32, Tag::ldnc),
                 plainMemory({1, 1, h, kGates, h}, DataType::f32, Tag::ldigo),
                 plainMemory({1, 1, h, kGates, h}, DataType::f32, Tag::ldigo),
                 plainMemory({1, 1, kGates, h}, DataType::f32, Tag::ldgo),
                 plainMemory({p.steps, p.batch, h}, DataType::f32, Tag::tnc)};
    // Weights of size 1/sqrt(hidden) keep the gates away from saturation, where a check sees little.
    const float scale = 1.0f / std::sqrt(static_cast<float>(h));
    fillUniform(t.input, 21, -1, 1);
    fillUniform(t.initialState, 22, -1, 1);
    fillUniform(t.inputWeights, 23, -scale, scale);
    fillUniform(t.stateWeights, 24, -scale, scale);
    fillUniform(t.bias, 25, -0.5f, 0.5f);
    return t;
}

double sigmoid(double x) {
    return 1 / (1 + std::exp(-x));
}

// Adds vector * W[.][gate][.] to `sum`, W as [input][gate][output].
void addProduct(std::vector<double>& sum, const float* vector, const float* weights, long gate, long h) {
    for (long i = 0; i < h; ++i)
        for (long o = 0; o < h; ++o)
            sum[o] += vector[i] * static_cast<double>(weights[(i * kGates + gate) * h + o]);
}

// One step of the reference for one batch row: returns the new state.
std::vector<float> referenceStep(const float* x, const std::vector<float>& state, const GruTensors& t, long h) {
    const float* w = elements<float>(t.inputWeights).data();
    const float* u = elements<float>(t.stateWeights).data();
    const float* bias = elements<float>(t.bias).data();
    std::vector<std::vector<double>> pre(kGates, std::vector<double>(h));
    for (long g = 0; g < kGates; ++g) {
        for (long o = 0; o < h; ++o)
            pre[g][o] = bias[g * h + o];
        addProduct(pre[g], x, w, g, h);
    }
    addProduct(pre[0], state.data(), u, 0, h);
    addProduct(pre[1], state.data(), u, 1, h);
    std::vector<float> resetState(h);
    for (long i = 0; i < h; ++i)
        resetState[i] = static_cast<float>(sigmoid(pre[1][i]) * state[i]);
    addProduct(pre[2], resetState.data(), u, 2, h);
    std::vector<float> next(h);
    for (long o = 0; o < h; ++o) {
        const double update = sigmoid(pre[0][o]);
        next[o] = static_cast<float>(update * state[o] + (1 - update) * std::tanh(pre[2][o]));
    }
    return next;
}

void checkGru(const GruProblem& p, const GruTensors& t) {
    SampleCheck check("gru hidden=" + std::to_string(p.hidden) + " batch=" + std::to_string(p.batch));
    const long h = p.hidden;
    const float* input = elements<float>(t.input).data();
    const float* output = elements<float>(t.output).data();
    const float* initial = elements<float>(t.initialState).data();
    for (long b = 0; b < p.batch; ++b) {
        std::vector<float> state(initial + b * h, initial + (b + 1) * h);
        for (long step = 0; step < std::min(p.steps, kCheckedSteps); ++step) {
            state = referenceStep(input + (step * p.batch + b) * h, state, t, h);
            for (long o = 0; o < h; ++o)
                check.compare("h[step " + std::to_string(step) + "][batch " + std::to_string(b) + "][" +
                                  std::to_string(o) + "]",
                              output[(step * p.batch + b) * h + o], state[o], 1e-4, 1.0);
        }
    }
    check.throwIfWrong();
}

GruProblem gruProblemOf(const ShapeRow& row) {
    return {row.positive("hidden"), row.positive("batch"), row.positive("steps")};
}

dnnl::gru_forward::primitive_desc gruPrimitiveDesc(const GruTensors& t) {
    const auto any = [](const memory& m) { return memory::desc(m.get_desc().dims(), DataType::f32, Tag::any); };
    const dnnl::gru_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::rnn_direction::unidirectional_left2right,
                                       t.input.get_desc(), t.initialState.get_desc(), any(t.inputWeights),
                                       any(t.stateWeights), t.bias.get_desc(), t.output.get_desc(),
                                       memory::desc() /* the last state is not asked for */);
    return {desc, context().engine};
}

void benchmarkGru(const ShapeRow& row, const Options& options) {
    const GruProblem p = gruProblemOf(row);
    const GruTensors t = makeGruTensors(p);
    const auto pd = gruPrimitiveDesc(t);
    const memory inputWeights = reorderedTo(t.inputWeights, pd.weights_layer_desc());
    const memory stateWeights = reorderedTo(t.stateWeights, pd.weights_iter_desc());
    const dnnl::gru_forward gru(pd);
    const auto call = [&] {
        gru.execute(context().stream, {{DNNL_ARG_SRC_LAYER, t.input},
                                       {DNNL_ARG_SRC_ITER, t.initialState},
                                       {DNNL_ARG_WEIGHTS_LAYER, inputWeights},
                                       {DNNL_ARG_WEIGHTS_ITER, stateWeights},
                                       {DNNL_ARG_BIAS, t.bias},
                                       {DNNL_ARG_DST_LAYER, t.output}});
        context().stream.wait();
    };
    // DeepBench's count: per step, two GEMMs of 3H x H against the input and the state. The
    // element-wise tail (gates, r * h, the blend) is not counted.
    const double flops = 2.0 * (2.0 * kGates * p.hidden * p.hidden * p.batch) * p.steps;
    const Timing timing = warmUpCheckAndTime(call, [&] { checkGru(p, t); }, options);
    printResult(row.fields, options.threads, timing, flops);
}

} // namespace

void runGruBenchmark(const Options& options) {
    runShapes(options, kGruColumns, kGruColumns, [](const ShapeRow& row) { gruProblemOf(row); },
              [&](const ShapeRow& row) { benchmarkGru(row, options); });
}

} // namespace isamap::bench::peers::onednn
