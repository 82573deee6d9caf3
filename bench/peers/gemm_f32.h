// The f32 GEMM benchmark that every peer runs the same way (`peer_X gemm ...`); a peer only says how to
// call its library for one shape.
//
// The convention is DeepBench's and BLAS's: column-major, C(m,n) = op(A)(m,k) * op(B)(k,n), where
// op(A) is A or its transpose (ta = 1), and each leading dimension is the row count of the matrix as
// stored: lda = m (or k when ta = 1), ldb = k (or n when tb = 1), ldc = m.
#pragma once

#include "harness.h"

#include <functional>

namespace isamap::bench::peers {

struct GemmShape {
    long m = 0;
    long n = 0;
    long k = 0;
    bool ta = false;
    bool tb = false;

    long lda() const { return ta ? k : m; }
    long ldb() const { return tb ? n : k; }
    long ldc() const { return m; }
};

// C = op(A) * op(B), overwriting C; throws PeerError when the library fails.
using F32GemmCall = std::function<void(const float* a, const float* b, float* c)>;

// Makes the call for one shape. Anything a peer does once per shape (a kernel dispatch, a check that
// the library handles the shape itself) happens here, outside the timing.
using F32GemmPreparer = std::function<F32GemmCall(const GemmShape& shape)>;

// The `gemm` command: reads `m,n,k,ta,tb` shapes, and for each one fills A and B, checks the first
// result against a naive loop on sampled elements of C, and times the call.
void runF32GemmBenchmark(const Options& options, const F32GemmPreparer& prepare);

// The same sampled check, for a peer that computes an f32 GEMM some other way.
void checkF32Gemm(const GemmShape& shape, const float* a, const float* b, const float* c);

} // namespace isamap::bench::peers
