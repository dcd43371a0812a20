// A fully connected network: ReLU hidden layers, then a softmax
// cross-entropy output. The math behind softmax_regression (no hidden
// layers) and mlp, written once for any scalar type: the classifiers run it
// in float; the double instantiation lets tests check gradients against
// finite differences at a precision where the check is sharp.
//
// Parameter layout: one flat vector, layer after layer from the input side.
// Layer l maps in_l values to out_l values (in_0 = inputs, out_last =
// classes) and occupies
//   weights: out_l x in_l, column-major: the weight from input c to unit r
//            is at weight_offset + c * out_l + r;
//   biases:  out_l values at bias_offset = weight_offset + out_l * in_l.
// Layer l + 1 starts right after the biases of layer l. The dimension is
// sum over layers of out_l * (in_l + 1).
//
// Loss: mean over the samples of -log softmax(z)[label], where z are the
// output layer's values (logits). Accuracy: fraction of samples whose label
// is the first index of the largest logit (all-equal logits predict 0).
//
// Thread-safety: an instance owns scratch buffers (activations, deltas) and
// is not thread-safe; give each thread its own instance. Copies get their
// own buffers.
#pragma once

#include <cstddef>
#include <vector>

#include <Eigen/Core>

#include "ormo/model/gradient_function.hpp"

namespace ormo::model {

/// Where one layer's parameters sit in the flat parameter vector.
struct layer_layout {
  int inputs = 0;  ///< in_l: values the layer reads.
  int outputs = 0; ///< out_l: units of the layer.
  std::size_t weight_offset = 0;
  std::size_t bias_offset = 0;
};

/// Defined for Scalar = float and double.
template <class Scalar>
class dense_network {
public:
  using vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  using matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

  /// evaluate() forwards at most this many samples at a time, so its
  /// scratch holds at most (widest layer) x evaluation_chunk values.
  static constexpr Eigen::Index evaluation_chunk = 1000;

  /// REQUIRES: inputs >= 1, every hidden size >= 1, classes >= 2 (see
  /// make_classifier, which checks these and reports the bad value).
  dense_network(int inputs, std::vector<int> hidden, int classes);

  int inputs() const { return inputs_; }
  const std::vector<int>& hidden() const { return hidden_; }
  int classes() const { return classes_; }

  /// One entry per hidden layer, then the output layer.
  const std::vector<layer_layout>& layers() const { return layers_; }

  std::size_t dimension() const { return dimension_; }

  /// Mean loss over the samples (columns of `features`); writes
  /// d(loss)/d(parameters) to `gradient`. Own scratch is not reallocated
  /// once it has grown to the largest number of samples seen; Eigen's matrix
  /// product still takes its packing buffer from the heap when it exceeds
  /// EIGEN_STACK_ALLOCATION_LIMIT (one malloc per call for a 784 x 128
  /// layer at batch 32).
  /// REQUIRES: parameters.size() == gradient.size() == dimension(),
  /// features.rows() == inputs(), features.cols() == labels.size() >= 1,
  /// every label in [0, classes()).
  Scalar loss_and_gradient(Eigen::Ref<const vector> parameters,
                           const Eigen::Ref<const matrix>& features,
                           const Eigen::Ref<const Eigen::VectorXi>& labels,
                           Eigen::Ref<vector> gradient);

  /// Mean loss and accuracy, evaluation_chunk samples at a time. The loss
  /// is summed in double.
  /// REQUIRES: as for loss_and_gradient (without the gradient).
  evaluation evaluate(Eigen::Ref<const vector> parameters,
                      const Eigen::Ref<const matrix>& features,
                      const Eigen::Ref<const Eigen::VectorXi>& labels);

private:
  using row = Eigen::Array<Scalar, 1, Eigen::Dynamic>;

  /// Grows the forward buffers to at least `samples` columns.
  void reserve_forward(Eigen::Index samples);

  /// Grows the backward buffers to at least `samples` columns.
  void reserve_backward(Eigen::Index samples);

  /// Fills activations_[l].leftCols(n) for every layer; the last holds the
  /// logits. REQUIRES: reserve_forward(n) done.
  void forward(const Scalar* parameters,
               const Eigen::Ref<const matrix>& features);

  /// Shifts each logit column by its maximum and exponentiates it in place;
  /// fills column_max_, column_sum_ (sum of the exponentials) and
  /// label_logit_ (each sample's shifted logit of its label).
  void exponentiate_logits(Eigen::Index samples,
                           const Eigen::Ref<const Eigen::VectorXi>& labels);

  int inputs_;
  std::vector<int> hidden_;
  int classes_;
  std::vector<layer_layout> layers_;
  std::size_t dimension_ = 0;

  // Scratch. activations_[l] is out_l x capacity: ReLU outputs of hidden
  // layer l, then the logits (turned into the output delta by the backward
  // pass). deltas_[l] is d(loss)/d(pre-activation) of hidden layer l.
  std::vector<matrix> activations_;
  std::vector<matrix> deltas_;
  Eigen::Index forward_capacity_ = 0;
  Eigen::Index backward_capacity_ = 0;
  row column_max_;
  row column_sum_;
  row label_logit_;
};

extern template class dense_network<float>;
extern template class dense_network<double>;

} // namespace ormo::model
