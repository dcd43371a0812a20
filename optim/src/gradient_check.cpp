#include "ormo/optim/gradient_check.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace ormo::optim {

namespace {

constexpr std::uint32_t exponent_mask = 0x7f800000u;

// Blocks small enough to stay in L1 and large enough to vectorise; the
// branch-free OR inside a block lets the compiler use SIMD compares.
constexpr std::size_t block_size = 1024;

bool block_has_non_finite(const float* values, std::size_t count) {
  std::uint32_t found = 0;
  for (std::size_t j = 0; j < count; ++j) {
    std::uint32_t bits;
    std::memcpy(&bits, values + j, sizeof bits);
    found
      |= static_cast<std::uint32_t>((bits & exponent_mask) == exponent_mask);
  }
  return found != 0;
}

} // namespace

std::size_t find_non_finite(const float* values, std::size_t count) {
  for (std::size_t first = 0; first < count; first += block_size) {
    auto length = std::min(block_size, count - first);
    if (block_has_non_finite(values + first, length)) {
      for (std::size_t j = first; j < first + length; ++j) {
        std::uint32_t bits;
        std::memcpy(&bits, values + j, sizeof bits);
        if ((bits & exponent_mask) == exponent_mask)
          return j;
      }
    }
  }
  return count;
}

} // namespace ormo::optim

namespace ormo::optim {

checked_gradient
checked_gradient::check(std::shared_ptr<const Eigen::VectorXf> values) {
  checked_gradient result;
  result.values_ = std::move(values);
  result.first_non_finite_
    = result.values_ ? find_non_finite(result.values_->data(), result.size())
                     : 0;
  return result;
}

} // namespace ormo::optim
