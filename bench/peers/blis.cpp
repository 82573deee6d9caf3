// peer_blis: BLIS through its own typed API (bli_sgemm, which takes row and column strides instead of
// BLAS's leading dimensions), threads through bli_thread_set_num_threads.
#include "gemm_f32.h"

#include <blis.h>

#include <cstdlib>
#include <string>

using namespace isamap::bench::peers;

namespace {

// A column-major matrix of `ld` rows as BLIS strides: rows are 1 apart, columns ld apart.
constexpr inc_t kRowStride = 1;

F32GemmCall blisGemm(const GemmShape& shape) {
    return [shape](const float* a, const float* b, float* c) {
        float alpha = 1.0f;
        float beta = 0.0f;
        // BLIS takes non-const pointers for its inputs but only reads them.
        bli_sgemm(shape.ta ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, shape.tb ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
                  shape.m, shape.n, shape.k, &alpha, const_cast<float*>(a), kRowStride, shape.lda(),
                  const_cast<float*>(b), kRowStride, shape.ldb(), &beta, c, kRowStride, shape.ldc());
    };
}

std::string describeBlis() {
    const char* asked = std::getenv("BLIS_ARCH_TYPE");
    return std::string("BLIS ") + bli_info_get_version_str() + ", kernels for " + bli_arch_string(bli_arch_query_id()) +
           (asked ? std::string(" (BLIS_ARCH_TYPE=") + asked + ")" : "");
}

} // namespace

int main(int argc, char** argv) {
    // BLIS 0.9 does not know AMD's family 26 (Zen 5) and runs its generic C kernels there, at a fifth of
    // the speed of its AVX-512 ones (the skx configuration), which run on it. BLIS checks a requested
    // configuration against the ones it registered, so it starts first.
    bli_init();
    if (bli_arch_query_id() == BLIS_ARCH_GENERIC && cpuRunsSkylakeServerCode())
        restartAsking("peer_blis", argv, "BLIS_ARCH_TYPE", std::to_string(static_cast<int>(BLIS_ARCH_SKX)),
                      "BLIS chose its generic kernels on a CPU that runs its AVX-512 ones (skx)");
    const CommandTable commands = {
        {"gemm", [](const Options& options) { runF32GemmBenchmark(options, blisGemm); }},
    };
    return runPeerMain(
        "peer_blis", argc, argv, commands, [](int threads) { bli_thread_set_num_threads(threads); }, describeBlis);
}
