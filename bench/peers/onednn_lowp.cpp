// `peer_onednn lowp`: u8 x s8 -> s32 and bf16 x bf16 -> f32 GEMM through oneDNN's matmul primitive,
// with the weights pre-packed into the format the primitive chose (format_tag::any), reordered once
// outside the timing. (dnnl_gemm_u8s8s32 would repack the weights on every call.)
//
// Shapes `m,n,k,dtype` follow the GEMM convention (column-major C(m,n) = A(m,k) B(k,n), no transposes),
// with A the weights and B the activations, as in DeepBench's inference sets where n is the batch:
// for u8s8, A is s8 and B is u8. In oneDNN's row-major matmul that is C^T = B^T A^T: B^T (n x k) is the
// source, A^T (k x m) the weights.
#include "onednn_common.h"

#include <cmath>
#include <cstring>
#include <vector>

namespace isamap::bench::peers::onednn {

namespace {

const std::vector<std::string> kLowpColumns = {"m", "n", "k", "dtype"};

struct LowpProblem {
    long m = 0, n = 0, k = 0;
    bool isInt8 = false;
};

LowpProblem lowpProblemOf(const ShapeRow& row) {
    const std::string& dtype = row.text("dtype");
    if (dtype != "u8s8" && dtype != "bf16")
        throw UsageError("line " + std::to_string(row.line) + ": dtype must be u8s8 or bf16, not '" + dtype + "'");
    return {row.positive("m"), row.positive("n"), row.positive("k"), dtype == "u8s8"};
}

// Small integers, so that no product sum can saturate even on a path that adds pairs in 16 bits.
void fillInt8(const memory& m, std::uint64_t seed, long lo, long hi) {
    Random random(seed);
    for (auto& value : elements<std::int8_t>(m))
        value = static_cast<std::int8_t>(random.integer(lo, hi));
}

// Multiples of 1/16 in [-1, 1] are exact in bf16, so the reference sees the very inputs the library does.
float exactBf16Value(Random& random) {
    return static_cast<float>(random.integer(-16, 16)) / 16.0f;
}

std::uint16_t bf16Bits(float value) {
    std::uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return static_cast<std::uint16_t>(bits >> 16);
}

float bf16Value(std::uint16_t bits) {
    const std::uint32_t wide = static_cast<std::uint32_t>(bits) << 16;
    float value;
    std::memcpy(&value, &wide, sizeof value);
    return value;
}

void fillBf16(const memory& m, std::uint64_t seed) {
    Random random(seed);
    for (auto& value : elements<std::uint16_t>(m))
        value = bf16Bits(exactBf16Value(random));
}

// Element (row, col) of a column-major matrix of `rows` rows, as a double.
double valueAt(const memory& m, bool isInt8, bool isUnsigned, long rows, long row, long col) {
    const long index = row + col * rows;
    if (!isInt8)
        return bf16Value(elements<std::uint16_t>(m)[index]);
    return isUnsigned ? elements<std::uint8_t>(m)[index] : elements<std::int8_t>(m)[index];
}

void checkLowp(const LowpProblem& p, const memory& a, const memory& b, const memory& c) {
    SampleCheck check("lowp m=" + std::to_string(p.m) + " n=" + std::to_string(p.n) + " k=" + std::to_string(p.k));
    for (const Position at : samplePositions(p.m, p.n, 60, 11)) {
        double sum = 0, magnitude = 0;
        for (long q = 0; q < p.k; ++q) {
            const double product = valueAt(a, p.isInt8, false, p.m, at.row, q) * valueAt(b, p.isInt8, true, p.k, q, at.col);
            sum += product;
            magnitude += std::abs(product);
        }
        const long index = at.row + at.col * p.m;
        const double got = p.isInt8 ? elements<std::int32_t>(c)[index] : elements<float>(c)[index];
        // Integer sums are exact.
        check.compare("C(" + std::to_string(at.row) + "," + std::to_string(at.col) + ")", got, sum,
                      p.isInt8 ? 0.0 : kF32Tolerance, magnitude);
    }
    check.throwIfWrong();
}

void benchmarkLowp(const ShapeRow& row, const Options& options) {
    const LowpProblem p = lowpProblemOf(row);
    const DataType weightType = p.isInt8 ? DataType::s8 : DataType::bf16;
    const DataType sourceType = p.isInt8 ? DataType::u8 : DataType::bf16;
    const DataType resultType = p.isInt8 ? DataType::s32 : DataType::f32;
    // Row-major views of the column-major A (m x k), B (k x n) and C (m x n).
    memory a = plainMemory({p.k, p.m}, weightType, Tag::ab);
    memory b = plainMemory({p.n, p.k}, sourceType, Tag::ab);
    memory c = plainMemory({p.n, p.m}, resultType, Tag::ab);
    if (p.isInt8) {
        fillInt8(a, 3, -32, 31);
        fillInt8(b, 4, 0, 63);
    } else {
        fillBf16(a, 3);
        fillBf16(b, 4);
    }
    const memory::desc anyWeights({p.k, p.m}, weightType, Tag::any);
    const dnnl::matmul::primitive_desc pd({b.get_desc(), anyWeights, c.get_desc()}, context().engine);
    const memory packedA = reorderedTo(a, pd.weights_desc());
    const dnnl::matmul matmul(pd);
    const auto call = [&] {
        matmul.execute(context().stream, {{DNNL_ARG_SRC, b}, {DNNL_ARG_WEIGHTS, packedA}, {DNNL_ARG_DST, c}});
        context().stream.wait();
    };
    const Timing timing = warmUpCheckAndTime(call, [&] { checkLowp(p, a, b, c); }, options);
    printResult(row.fields, options.threads, timing, 2.0 * p.m * p.n * p.k);
}

} // namespace

void runLowpBenchmark(const Options& options) {
    runShapes(options, kLowpColumns, kLowpColumns, [](const ShapeRow& row) { lowpProblemOf(row); },
              [&](const ShapeRow& row) { benchmarkLowp(row, options); });
}

} // namespace isamap::bench::peers::onednn
