// Small statistics used to compare measured and modeled figures.
#pragma once

#include <optional>
#include <vector>

namespace isamap {

// Spearman's rank correlation of two equally long samples (ties get their average rank); empty for
// fewer than two points or when one sample is constant.
std::optional<double> spearman(const std::vector<double>& a, const std::vector<double>& b);

// The median; empty for an empty sample.
std::optional<double> median(std::vector<double> values);

} // namespace isamap
