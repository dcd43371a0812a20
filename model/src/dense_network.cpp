#include "ormo/model/dense_network.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <utility>

namespace ormo::model {

namespace {

template <class Scalar>
using matrix_view
  = Eigen::Map<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>>;

template <class Scalar>
using const_matrix_view
  = Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>>;

template <class Scalar>
using vector_view = Eigen::Map<Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>;

template <class Scalar>
using const_vector_view
  = Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>;

[[maybe_unused]] bool
labels_in_range(const Eigen::Ref<const Eigen::VectorXi>& labels, int classes) {
  return labels.size() == 0
         || (labels.minCoeff() >= 0 && labels.maxCoeff() < classes);
}

} // namespace

template <class Scalar>
dense_network<Scalar>::dense_network(int inputs, std::vector<int> hidden,
                                     int classes)
  : inputs_(inputs), hidden_(std::move(hidden)), classes_(classes) {
  assert(inputs_ >= 1 && classes_ >= 2);
  int layer_inputs = inputs_;
  auto add_layer = [&](int outputs) {
    assert(outputs >= 1);
    layer_layout layer;
    layer.inputs = layer_inputs;
    layer.outputs = outputs;
    layer.weight_offset = dimension_;
    layer.bias_offset = dimension_
                        + static_cast<std::size_t>(outputs)
                            * static_cast<std::size_t>(layer_inputs);
    dimension_ = layer.bias_offset + static_cast<std::size_t>(outputs);
    layers_.push_back(layer);
    layer_inputs = outputs;
  };
  for (int width : hidden_)
    add_layer(width);
  add_layer(classes_);
  activations_.resize(layers_.size());
  deltas_.resize(hidden_.size());
}

template <class Scalar>
void dense_network<Scalar>::reserve_forward(Eigen::Index samples) {
  if (samples <= forward_capacity_)
    return;
  for (std::size_t l = 0; l < layers_.size(); ++l)
    activations_[l].resize(layers_[l].outputs, samples);
  column_max_.resize(samples);
  column_sum_.resize(samples);
  label_logit_.resize(samples);
  forward_capacity_ = samples;
}

template <class Scalar>
void dense_network<Scalar>::reserve_backward(Eigen::Index samples) {
  if (samples <= backward_capacity_)
    return;
  for (std::size_t l = 0; l < deltas_.size(); ++l)
    deltas_[l].resize(layers_[l].outputs, samples);
  backward_capacity_ = samples;
}

template <class Scalar>
void dense_network<Scalar>::forward(const Scalar* parameters,
                                    const Eigen::Ref<const matrix>& features) {
  const Eigen::Index samples = features.cols();
  const std::size_t output_layer = layers_.size() - 1;
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const layer_layout& layer = layers_[l];
    const_matrix_view<Scalar> weights(parameters + layer.weight_offset,
                                      layer.outputs, layer.inputs);
    const_vector_view<Scalar> biases(parameters + layer.bias_offset,
                                     layer.outputs);
    auto values = activations_[l].leftCols(samples);
    if (l == 0)
      values.noalias() = weights * features;
    else
      values.noalias() = weights * activations_[l - 1].leftCols(samples);
    // One pass adds the bias and applies the ReLU. Hidden layers keep only
    // the ReLU output: it is positive exactly where the ReLU passes the
    // gradient, so no separate mask is needed.
    if (l == output_layer)
      values.colwise() += biases;
    else
      values = (values.colwise() + biases).cwiseMax(Scalar(0));
  }
}

template <class Scalar>
void dense_network<Scalar>::exponentiate_logits(
  Eigen::Index samples, const Eigen::Ref<const Eigen::VectorXi>& labels) {
  auto logits = activations_.back().leftCols(samples).array();
  auto column_max = column_max_.head(samples);
  auto column_sum = column_sum_.head(samples);
  auto label_logit = label_logit_.head(samples);
  column_max = logits.colwise().maxCoeff();
  for (Eigen::Index j = 0; j < samples; ++j)
    label_logit[j] = logits(labels[j], j) - column_max[j];
  // Subtracting the maximum keeps exp() in (0, 1] and the sum in
  // [1, classes]: no overflow, and log(sum) is well conditioned.
  logits.rowwise() -= column_max;
  logits = logits.exp();
  column_sum = logits.colwise().sum();
}

template <class Scalar>
Scalar dense_network<Scalar>::loss_and_gradient(
  Eigen::Ref<const vector> parameters, const Eigen::Ref<const matrix>& features,
  const Eigen::Ref<const Eigen::VectorXi>& labels,
  Eigen::Ref<vector> gradient) {
  const Eigen::Index samples = features.cols();
  assert(parameters.size() == static_cast<Eigen::Index>(dimension_));
  assert(gradient.size() == static_cast<Eigen::Index>(dimension_));
  assert(features.rows() == inputs_ && labels.size() == samples);
  assert(samples >= 1 && labels_in_range(labels, classes_));
  reserve_forward(samples);
  reserve_backward(samples);
  forward(parameters.data(), features);
  exponentiate_logits(samples, labels);
  const Scalar inverse_samples = Scalar(1) / static_cast<Scalar>(samples);
  const Scalar loss
    = (column_sum_.head(samples).log() - label_logit_.head(samples)).sum()
      * inverse_samples;

  // Output delta, in place of the logits: (softmax - one_hot(label)) / n.
  auto output_delta = activations_.back().leftCols(samples);
  column_sum_.head(samples) = inverse_samples / column_sum_.head(samples);
  output_delta.array().rowwise() *= column_sum_.head(samples);
  for (Eigen::Index j = 0; j < samples; ++j)
    output_delta(labels[j], j) -= inverse_samples;

  const Scalar* weights_data = parameters.data();
  Scalar* gradient_data = gradient.data();
  for (std::size_t l = layers_.size(); l-- > 0;) {
    const layer_layout& layer = layers_[l];
    auto delta
      = l + 1 == layers_.size() ? output_delta : deltas_[l].leftCols(samples);
    matrix_view<Scalar> weight_gradient(gradient_data + layer.weight_offset,
                                        layer.outputs, layer.inputs);
    vector_view<Scalar> bias_gradient(gradient_data + layer.bias_offset,
                                      layer.outputs);
    if (l == 0)
      weight_gradient.noalias() = delta * features.transpose();
    else
      weight_gradient.noalias()
        = delta * activations_[l - 1].leftCols(samples).transpose();
    bias_gradient.noalias() = delta.rowwise().sum();
    if (l == 0)
      break;
    // Back through the weights, then through the ReLU of layer l - 1.
    const_matrix_view<Scalar> weights(weights_data + layer.weight_offset,
                                      layer.outputs, layer.inputs);
    auto previous_delta = deltas_[l - 1].leftCols(samples);
    previous_delta.noalias() = weights.transpose() * delta;
    previous_delta = (activations_[l - 1].leftCols(samples).array() > Scalar(0))
                       .select(previous_delta, Scalar(0));
  }
  return loss;
}

template <class Scalar>
evaluation dense_network<Scalar>::evaluate(
  Eigen::Ref<const vector> parameters, const Eigen::Ref<const matrix>& features,
  const Eigen::Ref<const Eigen::VectorXi>& labels) {
  const Eigen::Index samples = features.cols();
  assert(parameters.size() == static_cast<Eigen::Index>(dimension_));
  assert(features.rows() == inputs_ && labels.size() == samples);
  assert(samples >= 1 && labels_in_range(labels, classes_));
  reserve_forward(std::min(samples, evaluation_chunk));
  double loss_sum = 0;
  Eigen::Index correct = 0;
  for (Eigen::Index first = 0; first < samples; first += evaluation_chunk) {
    const Eigen::Index count = std::min(evaluation_chunk, samples - first);
    auto chunk_labels = labels.segment(first, count);
    forward(parameters.data(), features.middleCols(first, count));
    // Predictions come from the logits, before they are exponentiated.
    const auto logits = activations_.back().leftCols(count);
    for (Eigen::Index j = 0; j < count; ++j) {
      Eigen::Index predicted = 0;
      logits.col(j).maxCoeff(&predicted);
      correct += predicted == chunk_labels[j] ? 1 : 0;
    }
    exponentiate_logits(count, chunk_labels);
    for (Eigen::Index j = 0; j < count; ++j)
      loss_sum += std::log(static_cast<double>(column_sum_[j]))
                  - static_cast<double>(label_logit_[j]);
  }
  const auto n = static_cast<double>(samples);
  return {loss_sum / n, static_cast<double>(correct) / n};
}

template class dense_network<float>;
template class dense_network<double>;

} // namespace ormo::model
