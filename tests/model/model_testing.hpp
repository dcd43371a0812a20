// Helpers shared by the model tests: seeded data, a plain reference
// implementation of the classifiers' loss, and a finite-difference gradient
// checker.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "ormo/data/minibatch.hpp"
#include "ormo/random.hpp"

namespace ormo::model::testing {

/// A batch of `samples` columns with standard normal features and uniform
/// labels in [0, classes).
inline data::minibatch random_batch(std::uint64_t seed, int inputs, int samples,
                                    int classes) {
  random_source random(seed);
  data::minibatch batch;
  batch.features.resize(inputs, samples);
  batch.labels.resize(samples);
  for (int j = 0; j < samples; ++j) {
    for (int i = 0; i < inputs; ++i)
      batch.features(i, j) = static_cast<float>(random.normal());
    batch.labels[j] = static_cast<int>(random.below(classes));
  }
  return batch;
}

/// Standard normal values scaled by `deviation`.
inline Eigen::VectorXd random_vector(std::uint64_t seed, Eigen::Index size,
                                     double deviation = 1.0) {
  random_source random(seed);
  Eigen::VectorXd result(size);
  for (Eigen::Index i = 0; i < size; ++i)
    result[i] = deviation * random.normal();
  return result;
}

/// Mean softmax cross-entropy of a ReLU network, written as directly as
/// possible from the parameter layout documented in dense_network.hpp (one
/// sample, one unit, one weight at a time), in double. The reference the
/// vectorised code is compared with.
inline double reference_loss(const Eigen::VectorXd& parameters,
                             const Eigen::MatrixXd& features,
                             const Eigen::VectorXi& labels, int inputs,
                             const std::vector<int>& hidden, int classes) {
  std::vector<int> widths{inputs};
  widths.insert(widths.end(), hidden.begin(), hidden.end());
  widths.push_back(classes);
  double total = 0;
  for (Eigen::Index j = 0; j < features.cols(); ++j) {
    std::vector<double> values(features.col(j).data(),
                               features.col(j).data() + inputs);
    std::size_t offset = 0;
    for (std::size_t l = 0; l + 1 < widths.size(); ++l) {
      const int in = widths[l];
      const int out = widths[l + 1];
      const bool output_layer = l + 2 == widths.size();
      std::vector<double> next(out);
      for (int r = 0; r < out; ++r) {
        double sum = parameters[offset + out * in + r]; // bias
        for (int c = 0; c < in; ++c)
          sum += parameters[offset + c * out + r] * values[c];
        next[r] = output_layer ? sum : std::max(sum, 0.0);
      }
      offset += out * (in + 1);
      values = next;
    }
    const double largest = *std::max_element(values.begin(), values.end());
    double sum = 0;
    for (double z : values)
      sum += std::exp(z - largest);
    total += largest + std::log(sum) - values[labels[j]];
  }
  return total / static_cast<double>(features.cols());
}

/// Outcome of comparing an analytic gradient with central differences.
struct gradient_check {
  /// Largest error over all coordinates, each measured as
  /// |analytic - numeric| / max(|analytic|, |numeric|, floor) where floor
  /// is 1e-3 times the largest |numeric|: relative for coordinates that
  /// matter, absolute (on the gradient's own scale) for tiny ones.
  double worst_error = 0;
  Eigen::Index worst_coordinate = -1;
  /// Coordinates whose numeric derivative is above the floor; a check
  /// where most coordinates are zero would prove little.
  Eigen::Index significant = 0;
};

/// Compares `analytic` with central differences (f(x + h) - f(x - h)) / 2h
/// of `loss` in every coordinate. `loss` maps a parameter vector to a
/// double.
template <class Loss>
gradient_check check_gradient(Loss&& loss, const Eigen::VectorXd& x,
                              const Eigen::VectorXd& analytic, double step) {
  Eigen::VectorXd numeric(x.size());
  Eigen::VectorXd probe = x;
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    probe[i] = x[i] + step;
    const double above = loss(probe);
    probe[i] = x[i] - step;
    const double below = loss(probe);
    probe[i] = x[i];
    numeric[i] = (above - below) / (2 * step);
  }
  const double floor = 1e-3 * numeric.cwiseAbs().maxCoeff();
  gradient_check result;
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    const double scale
      = std::max({std::abs(analytic[i]), std::abs(numeric[i]), floor});
    const double error = std::abs(analytic[i] - numeric[i]) / scale;
    if (std::abs(numeric[i]) > floor)
      ++result.significant;
    if (error > result.worst_error || result.worst_coordinate < 0) {
      result.worst_error = error;
      result.worst_coordinate = i;
    }
  }
  return result;
}

/// Double-precision checks pass below this error. Central differences with
/// step 1e-5 on losses of order 1 err by about h^2 |f'''| / 6 ~ 1e-11
/// (truncation) plus eps |f| / h ~ 1e-11 (rounding), i.e. 1e-9 to 1e-8
/// relative to gradient entries between 1e-2 and the floor (observed: at
/// most 1.2e-8). 1e-6 leaves a wide margin yet catches a coordinate that is
/// off by 0.01 %.
constexpr double double_step = 1e-5;
constexpr double double_tolerance = 1e-6;

} // namespace ormo::model::testing
