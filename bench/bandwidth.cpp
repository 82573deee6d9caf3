// bench/bandwidth: how fast one thread reads memory, the ceiling of a product that streams its matrix
// once (a GRU step's gate product at batch 1, a matrix-vector product). The buffer is read as 1, 4 or 16
// sequential streams, each a contiguous part of it advanced a cache line at a time in turn; best of 7.
//
//   build/bench/bench_bandwidth [--megabytes N]     (default 384: far beyond the last cache)
//
// Last lines: `read_gb_per_s=<x> streams=<s> megabytes=<n>`.
#include "machine.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace {

// One cache line of floats; GCC lowers the sums to whatever vectors the target has.
typedef float Line __attribute__((vector_size(64)));

// Sums every line of `lines` as `streams` interleaved streams, four lines of a stream at a time into four
// sums (so that no chain of additions bounds the reads); the sum keeps the reads from being dropped.
float readAll(const Line* lines, std::size_t count, std::size_t streams) {
    const std::size_t each = count / streams;
    std::vector<const Line*> starts;
    for (std::size_t s = 0; s < streams; ++s)
        starts.push_back(lines + s * each);
    Line a = {}, b = {}, c = {}, d = {};
    for (std::size_t i = 0; i + 3 < each; i += 4)
        for (const Line* start : starts) {
            a += start[i];
            b += start[i + 1];
            c += start[i + 2];
            d += start[i + 3];
        }
    const Line all = a + b + c + d;
    float out = 0;
    for (int i = 0; i < 16; ++i)
        out += all[i];
    return out;
}

} // namespace

int main(int argc, char** argv) {
    std::size_t megabytes = 384;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--megabytes") == 0) {
            megabytes = static_cast<std::size_t>(std::atol(argv[i + 1]));
        } else {
            std::fprintf(stderr, "%s: unknown option %s\n", argv[0], argv[i]);
            return 2;
        }
    }
    const std::size_t count = megabytes * (1u << 20) / sizeof(Line);
    std::unique_ptr<Line[]> lines(new Line[count]);
    for (std::size_t i = 0; i < count; ++i)
        for (int j = 0; j < 16; ++j)
            lines[i][j] = static_cast<float>((i + static_cast<std::size_t>(j)) % 7) * 1e-3f;
    std::printf("machine: %s\n", isamap::bench::cpuName().c_str());
    float sink = 0;
    for (std::size_t streams : {1, 4, 16}) {
        double best = 1e30;
        for (int run = 0; run < 7; ++run) {
            const auto start = std::chrono::steady_clock::now();
            sink += readAll(lines.get(), count, streams);
            best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        }
        std::printf("read_gb_per_s=%.1f streams=%zu megabytes=%zu\n",
                    static_cast<double>(count * sizeof(Line)) / best / 1e9, streams, megabytes);
    }
    return sink == 12345.0f ? 1 : 0;
}
