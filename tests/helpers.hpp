// Helpers shared by the doctest suites.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <Eigen/Core>
#include <doctest/doctest.h>

#include "ormo/random.hpp"

namespace ormo::test {

/// A fresh directory under the system's temporary directory, removed with
/// everything in it at scope exit.
class scratch_directory {
public:
  scratch_directory() {
    auto pattern
      = (std::filesystem::temp_directory_path() / "ormo-test-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  scratch_directory(const scratch_directory&) = delete;
  scratch_directory& operator=(const scratch_directory&) = delete;
  ~scratch_directory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }
  /// The path of `name` in it.
  std::string file(const std::string& name) const {
    return (path_ / name).string();
  }

private:
  std::filesystem::path path_;
};

/// A vector of standard normal values from `random`.
inline Eigen::VectorXf random_vector(random_source& random, Eigen::Index size) {
  Eigen::VectorXf result(size);
  for (Eigen::Index j = 0; j < size; ++j)
    result[j] = static_cast<float>(random.normal());
  return result;
}

/// Largest |a - b| relative to max(1, |b|), elementwise.
inline double max_relative_error(const Eigen::VectorXd& a,
                                 const Eigen::VectorXd& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (Eigen::Index j = 0; j < a.size(); ++j)
    worst
      = std::max(worst, std::abs(a[j] - b[j]) / std::max(1.0, std::abs(b[j])));
  return worst;
}

inline double max_relative_error(const Eigen::VectorXf& a,
                                 const Eigen::VectorXf& b) {
  return max_relative_error(Eigen::VectorXd{a.cast<double>()},
                            Eigen::VectorXd{b.cast<double>()});
}

inline double max_relative_error(const Eigen::VectorXf& a,
                                 const Eigen::VectorXd& b) {
  return max_relative_error(Eigen::VectorXd{a.cast<double>()}, b);
}

} // namespace ormo::test
