// In-memory labelled classification data.
#pragma once

#include <cstddef>
#include <string>

#include <Eigen/Core>

namespace ormo::data {

/// Samples are columns: features is inputs x samples (column-major, so one
/// sample is contiguous), labels[j] in [0, classes) belongs to column j.
struct dataset {
  std::string name;
  Eigen::MatrixXf features;
  Eigen::VectorXi labels;
  int classes = 0;

  std::size_t size() const { return static_cast<std::size_t>(labels.size()); }
  int inputs() const { return static_cast<int>(features.rows()); }
};

/// A training set and the held-out set accuracy is measured on.
struct train_test_split {
  dataset train;
  dataset test;
};

} // namespace ormo::data
