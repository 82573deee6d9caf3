// bench/bandwidth: how fast one thread reads memory, the ceiling of a product that streams its matrix
// once (a GRU step's gate product at batch 1, a matrix-vector product). The buffer is read as 1, 4 or 16
// sequential streams, each a contiguous part of it advanced a cache line at a time in turn, every pass
// forwards and then each pass in the opposite direction to the one before; best of 7 (bench/read_speed.h).
//
//   build/bench/bench_bandwidth [--megabytes N]     (default 384: far beyond the last cache)
//
// Last lines: `read_gb_per_s=<x> streams=<s> megabytes=<n> alternating=<0|1>`.
#include "machine.h"
#include "read_speed.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

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
    isamap::bench::ReadProbe probe(megabytes << 20);
    std::printf("machine: %s\n", isamap::bench::cpuName().c_str());
    for (bool alternating : {false, true})
        for (std::size_t streams : {1, 4, 16}) {
            const auto speed = probe.measure(streams, alternating);
            std::printf("read_gb_per_s=%.1f streams=%zu megabytes=%zu alternating=%d\n", speed.bytesPerSecond / 1e9, streams,
                        megabytes, alternating ? 1 : 0);
        }
    return 0;
}
