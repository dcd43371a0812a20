// parameter_server: immutable snapshots (copy-on-write, no copy per reader),
// steps on u and w (with and without a momentum offset), and the guard
// against invalid steps.
#include "ormo/actors/parameter_server.hpp"

#include <cmath>
#include <string>

#include "actors/actor_testing.hpp"
#include "helpers.hpp"

using namespace ormo;
using namespace ormo::actors;
using namespace ormo::actors::testing;

namespace {

Eigen::VectorXf vector_of(std::initializer_list<float> values) {
  Eigen::VectorXf result(static_cast<Eigen::Index>(values.size()));
  Eigen::Index j = 0;
  for (float v : values)
    result[j++] = v;
  return result;
}

parameter_step gradient_step(float weight, const Eigen::VectorXf& gradient,
                             iteration_index iteration) {
  parameter_step step;
  step.update.coefficients.parameter_gradient_weight = weight;
  step.gradient = share(gradient);
  step.iteration = iteration;
  return step;
}

} // namespace

TEST_CASE("parameter_server: a snapshot never changes after later steps") {
  deterministic_system env;
  const Eigen::VectorXf initial = vector_of({1, 2, 3, 4});
  auto server = env.track(spawn_parameter_server(env.sys(), initial));

  auto first = env.ask<parameter_snapshot>(server, pull_atom::value);
  CHECK(first.iteration == 0);
  CHECK(first.version == 0);
  CHECK(*first.parameters == initial);
  // Readers share one buffer: no copy per pull.
  auto second = env.ask<parameter_snapshot>(server, pull_atom::value);
  CHECK(second.parameters.values.get() == first.parameters.values.get());

  const Eigen::VectorXf g = vector_of({1, -1, 2, 0.5f});
  auto outcome = env.ask<push_outcome>(server, step_atom::value,
                                       gradient_step(0.5f, g, 1));
  REQUIRE(outcome.accepted());
  const Eigen::VectorXf stepped = initial - 0.5f * g;
  CHECK(*outcome.snapshot.parameters == stepped);
  CHECK(outcome.snapshot.iteration == 1);
  CHECK(outcome.snapshot.version == 1);
  // The old snapshots still hold the old values ...
  CHECK(*first.parameters == initial);
  CHECK(*second.parameters == initial);
  // ... while a new pull sees the new ones, in another buffer.
  auto third = env.ask<parameter_snapshot>(server, pull_atom::value);
  CHECK(*third.parameters == stepped);
  CHECK(third.iteration == 1);
  CHECK(third.version == 1);
  CHECK(third.parameters.values.get() != first.parameters.values.get());

  // The server keeps u: a step moves it (u = 0.5 g), then w by g and u.
  parameter_step both = gradient_step(2, g, 2);
  both.update.coefficients.momentum_gradient_weight = 0.5f;
  both.update.coefficients.parameter_momentum_weight = 0.5f;
  outcome = env.ask<push_outcome>(server, step_atom::value, both);
  const Eigen::VectorXf u = 0.5f * g;
  const Eigen::VectorXf stepped_twice = stepped - 2 * g - 0.5f * u;
  CHECK(*outcome.snapshot.parameters == stepped_twice);
  CHECK(*third.parameters == stepped);
  // u decays to 0.25 g, then w moves by it.
  parameter_step momentum_only;
  momentum_only.update.coefficients.momentum_decay = 0.5f;
  momentum_only.update.coefficients.parameter_momentum_weight = 1;
  momentum_only.iteration = 3;
  outcome = env.ask<push_outcome>(server, step_atom::value, momentum_only);
  CHECK(*outcome.snapshot.parameters == stepped_twice - 0.5f * u);
  CHECK(outcome.snapshot.version == 3);
  CHECK(*third.parameters == stepped);
  CHECK(*first.parameters == initial);

  // A step with no weight moves nothing and is no new version, but it
  // carries the iteration.
  parameter_step empty;
  empty.iteration = 4;
  outcome = env.ask<push_outcome>(server, step_atom::value, empty);
  CHECK(*outcome.snapshot.parameters == stepped_twice - 0.5f * u);
  CHECK(outcome.snapshot.version == 3);
  CHECK(outcome.snapshot.iteration == 4);
  // A step that moves only u (offset 0) leaves w and its version alone.
  parameter_step u_only = gradient_step(0, g, 5);
  u_only.update.coefficients.momentum_gradient_weight = 1;
  outcome = env.ask<push_outcome>(server, step_atom::value, u_only);
  CHECK(*outcome.snapshot.parameters == stepped_twice - 0.5f * u);
  CHECK(outcome.snapshot.version == 3);
  parameter_step apply_u;
  apply_u.update.coefficients.parameter_momentum_weight = 1;
  outcome = env.ask<push_outcome>(server, step_atom::value, apply_u);
  CHECK(
    test::max_relative_error(*outcome.snapshot.parameters,
                             (stepped_twice - 0.5f * u - (0.5f * u + g)).eval())
    < 1e-6);
}

TEST_CASE("parameter_server: steps go in place when no reader holds w") {
  deterministic_system env;
  auto server = env.track(
    spawn_parameter_server(env.sys(), Eigen::VectorXf::Zero(3).eval()));
  const Eigen::VectorXf g = Eigen::VectorXf::Ones(3);
  const Eigen::VectorXf* buffer = nullptr;
  {
    auto held = env.ask<parameter_snapshot>(server, pull_atom::value);
    buffer = held.parameters.values.get();
    // A reader holds w: the step goes to another buffer.
    auto outcome
      = env.ask<push_outcome>(server, step_atom::value, gradient_step(1, g, 0));
    CHECK(outcome.snapshot.parameters.values.get() != buffer);
    CHECK(*held.parameters == Eigen::VectorXf::Zero(3));
  }
  auto before = env.ask<parameter_snapshot>(server, pull_atom::value);
  const auto* current = before.parameters.values.get();
  before = {};
  // No reader: in place, and the retired buffer is reused next time.
  auto outcome
    = env.ask<push_outcome>(server, step_atom::value, gradient_step(1, g, 0));
  CHECK(outcome.snapshot.parameters.values.get() == current);
  CHECK(*outcome.snapshot.parameters == -2 * g);
  auto reused
    = env.ask<push_outcome>(server, step_atom::value, gradient_step(1, g, 0));
  CHECK(reused.snapshot.parameters.values.get() == buffer);
  CHECK(*reused.snapshot.parameters == -3 * g);
  CHECK(*outcome.snapshot.parameters == -2 * g);
}

TEST_CASE("parameter_server: a step of the wrong size is refused") {
  deterministic_system env;
  const Eigen::VectorXf initial = Eigen::VectorXf::LinSpaced(4, 1, 4);
  auto server = env.track(spawn_parameter_server(env.sys(), initial));
  auto outcome = env.ask<push_outcome>(
    server, step_atom::value, gradient_step(1, Eigen::VectorXf::Ones(5), 7));
  CHECK(outcome.rejection == rejection_reason::invalid_step);
  CHECK_FALSE(outcome.detail.empty());
  auto not_finite = gradient_step(1, Eigen::VectorXf::Ones(4), 7);
  not_finite.update.momentum_offset = std::nanf("");
  outcome = env.ask<push_outcome>(server, step_atom::value, not_finite);
  CHECK(outcome.rejection == rejection_reason::invalid_step);
  CHECK(outcome.detail.find("not finite") != std::string::npos);
  // A missing gradient is fine when no coefficient uses it.
  parameter_step no_gradient;
  no_gradient.update.coefficients.momentum_decay = 0.5f;
  outcome = env.ask<push_outcome>(server, step_atom::value, no_gradient);
  CHECK(outcome.accepted());
  outcome = env.ask<push_outcome>(
    server, step_atom::value, gradient_step(1, Eigen::VectorXf::Ones(4), 1));
  CHECK(outcome.accepted());
  auto now = env.ask<parameter_snapshot>(server, pull_atom::value);
  CHECK(*now.parameters == (initial.array() - 1).matrix());
  CHECK(now.iteration == 1);
  CHECK(now.version == 1);
}

TEST_CASE("parameter_server: held answers are all delivered at the close") {
  deterministic_system env;
  const Eigen::VectorXf initial = Eigen::VectorXf::Zero(2);
  auto server = env.track(spawn_parameter_server(env.sys(), initial));
  // Each held step adds 0.25 g to u; the close applies u = 0.5.
  parameter_step hold;
  hold.hold_until_close = true;
  hold.iteration = 0;
  hold.update.coefficients.momentum_gradient_weight = 0.25f;
  hold.gradient = share(Eigen::VectorXf::Ones(2));
  const Eigen::VectorXf u = Eigen::VectorXf::Constant(2, 0.5f);
  auto a = env.request<push_outcome>(server, step_atom::value, hold);
  auto b = env.request<push_outcome>(server, step_atom::value, hold);
  env.run();
  CHECK_FALSE(a->arrived());
  CHECK_FALSE(b->arrived());
  parameter_step close = hold;
  close.closed_iteration = true;
  close.iteration = 1;
  close.update = {};
  close.update.coefficients.parameter_momentum_weight = 1;
  auto c = env.request<push_outcome>(server, step_atom::value, close);
  env.run();
  for (const auto* r : {a.get(), b.get(), c.get()}) {
    REQUIRE(r->value);
    CHECK(r->value->accepted());
    CHECK(r->value->snapshot.iteration == 1);
    CHECK(*r->value->snapshot.parameters == -u);
  }
  // The next iteration holds again, from scratch.
  hold.iteration = 1;
  auto d = env.request<push_outcome>(server, step_atom::value, hold);
  env.run();
  CHECK_FALSE(d->arrived());
}

TEST_CASE("parameter_server: with a momentum offset w is base - offset * u") {
  deterministic_system env;
  const Eigen::VectorXf initial = vector_of({1, 2, 3});
  auto server = env.track(spawn_parameter_server(env.sys(), initial));
  const Eigen::VectorXf g = vector_of({1, -2, 4});
  auto held = env.ask<parameter_snapshot>(server, pull_atom::value);
  // An arrival: u = 0.5 g, base unmoved, w = base - u.
  parameter_step arrival = gradient_step(0, g, 0);
  arrival.update.coefficients.momentum_gradient_weight = 0.5f;
  arrival.update.momentum_offset = 1;
  auto outcome = env.ask<push_outcome>(server, step_atom::value, arrival);
  REQUIRE(outcome.accepted());
  CHECK(*outcome.snapshot.parameters == initial - 0.5f * g);
  CHECK(outcome.snapshot.version == 1);
  CHECK(*held.parameters == initial); // the reader's snapshot never changes
  // A close: u = 0.5 g + 0.5 g = g, base -= 1 * u, w = base - 0.9 u.
  parameter_step close = arrival;
  close.update.coefficients.parameter_momentum_weight = 1;
  close.update.momentum_offset = 0.9f;
  outcome = env.ask<push_outcome>(server, step_atom::value, close);
  CHECK(test::max_relative_error(*outcome.snapshot.parameters,
                                 (initial - g - 0.9f * g).eval())
        < 1e-6);
  // A stale gradient moves the base by its own weight too: u = 0.9 g + g,
  // base = initial - g - 2 g, w = base - u.
  parameter_step stale = gradient_step(2, g, 1);
  stale.update.coefficients.momentum_decay = 0.9f;
  stale.update.coefficients.momentum_gradient_weight = 1;
  stale.update.momentum_offset = 1;
  outcome = env.ask<push_outcome>(server, step_atom::value, stale);
  CHECK(test::max_relative_error(*outcome.snapshot.parameters,
                                 (initial - 3 * g - 1.9f * g).eval())
        < 1e-6);
  CHECK(outcome.snapshot.version == 3);
  auto now = env.ask<parameter_snapshot>(server, pull_atom::value);
  CHECK(*now.parameters == *outcome.snapshot.parameters);
}

TEST_CASE(
  "parameter_server: any sequence of offsets keeps w = base - offset * u") {
  deterministic_system env;
  const Eigen::VectorXf initial = vector_of({1, 2});
  auto server = env.track(spawn_parameter_server(env.sys(), initial));
  const Eigen::VectorXf g = vector_of({2, -4});
  // No offset: u = g, w unmoved (w is the base).
  parameter_step plain = gradient_step(0, g, 0);
  plain.update.coefficients.momentum_gradient_weight = 1;
  auto outcome = env.ask<push_outcome>(server, step_atom::value, plain);
  CHECK(*outcome.snapshot.parameters == initial);
  // An offset now: u = 1.5 g, w = initial - 0.5 u.
  parameter_step offset = plain;
  offset.update.coefficients.momentum_gradient_weight = 0.5f;
  offset.update.momentum_offset = 0.5f;
  outcome = env.ask<push_outcome>(server, step_atom::value, offset);
  CHECK(*outcome.snapshot.parameters == initial - 0.75f * g);
  // Back to no offset and a base step: w = base - 0.25 g.
  parameter_step back = gradient_step(0.25f, g, 1);
  outcome = env.ask<push_outcome>(server, step_atom::value, back);
  CHECK(*outcome.snapshot.parameters == initial - 0.25f * g);
}
