// How fast one thread reads a buffer of a given size over and over: the ceiling of a kernel that streams
// the buffer once a run (a matrix-vector product's matrix, a GRU step's recurrent weights). Beyond the
// last cache this is the memory's speed; within it, the cache's; in between, how much of the buffer the
// cache keeps from one pass to the next, which reading it in alternate directions raises.
#pragma once

#include <cstddef>
#include <memory>

namespace isamap::bench {

struct ReadSpeed {
    double bytesPerSecond = 0;
    std::size_t streams = 0; // the buffer read as this many sequential streams at once
    bool alternating = false; // each pass in the opposite direction to the pass before
};

// A buffer of about `bytes` (rounded down to whole 4 KB groups of 64 cache lines), filled once.
class ReadProbe {
public:
    explicit ReadProbe(std::size_t bytes);
    ~ReadProbe();
    std::size_t bytes() const;
    // The fastest of `passes` timed passes, after one untimed pass forwards.
    ReadSpeed measure(std::size_t streams, bool alternating, int passes = 7);
    // The fastest of 1, 4 and 16 streams, each in one direction and alternating.
    ReadSpeed fastest(int passes = 7);

private:
    struct Lines;
    std::unique_ptr<Lines> lines_;
    float sink_ = 0; // the sums of every pass, so that no read is dropped
};

} // namespace isamap::bench
