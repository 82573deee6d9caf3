// peer_onednn: oneDNN 2.6 as the peer for f32 GEMM (dnnl_sgemm), low-precision GEMM (the matmul
// primitive with pre-packed weights), GRU inference (gru_forward) and the depthwise-separable blocks
// of MobileNet-v1 (convolution primitives). The Debian build threads with OpenMP, so omp_set_num_threads
// is its thread control.
#include "gemm_f32.h"
#include "onednn_common.h"

#include <omp.h>

using namespace isamap::bench::peers;

namespace isamap::bench::peers::onednn {

Context& context() {
    static Context shared;
    return shared;
}

memory plainMemory(const Dims& dims, DataType type, Tag tag) {
    return memory({dims, type, tag}, context().engine);
}

memory reorderedTo(const memory& source, const memory::desc& wanted) {
    if (source.get_desc() == wanted)
        return source;
    memory from = source; // a handle: the copy shares the data
    memory target(wanted, context().engine);
    dnnl::reorder(from, target).execute(context().stream, from, target);
    context().stream.wait();
    return target;
}

void fillUniform(const memory& m, std::uint64_t seed, float lo, float hi) {
    peers::fillUniform(elements<float>(m), seed, lo, hi);
}

} // namespace isamap::bench::peers::onednn

namespace {

// dnnl_sgemm is row-major. A column-major matrix read as row-major is its transpose, so the
// column-major C = op(A) op(B) is the row-major C^T = op(B)^T op(A)^T: B and A swap places, and m and n.
F32GemmCall onednnGemm(const GemmShape& shape) {
    return [shape](const float* a, const float* b, float* c) {
        const dnnl_status_t status = dnnl_sgemm(shape.tb ? 'T' : 'N', shape.ta ? 'T' : 'N', shape.n, shape.m,
                                                shape.k, 1.0f, b, shape.ldb(), a, shape.lda(), 0.0f, c, shape.ldc());
        if (status != dnnl_success)
            throw PeerError("dnnl_sgemm failed with status " + std::to_string(status));
    };
}

std::string isaName(dnnl_cpu_isa_t isa) {
    switch (isa) {
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx2: return "avx2";
    default: return "isa " + std::to_string(static_cast<int>(isa));
    }
}

std::string describeOnednn() {
    const dnnl_version_t* version = dnnl_version();
    return "oneDNN " + std::to_string(version->major) + "." + std::to_string(version->minor) + "." +
           std::to_string(version->patch) + ", code for " + isaName(dnnl_get_effective_cpu_isa());
}

} // namespace

int main(int argc, char** argv) {
    const CommandTable commands = {
        {"gemm", [](const Options& options) { runF32GemmBenchmark(options, onednnGemm); }},
        {"lowp", onednn::runLowpBenchmark},
        {"gru", onednn::runGruBenchmark},
        {"dwsep", onednn::runDwsepBenchmark},
    };
    return runPeerMain("peer_onednn", argc, argv, commands, omp_set_num_threads, describeOnednn);
}
