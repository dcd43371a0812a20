#include "ormo/model/dense_network.hpp"

#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include "model_testing.hpp"

using namespace ormo::model;
using namespace ormo::model::testing;

namespace {

struct architecture {
  int inputs;
  std::vector<int> hidden;
  int classes;
};

const std::vector<architecture> small_architectures = {
  {5, {4, 3}, 3}, // the brief's shape
  {5, {}, 3},     // softmax regression
  {3, {6}, 4},
  {2, {3, 3, 3}, 2},
};

/// Parameters of a scale that keeps ReLU units alive and the loss of order
/// one; biases are random too, so bias gradients are exercised.
Eigen::VectorXd test_parameters(const dense_network<double>& network,
                                std::uint64_t seed) {
  return random_vector(seed, static_cast<Eigen::Index>(network.dimension()),
                       0.5);
}

} // namespace

TEST_CASE("dense_network layout follows the documented offsets") {
  dense_network<float> network(5, {4, 3}, 3);
  const auto& layers = network.layers();
  REQUIRE(layers.size() == 3);
  CHECK(layers[0].inputs == 5);
  CHECK(layers[0].outputs == 4);
  CHECK(layers[0].weight_offset == 0);
  CHECK(layers[0].bias_offset == 20);
  CHECK(layers[1].inputs == 4);
  CHECK(layers[1].outputs == 3);
  CHECK(layers[1].weight_offset == 24);
  CHECK(layers[1].bias_offset == 36);
  CHECK(layers[2].inputs == 3);
  CHECK(layers[2].outputs == 3);
  CHECK(layers[2].weight_offset == 39);
  CHECK(layers[2].bias_offset == 48);
  CHECK(network.dimension() == 51);
  CHECK(dense_network<float>(784, {128}, 10).dimension() == 101770);
  CHECK(dense_network<float>(7, {}, 4).dimension() == 32);
}

TEST_CASE("dense_network loss matches the plain reference") {
  for (const auto& shape : small_architectures) {
    CAPTURE(shape.hidden.size());
    dense_network<double> network(shape.inputs, shape.hidden, shape.classes);
    auto batch = random_batch(11, shape.inputs, 4, shape.classes);
    Eigen::MatrixXd features = batch.features.cast<double>();
    Eigen::VectorXd parameters = test_parameters(network, 12);
    Eigen::VectorXd gradient(parameters.size());
    double loss
      = network.loss_and_gradient(parameters, features, batch.labels, gradient);
    double expected = reference_loss(parameters, features, batch.labels,
                                     shape.inputs, shape.hidden, shape.classes);
    CHECK(loss > 0.1);
    CHECK(loss == doctest::Approx(expected).epsilon(1e-12));
  }
}

TEST_CASE("dense_network gradient matches central differences in double") {
  for (const auto& shape : small_architectures) {
    CAPTURE(shape.hidden.size());
    dense_network<double> network(shape.inputs, shape.hidden, shape.classes);
    auto batch = random_batch(21, shape.inputs, 4, shape.classes);
    Eigen::MatrixXd features = batch.features.cast<double>();
    Eigen::VectorXd parameters = test_parameters(network, 22);
    Eigen::VectorXd gradient(parameters.size());
    network.loss_and_gradient(parameters, features, batch.labels, gradient);
    Eigen::VectorXd scratch(parameters.size());
    auto loss = [&](const Eigen::VectorXd& x) {
      return network.loss_and_gradient(x, features, batch.labels, scratch);
    };
    auto check = check_gradient(loss, parameters, gradient, double_step);
    CAPTURE(check.worst_coordinate);
    CHECK(check.worst_error < double_tolerance);
    // Most coordinates carry signal (a few ReLU units may be dead on four
    // samples).
    CHECK(check.significant > parameters.size() / 2);
  }
}

TEST_CASE("dense_network in float agrees with double") {
  for (const auto& shape : small_architectures) {
    CAPTURE(shape.hidden.size());
    dense_network<double> exact(shape.inputs, shape.hidden, shape.classes);
    dense_network<float> single(shape.inputs, shape.hidden, shape.classes);
    auto batch = random_batch(31, shape.inputs, 16, shape.classes);
    Eigen::VectorXd parameters = test_parameters(exact, 32);
    Eigen::VectorXd exact_gradient(parameters.size());
    double exact_loss = exact.loss_and_gradient(
      parameters, batch.features.cast<double>(), batch.labels, exact_gradient);
    Eigen::VectorXf single_parameters = parameters.cast<float>();
    Eigen::VectorXf single_gradient(parameters.size());
    float single_loss = single.loss_and_gradient(
      single_parameters, batch.features, batch.labels, single_gradient);
    // float keeps ~7 digits; a few operations per value lose at most one.
    CHECK(single_loss == doctest::Approx(exact_loss).epsilon(1e-5));
    Eigen::VectorXd difference
      = single_gradient.cast<double>() - exact_gradient;
    CHECK(difference.norm() < 1e-5 * exact_gradient.norm());
    CHECK(difference.lpNorm<Eigen::Infinity>()
          < 1e-5 * exact_gradient.lpNorm<Eigen::Infinity>());
  }
}

TEST_CASE("dense_network softmax is stable for huge logits") {
  // No weights, biases 1e4 and 0: a naive softmax overflows exp(1e4).
  dense_network<float> network(2, {}, 2);
  Eigen::VectorXf parameters = Eigen::VectorXf::Zero(6);
  parameters[4] = 1e4f;
  ormo::data::minibatch batch;
  batch.features = Eigen::MatrixXf::Zero(2, 2);
  batch.labels.resize(2);
  batch.labels << 0, 1;
  Eigen::VectorXf gradient(6);
  float loss = network.loss_and_gradient(parameters, batch.features,
                                         batch.labels, gradient);
  // Sample 0 costs log(1 + e^-1e4) = 0, sample 1 costs 1e4.
  CHECK(loss == doctest::Approx(5e3));
  CHECK(gradient.allFinite());
  // d(loss)/d(bias) = mean(softmax - one_hot) = ((1 - 1) + (1 - 0)) / 2 for
  // class 0, ((0 - 0) + (0 - 1)) / 2 for class 1.
  CHECK(gradient[4] == doctest::Approx(0.5));
  CHECK(gradient[5] == doctest::Approx(-0.5));
  auto result = network.evaluate(parameters, batch.features, batch.labels);
  CHECK(result.loss == doctest::Approx(5e3));
  CHECK(result.accuracy == doctest::Approx(0.5));
}

TEST_CASE("dense_network results do not depend on earlier batch sizes") {
  // Scratch grows to the largest batch and smaller batches use its first
  // columns: nothing from a larger batch may leak into a smaller one.
  const int inputs = 6;
  const int classes = 3;
  auto small = random_batch(41, inputs, 3, classes);
  auto large = random_batch(42, inputs, 50, classes);
  dense_network<float> fresh(inputs, {5, 4}, classes);
  dense_network<float> reused(inputs, {5, 4}, classes);
  Eigen::VectorXf parameters
    = random_vector(43, static_cast<Eigen::Index>(fresh.dimension()), 0.5)
        .cast<float>();
  Eigen::VectorXf expected(parameters.size());
  float expected_loss = fresh.loss_and_gradient(parameters, small.features,
                                                small.labels, expected);
  auto expected_evaluation
    = fresh.evaluate(parameters, small.features, small.labels);
  Eigen::VectorXf gradient(parameters.size());
  reused.loss_and_gradient(parameters, large.features, large.labels, gradient);
  reused.evaluate(parameters, large.features, large.labels);
  CHECK(
    reused.loss_and_gradient(parameters, small.features, small.labels, gradient)
    == expected_loss);
  CHECK(gradient == expected);
  auto evaluation = reused.evaluate(parameters, small.features, small.labels);
  CHECK(evaluation.loss == expected_evaluation.loss);
  CHECK(evaluation.accuracy == expected_evaluation.accuracy);
}

TEST_CASE("dense_network evaluate over chunks equals one pass") {
  // More samples than evaluation_chunk, not a multiple of it.
  const int inputs = 4;
  const int classes = 3;
  const int samples = 2345;
  static_assert(dense_network<double>::evaluation_chunk < 2345);
  auto batch = random_batch(51, inputs, samples, classes);
  Eigen::MatrixXd features = batch.features.cast<double>();
  dense_network<double> network(inputs, {8}, classes);
  Eigen::VectorXd parameters = test_parameters(network, 52);
  auto result = network.evaluate(parameters, features, batch.labels);
  Eigen::VectorXd gradient(parameters.size());
  double loss
    = network.loss_and_gradient(parameters, features, batch.labels, gradient);
  CHECK(result.loss == doctest::Approx(loss).epsilon(1e-12));
  // Accuracy, sample by sample.
  int correct = 0;
  for (int j = 0; j < samples; ++j) {
    auto single = network.evaluate(parameters, features.col(j),
                                   batch.labels.segment(j, 1));
    if (single.accuracy == 1.0)
      ++correct;
  }
  CHECK(result.accuracy == doctest::Approx(correct / double(samples)));
  // Neither all right nor all wrong: both outcomes are counted.
  CHECK(correct > 0);
  CHECK(correct < samples);
}

TEST_CASE("dense_network predicts the first largest logit") {
  dense_network<float> network(1, {}, 3);
  // Logits equal for classes 1 and 2, lower for 0.
  Eigen::VectorXf parameters(6);
  parameters << 0, 0, 0, -1, 2, 2;
  Eigen::MatrixXf features = Eigen::MatrixXf::Zero(1, 3);
  Eigen::VectorXi labels(3);
  labels << 0, 1, 2;
  auto result = network.evaluate(parameters, features, labels);
  CHECK(result.accuracy == doctest::Approx(1.0 / 3));
  Eigen::VectorXi ones = Eigen::VectorXi::Ones(3);
  CHECK(network.evaluate(parameters, features, ones).accuracy == 1.0);
}
