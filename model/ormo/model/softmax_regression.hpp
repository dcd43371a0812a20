// Multinomial logistic regression: logits z = W x + b, mean softmax
// cross-entropy loss. Convex, so it is the reference problem for comparing
// optimizers.
//
// Parameters: W (classes x inputs, column-major: the weight from input c to
// class k is at c * classes + k), then b (classes values, from offset
// classes * inputs). Dimension classes * (inputs + 1). This is the layout of
// a dense_network without hidden layers.
//
// Thread-safety: not thread-safe (scratch buffers); clone() per thread.
#pragma once

#include <cstdint>
#include <memory>

#include "ormo/model/dense_network.hpp"
#include "ormo/model/gradient_function.hpp"

namespace ormo::model {

class softmax_regression final : public gradient_function {
public:
  /// REQUIRES: inputs >= 1, classes >= 2 (make_classifier checks these).
  softmax_regression(int inputs, int classes);

  int inputs() const { return network_.inputs(); }
  int classes() const { return network_.classes(); }

  /// Offset of the first bias (classes * inputs).
  std::size_t bias_offset() const { return network_.layers()[0].bias_offset; }

  std::size_t dimension() const override;

  /// All zeros, whatever the seed: the loss is convex, so no symmetry needs
  /// breaking, and every run starts at loss log(classes).
  Eigen::VectorXf initial_parameters(std::uint64_t seed) const override;

  float loss_and_gradient(Eigen::Ref<const Eigen::VectorXf> parameters,
                          const data::minibatch& batch,
                          Eigen::Ref<Eigen::VectorXf> gradient) override;

  evaluation evaluate(Eigen::Ref<const Eigen::VectorXf> parameters,
                      const Eigen::Ref<const Eigen::MatrixXf>& features,
                      const Eigen::Ref<const Eigen::VectorXi>& labels) override;

  std::unique_ptr<gradient_function> clone() const override;

private:
  dense_network<float> network_;
};

} // namespace ormo::model
