// GEMM family: gemm (DeepBench's column-major convention, with transposes), batched_gemm,
// fully_connected.
#include "frontend/generator_spec.h"

namespace isamap::frontend {

std::string str(std::int64_t v) { return std::to_string(v); }

std::string requirePositive(const Args& a, const std::vector<std::string>& names) {
    for (const auto& n : names)
        if (a.at(n) < 1)
            return n + " must be at least 1, not " + str(a.at(n));
    return {};
}

std::string requireFlag(const Args& a, const std::vector<std::string>& names) {
    for (const auto& n : names)
        if (a.at(n) != 0 && a.at(n) != 1)
            return n + " must be 0 or 1, not " + str(a.at(n));
    return {};
}

std::int64_t vectorBlock(std::int64_t extent) {
    for (std::int64_t b : {64, 32, 16})
        if (extent % b == 0)
            return b;
    return 0;
}

namespace {

// C(m,n) = op(A)(m,k) * op(B)(k,n), every matrix column-major as in BLAS and DeepBench. A transposed
// A is stored K x M, so the kernel reads it as A[k, m].
// Element types of a GEMM: the inputs, the accumulator, and the conversion applied to each input
// before the multiply ("" when none: f32 multiplies as it is).
struct GemmTypes {
    const char* a;
    const char* b;
    const char* c;
    const char* widen;
};

GemmTypes gemmTypes(std::int64_t dtype) {
    switch (dtype) {
    case 1: return {"bf16", "bf16", "f32", "f32"};
    case 2: return {"f16", "f16", "f32", "f32"};
    case 3: return {"u8", "i8", "i32", "i32"}; // as x86 VNNI multiplies: unsigned activations, signed weights
    case 4: return {"i8", "i8", "i32", "i32"};
    default: return {"f32", "f32", "f32", ""};
    }
}

std::string widened(const char* widen, const std::string& access) {
    return *widen ? std::string(widen) + "(" + access + ")" : access;
}

// The low-precision GEMM with A pre-packed, as a library packs its weights once ahead of time: the
// reduction split into groups of G (2 for bf16, 4 for 8-bit) whose values of one row lie together, the
// layout the dot-product instructions (vdpbf16ps, vpdpbusd) read as one vector, nothing left to pack
// per call. packed = 1: A as [K/G, M, G], rows after rows. packed = 2: also blocked by MB rows (64, 32
// or 16, whichever divides M), [M/MB, K/G, MB, G], so that one block of rows is one run over the whole
// reduction, as a matrix-vector product wants to stream it.
std::string packedGemm(const Args& a, const GemmTypes& t) {
    const std::string g = a.at("dtype") == 1 ? "2" : "4";
    const bool blocked = a.at("packed") == 2;
    const std::string mb = str(vectorBlock(a.at("M")));
    std::string out = "kernel gemm(M = " + str(a.at("M")) + ", N = " + str(a.at("N")) + ", K = " + str(a.at("K")) + ") {\n";
    out += blocked ? "  dim mb < M / " + mb + ", mi < " + mb + ", n < N\n" : "  dim m < M, n < N\n";
    out += "  reduce kg < K / " + g + ", kq < " + g + "\n";
    out += std::string("  in A : ") + t.a + (blocked ? "[M / " + mb + ", K / " + g + ", " + mb + ", " + g + "]\n"
                                                      : "[K / " + g + ", M, " + g + "]\n");
    out += std::string("  in B : ") + t.b + "[" + (a.at("tb") ? "N, K" : "K, N") + "] col_major\n";
    out += std::string("  out C : ") + t.c + "[M, N] col_major\n";
    const std::string k = g + "*kg + kq";
    const std::string m = blocked ? mb + "*mb + mi" : "m";
    out += "  C[" + m + ", n] += " + widened(t.widen, blocked ? "A[mb, kg, mi, kq]" : "A[kg, m, kq]") + " * " +
           widened(t.widen, a.at("tb") ? "B[n, " + k + "]" : "B[" + k + ", n]") + "\n}\n";
    return out;
}

std::string gemm(const Args& a) {
    const bool ta = a.at("ta"), tb = a.at("tb");
    const GemmTypes t = gemmTypes(a.at("dtype"));
    if (a.count("packed") && a.at("packed") != 0)
        return packedGemm(a, t);
    std::string out = "kernel gemm(M = " + str(a.at("M")) + ", N = " + str(a.at("N")) + ", K = " + str(a.at("K")) + ") {\n";
    out += "  dim m < M, n < N\n  reduce k < K\n";
    out += std::string("  in A : ") + t.a + "[" + (ta ? "K, M" : "M, K") + "] col_major\n";
    out += std::string("  in B : ") + t.b + "[" + (tb ? "N, K" : "K, N") + "] col_major\n";
    out += std::string("  out C : ") + t.c + "[M, N] col_major\n";
    out += "  C[m, n] += " + widened(t.widen, ta ? "A[k, m]" : "A[m, k]") + " * " +
           widened(t.widen, tb ? "B[n, k]" : "B[k, n]") + "\n}\n";
    return out;
}

std::string batchedGemm(const Args& a) {
    const bool ta = a.at("ta"), tb = a.at("tb");
    std::string out = "kernel batched_gemm(BATCH = " + str(a.at("BATCH")) + ", M = " + str(a.at("M")) +
                      ", N = " + str(a.at("N")) + ", K = " + str(a.at("K")) + ") {\n";
    out += "  dim b < BATCH, m < M, n < N\n  reduce k < K\n";
    out += std::string("  in A : f32[BATCH, ") + (ta ? "K, M" : "M, K") + "]\n";
    out += std::string("  in B : f32[BATCH, ") + (tb ? "N, K" : "K, N") + "]\n";
    out += "  out C : f32[BATCH, M, N]\n";
    out += std::string("  C[b, m, n] += A[b, ") + (ta ? "k, m" : "m, k") + "] * B[b, " + (tb ? "n, k" : "k, n") +
           "]\n}\n";
    return out;
}

// Y = act(X * W^T + bias): the matrix product and the bias-and-activation epilogue as two statements
// of one kernel.
std::string fullyConnected(const Args& a) {
    const bool bias = a.at("bias");
    const std::int64_t act = a.at("act");
    std::string out = "kernel fully_connected(BATCH = " + str(a.at("BATCH")) + ", IN = " + str(a.at("IN")) +
                      ", OUT = " + str(a.at("OUT")) + ") {\n";
    out += "  dim n < BATCH, o < OUT\n  reduce i < IN\n";
    out += "  in X : f32[BATCH, IN]\n  in W : f32[OUT, IN]\n";
    if (bias)
        out += "  in b : f32[OUT]\n";
    out += "  out Y : f32[BATCH, OUT]\n";
    out += "  Y[n, o] += X[n, i] * W[o, i]\n";
    std::string value = "Y[n, o]";
    if (bias)
        value += " + b[o]";
    if (act == 1)
        value = "relu(" + value + ")";
    else if (act == 2)
        value = "sigmoid(" + value + ")";
    else if (act == 3)
        value = "tanh(" + value + ")";
    if (bias || act)
        out += "  Y[n, o] = " + value + "\n";
    return out + "}\n";
}

} // namespace

void addMatmulGenerators(std::vector<GeneratorSpec>& out) {
    out.push_back({{"gemm",
                    "C = op(A) * op(B), column-major as in BLAS and DeepBench",
                    {{"M", 64, "rows of C"},
                     {"N", 32, "columns of C"},
                     {"K", 48, "the reduction"},
                     {"ta", 0, "1: A is stored transposed (K x M)"},
                     {"tb", 0, "1: B is stored transposed (N x K)"},
                     {"dtype", 0, "0 f32, 1 bf16 -> f32, 2 f16 -> f32, 3 u8 x i8 -> i32, 4 i8 x i8 -> i32"},
                     {"packed", 0, "A pre-packed for the dot-product instructions: 1 [K/G, M, G], 2 blocked [M/MB, K/G, MB, G]"
                                   " (G = 2 for bf16, 4 for 8-bit; MB = 64, 32 or 16)"}},
                    false},
                   [](const Args& a) {
                       auto p = requirePositive(a, {"M", "N", "K"});
                       if (p.empty())
                           p = requireFlag(a, {"ta", "tb"});
                       if (p.empty() && (a.at("packed") < 0 || a.at("packed") > 2))
                           p = "packed must be 0, 1 or 2, not " + str(a.at("packed"));
                       if (p.empty() && (a.at("dtype") < 0 || a.at("dtype") > 4))
                           p = "dtype must be 0 (f32), 1 (bf16), 2 (f16), 3 (u8 x i8) or 4 (i8 x i8)";
                       if (p.empty() && a.at("packed") == 2 && vectorBlock(a.at("M")) == 0)
                           p = "packed = 2 needs M divisible by 16, not " + str(a.at("M"));
                       if (p.empty() && a.at("packed") != 0) {
                           const std::int64_t group = a.at("dtype") == 1 ? 2 : 4;
                           if (a.at("dtype") != 1 && a.at("dtype") != 3 && a.at("dtype") != 4)
                               p = "packed applies to dtype 1 (bf16) and the 8-bit dtypes 3 and 4";
                           else if (a.at("ta") == 1)
                               p = "packed replaces A's layout; ta does not apply";
                           else if (a.at("K") % group != 0)
                               p = "packed needs K divisible by " + str(group) + ", not " + str(a.at("K"));
                       }
                       return p;
                   },
                   gemm});
    out.push_back({{"batched_gemm",
                    "a batch of independent row-major GEMMs",
                    {{"BATCH", 4, "number of products"},
                     {"M", 64, "rows"},
                     {"N", 32, "columns"},
                     {"K", 48, "reduction"},
                     {"ta", 0, "1: A transposed"},
                     {"tb", 0, "1: B transposed"}},
                    false},
                   [](const Args& a) {
                       auto p = requirePositive(a, {"BATCH", "M", "N", "K"});
                       return p.empty() ? requireFlag(a, {"ta", "tb"}) : p;
                   },
                   batchedGemm});
    out.push_back({{"fully_connected",
                    "Y = act(X * W^T + b)",
                    {{"BATCH", 1, "rows of X"},
                     {"IN", 1024, "input features"},
                     {"OUT", 1000, "output features"},
                     {"bias", 1, "1: add a bias vector"},
                     {"act", 0, "0 none, 1 relu, 2 sigmoid, 3 tanh"}},
                    false},
                   [](const Args& a) {
                       auto p = requirePositive(a, {"BATCH", "IN", "OUT"});
                       if (p.empty())
                           p = requireFlag(a, {"bias"});
                       if (p.empty() && (a.at("act") < 0 || a.at("act") > 3))
                           p = "act must be 0 (none), 1 (relu), 2 (sigmoid) or 3 (tanh)";
                       return p;
                   },
                   fullyConnected});
}

} // namespace isamap::frontend
