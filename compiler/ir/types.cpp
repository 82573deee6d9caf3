#include "ir/types.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <utility>

namespace isamap::ir {

namespace {
struct TypeInfo {
    ScalarType type;
    std::string_view name;
    int bytes;
};
constexpr std::array<TypeInfo, 6> kTypes{{
    {ScalarType::f32, "f32", 4},
    {ScalarType::f16, "f16", 2},
    {ScalarType::bf16, "bf16", 2},
    {ScalarType::i8, "i8", 1},
    {ScalarType::u8, "u8", 1},
    {ScalarType::i32, "i32", 4},
}};

struct UnitInfo {
    Quantity quantity;
    std::string_view name;
    double scale;
};
// Ordered largest first within a quantity: formatQuantity prefers the first that round-trips.
constexpr std::array<UnitInfo, 24> kUnits{{
    {Quantity::Bytes, "TiB", 1099511627776.0}, {Quantity::Bytes, "GiB", 1073741824.0},
    {Quantity::Bytes, "MiB", 1048576.0},       {Quantity::Bytes, "KiB", 1024.0},
    {Quantity::Bytes, "GB", 1e9},              {Quantity::Bytes, "MB", 1e6},
    {Quantity::Bytes, "KB", 1e3},              {Quantity::Bytes, "B", 1.0},
    {Quantity::Frequency, "GHz", 1e9},         {Quantity::Frequency, "MHz", 1e6},
    {Quantity::Frequency, "kHz", 1e3},         {Quantity::Frequency, "Hz", 1.0},
    {Quantity::Bandwidth, "TB/s", 1e12},       {Quantity::Bandwidth, "GB/s", 1e9},
    {Quantity::Bandwidth, "MB/s", 1e6},        {Quantity::Bandwidth, "KB/s", 1e3},
    {Quantity::Bandwidth, "GiB/s", 1073741824.0}, {Quantity::Bandwidth, "B/s", 1.0},
    {Quantity::Time, "s", 1.0},                {Quantity::Time, "ms", 1e-3},
    {Quantity::Time, "us", 1e-6},              {Quantity::Time, "ns", 1e-9},
    {Quantity::Time, "ps", 1e-12},             {Quantity::Bandwidth, "TiB/s", 1099511627776.0},
}};

std::optional<double> parseNumber(std::string_view s) {
    double v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size())
        return std::nullopt;
    return v;
}
} // namespace

std::string_view typeName(ScalarType t) {
    for (const auto& info : kTypes)
        if (info.type == t)
            return info.name;
    return "?";
}

std::optional<ScalarType> typeFromName(std::string_view name) {
    for (const auto& info : kTypes)
        if (info.name == name)
            return info.type;
    return std::nullopt;
}

int byteSize(ScalarType t) {
    for (const auto& info : kTypes)
        if (info.type == t)
            return info.bytes;
    return 0;
}

bool isFloat(ScalarType t) { return t == ScalarType::f32 || t == ScalarType::f16 || t == ScalarType::bf16; }

namespace {
// Rounds to a float format with `mantissaBits` explicit bits by rounding the f32 bit pattern.
double roundToBits(double v, int droppedBits) {
    float f = static_cast<float>(v);
    if (droppedBits == 0 || std::isnan(f) || std::isinf(f))
        return f;
    std::uint32_t bits;
    std::memcpy(&bits, &f, 4);
    std::uint32_t half = 1u << (droppedBits - 1);
    std::uint32_t lsb = (bits >> droppedBits) & 1u;
    bits += half - 1 + lsb; // round to nearest, ties to even
    bits &= ~((1u << droppedBits) - 1);
    std::memcpy(&f, &bits, 4);
    return f;
}

double roundToHalf(double v) {
    // f16: 10 mantissa bits, exponent range [-14, 15]; values beyond the range saturate to infinity.
    if (std::isnan(v) || std::isinf(v) || v == 0)
        return v;
    double a = std::fabs(v);
    if (a >= 65520.0)
        return std::copysign(INFINITY, v);
    int exp = std::ilogb(a);
    if (exp < -14)
        exp = -14; // subnormal spacing
    double quantum = std::ldexp(1.0, exp - 10);
    return std::copysign(std::nearbyint(a / quantum) * quantum, v);
}

template <typename Int>
double wrap(double v) {
    double t = std::trunc(v);
    long long n = static_cast<long long>(std::fmod(t, 4294967296.0));
    return static_cast<double>(static_cast<Int>(n));
}
} // namespace

double roundToType(double v, ScalarType t) {
    switch (t) {
    case ScalarType::f32: return static_cast<float>(v);
    case ScalarType::bf16: return roundToBits(v, 16);
    case ScalarType::f16: return roundToHalf(v);
    case ScalarType::i8: return wrap<std::int8_t>(v);
    case ScalarType::u8: return wrap<std::uint8_t>(v);
    case ScalarType::i32: return wrap<std::int32_t>(v);
    }
    return v;
}

std::string_view quantityName(Quantity q) {
    switch (q) {
    case Quantity::Bytes: return "a size in bytes";
    case Quantity::Frequency: return "a frequency";
    case Quantity::Bandwidth: return "a bandwidth";
    case Quantity::Time: return "a time";
    }
    return "a quantity";
}

std::optional<double> unitScale(Quantity q, std::string_view unit) {
    for (const auto& u : kUnits)
        if (u.quantity == q && u.name == unit)
            return u.scale;
    return std::nullopt;
}

std::string unitList(Quantity q) {
    std::string out;
    for (const auto& u : kUnits) {
        if (u.quantity != q)
            continue;
        if (!out.empty())
            out += ", ";
        out += u.name;
    }
    return out;
}

std::string formatNumber(double v) {
    char buf[64];
    auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, ptr) : std::string("0");
}

namespace {
// The fewest significant digits of value/scale that read back, times scale, as exactly `value`
// ("15" ns rather than "15.000000000000002"); empty if none does.
std::string shortestText(double value, double scale) {
    for (int digits = 1; digits <= 17; ++digits) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.*g", digits, value / scale);
        auto back = parseNumber(buf);
        if (back && *back * scale == value)
            return formatNumber(*back);
    }
    return {};
}
} // namespace

std::string formatQuantity(Quantity q, double value) {
    // Among the units whose text reads back exactly, prefer the shortest text ("0.91 ns" over
    // "910.0000000000001 ps"), then numbers of at least 1 ("32 MiB" over "0.03 GB").
    std::string best;
    bool bestAtLeastOne = false;
    for (const auto& u : kUnits) {
        if (u.quantity != q)
            continue;
        std::string text = shortestText(value, u.scale);
        if (text.empty())
            continue;
        const bool atLeastOne = std::fabs(value / u.scale) >= 1 || value == 0;
        text += " " + std::string(u.name);
        if (best.empty() || text.size() < best.size() ||
            (text.size() == best.size() && atLeastOne && !bestAtLeastOne)) {
            best = text;
            bestAtLeastOne = atLeastOne;
        }
    }
    // The base unit (scale 1) always reads back, so `best` is never empty for a known quantity.
    return best;
}

} // namespace isamap::ir
