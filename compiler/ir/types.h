// Element types and physical quantities (bytes, Hz, bytes/s, seconds) with their textual units.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace isamap::ir {

enum class ScalarType { f32, f16, bf16, i8, u8, i32 };

std::string_view typeName(ScalarType t);
std::optional<ScalarType> typeFromName(std::string_view name);
int byteSize(ScalarType t);
bool isFloat(ScalarType t);

// Rounds a value to what the type can hold: float precision for f32/f16/bf16 (round to nearest
// even), wrap-around for the integer types, as the hardware would store it.
double roundToType(double v, ScalarType t);

// The kind of quantity a field holds decides which units it accepts.
enum class Quantity { Bytes, Frequency, Bandwidth, Time };
std::string_view quantityName(Quantity q); // "a size in bytes", ...

// Multiplier of a unit for a quantity ("KiB" -> 1024 for Bytes); empty if the unit does not apply.
std::optional<double> unitScale(Quantity q, std::string_view unit);
// The units a quantity accepts, for hints: "B, KiB, MiB, GiB, KB, MB, GB".
std::string unitList(Quantity q);
// Shortest text that parses back to exactly `value` (e.g. "32 MiB", "1.1 GHz", "8 TB/s").
std::string formatQuantity(Quantity q, double value);
// Shortest decimal text that parses back to exactly `v`.
std::string formatNumber(double v);

} // namespace isamap::ir
