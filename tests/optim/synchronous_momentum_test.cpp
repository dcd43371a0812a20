#include "ormo/optim/synchronous_momentum.hpp"

#include <string>

#include "helpers.hpp"

using namespace ormo::optim;

TEST_CASE("ssgdm hand-computed two iterations") {
  // K = 2, eta = 1, beta = 0.5.
  synchronous_momentum rule(1, 2, {1.0, 0.5});
  CHECK(std::string(rule.name()) == "ssgdm");
  Eigen::VectorXf w = Eigen::VectorXf::Constant(1, 10.0f);
  auto g = [](float value) { return Eigen::VectorXf::Constant(1, value); };
  rule.place_and_apply(g(2), 0, w);
  CHECK(w[0] == 10.0f);                          // waits for the iteration
  auto close = rule.place_and_apply(g(4), 0, w); // u = 3, w = 7
  CHECK(close.closed_iteration);
  CHECK(w[0] == doctest::Approx(7.0));
  rule.place_and_apply(g(6), 1, w);
  rule.place_and_apply(g(-2), 1, w); // u = 1.5 + 2 = 3.5, w = 3.5
  CHECK(w[0] == doctest::Approx(3.5));
  CHECK(rule.momentum()[0] == doctest::Approx(1.75));
}

TEST_CASE("ssgdm rejects gradients of an older iteration") {
  synchronous_momentum rule(1, 1, {1.0, 0.5});
  Eigen::VectorXf w = Eigen::VectorXf::Zero(1);
  Eigen::VectorXf g = Eigen::VectorXf::Ones(1);
  rule.place_and_apply(g, 0, w);
  Eigen::VectorXf before = w;
  auto stale = rule.place_and_apply(g, 0, w);
  CHECK(stale.rejection == rejection_reason::not_synchronous);
  CHECK(stale.detail.find("1 iteration") != std::string::npos);
  CHECK(w == before);
  CHECK(rule.iteration() == 1);
}
