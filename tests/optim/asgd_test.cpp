#include "ormo/optim/asgd.hpp"

#include <string>

#include "helpers.hpp"

using namespace ormo::optim;

TEST_CASE("asgd hand-computed three steps") {
  asgd rule(2, 4, {0.1, {}});
  CHECK(std::string(rule.name()) == "asgd");
  Eigen::VectorXf w(2);
  w << 1.0f, -1.0f;
  Eigen::VectorXf g(2);
  g << 2.0f, 4.0f;
  auto first = rule.place_and_apply(g, 0, w); // w = (0.8, -1.4)
  CHECK(first.closed_iteration);              // every arrival is one
  CHECK(first.iteration == 1);
  CHECK(w[0] == doctest::Approx(0.8));
  CHECK(w[1] == doctest::Approx(-1.4));
  rule.place_and_apply(g, 0, w); // stale by one update: same step
  CHECK(w[0] == doctest::Approx(0.6));
  g << -10.0f, 0.0f;
  auto third = rule.place_and_apply(g, 2, w);
  CHECK(third.delay == 0);
  CHECK(third.iteration == 3);
  CHECK(w[0] == doctest::Approx(1.6));
  CHECK(w[1] == doctest::Approx(-1.8));
  CHECK(rule.momentum_storage().size() == 0); // no momentum allocated
}

TEST_CASE("asgd-da damps beyond tau_c times K updates") {
  // K = 2, tau_c = 1.5: threshold 3 updates.
  asgd rule(1, 2, {1.0, 1.5});
  CHECK(std::string(rule.name()) == "asgd-da");
  Eigen::VectorXf w = Eigen::VectorXf::Zero(1);
  Eigen::VectorXf g = Eigen::VectorXf::Ones(1);
  for (int k = 0; k < 10; ++k)
    rule.place_and_apply(g, rule.iteration(), w);
  CHECK(w[0] == doctest::Approx(-10.0));
  auto within = rule.place_and_apply(g, 7, w); // tau = 3: eta
  CHECK(within.delay == 3);
  CHECK(within.coefficients.parameter_gradient_weight == doctest::Approx(1.0));
  auto beyond = rule.place_and_apply(g, 5, w); // tau = 6: eta * 3 / 6
  CHECK(beyond.delay == 6);
  CHECK(beyond.coefficients.parameter_gradient_weight == doctest::Approx(0.5));
  CHECK(w[0] == doctest::Approx(-11.5));
}
