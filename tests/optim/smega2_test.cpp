// smega2 by its definition: each arrival w <- w - eta * (g + beta * m),
// G <- G + g; every C = K arrivals m <- beta * m + G / C, G <- 0; the worker
// receives the estimate of w one cycle ahead. Hand-computed steps, what it
// reduces to, and what the estimate means.
#include "ormo/optim/smega2.hpp"

#include <limits>
#include <string>

#include "helpers.hpp"
#include "ormo/optim/asgd.hpp"
#include "ormo/optim/naive_momentum.hpp"

using namespace ormo;
using namespace ormo::optim;

namespace {

Eigen::VectorXf one(float value) {
  return Eigen::VectorXf::Constant(1, value);
}

/// What the pushing worker receives with `placed` after the step: w minus
/// the look-ahead.
Eigen::VectorXf received(const Eigen::VectorXf& w, const placement& placed) {
  return placed.look_ahead ? Eigen::VectorXf{w - *placed.look_ahead} : w;
}

} // namespace

TEST_CASE("smega2 hand-computed: two workers, two cycles") {
  // C = K = 2, eta = 0.5, beta = 0.5; every value below is exact in float.
  // The estimate's weights with s arrivals in the open cycle:
  //   on m: eta * beta * (C + s * (beta - 1)) = 0.5 (s = 0), 0.375 (s = 1)
  //   on G: eta * beta * s / C                 = 0   (s = 0), 0.125 (s = 1)
  smega2 rule(1, 2, {0.5, 0.5});
  CHECK(std::string(rule.name()) == "smega2");
  CHECK(rule.arrivals_per_iteration() == 2);
  Eigen::VectorXf w = one(1);
  // Worker 1, g = 2: w = 1 - 0.5 * (2 + 0) = 0, G = 2, m = 0.
  // Estimate: 0 - (0.125 * 2 + 0.375 * 0) = -0.25.
  auto first = rule.place_and_apply(one(2), 0, w, 1);
  REQUIRE(first.accepted());
  CHECK_FALSE(first.closed_iteration);
  CHECK(w[0] == 0.0f);
  CHECK(rule.accumulator()[0] == 2.0f);
  CHECK(rule.single_momentum()[0] == 0.0f);
  REQUIRE(first.step_vector);
  CHECK((*first.step_vector)[0] == 2.0f); // g + beta * m
  CHECK(first.coefficients.parameter_gradient_weight == 0.5f);
  REQUIRE(first.look_ahead);
  CHECK(received(w, first)[0] == -0.25f);
  // Worker 2, g = 4, closes the cycle: w = 0 - 0.5 * 4 = -2 (with the m
  // before the close), G = 6, then m = 0 + 6 / 2 = 3, G = 0.
  // Estimate: -2 - 0.5 * 3 = -3.5.
  auto second = rule.place_and_apply(one(4), 0, w, 2);
  CHECK(second.closed_iteration);
  CHECK(second.iteration == 1);
  CHECK(w[0] == -2.0f);
  CHECK(rule.single_momentum()[0] == 3.0f);
  CHECK(rule.accumulator()[0] == 0.0f);
  CHECK(received(w, second)[0] == -3.5f);
  // Worker 1 again, g = -2 computed at iteration 0 (one cycle stale):
  // w = -2 - 0.5 * (-2 + 1.5) = -1.75, G = -2.
  // Estimate: -1.75 - (0.125 * -2 + 0.375 * 3) = -2.625.
  auto third = rule.place_and_apply(one(-2), 0, w, 1);
  CHECK(third.delay == 1);
  CHECK(w[0] == -1.75f);
  CHECK(rule.accumulator()[0] == -2.0f);
  CHECK(received(w, third)[0] == -2.625f);
  // Worker 2, g = 1: w = -1.75 - 0.5 * (1 + 1.5) = -3, G = -1, then
  // m = 1.5 - 0.5 = 1, G = 0. Estimate: -3 - 0.5 * 1 = -3.5.
  auto fourth = rule.place_and_apply(one(1), 1, w, 2);
  CHECK(fourth.closed_iteration);
  CHECK(fourth.iteration == 2);
  CHECK(w[0] == -3.0f);
  CHECK(rule.single_momentum()[0] == 1.0f);
  CHECK(received(w, fourth)[0] == -3.5f);
  CHECK(rule.momentum_storage().size() == 0); // m is its own, not u
}

TEST_CASE("smega2's estimate is where w gets in one cycle without new "
          "gradients") {
  // From any point of a cycle, C more arrivals of zero gradients move w
  // exactly to the estimate the last worker received.
  random_source random(31);
  const Eigen::Index d = 6;
  for (int cycle : {1, 3, 4})
    for (double beta : {0.0, 0.6, 0.9})
      for (int ahead = 0; ahead < cycle; ++ahead) {
        CAPTURE(cycle);
        CAPTURE(beta);
        CAPTURE(ahead);
        smega2 rule(d, cycle, {0.3, beta});
        Eigen::VectorXf w = test::random_vector(random, d);
        placement last;
        for (int k = 0; k < 2 * cycle + ahead + 1; ++k)
          last = rule.place_and_apply(test::random_vector(random, d),
                                      rule.iteration(), w);
        const Eigen::VectorXf estimate = received(w, last);
        const Eigen::VectorXf zero = Eigen::VectorXf::Zero(d);
        for (int k = 0; k < cycle; ++k)
          rule.place_and_apply(zero, rule.iteration(), w);
        CHECK(test::max_relative_error(w, estimate) <= 1e-5);
      }
}

TEST_CASE("smega2 with C = 1 is naive momentum SGD, with a Nesterov "
          "look-ahead") {
  random_source random(32);
  const Eigen::Index d = 7;
  smega2 rule(d, 1, {0.05, 0.9});
  naive_momentum naive(d, 1, {0.05, 0.9});
  Eigen::VectorXf a = test::random_vector(random, d);
  Eigen::VectorXf b = a;
  for (int k = 0; k < 30; ++k) {
    Eigen::VectorXf g = test::random_vector(random, d);
    auto i = rule.iteration() - (k % 4 == 3 ? 1 : 0);
    auto placed = rule.place_and_apply(g, i, a);
    REQUIRE(naive.place_and_apply(g, i, b).accepted());
    CHECK(placed.closed_iteration);
    CHECK(test::max_relative_error(a, b) <= 1e-6);
    CHECK(test::max_relative_error(rule.single_momentum(), naive.momentum())
          <= 1e-6);
    // The worker receives w - eta * beta * m.
    Eigen::VectorXf nesterov = b - 0.05f * 0.9f * naive.momentum();
    CHECK(test::max_relative_error(received(a, placed), nesterov) <= 1e-6);
  }
}

TEST_CASE("smega2 with beta 0 is asgd, and the worker receives w") {
  random_source random(33);
  const Eigen::Index d = 5;
  smega2 rule(d, 3, {0.1, 0.0});
  asgd plain(d, 3, {0.1, {}});
  Eigen::VectorXf a = test::random_vector(random, d);
  Eigen::VectorXf b = a;
  for (int k = 0; k < 20; ++k) {
    Eigen::VectorXf g = test::random_vector(random, d);
    auto placed = rule.place_and_apply(g, rule.iteration(), a);
    plain.place_and_apply(g, plain.iteration(), b);
    CHECK((a.array() == b.array()).all());
    CHECK_FALSE(placed.look_ahead);
  }
}

TEST_CASE("smega2: a change of K takes effect at the next arrival, and the "
          "cycle it ends averages what it holds") {
  // K = 3 with two gradients held; K drops to 2: the next arrival closes the
  // cycle of three gradients, m = G / 3.
  smega2 rule(1, 3, {1.0, 0.5});
  Eigen::VectorXf w = one(0);
  rule.place_and_apply(one(3), 0, w);
  rule.place_and_apply(one(6), 0, w);
  rule.set_iteration_size(2);
  auto closing = rule.place_and_apply(one(-3), 0, w);
  CHECK(closing.closed_iteration);
  CHECK(rule.single_momentum()[0] == 2.0f);
  // An early close (no gradient) is the same close.
  smega2 early(1, 3, {1.0, 0.5});
  early.place_and_apply(one(3), 0, w);
  early.place_and_apply(one(6), 0, w);
  early.set_iteration_size(2);
  auto closed = early.close_iteration();
  CHECK(closed.closed_iteration);
  CHECK_FALSE(closed.step_vector);
  CHECK(closed.coefficients.parameter_gradient_weight == 0.0f);
  CHECK(early.single_momentum()[0] == 4.5f);
  CHECK(early.accumulator()[0] == 0.0f);
}

TEST_CASE("smega2: warm-up weighs g in the step and in G") {
  // W = 2: the first arrival counts with weight 1/2.
  smega2 rule(1, 1, {1.0, 0.5});
  rule.set_warmup(2);
  Eigen::VectorXf w = one(0);
  auto first = rule.place_and_apply(one(4), 0, w);             // w = -2, m = 2
  CHECK(first.coefficients.parameter_gradient_weight == 1.0f); // unscaled
  CHECK(w[0] == -2.0f);
  CHECK(rule.single_momentum()[0] == 2.0f);
  rule.place_and_apply(one(4), 1, w); // full weight: w = -2 - (4 + 1) = -7
  CHECK(w[0] == -7.0f);
  CHECK(rule.single_momentum()[0] == 5.0f);
}

TEST_CASE("smega2: what it hands out never changes, and its state carries m, G "
          "and the position in the cycle") {
  random_source random(34);
  const Eigen::Index d = 4;
  smega2 original(d, 3, {0.1, 0.9});
  smega2 restored(d, 3, {0.1, 0.9});
  Eigen::VectorXf g = test::random_vector(random, d);
  auto held = original.place(g, 0);
  const Eigen::VectorXf step = *held.step_vector;
  const Eigen::VectorXf offset = *held.look_ahead;
  auto next = original.place(g, 0);
  CHECK(*held.step_vector == step);
  CHECK(*held.look_ahead == offset);
  CHECK(next.step_vector != held.step_vector);
  Eigen::VectorXf w = test::random_vector(random, d);
  for (int k = 0; k < 5; ++k) // 7 arrivals: one in the open cycle
    original.place_and_apply(test::random_vector(random, d),
                             original.iteration(), w);
  auto state = original.state();
  CHECK(state.arrivals == 1);
  REQUIRE(state.own_vectors.size() == 2);
  CHECK(state.own_vectors[0] == original.single_momentum());
  CHECK(state.own_vectors[1] == original.accumulator());
  CHECK(state.worker_vectors.empty());
  REQUIRE(restored.restore(state));
  Eigen::VectorXf w_restored = w;
  for (int k = 0; k < 8; ++k) {
    Eigen::VectorXf gradient = test::random_vector(random, d);
    auto a = original.place_and_apply(gradient, original.iteration(), w);
    auto b
      = restored.place_and_apply(gradient, restored.iteration(), w_restored);
    CHECK(a.closed_iteration == b.closed_iteration);
    CHECK((w.array() == w_restored.array()).all());
    CHECK((a.look_ahead->array() == b.look_ahead->array()).all());
  }
  // Refused: another number of own vectors, a wrong size, a NaN, or
  // vectors per worker.
  auto bad = original.state();
  bad.own_vectors.pop_back();
  CHECK(restored.restore(bad).message().find("1 own vectors")
        != std::string::npos);
  bad = original.state();
  bad.own_vectors[1] = Eigen::VectorXf::Zero(d - 1);
  CHECK_FALSE(restored.restore(bad));
  bad = original.state();
  bad.own_vectors[0][2] = std::numeric_limits<float>::quiet_NaN();
  CHECK_FALSE(restored.restore(bad));
  bad = original.state();
  bad.worker_vectors[1] = Eigen::VectorXf::Zero(d);
  CHECK(restored.restore(bad).message().find("keeps none")
        != std::string::npos);
}
