// peer_libxsmm: LIBXSMM 1.17's own multi-threaded GEMM (libxsmm_sgemm_omp, which tiles the problem and
// runs JIT-generated kernels on the tiles), threads through OpenMP.
//
// Linked against LIBXSMM's no-BLAS library on purpose: plain libxsmm_sgemm hands anything above 64^3
// to the system BLAS, and so does libxsmm_sgemm_omp when it cannot build a tiling for a shape. With no
// BLAS behind it, such a fall-back cannot pass for LIBXSMM's figure; it is refused before timing, and
// would in any case leave C unwritten and fail the check.
#include "gemm_f32.h"

#include <libxsmm.h>
#include <omp.h>

using namespace isamap::bench::peers;

namespace {

// The check libxsmm_sgemm_omp makes itself before choosing between its tiled kernels and the BLAS.
void requireLibxsmmTiling(const GemmShape& shape, char transa, char transb) {
    const libxsmm_blasint m = shape.m, n = shape.n, k = shape.k;
    const libxsmm_blasint lda = shape.lda(), ldb = shape.ldb(), ldc = shape.ldc();
    const float alpha = 1.0f, beta = 0.0f;
    libxsmm_gemm_blob blob;
    if (!libxsmm_gemm_handle_init(&blob, LIBXSMM_GEMM_PRECISION_F32, LIBXSMM_GEMM_PRECISION_F32, &transa, &transb,
                                  &m, &n, &k, &lda, &ldb, &ldc, &alpha, &beta, LIBXSMM_GEMM_HANDLE_FLAG_AUTO,
                                  omp_get_max_threads()))
        throw PeerError("LIBXSMM has no kernel for this shape; it would hand it to a BLAS");
}

F32GemmCall libxsmmGemm(const GemmShape& shape) {
    const char transa = shape.ta ? 'T' : 'N';
    const char transb = shape.tb ? 'T' : 'N';
    requireLibxsmmTiling(shape, transa, transb);
    return [shape, transa, transb](const float* a, const float* b, float* c) {
        const libxsmm_blasint m = shape.m, n = shape.n, k = shape.k;
        const libxsmm_blasint lda = shape.lda(), ldb = shape.ldb(), ldc = shape.ldc();
        const float alpha = 1.0f, beta = 0.0f;
        libxsmm_sgemm_omp(&transa, &transb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc);
    };
}

std::string describeLibxsmm() {
    return std::string("LIBXSMM ") + LIBXSMM_CONFIG_VERSION + ", code for " + libxsmm_get_target_arch();
}

} // namespace

int main(int argc, char** argv) {
    libxsmm_init();
    const CommandTable commands = {
        {"gemm", [](const Options& options) { runF32GemmBenchmark(options, libxsmmGemm); }},
    };
    const int status = runPeerMain("peer_libxsmm", argc, argv, commands, omp_set_num_threads, describeLibxsmm);
    libxsmm_finalize();
    return status;
}
