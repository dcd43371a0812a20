#include "ormo/model/mlp.hpp"

#include <cmath>
#include <thread>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "model_testing.hpp"
#include "ormo/model/softmax_regression.hpp"

using namespace ormo::model;
using namespace ormo::model::testing;

namespace {

/// XOR in the plane: points near (+-1, +-1), labelled 1 where the signs
/// differ. Not linearly separable: a linear model gets about three
/// quarters right at best, so this needs the hidden layer.
ormo::data::minibatch xor_points(int per_corner) {
  ormo::random_source random(131);
  ormo::data::minibatch batch;
  batch.features.resize(2, 4 * per_corner);
  batch.labels.resize(4 * per_corner);
  for (int j = 0; j < 4 * per_corner; ++j) {
    const int x_sign = j % 2 == 0 ? 1 : -1;
    const int y_sign = (j / 2) % 2 == 0 ? 1 : -1;
    batch.features(0, j)
      = static_cast<float>(x_sign + 0.3 * (2 * random.uniform() - 1));
    batch.features(1, j)
      = static_cast<float>(y_sign + 0.3 * (2 * random.uniform() - 1));
    batch.labels[j] = x_sign != y_sign ? 1 : 0;
  }
  return batch;
}

/// Sample mean and standard deviation of values[first, last).
std::pair<double, double> moments(const Eigen::VectorXf& values,
                                  std::size_t first, std::size_t last) {
  auto segment = values
                   .segment(static_cast<Eigen::Index>(first),
                            static_cast<Eigen::Index>(last - first))
                   .cast<double>();
  const double mean = segment.mean();
  const double variance = (segment.array() - mean).square().mean();
  return {mean, std::sqrt(variance)};
}

} // namespace

TEST_CASE("mlp dimension formula") {
  CHECK(mlp(5, {4, 3}, 3).dimension() == 51);
  CHECK(mlp(784, {128}, 10).dimension() == 784 * 128 + 128 + 128 * 10 + 10);
  CHECK(mlp(7, {}, 4).dimension() == softmax_regression(7, 4).dimension());
  // sum over layers of out * (in + 1)
  CHECK(mlp(3, {10, 20, 30}, 2).dimension()
        == 10 * 4 + 20 * 11 + 30 * 21 + 2 * 31);
}

TEST_CASE("mlp initial parameters are seeded He and Glorot normals") {
  mlp model(784, {128}, 10);
  Eigen::VectorXf parameters = model.initial_parameters(5);
  REQUIRE(parameters.size() == 101770);
  CHECK(model.initial_parameters(5) == parameters);
  CHECK(model.initial_parameters(6) != parameters);
  const auto& layers = model.network().layers();
  // Hidden layer: N(0, 2 / 784) over 100352 draws; the sample standard
  // deviation is within 1 % with overwhelming probability.
  auto [hidden_mean, hidden_deviation]
    = moments(parameters, layers[0].weight_offset, layers[0].bias_offset);
  CHECK(hidden_deviation
        == doctest::Approx(std::sqrt(2.0 / 784)).epsilon(0.01));
  CHECK(std::abs(hidden_mean) < 4 * std::sqrt(2.0 / 784 / 100352));
  // Output layer: N(0, 2 / (128 + 10)) over 1280 draws: within 8 %.
  auto [output_mean, output_deviation]
    = moments(parameters, layers[1].weight_offset, layers[1].bias_offset);
  CHECK(output_deviation
        == doctest::Approx(std::sqrt(2.0 / 138)).epsilon(0.08));
  CHECK(std::abs(output_mean) < 4 * std::sqrt(2.0 / 138 / 1280));
  // Biases start at zero.
  for (const auto& layer : layers)
    CHECK(
      parameters
        .segment(static_cast<Eigen::Index>(layer.bias_offset), layer.outputs)
        .isZero(0));
}

TEST_CASE("mlp loss at init is near log of classes") {
  mlp model(20, {16, 12}, 6);
  Eigen::VectorXf parameters = model.initial_parameters(9);
  Eigen::VectorXf gradient(parameters.size());
  // Zero biases: zero features give equal logits, exactly log(classes).
  ormo::data::minibatch zeros;
  zeros.features = Eigen::MatrixXf::Zero(20, 8);
  zeros.labels = Eigen::VectorXi::LinSpaced(8, 0, 5);
  CHECK(model.loss_and_gradient(parameters, zeros, gradient)
        == doctest::Approx(std::log(6.0)).epsilon(1e-6));
  // A small init keeps logits near zero for any features.
  auto batch = random_batch(141, 20, 32, 6);
  Eigen::VectorXf small = 0.01f * parameters;
  CHECK(model.loss_and_gradient(small, batch, gradient)
        == doctest::Approx(std::log(6.0)).epsilon(1e-3));
  // The default init is not wildly off either (logits of order one).
  const float loss = model.loss_and_gradient(parameters, batch, gradient);
  CHECK(loss > std::log(6.0) - 0.5);
  CHECK(loss < std::log(6.0) + 1.0);
}

TEST_CASE("mlp loss and gradient match the reference") {
  // The brief's shape: 5 inputs, hidden {4, 3}, 3 classes, batch 4; also
  // deeper and wider ones.
  struct shape {
    int inputs;
    std::vector<int> hidden;
    int classes;
    int samples;
  };
  const shape shapes[]
    = {{5, {4, 3}, 3, 4}, {3, {7}, 4, 9}, {4, {6, 5, 4}, 2, 8}};
  for (const shape& case_shape : shapes) {
    const int inputs = case_shape.inputs;
    const std::vector<int>& hidden = case_shape.hidden;
    const int classes = case_shape.classes;
    const int samples = case_shape.samples;
    CAPTURE(hidden.size());
    mlp model(inputs, hidden, classes);
    auto batch = random_batch(151, inputs, samples, classes);
    Eigen::MatrixXd features = batch.features.cast<double>();
    Eigen::VectorXd parameters
      = random_vector(152, static_cast<Eigen::Index>(model.dimension()), 0.5);
    Eigen::VectorXf gradient(parameters.size());
    const float loss
      = model.loss_and_gradient(parameters.cast<float>(), batch, gradient);
    auto reference = [&](const Eigen::VectorXd& x) {
      return reference_loss(x, features, batch.labels, inputs, hidden, classes);
    };
    CHECK(loss == doctest::Approx(reference(parameters)).epsilon(1e-5));
    // The float gradient against central differences of the double
    // reference: only float rounding (~1e-6 relative) separates them.
    auto check = check_gradient(reference, parameters, gradient.cast<double>(),
                                double_step);
    CAPTURE(check.worst_coordinate);
    CHECK(check.worst_error < 1e-4);
    CHECK(check.significant > parameters.size() / 2);
  }
}

TEST_CASE("mlp gradient descent learns xor") {
  auto batch = xor_points(10);
  mlp model(2, {8}, 2);
  Eigen::VectorXf parameters = model.initial_parameters(3);
  Eigen::VectorXf gradient(parameters.size());
  for (int step = 0; step < 500; ++step) {
    model.loss_and_gradient(parameters, batch, gradient);
    parameters -= 0.5f * gradient;
  }
  auto result = model.evaluate(parameters, batch.features, batch.labels);
  CHECK(result.accuracy == 1.0);
  CHECK(result.loss < 0.1);
}

TEST_CASE("mlp evaluate agrees with loss_and_gradient") {
  mlp model(6, {10, 5}, 4);
  Eigen::VectorXf parameters = model.initial_parameters(161);
  Eigen::VectorXf gradient(parameters.size());
  SUBCASE("one minibatch") {
    auto batch = random_batch(162, 6, 64, 4);
    const float loss = model.loss_and_gradient(parameters, batch, gradient);
    auto result = model.evaluate(parameters, batch.features, batch.labels);
    CHECK(result.loss == doctest::Approx(loss).epsilon(1e-5));
  }
  SUBCASE("a set larger than one evaluation chunk") {
    auto batch = random_batch(163, 6, 2500, 4);
    const float loss = model.loss_and_gradient(parameters, batch, gradient);
    auto result = model.evaluate(parameters, batch.features, batch.labels);
    CHECK(result.loss == doctest::Approx(loss).epsilon(1e-5));
    CHECK(result.accuracy > 0.0);
    CHECK(result.accuracy < 1.0);
  }
}

TEST_CASE("mlp clone computes the same with its own scratch") {
  mlp model(8, {6, 5}, 3);
  auto copy = model.clone();
  REQUIRE(copy->dimension() == model.dimension());
  const auto dimension = static_cast<Eigen::Index>(model.dimension());
  auto first = random_batch(171, 8, 16, 3);
  auto second = random_batch(172, 8, 23, 3);
  Eigen::VectorXf parameters = model.initial_parameters(173);
  CHECK(copy->initial_parameters(173) == parameters);
  Eigen::VectorXf expected_first(dimension);
  Eigen::VectorXf expected_second(dimension);
  const float first_loss
    = model.loss_and_gradient(parameters, first, expected_first);
  const float second_loss
    = model.loss_and_gradient(parameters, second, expected_second);
  // Both instances at once, on different batches: shared scratch would mix
  // them up.
  bool same_first = true;
  bool same_second = true;
  std::thread other([&] {
    Eigen::VectorXf gradient(dimension);
    for (int k = 0; k < 2000; ++k)
      same_second
        &= copy->loss_and_gradient(parameters, second, gradient) == second_loss
           && gradient == expected_second;
  });
  Eigen::VectorXf gradient(dimension);
  for (int k = 0; k < 2000; ++k)
    same_first
      &= model.loss_and_gradient(parameters, first, gradient) == first_loss
         && gradient == expected_first;
  other.join();
  CHECK(same_first);
  CHECK(same_second);
}
