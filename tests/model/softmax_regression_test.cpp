#include "ormo/model/softmax_regression.hpp"

#include <cmath>
#include <thread>

#include <doctest/doctest.h>

#include "model_testing.hpp"

using namespace ormo::model;
using namespace ormo::model::testing;

namespace {

/// Three well-separated clusters in the plane, labelled 0, 1, 2, centred at
/// (3, 0), (-3, 2) and (0, -3) with radius below 1.
ormo::data::minibatch three_clusters(int per_class) {
  ormo::random_source random(81);
  const double centres[3][2] = {{3, 0}, {-3, 2}, {0, -3}};
  ormo::data::minibatch batch;
  batch.features.resize(2, 3 * per_class);
  batch.labels.resize(3 * per_class);
  for (int j = 0; j < 3 * per_class; ++j) {
    const int label = j % 3;
    for (int i = 0; i < 2; ++i)
      batch.features(i, j) = static_cast<float>(
        centres[label][i] + 0.5 * (2 * random.uniform() - 1));
    batch.labels[j] = label;
  }
  return batch;
}

} // namespace

TEST_CASE("softmax_regression dimension and layout") {
  softmax_regression model(7, 4);
  CHECK(model.dimension() == 32);
  CHECK(model.bias_offset() == 28);
  CHECK(model.inputs() == 7);
  CHECK(model.classes() == 4);

  // The weight from input c to class k sits at c * classes + k: a large
  // weight from input 5 to class 2 makes e_5 a class-2 sample.
  Eigen::VectorXf parameters = Eigen::VectorXf::Zero(32);
  parameters[5 * 4 + 2] = 10;
  Eigen::MatrixXf unit = Eigen::MatrixXf::Zero(7, 1);
  unit(5, 0) = 1;
  Eigen::VectorXi label(1);
  label << 2;
  CHECK(model.evaluate(parameters, unit, label).accuracy == 1.0);
  // A bias favours its class when all features are zero.
  parameters.setZero();
  parameters[28 + 3] = 1;
  label << 3;
  CHECK(model.evaluate(parameters, Eigen::MatrixXf::Zero(7, 1), label).accuracy
        == 1.0);
}

TEST_CASE("softmax_regression starts at zero with loss log of classes") {
  softmax_regression model(6, 5);
  Eigen::VectorXf parameters = model.initial_parameters(1);
  REQUIRE(parameters.size() == 35);
  CHECK(parameters.isZero(0));
  CHECK(model.initial_parameters(2) == parameters);
  auto batch = random_batch(91, 6, 10, 5);
  Eigen::VectorXf gradient(35);
  float loss = model.loss_and_gradient(parameters, batch, gradient);
  CHECK(loss == doctest::Approx(std::log(5.0)).epsilon(1e-6));
  // All probabilities are 1/5: the bias gradient of class k is 1/5 minus
  // the fraction of samples labelled k.
  for (int k = 0; k < 5; ++k) {
    const double fraction = (batch.labels.array() == k).count() / 10.0;
    CHECK(gradient[30 + k] == doctest::Approx(0.2 - fraction));
  }
  auto result = model.evaluate(parameters, batch.features, batch.labels);
  CHECK(result.loss == doctest::Approx(std::log(5.0)).epsilon(1e-6));
}

TEST_CASE("softmax_regression loss and gradient match the reference") {
  const int inputs = 5;
  const int classes = 3;
  softmax_regression model(inputs, classes);
  auto batch = random_batch(101, inputs, 4, classes);
  Eigen::MatrixXd features = batch.features.cast<double>();
  Eigen::VectorXd parameters = random_vector(102, 18, 0.5);
  Eigen::VectorXf gradient(18);
  float loss
    = model.loss_and_gradient(parameters.cast<float>(), batch, gradient);
  auto reference = [&](const Eigen::VectorXd& x) {
    return reference_loss(x, features, batch.labels, inputs, {}, classes);
  };
  CHECK(loss == doctest::Approx(reference(parameters)).epsilon(1e-5));
  // The float gradient against central differences of the double reference:
  // float rounding (~1e-7 relative per value) bounds the agreement.
  auto check = check_gradient(reference, parameters, gradient.cast<double>(),
                              double_step);
  CHECK(check.worst_error < 1e-4);
  CHECK(check.significant > 12);
}

TEST_CASE("softmax_regression evaluate agrees with loss_and_gradient") {
  softmax_regression model(5, 3);
  auto batch = random_batch(111, 5, 64, 3);
  Eigen::VectorXf parameters = random_vector(112, 18).cast<float>();
  Eigen::VectorXf gradient(18);
  float loss = model.loss_and_gradient(parameters, batch, gradient);
  auto result = model.evaluate(parameters, batch.features, batch.labels);
  CHECK(result.loss == doctest::Approx(loss).epsilon(1e-5));
}

TEST_CASE("softmax_regression gradient descent separates three clusters") {
  auto batch = three_clusters(20);
  softmax_regression model(2, 3);
  Eigen::VectorXf parameters = model.initial_parameters(0);
  Eigen::VectorXf gradient(parameters.size());
  const float first_loss = model.loss_and_gradient(parameters, batch, gradient);
  float loss = first_loss;
  for (int step = 0; step < 200; ++step) {
    loss = model.loss_and_gradient(parameters, batch, gradient);
    parameters -= 0.5f * gradient;
  }
  CHECK(loss < 0.1f * first_loss);
  auto result = model.evaluate(parameters, batch.features, batch.labels);
  CHECK(result.accuracy == 1.0);
  CHECK(result.loss < 0.1);
}

TEST_CASE("softmax_regression clone computes the same with its own scratch") {
  softmax_regression model(5, 3);
  auto copy = model.clone();
  REQUIRE(copy->dimension() == model.dimension());
  auto first = random_batch(121, 5, 8, 3);
  auto second = random_batch(122, 5, 13, 3);
  Eigen::VectorXf parameters = random_vector(123, 18).cast<float>();
  Eigen::VectorXf expected_first(18);
  Eigen::VectorXf expected_second(18);
  const float first_loss
    = model.loss_and_gradient(parameters, first, expected_first);
  const float second_loss
    = model.loss_and_gradient(parameters, second, expected_second);
  // Both instances at once, on different batches: shared scratch would mix
  // them up.
  bool same_first = true;
  bool same_second = true;
  std::thread other([&] {
    Eigen::VectorXf gradient(18);
    for (int k = 0; k < 2000; ++k)
      same_second
        &= copy->loss_and_gradient(parameters, second, gradient) == second_loss
           && gradient == expected_second;
  });
  Eigen::VectorXf gradient(18);
  for (int k = 0; k < 2000; ++k)
    same_first
      &= model.loss_and_gradient(parameters, first, gradient) == first_loss
         && gradient == expected_first;
  other.join();
  CHECK(same_first);
  CHECK(same_second);
}
