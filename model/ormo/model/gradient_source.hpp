// What a worker runs: draw the next minibatch of its own data and compute a
// gradient there. Built-in: classifier_source (a gradient_function over a
// data shard). A host program implements it for any model and data of its
// own.
//
// Thread-safety: one instance per worker; it may keep scratch buffers.
#pragma once

#include <cstddef>
#include <cstdint>

#include <Eigen/Core>

namespace ormo::model {

class gradient_source {
public:
  virtual ~gradient_source() = default;

  /// Number of parameters.
  virtual std::size_t dimension() const = 0;

  /// Samples each compute() call uses (for epoch accounting).
  virtual std::size_t batch_size() const = 0;

  /// Computes the gradient of the loss on the next minibatch at
  /// `parameters` into `gradient` and returns that minibatch's mean loss. May
  /// throw: the worker then crashes and its supervisor decides what to do.
  /// REQUIRES: parameters.size() == gradient.size() == dimension().
  virtual float compute(Eigen::Ref<const Eigen::VectorXf> parameters,
                        Eigen::Ref<Eigen::VectorXf> gradient)
    = 0;

  /// Moves on as if compute() had been called `batches` times (the same
  /// minibatches would follow), so that a resumed run draws what the
  /// uninterrupted one drew. False when the source cannot (the default):
  /// a resumed run then cannot be bit-exact.
  virtual bool skip(std::uint64_t batches) { return batches == 0; }
};

} // namespace ormo::model
