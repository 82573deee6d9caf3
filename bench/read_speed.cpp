// Built with -march=native (bench/CMakeLists.txt), so that the reads are the widest vectors this CPU has,
// as our generated kernels' are.
#include "read_speed.h"

#include <algorithm>
#include <chrono>
#include <vector>

namespace isamap::bench {

namespace {

// One cache line of floats; GCC lowers the sums to whatever vectors the target has.
typedef float Line __attribute__((vector_size(64)));

// Lines of a stream read in order before the next piece: backwards, the pieces go from the last to the
// first and each is read forwards, as a sweep over blocks of outputs taken in the opposite order reads
// its weights (the prefetchers follow a forward stream, not one read line by line from its end).
constexpr std::size_t kPieceLines = 1024; // 64 KB

// Sums every line as `streams` interleaved streams, four lines of a stream at a time into four sums (so
// that no chain of additions bounds the reads), its pieces from the first or from the last.
float readPass(const Line* lines, std::size_t count, std::size_t streams, bool backwards) {
    const std::size_t each = count / streams / 4 * 4;
    std::vector<const Line*> starts;
    for (std::size_t s = 0; s < streams; ++s)
        starts.push_back(lines + s * each);
    Line a = {}, b = {}, c = {}, d = {};
    const std::size_t pieces = (each + kPieceLines - 1) / kPieceLines;
    for (std::size_t p = 0; p < pieces; ++p) {
        const std::size_t first = (backwards ? pieces - 1 - p : p) * kPieceLines;
        for (std::size_t i = first; i < std::min(first + kPieceLines, each); i += 4)
            for (const Line* start : starts) {
                a += start[i];
                b += start[i + 1];
                c += start[i + 2];
                d += start[i + 3];
            }
    }
    const Line all = a + b + c + d;
    float out = 0;
    for (int i = 0; i < 16; ++i)
        out += all[i];
    return out;
}

} // namespace

struct ReadProbe::Lines {
    std::vector<Line> lines;
};

ReadProbe::ReadProbe(std::size_t bytes) : lines_(std::make_unique<Lines>()) {
    // Whole groups of 64 lines, so that 1, 4 and 16 streams of whole groups of four lines cover it all.
    const std::size_t count = std::max<std::size_t>(64, bytes / sizeof(Line) / 64 * 64);
    lines_->lines.resize(count);
    for (std::size_t i = 0; i < count; ++i)
        for (int j = 0; j < 16; ++j)
            lines_->lines[i][j] = static_cast<float>((i + static_cast<std::size_t>(j)) % 7) * 1e-3f;
}

ReadProbe::~ReadProbe() = default;

std::size_t ReadProbe::bytes() const { return lines_->lines.size() * sizeof(Line); }

ReadSpeed ReadProbe::measure(std::size_t streams, bool alternating, int passes) {
    const auto& lines = lines_->lines;
    sink_ += readPass(lines.data(), lines.size(), streams, false);
    double best = 1e30;
    for (int pass = 0; pass < passes; ++pass) {
        const bool backwards = alternating && pass % 2 == 0; // the untimed pass went forwards
        const auto start = std::chrono::steady_clock::now();
        sink_ += readPass(lines.data(), lines.size(), streams, backwards);
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return {static_cast<double>(bytes()) / best, streams, alternating};
}

ReadSpeed ReadProbe::fastest(int passes) {
    ReadSpeed best;
    for (std::size_t streams : {1, 4, 16})
        for (bool alternating : {false, true})
            if (const auto speed = measure(streams, alternating, passes); speed.bytesPerSecond > best.bytesPerSecond)
                best = speed;
    return best;
}

} // namespace isamap::bench
