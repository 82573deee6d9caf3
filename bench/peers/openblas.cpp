// peer_openblas: OpenBLAS's cblas_sgemm, threads through openblas_set_num_threads.
#include "gemm_f32.h"

#include <cblas.h>

#include <cstdlib>
#include <iostream>

using namespace isamap::bench::peers;

namespace {

F32GemmCall openblasGemm(const GemmShape& shape) {
    return [shape](const float* a, const float* b, float* c) {
        cblas_sgemm(CblasColMajor, shape.ta ? CblasTrans : CblasNoTrans, shape.tb ? CblasTrans : CblasNoTrans,
                    static_cast<blasint>(shape.m), static_cast<blasint>(shape.n), static_cast<blasint>(shape.k),
                    1.0f, a, static_cast<blasint>(shape.lda()), b, static_cast<blasint>(shape.ldb()), 0.0f, c,
                    static_cast<blasint>(shape.ldc()));
    };
}

std::string describeOpenblas() {
    return std::string("OpenBLAS (") + openblas_get_config() + "), kernels for " + openblas_get_corename();
}

} // namespace

int main(int argc, char** argv) {
    // A machine may force OpenBLAS's kernels for every program (one set Haswell's AVX2 kernels, where
    // OpenBLAS picks its AVX-512 ones by itself and runs large products twice as fast): said here, so
    // that a figure taken under it is not read as OpenBLAS's own.
    if (const char* forced = std::getenv("OPENBLAS_CORETYPE"))
        std::cerr << "peer_openblas: note: OPENBLAS_CORETYPE=" << forced
                  << " is set in the environment and chooses OpenBLAS's kernels; unset, OpenBLAS picks its own for this CPU\n";
    const CommandTable commands = {
        {"gemm", [](const Options& options) { runF32GemmBenchmark(options, openblasGemm); }},
    };
    return runPeerMain("peer_openblas", argc, argv, commands, openblas_set_num_threads, describeOpenblas);
}
