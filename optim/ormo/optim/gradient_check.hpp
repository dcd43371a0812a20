// Validation of gradient values before any state changes.
//
// A rule must never apply a NaN or an infinity. Checking costs one read of
// the gradient, so it is done once, where the gradient enters the process
// (its producer, or the deserializer of a remote message), and the proof
// travels with it: a checked_gradient can only be made by checking.
#pragma once

#include <cstddef>
#include <memory>

#include <Eigen/Core>

namespace ormo::optim {

/// Index of the first NaN or infinity in values[0, count), or count if all
/// values are finite. One vectorised read-only pass.
std::size_t find_non_finite(const float* values, std::size_t count);

/// An immutable gradient together with the result of checking its values.
/// Cheap to copy (shares the values).
class checked_gradient {
public:
  /// Empty: no values (a rule rejects it as a dimension mismatch).
  checked_gradient() = default;

  /// Checks every value of `values` (one read-only pass). Null is empty.
  static checked_gradient check(std::shared_ptr<const Eigen::VectorXf> values);

  std::size_t size() const {
    return values_ ? static_cast<std::size_t>(values_->size()) : 0;
  }

  /// All values are finite.
  bool finite() const { return first_non_finite_ == size(); }

  /// Index of the first non-finite value; size() when finite().
  std::size_t first_non_finite() const { return first_non_finite_; }

  /// REQUIRES: size() > 0.
  const Eigen::VectorXf& values() const { return *values_; }

  const std::shared_ptr<const Eigen::VectorXf>& shared_values() const {
    return values_;
  }

private:
  std::shared_ptr<const Eigen::VectorXf> values_;
  std::size_t first_non_finite_ = 0;
};

} // namespace ormo::optim
