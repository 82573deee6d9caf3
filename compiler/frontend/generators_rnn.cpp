// Recurrent cells as op graphs: gru_cell, gru_sequence, lstm_cell and the vanilla rnn_cell, with
// DeepBench's sizes in mind (hidden size H, batch B, input size I, usually I = H).
//
// The gate pre-activations of a cell are one kernel with a gate dimension g next to the hidden
// dimension j: W : f32[GATES, H, I] and G : f32[B, GATES, H] are row-major, so (g, j) fuses into one
// dimension of extent GATES*H and the gates form one GEMM of height GATES*H, which is what the
// instruction mapper should find. The same kernel serves the input part (W against X) and the
// recurrent part (U against the previous state) as two nodes with different bindings.
#include "frontend/generator_spec.h"

namespace isamap::frontend {

namespace {

// "kernel NAME(B = 16, H = 256, I = 256) {" style headers.
std::string header(const std::string& what, const std::string& name,
                   const std::vector<std::pair<std::string, std::int64_t>>& params) {
    std::string out = what + " " + name + "(";
    for (std::size_t i = 0; i < params.size(); ++i)
        out += (i ? ", " : "") + params[i].first + " = " + str(params[i].second);
    return out + ") {\n";
}

struct CellSizes {
    std::int64_t batch, hidden, input;
    bool inputMajor = false; // weights stored with the output index j fastest (wt = 1)
    std::int64_t block = 0;  // wt = 2 or 3: blocks of this many outputs, each stored whole over the inputs
    bool gatesInBlock = false; // wt = 3: every gate's block of one input side by side
};

// The widest block of outputs (at most 128, a multiple of a vector) that divides the hidden size.
std::int64_t weightBlock(std::int64_t hidden) {
    for (std::int64_t b : {128, 64, 32, 16})
        if (hidden % b == 0)
            return b;
    return 0;
}

// wt = 3: the widest block of outputs (at most 64) whose vectors a register tile holds for all three
// gates and every batch row, beside the weights' vectors of one input (3 * JB/16 * (B + 1) of the 32
// registers), so that the tile reads each input's block of weights whole: one run through memory.
// At batch 1 at most 32: nothing reuses the weights there, so a tile reads several blocks side by side,
// and four blocks of 32 (four streams through memory) ran 8% faster than two of 64 at hidden 2816.
std::int64_t gateBlock(std::int64_t hidden, std::int64_t batch) {
    const std::int64_t widest = batch == 1 ? 32 : 64;
    std::int64_t narrowest = 0;
    for (std::int64_t b : {64, 32, 16})
        if (b <= widest && hidden % b == 0) {
            narrowest = b;
            if (3 * (b / 16) * (batch + 1) <= 32)
                return b;
        }
    return narrowest;
}

// The block of a step's weights, which a matrix-vector product reads from memory: from batch 2 blocks of
// 16, as long as the registers hold two side by side (two streams: per block 3 gates' accumulators for
// each row and 3 weight vectors; up to batch 4). The gates of hidden 2048 and 2816 at batch 2, two blocks of 16
// against one, timed in turn (`isamap measure --against`), took 0.81-0.86 of the time; hidden 2048 at
// batch 4, 1.02-1.09 ms against 1.25-1.65 for one block of 32 at a time. A sequence's input product, a
// GEMM over every step, keeps gateBlock's.
std::int64_t stepGateBlock(std::int64_t hidden, std::int64_t batch) {
    const bool twoBlocksFit = 2 * 3 * (batch + 1) <= 32;
    return batch >= 2 && twoBlocksFit && hidden % 16 == 0 ? 16 : gateBlock(hidden, batch);
}

// The input size argument I = 0 stands for "the same as the hidden size", DeepBench's setting.
CellSizes cellSizes(const Args& a) {
    const std::int64_t wt = a.count("wt") ? a.at("wt") : 0;
    return CellSizes{a.at("B"), a.at("H"), a.at("I") == 0 ? a.at("H") : a.at("I"), wt == 1,
                     wt == 2 ? weightBlock(a.at("H")) : wt == 3 ? stepGateBlock(a.at("H"), a.at("B")) : 0, wt == 3};
}

std::string validateCell(const Args& a) {
    auto p = requirePositive(a, {"H", "B"});
    if (p.empty() && a.at("I") < 0)
        p = "I must be at least 1 (or 0 for the same as H), not " + str(a.at("I"));
    const std::int64_t wt = a.count("wt") ? a.at("wt") : 0;
    if (p.empty() && (wt < 0 || wt > 3))
        p = "wt must be 0 (output-major), 1 (input-major), 2 (input-major in blocks of outputs) or 3 (the same with "
            "the gates inside each block), not " + str(wt);
    if (p.empty() && wt >= 2 && weightBlock(a.at("H")) == 0)
        p = "wt = " + str(wt) + " needs H divisible by 16, not " + str(a.at("H"));
    return p;
}

// G[b, g, j] = sum_i W[g, j, i] * X[b, i] for all gates at once.
// Input-major weights (`transposed(0, 2, 1)`: j fastest) are the layout a library pre-packs them into
// for small batches: a gate row is then a vector along j, with no transposition to pack per step.
std::string weightLayout(const CellSizes& s) { return s.inputMajor ? " transposed(0, 2, 1)" : ""; }

// Blocked input-major weights (wt = 2): [gates, H / JB, inputs, JB], each block of JB outputs stored
// whole over the inputs, so that a matrix-vector product walks its weights in one long run per block
// (as a library pre-packs them for batch 1) instead of JB-wide pieces a row apart.
// Gates inside the blocks (wt = 3): [H / JB, inputs, gates, JB], so that a step that computes all
// gates of a block of outputs together (the tail fused into the gates) reads one run per block, not
// one per gate.
std::string weightShape(const CellSizes& s, const std::string& gates, const std::string& inputs) {
    if (s.gatesInBlock)
        return "f32[H / " + str(s.block) + ", " + inputs + ", " + gates + ", " + str(s.block) + "]";
    if (s.block)
        return "f32[" + gates + ", H / " + str(s.block) + ", " + inputs + ", " + str(s.block) + "]";
    return "f32[" + gates + ", H, " + inputs + "]" + weightLayout(s);
}
std::string weightAccess(const CellSizes& s) {
    if (s.gatesInBlock)
        return "W[jb, i, g, ji]";
    return s.block ? "W[g, jb, i, ji]" : "W[g, j, i]";
}
std::string outputDims(const CellSizes& s) {
    return s.block ? "jb < H / " + str(s.block) + ", ji < " + str(s.block) : "j < H";
}
std::string outputIndex(const CellSizes& s) { return s.block ? str(s.block) + "*jb + ji" : "j"; }

std::string gatesKernel(const std::string& name, int gates, const CellSizes& s) {
    const std::string g = str(gates);
    std::string out = header("kernel", name, {{"B", s.batch}, {"H", s.hidden}, {"I", s.input}});
    out += "  dim b < B, g < " + g + ", " + outputDims(s) + "\n";
    out += "  reduce i < I\n";
    out += "  in W : " + weightShape(s, g, "I") + "\n";
    out += "  in X : f32[B, I]\n";
    out += "  out G : f32[B, " + g + ", H]\n";
    out += "  G[b, g, " + outputIndex(s) + "] += " + weightAccess(s) + " * X[b, i]\n";
    return out + "}\n";
}

// ---- GRU ------------------------------------------------------------------------------------------

// The element-wise end of a GRU step in the cuDNN convention ("linear before reset"): the reset
// gate multiplies the recurrent candidate term after its bias is added, (GH_n + BH_n), rather than
// the previous state before the matrix product, so both GEMMs stay independent of the gates.
//   r = sigmoid(GX_r + BX_r + GH_r + BH_r)
//   z = sigmoid(GX_z + BX_z + GH_z + BH_z)
//   n = tanh(GX_n + BX_n + r * (GH_n + BH_n))
//   Hn = (1 - z) * n + z * Hprev
std::string gruTail(const CellSizes& s) {
    return header("kernel", "gru_tail", {{"B", s.batch}, {"H", s.hidden}}) + R"(  dim b < B, j < H
  in GX : f32[B, 3, H]
  in GH : f32[B, 3, H]
  in BX : f32[3, H]
  in BH : f32[3, H]
  in Hprev : f32[B, H]
  tmp reset : f32[B, H]
  tmp update : f32[B, H]
  tmp candidate : f32[B, H]
  out Hn : f32[B, H]
  reset[b, j] = sigmoid(GX[b, 0, j] + BX[0, j] + GH[b, 0, j] + BH[0, j])
  update[b, j] = sigmoid(GX[b, 1, j] + BX[1, j] + GH[b, 1, j] + BH[1, j])
  candidate[b, j] = tanh(GX[b, 2, j] + BX[2, j] + reset[b, j] * (GH[b, 2, j] + BH[2, j]))
  Hn[b, j] = (1 - update[b, j]) * candidate[b, j] + update[b, j] * Hprev[b, j]
}
)";
}

// The weights and biases every GRU graph takes: the input weights in `in`'s layout, the recurrent ones
// in the step's.
std::string gruWeights(const CellSizes& in, const CellSizes& step) {
    return "  in W : " + weightShape(in, "3", "I") + "\n  in U : " + weightShape(step, "3", "H") +
           "\n  in BX : f32[3, H]\n  in BH : f32[3, H]\n";
}

std::string gruCell(const Args& a) {
    const CellSizes s = cellSizes(a);
    return gatesKernel("gru_gates", 3, s) + gruTail(s) +
           header("graph", "gru_cell", {{"B", s.batch}, {"H", s.hidden}, {"I", s.input}}) +
           "  in X : f32[B, I]\n"
           "  in Hprev : f32[B, H]\n" +
           gruWeights(s, s) + R"(  tmp GX : f32[B, 3, H]
  tmp GH : f32[B, 3, H]
  out Hn : f32[B, H]
  node input_gates : gru_gates(B = B, H = H, I = I) { W = W, X = X, G = GX }
  node recurrent_gates : gru_gates(B = B, H = H, I = H) { W = U, X = Hprev, G = GH }
  node tail : gru_tail(B = B, H = H) { GX = GX, GH = GH, BX = BX, BH = BH, Hprev = Hprev, Hn = Hn }
}
)";
}

// T steps: the input GEMM for all steps at once, then per step the recurrent GEMM and the tail,
// step t reading the state step t - 1 wrote. T is structural (the graph has 2*T + 1 nodes, and the
// bindings name steps by number), so it is written into the shapes as a number: a parameter T
// could be overridden to disagree with the node count.
std::string gruSequence(const Args& a) {
    const CellSizes s = cellSizes(a);
    CellSizes in = s; // the input product over every step: a GEMM, whose Goto tile wants blocks of 32
    if (s.gatesInBlock)
        in.block = gateBlock(s.hidden, s.batch);
    const std::int64_t steps = a.at("T");
    const std::string T = str(steps);
    std::string out = gatesKernel("gru_gates", 3, s) + gruTail(s);
    out +=
        header("kernel", "gru_input_gates", {{"T", steps}, {"B", s.batch}, {"H", s.hidden}, {"I", s.input}}) +
        "  dim t < T, b < B, g < 3, " + outputDims(in) + "\n"
        "  reduce i < I\n"
        "  in W : " + weightShape(in, "3", "I") + "\n"
        "  in X : f32[T, B, I]\n"
        "  out G : f32[T, B, 3, H]\n"
        "  G[t, b, g, " + outputIndex(in) + "] += " + weightAccess(in) + " * X[t, b, i]\n"
        "}\n";
    out += header("graph", "gru_sequence", {{"B", s.batch}, {"H", s.hidden}, {"I", s.input}});
    out += "  in X : f32[" + T + ", B, I]\n  in H0 : f32[B, H]\n" + gruWeights(in, s);
    out += "  tmp GX_all : f32[" + T + ", B, 3, H]\n";
    out += "  tmp GH : f32[" + T + ", B, 3, H]\n";
    out += "  out HS : f32[" + T + ", B, H]\n";
    out += "  node input_gates : gru_input_gates(T = " + T +
           ", B = B, H = H, I = I) { W = W, X = X, G = GX_all }\n";
    for (std::int64_t t = 0; t < steps; ++t) {
        const std::string step = str(t);
        const std::string previous = t == 0 ? "H0" : "HS[" + str(t - 1) + "]";
        out += "  node recurrent" + step + " : gru_gates(B = B, H = H, I = H) { W = U, X = " + previous +
               ", G = GH[" + step + "] }\n";
        out += "  node tail" + step + " : gru_tail(B = B, H = H) { GX = GX_all[" + step + "], GH = GH[" +
               step + "], BX = BX, BH = BH, Hprev = " + previous + ", Hn = HS[" + step + "] }\n";
    }
    return out + "}\n";
}

// ---- LSTM -----------------------------------------------------------------------------------------

// Gates in the order i, f, g, o (input, forget, cell candidate, output), one bias per gate:
//   Cn = sigmoid(f) * Cprev + sigmoid(i) * tanh(g);   Hn = sigmoid(o) * tanh(Cn)
std::string lstmTail(const CellSizes& s) {
    return header("kernel", "lstm_tail", {{"B", s.batch}, {"H", s.hidden}}) + R"(  dim b < B, j < H
  in GX : f32[B, 4, H]
  in GH : f32[B, 4, H]
  in Bias : f32[4, H]
  in Cprev : f32[B, H]
  tmp input_gate : f32[B, H]
  tmp forget_gate : f32[B, H]
  tmp cell_gate : f32[B, H]
  tmp output_gate : f32[B, H]
  out Hn : f32[B, H]
  out Cn : f32[B, H]
  input_gate[b, j] = sigmoid(GX[b, 0, j] + GH[b, 0, j] + Bias[0, j])
  forget_gate[b, j] = sigmoid(GX[b, 1, j] + GH[b, 1, j] + Bias[1, j])
  cell_gate[b, j] = tanh(GX[b, 2, j] + GH[b, 2, j] + Bias[2, j])
  output_gate[b, j] = sigmoid(GX[b, 3, j] + GH[b, 3, j] + Bias[3, j])
  Cn[b, j] = forget_gate[b, j] * Cprev[b, j] + input_gate[b, j] * cell_gate[b, j]
  Hn[b, j] = output_gate[b, j] * tanh(Cn[b, j])
}
)";
}

std::string lstmCell(const Args& a) {
    const CellSizes s = cellSizes(a);
    return gatesKernel("lstm_gates", 4, s) + lstmTail(s) +
           header("graph", "lstm_cell", {{"B", s.batch}, {"H", s.hidden}, {"I", s.input}}) +
           R"(  in X : f32[B, I]
  in Hprev : f32[B, H]
  in Cprev : f32[B, H]
  in W : f32[4, H, I]
  in U : f32[4, H, H]
  in Bias : f32[4, H]
  tmp GX : f32[B, 4, H]
  tmp GH : f32[B, 4, H]
  out Hn : f32[B, H]
  out Cn : f32[B, H]
  node input_gates : lstm_gates(B = B, H = H, I = I) { W = W, X = X, G = GX }
  node recurrent_gates : lstm_gates(B = B, H = H, I = H) { W = U, X = Hprev, G = GH }
  node tail : lstm_tail(B = B, H = H) { GX = GX, GH = GH, Bias = Bias, Cprev = Cprev, Hn = Hn, Cn = Cn }
}
)";
}

// ---- vanilla RNN ----------------------------------------------------------------------------------

// Hn = tanh(W X + U Hprev + Bias): two GEMMs with the same kernel, then the activation.
std::string rnnCell(const Args& a) {
    const CellSizes s = cellSizes(a);
    return header("kernel", "rnn_gemm", {{"B", s.batch}, {"H", s.hidden}, {"I", s.input}}) +
           R"(  dim b < B, j < H
  reduce i < I
  in W : f32[H, I]
  in X : f32[B, I]
  out G : f32[B, H]
  G[b, j] += W[j, i] * X[b, i]
}
)" + header("kernel", "rnn_tail", {{"B", s.batch}, {"H", s.hidden}}) +
           R"(  dim b < B, j < H
  in GX : f32[B, H]
  in GH : f32[B, H]
  in Bias : f32[H]
  out Hn : f32[B, H]
  Hn[b, j] = tanh(GX[b, j] + GH[b, j] + Bias[j])
}
)" + header("graph", "rnn_cell", {{"B", s.batch}, {"H", s.hidden}, {"I", s.input}}) +
           R"(  in X : f32[B, I]
  in Hprev : f32[B, H]
  in W : f32[H, I]
  in U : f32[H, H]
  in Bias : f32[H]
  tmp GX : f32[B, H]
  tmp GH : f32[B, H]
  out Hn : f32[B, H]
  node input_gemm : rnn_gemm(B = B, H = H, I = I) { W = W, X = X, G = GX }
  node recurrent_gemm : rnn_gemm(B = B, H = H, I = H) { W = U, X = Hprev, G = GH }
  node tail : rnn_tail(B = B, H = H) { GX = GX, GH = GH, Bias = Bias, Hn = Hn }
}
)";
}

std::vector<GeneratorArg> cellArgs() {
    return {{"H", 256, "hidden size"}, {"B", 16, "batch"}, {"I", 0, "input size; 0: same as H"}};
}

std::vector<GeneratorArg> gruArgs() {
    auto args = cellArgs();
    args.push_back({"wt", 0, "1: weights stored input-major (j fastest), as libraries pre-pack them; 2: the same in "
                             "blocks of up to 128 outputs, each block whole over the inputs; 3: blocks of up to 64 "
                             "outputs (32 at batch 1), the gates of one input side by side in each"});
    return args;
}

} // namespace

void addRnnGenerators(std::vector<GeneratorSpec>& out) {
    out.push_back({{"gru_cell", "one GRU step (cuDNN convention): two gate GEMMs of height 3H and the tail",
                    gruArgs(), true},
                   validateCell,
                   gruCell});
    std::vector<GeneratorArg> sequenceArgs = gruArgs();
    sequenceArgs.push_back({"T", 4, "time steps (the graph has 2*T + 1 nodes)"});
    out.push_back({{"gru_sequence",
                    "T GRU steps: the input GEMM for all steps, then a recurrent GEMM and tail per step",
                    sequenceArgs, true},
                   [](const Args& a) {
                       auto p = validateCell(a);
                       return p.empty() ? requirePositive(a, {"T"}) : p;
                   },
                   gruSequence});
    out.push_back({{"lstm_cell", "one LSTM step: two gate GEMMs of height 4H (gates i, f, g, o) and the tail",
                    cellArgs(), true},
                   validateCell,
                   lstmCell});
    out.push_back({{"rnn_cell", "one vanilla RNN step: Hn = tanh(W X + U Hprev + Bias)", cellArgs(), true},
                   validateCell,
                   rnnCell});
}

} // namespace isamap::frontend
