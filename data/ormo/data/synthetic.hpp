// A seeded synthetic classification problem: learnable, not linearly
// separable, fast to make.
//
// Each class is a mixture of `clusters_per_class` Gaussian clusters whose
// centres are drawn from N(0, I) in a random `informative`-dimensional
// subspace of the input space; a sample is a random cluster centre plus
// isotropic N(0, noise^2) noise in all `inputs` dimensions, and features are
// scaled to about unit variance. Classes are drawn uniformly. With the
// defaults, softmax regression reaches about 55-65 % test accuracy (chance:
// 10 %) and a one-hidden-layer MLP about 85-95 %: the scattered clusters of a
// class defeat a linear model, the overlap of clusters bounds every model.
//
// Determinism: the same settings give bit-identical data sets in one build.
// Changing test_samples leaves the training set alone and vice versa. Across
// compilers or instruction sets values may differ in the last bits (the
// arithmetic is in double, rounded to float once).
#pragma once

#include <cstddef>
#include <cstdint>

#include "ormo/data/dataset.hpp"
#include "ormo/status.hpp"

namespace ormo::data {

struct synthetic_settings {
  /// Features per sample: >= 1.
  int inputs = 32;
  /// >= 2.
  int classes = 10;
  /// >= 1.
  std::size_t train_samples = 20000;
  /// >= 0.
  std::size_t test_samples = 4000;
  /// Standard deviation of the within-cluster noise, relative to the spread
  /// of the cluster centres: finite, >= 0. Larger is harder; 0 makes the
  /// problem separable by an MLP.
  double noise = 0.5;
  /// Dimension of the subspace holding the cluster centres: in [1, inputs].
  int informative = 8;
  /// Clusters per class: >= 1; 1 makes the problem nearly linear.
  int clusters_per_class = 3;
  std::uint64_t seed = 1;
};

/// Validates the settings and draws the training and test sets, named
/// "synthetic-train" and "synthetic-test". Fails with invalid_argument
/// naming the first bad field, e.g. "synthetic_settings.classes: 1 must be
/// at least 2".
result<train_test_split> make_synthetic(const synthetic_settings& settings);

} // namespace ormo::data
