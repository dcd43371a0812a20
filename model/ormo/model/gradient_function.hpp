// What the runtime trains: anything that maps parameters and a minibatch to
// a loss and its gradient. The built-in classifiers implement it; a host
// program can plug in its own.
//
// Thread-safety: an instance may keep scratch buffers; give each worker its
// own (clone()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include <Eigen/Core>

#include "ormo/data/minibatch.hpp"

namespace ormo::model {

/// Mean loss and accuracy of parameters on some samples.
struct evaluation {
  double loss = 0;
  double accuracy = 0; ///< Fraction in [0, 1].
};

class gradient_function {
public:
  virtual ~gradient_function() = default;

  /// Number of parameters (the length of the flat parameter vector).
  virtual std::size_t dimension() const = 0;

  /// Deterministic initial parameters for a seed.
  virtual Eigen::VectorXf initial_parameters(std::uint64_t seed) const = 0;

  /// Mean loss over the batch; writes d(loss)/d(parameters) to `gradient`.
  /// REQUIRES: parameters.size() == gradient.size() == dimension(),
  /// batch.size() >= 1.
  virtual float loss_and_gradient(Eigen::Ref<const Eigen::VectorXf> parameters,
                                  const data::minibatch& batch,
                                  Eigen::Ref<Eigen::VectorXf> gradient)
    = 0;

  /// Loss and accuracy over `features` (inputs x n) and `labels`, processed
  /// in chunks so that memory stays bounded. REQUIRES: n >= 1.
  virtual evaluation evaluate(Eigen::Ref<const Eigen::VectorXf> parameters,
                              const Eigen::Ref<const Eigen::MatrixXf>& features,
                              const Eigen::Ref<const Eigen::VectorXi>& labels)
    = 0;

  /// An independent instance with the same architecture.
  virtual std::unique_ptr<gradient_function> clone() const = 0;
};

} // namespace ormo::model
