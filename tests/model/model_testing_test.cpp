// The gradient checker itself: it must catch a wrong gradient, otherwise
// the gradient tests of the models prove nothing.
#include "model_testing.hpp"

#include <cmath>
#include <utility>

#include <doctest/doctest.h>

#include "ormo/model/dense_network.hpp"

using namespace ormo::model;
using namespace ormo::model::testing;

namespace {

/// The mlp of the brief (5 inputs, hidden {4, 3}, 3 classes, batch 4) in
/// double, with its exact gradient at some parameters.
struct checked_network {
  dense_network<double> network{5, {4, 3}, 3};
  ormo::data::minibatch batch = random_batch(61, 5, 4, 3);
  Eigen::MatrixXd features = batch.features.cast<double>();
  Eigen::VectorXd parameters
    = random_vector(62, static_cast<Eigen::Index>(network.dimension()), 0.5);
  Eigen::VectorXd gradient = Eigen::VectorXd::Zero(parameters.size());
  Eigen::VectorXd scratch = Eigen::VectorXd::Zero(parameters.size());

  checked_network() {
    network.loss_and_gradient(parameters, features, batch.labels, gradient);
  }

  gradient_check check(const Eigen::VectorXd& analytic) {
    auto loss = [&](const Eigen::VectorXd& x) {
      return network.loss_and_gradient(x, features, batch.labels, scratch);
    };
    return check_gradient(loss, parameters, analytic, double_step);
  }
};

} // namespace

TEST_CASE("check_gradient passes the exact gradient of a known function") {
  // f(x) = sum_i sin(x_i) x_{i+1} + x_0^3.
  auto f = [](const Eigen::VectorXd& x) {
    double sum = x[0] * x[0] * x[0];
    for (Eigen::Index i = 0; i + 1 < x.size(); ++i)
      sum += std::sin(x[i]) * x[i + 1];
    return sum;
  };
  Eigen::VectorXd x = random_vector(71, 10);
  Eigen::VectorXd exact = Eigen::VectorXd::Zero(10);
  exact[0] = 3 * x[0] * x[0];
  for (Eigen::Index i = 0; i + 1 < x.size(); ++i) {
    exact[i] += std::cos(x[i]) * x[i + 1];
    exact[i + 1] += std::sin(x[i]);
  }
  auto check = check_gradient(f, x, exact, double_step);
  CHECK(check.worst_error < double_tolerance);
  CHECK(check.significant == 10);
}

TEST_CASE("check_gradient catches corrupted network gradients") {
  checked_network subject;
  REQUIRE(subject.check(subject.gradient).worst_error < double_tolerance);
  Eigen::Index largest = 0;
  subject.gradient.cwiseAbs().maxCoeff(&largest);

  SUBCASE("one coordinate scaled by 1.001") {
    Eigen::VectorXd wrong = subject.gradient;
    wrong[largest] *= 1.001;
    auto check = subject.check(wrong);
    CHECK(check.worst_error > double_tolerance);
    CHECK(check.worst_coordinate == largest);
  }
  SUBCASE("every significant coordinate scaled by 1.001 in turn") {
    const double floor = 1e-3 * subject.gradient.cwiseAbs().maxCoeff();
    int caught = 0;
    int corrupted = 0;
    for (Eigen::Index i = 0; i < subject.gradient.size(); ++i) {
      if (std::abs(subject.gradient[i]) <= floor)
        continue;
      Eigen::VectorXd wrong = subject.gradient;
      wrong[i] *= 1.001;
      ++corrupted;
      caught += subject.check(wrong).worst_error > double_tolerance;
    }
    CHECK(corrupted > 20);
    CHECK(caught == corrupted);
  }
  SUBCASE("a small offset on a zero-ish coordinate") {
    Eigen::Index smallest = 0;
    subject.gradient.cwiseAbs().minCoeff(&smallest);
    Eigen::VectorXd wrong = subject.gradient;
    wrong[smallest] += 1e-5 * subject.gradient.cwiseAbs().maxCoeff();
    CHECK(subject.check(wrong).worst_error > double_tolerance);
  }
  SUBCASE("two coordinates swapped") {
    Eigen::VectorXd wrong = subject.gradient;
    Eigen::Index other = largest == 0 ? 1 : 0;
    std::swap(wrong[largest], wrong[other]);
    CHECK(subject.check(wrong).worst_error > double_tolerance);
  }
  SUBCASE("the output biases' gradient missing") {
    Eigen::VectorXd wrong = subject.gradient;
    const auto& output = subject.network.layers().back();
    wrong.segment(static_cast<Eigen::Index>(output.bias_offset), output.outputs)
      .setZero();
    CHECK(subject.check(wrong).worst_error > double_tolerance);
  }
}
