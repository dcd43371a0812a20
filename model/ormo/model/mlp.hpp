// A multilayer perceptron classifier: ReLU hidden layers of any number and
// width, a softmax cross-entropy output.
//
// Parameters: the flat layout of dense_network (layer after layer; each
// layer's weights out x in column-major, then its biases). For example
// inputs 784, hidden {128}, classes 10:
//   [0, 100352)       layer 0 weights, 128 x 784
//   [100352, 100480)  layer 0 biases
//   [100480, 101760)  layer 1 weights, 10 x 128
//   [101760, 101770)  layer 1 biases
//
// Thread-safety: not thread-safe (scratch buffers); clone() per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ormo/model/dense_network.hpp"
#include "ormo/model/gradient_function.hpp"

namespace ormo::model {

class mlp final : public gradient_function {
public:
  /// REQUIRES: inputs >= 1, every hidden size >= 1, classes >= 2
  /// (make_classifier checks these). `hidden` may be empty.
  mlp(int inputs, std::vector<int> hidden, int classes);

  std::size_t dimension() const override;

  /// Hidden layers: He normal weights, N(0, 2 / in) (keeps the ReLU
  /// activations' scale from layer to layer). Output layer: Glorot normal,
  /// N(0, 2 / (in + out)). Biases 0. Draws come from
  /// random_source(seed), layer by layer in layout order.
  Eigen::VectorXf initial_parameters(std::uint64_t seed) const override;

  float loss_and_gradient(Eigen::Ref<const Eigen::VectorXf> parameters,
                          const data::minibatch& batch,
                          Eigen::Ref<Eigen::VectorXf> gradient) override;

  evaluation evaluate(Eigen::Ref<const Eigen::VectorXf> parameters,
                      const Eigen::Ref<const Eigen::MatrixXf>& features,
                      const Eigen::Ref<const Eigen::VectorXi>& labels) override;

  std::unique_ptr<gradient_function> clone() const override;

  /// Architecture and parameter layout.
  const dense_network<float>& network() const { return network_; }

private:
  dense_network<float> network_;
};

} // namespace ormo::model
