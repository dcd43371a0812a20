// A minibatch: a few samples gathered from a data set.
#pragma once

#include <Eigen/Core>

namespace ormo::data {

/// features is inputs x batch_size, labels has batch_size entries; column j
/// of features is the sample labelled labels[j]. Reused across draws: the
/// sampler overwrites it without reallocating.
struct minibatch {
  Eigen::MatrixXf features;
  Eigen::VectorXi labels;

  Eigen::Index size() const { return labels.size(); }
};

} // namespace ormo::data
