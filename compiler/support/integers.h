// Integer division rounded down or up, for any sign of the numerator (C++'s `/` truncates towards
// zero, which is neither for a negative one). The divisor must be positive.
#pragma once

#include <cstdint>

namespace isamap {

constexpr std::int64_t floorDiv(std::int64_t n, std::int64_t d) { return n >= 0 ? n / d : -((-n + d - 1) / d); }

constexpr std::int64_t ceilDiv(std::int64_t n, std::int64_t d) { return -floorDiv(-n, d); }

} // namespace isamap
