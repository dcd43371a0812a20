#include "ormo/optim/naive_momentum.hpp"

#include <string>

#include "helpers.hpp"

using namespace ormo::optim;

TEST_CASE("naive asgdm hand-computed three steps ignore the index") {
  naive_momentum rule(1, 3, {0.1, 0.5});
  CHECK(std::string(rule.name()) == "naive-asgdm");
  Eigen::VectorXf w = Eigen::VectorXf::Constant(1, 1.0f);
  auto g = [](float value) { return Eigen::VectorXf::Constant(1, value); };
  rule.place_and_apply(g(2), 0, w); // u = 2, w = 0.8
  CHECK(rule.momentum()[0] == doctest::Approx(2.0));
  CHECK(w[0] == doctest::Approx(0.8));
  rule.place_and_apply(g(4), 0, w); // stale, same: u = 5, w = 0.3
  CHECK(rule.momentum()[0] == doctest::Approx(5.0));
  CHECK(w[0] == doctest::Approx(0.3));
  auto third = rule.place_and_apply(g(-2), 2, w); // u = 0.5, w = 0.25
  CHECK(third.iteration == 3);
  CHECK(rule.momentum()[0] == doctest::Approx(0.5));
  CHECK(w[0] == doctest::Approx(0.25));
}
