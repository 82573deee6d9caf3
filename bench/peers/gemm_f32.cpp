#include "gemm_f32.h"

#include <cmath>
#include <vector>

namespace isamap::bench::peers {

namespace {

const std::vector<std::string> kGemmColumns = {"m", "n", "k", "ta", "tb"};

// Enough sampled elements to catch a wrong block or a wrong transpose, few enough that the naive
// check stays cheap beside the timing even for k = 500000.
constexpr int kSampledElements = 60;

GemmShape gemmShapeOf(const ShapeRow& row) {
    return {row.positive("m"), row.positive("n"), row.positive("k"), row.flag("ta"), row.flag("tb")};
}

std::string describe(const GemmShape& shape) {
    return "gemm m=" + std::to_string(shape.m) + " n=" + std::to_string(shape.n) + " k=" + std::to_string(shape.k) +
           " ta=" + std::to_string(shape.ta) + " tb=" + std::to_string(shape.tb);
}

} // namespace

void checkF32Gemm(const GemmShape& shape, const float* a, const float* b, const float* c) {
    SampleCheck check(describe(shape));
    for (const Position at : samplePositions(shape.m, shape.n, kSampledElements, 7)) {
        double sum = 0;
        double magnitude = 0;
        for (long p = 0; p < shape.k; ++p) {
            const double x = shape.ta ? a[p + at.row * shape.lda()] : a[at.row + p * shape.lda()];
            const double y = shape.tb ? b[at.col + p * shape.ldb()] : b[p + at.col * shape.ldb()];
            sum += x * y;
            magnitude += std::abs(x * y);
        }
        check.compare("C(" + std::to_string(at.row) + "," + std::to_string(at.col) + ")",
                      c[at.row + at.col * shape.ldc()], sum, kF32Tolerance, magnitude);
    }
    check.throwIfWrong();
}

void runF32GemmBenchmark(const Options& options, const F32GemmPreparer& prepare) {
    const auto validate = [](const ShapeRow& row) { gemmShapeOf(row); };
    runShapes(options, kGemmColumns, kGemmColumns, validate, [&](const ShapeRow& row) {
        const GemmShape shape = gemmShapeOf(row);
        std::vector<float> a(shape.m * shape.k), b(shape.k * shape.n);
        // NaN, so that an element the library never writes cannot pass the check.
        std::vector<float> c(shape.m * shape.n, NAN);
        fillUniform(a, 1);
        fillUniform(b, 2);
        const F32GemmCall call = prepare(shape);
        const Timing timing = warmUpCheckAndTime([&] { call(a.data(), b.data(), c.data()); },
                                                 [&] { checkF32Gemm(shape, a.data(), b.data(), c.data()); },
                                                 options);
        printResult(row.fields, options.threads, timing, 2.0 * shape.m * shape.n * shape.k);
    });
}

} // namespace isamap::bench::peers
