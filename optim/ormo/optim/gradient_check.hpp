// Validation of gradient values before any state changes.
#pragma once

#include <cstddef>

namespace ormo::optim {

/// Index of the first NaN or infinity in values[0, count), or count if all
/// values are finite. One vectorised read-only pass.
std::size_t find_non_finite(const float* values, std::size_t count);

} // namespace ormo::optim
