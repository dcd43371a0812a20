// momentum_orderer with its parameter_server: ordering through the actors
// equals the update rule driven directly (OrMo, and the rules with vectors
// of their own), rejections are answered and counted, the SSGDm barrier
// holds answers until the iteration closes, watches fire once, and a
// checkpoint carries the rule's own vectors.
#include "ormo/actors/momentum_orderer.hpp"
#include "ormo/actors/push_ledger.hpp"

#include <map>
#include <string>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/deep_to_string.hpp>

#include "actors/actor_testing.hpp"
#include "helpers.hpp"
#include "ormo/actors/checkpoint_store.hpp"
#include "ormo/actors/parameter_server.hpp"
#include "ormo/optim/make_update_rule.hpp"
#include "ormo/optim/ordered_momentum.hpp"
#include "ormo/optim/shifted_momentum.hpp"
#include "ormo/optim/smega2.hpp"
#include "ormo/optim/synchronous_momentum.hpp"
#include "ormo/random.hpp"

using namespace ormo;
using namespace ormo::actors;
using namespace ormo::actors::testing;

namespace {

constexpr int dimension = 5;

optim::ordered_momentum_settings ormo_settings(optim::apply_mode apply) {
  optim::ordered_momentum_settings settings;
  settings.learning_rate = 0.1;
  settings.momentum = 0.9;
  settings.apply = apply;
  return settings;
}

Eigen::VectorXf initial_parameters() {
  random_source random(7);
  return test::random_vector(random, dimension);
}

struct arrival {
  worker_id worker;
  iteration_index computed_at;
  Eigen::VectorXf gradient;
  float loss;
};

/// Two workers take turns; each gradient is computed at an iteration index
/// drawn in [t - 3, t] (t known from the arrivals so far, K = 2).
std::vector<arrival> mixed_schedule(int count) {
  random_source random(11);
  std::vector<arrival> result;
  for (int k = 0; k < count; ++k) {
    iteration_index t = k / 2;
    auto oldest = std::min<iteration_index>(t, 3);
    auto delay = static_cast<iteration_index>(
      random.below(static_cast<std::uint64_t>(oldest) + 1));
    result.push_back({static_cast<worker_id>(1 + (k + k / 3) % 2), t - delay,
                      test::random_vector(random, dimension),
                      static_cast<float>(random.uniform())});
  }
  return result;
}

/// A watcher that counts the milestones it receives and keeps the counters
/// of the last.
run_monitor_actor spawn_watcher(deterministic_system& env,
                                std::shared_ptr<int> milestones,
                                std::shared_ptr<orderer_stats> last) {
  return env.track(env.sys().spawn(
    [=](run_monitor_actor::pointer) -> run_monitor_actor::behavior_type {
      return {
        [](tick_atom) {},
        [=](milestone_atom, const orderer_stats& stats) {
          ++*milestones;
          *last = stats;
        },
        [](fault_atom, std::uint64_t) {},
      };
    }));
}

} // namespace

TEST_CASE("momentum_orderer: OrMo through the actors equals the rule") {
  for (auto apply :
       {optim::apply_mode::on_close, optim::apply_mode::on_arrival}) {
    CAPTURE(optim::to_string(apply));
    deterministic_system env;
    const auto settings = ormo_settings(apply);
    const Eigen::VectorXf initial = initial_parameters();
    auto shard = spawn_shard(
      env, initial,
      std::make_unique<optim::ordered_momentum>(dimension, 2, settings));
    caf::anon_send(shard.orderer, join_atom::value, worker_id{1});
    caf::anon_send(shard.orderer, join_atom::value, worker_id{2});
    env.run();

    optim::ordered_momentum reference(dimension, 2, settings);
    Eigen::VectorXf expected = initial;
    std::map<worker_id, std::uint64_t> sequence;
    std::map<worker_id, std::uint64_t> accepted_by_worker;
    std::uint64_t steps = 0;
    double delay_sum = 0;
    double loss_sum = 0;
    iteration_index max_delay = 0;
    std::map<iteration_index, std::uint64_t> delays;
    int stale = 0;
    Eigen::VectorXf previous = initial;
    const auto schedule = mixed_schedule(30);
    for (std::size_t k = 0; k < schedule.size(); ++k) {
      const auto& a = schedule[k];
      CAPTURE(k);
      auto placed
        = reference.place_and_apply(a.gradient, a.computed_at, expected);
      REQUIRE(placed.accepted());
      if (placed.coefficients.changes_parameters())
        ++steps;
      stale += placed.delay > 0 ? 1 : 0;
      delay_sum += static_cast<double>(placed.delay);
      loss_sum += a.loss;
      max_delay = std::max(max_delay, placed.delay);
      ++delays[placed.delay];
      ++accepted_by_worker[a.worker];

      auto outcome
        = env.ask<push_outcome>(shard.orderer, push_atom::value,
                                make_push(a.worker, ++sequence[a.worker],
                                          a.computed_at, a.gradient, a.loss));
      REQUIRE(outcome.accepted());
      CHECK(outcome.detail.empty());
      REQUIRE(outcome.snapshot.parameters.size() == dimension);
      const Eigen::VectorXf& answered = *outcome.snapshot.parameters;
      // The answer carries the parameters after this very gradient.
      CHECK(outcome.snapshot.iteration == placed.iteration);
      CHECK(outcome.snapshot.version == steps);
      CHECK(test::max_relative_error(answered, expected) <= 1e-6);
      if (apply == optim::apply_mode::on_arrival) {
        // Every gradient moves w at once by its own full weight.
        Eigen::VectorXf own
          = placed.coefficients.parameter_gradient_weight * a.gradient;
        CHECK(max_abs_difference(answered, previous) > 0);
        if (!placed.closed_iteration)
          CHECK(test::max_relative_error(previous - answered, own) <= 1e-6);
      } else if (placed.delay == 0 && !placed.closed_iteration) {
        // A current gradient moves w only when its iteration closes.
        CHECK(max_abs_difference(answered, previous) == 0);
      }
      previous = answered;

      auto pulled = env.ask<parameter_snapshot>(shard.server, pull_atom::value);
      CHECK(pulled.iteration == placed.iteration);
      CHECK(pulled.version == steps);
      CHECK(max_abs_difference(*pulled.parameters, answered) == 0);
    }
    CHECK(stale >= 8); // the schedule really mixes stale gradients in
    CHECK(reference.iteration() == 15);

    auto stats = env.ask<orderer_stats>(shard.orderer, stats_atom::value);
    CHECK(stats.iteration == reference.iteration());
    CHECK(stats.iteration_size == 2);
    CHECK(stats.received == schedule.size());
    CHECK(stats.accepted == schedule.size());
    CHECK(stats.rejected.empty());
    CHECK(stats.accepted_by_worker == accepted_by_worker);
    CHECK(stats.loss_count == schedule.size());
    CHECK(stats.loss_sum == doctest::Approx(loss_sum).epsilon(1e-6));
    CHECK(stats.delay_sum == delay_sum);
    CHECK(stats.max_delay == max_delay);
    CHECK(stats.delays == delays);
  }
}

namespace {

/// An OrMo shard (K = 2) whose orderer knows workers 1 and 2.
shard_route two_worker_shard(deterministic_system& env,
                             const Eigen::VectorXf& initial,
                             const optim::ordered_momentum_settings& settings) {
  auto shard = spawn_shard(
    env, initial,
    std::make_unique<optim::ordered_momentum>(dimension, 2, settings));
  caf::anon_send(shard.orderer, join_atom::value, worker_id{1});
  caf::anon_send(shard.orderer, join_atom::value, worker_id{2});
  env.run();
  return shard;
}

/// `push`, flagged with a non-finite value in another shard's slice.
gradient_push elsewhere_non_finite(gradient_push push) {
  push.first_non_finite = 1000;
  return push;
}

} // namespace

TEST_CASE("momentum_orderer: rejections are answered and counted") {
  deterministic_system env;
  const Eigen::VectorXf initial = initial_parameters();
  auto settings = ormo_settings(optim::apply_mode::on_arrival);
  auto shard = two_worker_shard(env, initial, settings);
  optim::ordered_momentum reference(dimension, 2, settings);
  Eigen::VectorXf expected = initial;
  random_source random(3);
  const Eigen::VectorXf g1 = test::random_vector(random, dimension);
  const Eigen::VectorXf g2 = test::random_vector(random, dimension);
  const Eigen::VectorXf g3 = test::random_vector(random, dimension);
  // Iteration 0 closes; worker 1's numbers may jump (5).
  reference.place_and_apply(g1, 0, expected);
  reference.place_and_apply(g2, 0, expected);
  REQUIRE(env
            .ask<push_outcome>(shard.orderer, push_atom::value,
                               make_push(1, 5, 0, g1))
            .accepted());
  REQUIRE(env
            .ask<push_outcome>(shard.orderer, push_atom::value,
                               make_push(2, 1, 0, g2))
            .accepted());
  const auto before
    = env.ask<parameter_snapshot>(shard.server, pull_atom::value);
  REQUIRE(before.iteration == 1);
  REQUIRE(test::max_relative_error(*before.parameters, expected) <= 1e-6);

  Eigen::VectorXf with_nan = g3;
  with_nan[2] = NAN;
  Eigen::VectorXf with_infinity = g3;
  with_infinity[4] = INFINITY;
  const Eigen::VectorXf too_long = Eigen::VectorXf::Ones(dimension + 1);
  struct bad_push {
    const char* what;
    gradient_push push;
    rejection_reason reason;
  };
  using reason = rejection_reason;
  std::vector<bad_push> bad{
    {"unknown worker", make_push(9, 1, 1, g3), reason::unknown_worker},
    {"sequence 0", make_push(1, 0, 1, g3), reason::duplicate_sequence},
    {"NaN", make_push(1, 6, 1, with_nan), reason::non_finite_value},
    {"infinity", make_push(2, 2, 1, with_infinity), reason::non_finite_value},
    {"wrong dimension", make_push(2, 3, 1, too_long),
     reason::dimension_mismatch},
    {"empty gradient", gradient_push{2, 4, 1, {}, -1, 0},
     reason::dimension_mismatch},
    {"NaN in another shard's slice",
     elsewhere_non_finite(make_push(2, 5, 1, g3)), reason::non_finite_value},
    {"future iteration", make_push(1, 7, 2, g3), reason::future_iteration},
    {"negative iteration", make_push(1, 8, -1, g3),
     reason::negative_iteration},
  };
  std::map<rejection_reason, std::uint64_t> expected_rejections;
  for (const auto& b : bad) {
    CAPTURE(b.what);
    auto outcome
      = env.ask<push_outcome>(shard.orderer, push_atom::value, b.push);
    CHECK_FALSE(outcome.accepted());
    CHECK(outcome.rejection == b.reason);
    CHECK_FALSE(outcome.detail.empty());
    CHECK(outcome.snapshot.parameters.empty());
    ++expected_rejections[b.reason];
    // Nothing moved.
    auto now = env.ask<parameter_snapshot>(shard.server, pull_atom::value);
    CHECK(now.iteration == 1);
    CHECK(now.version == before.version);
    CHECK(max_abs_difference(*now.parameters, *before.parameters) == 0);
  }
  auto stats = env.ask<orderer_stats>(shard.orderer, stats_atom::value);
  CHECK(stats.rejected == expected_rejections);
  CHECK(stats.received == 2 + bad.size());
  CHECK(stats.accepted == 2);
  CHECK(stats.received == stats.accepted + total(stats.rejected));
  CHECK(stats.iteration == 1);
  CHECK(stats.loss_count == 2);
  CHECK(stats.accepted_by_worker
        == std::map<worker_id, std::uint64_t>{{1, 1}, {2, 1}});

  // The rejections did not count as arrivals: the next gradient is the
  // first of iteration 1 (K = 2), so it does not close it.
  auto placed = reference.place_and_apply(g3, 1, expected);
  auto next = env.ask<push_outcome>(shard.orderer, push_atom::value,
                                    make_push(2, 9, 1, g3));
  REQUIRE(next.accepted());
  CHECK_FALSE(placed.closed_iteration);
  CHECK(next.snapshot.iteration == 1);
  CHECK(test::max_relative_error(*next.snapshot.parameters, expected) <= 1e-6);

  // After a leave, the worker is unknown.
  caf::anon_send(shard.orderer, leave_atom::value, worker_id{1});
  env.run();
  auto gone = env.ask<push_outcome>(shard.orderer, push_atom::value,
                                    make_push(1, 10, 1, g3));
  CHECK(gone.rejection == rejection_reason::unknown_worker);
  stats = env.ask<orderer_stats>(shard.orderer, stats_atom::value);
  CHECK(stats.rejected.at(rejection_reason::unknown_worker) == 2);
  CHECK(stats.accepted == 3);
  CHECK(stats.received == stats.accepted + total(stats.rejected));
  auto after = env.ask<parameter_snapshot>(shard.server, pull_atom::value);
  CHECK(max_abs_difference(*after.parameters, *next.snapshot.parameters) == 0);
}

TEST_CASE("momentum_orderer: a push received again gets its first answer "
          "and is applied once; a late one is placed") {
  deterministic_system env;
  const Eigen::VectorXf initial = initial_parameters();
  auto settings = ormo_settings(optim::apply_mode::on_arrival);
  auto shard = two_worker_shard(env, initial, settings);
  optim::ordered_momentum reference(dimension, 2, settings);
  Eigen::VectorXf expected = initial;
  random_source random(5);
  const Eigen::VectorXf g1 = test::random_vector(random, dimension);
  const Eigen::VectorXf g2 = test::random_vector(random, dimension);
  auto push = [&](worker_id worker, std::uint64_t sequence,
                  const Eigen::VectorXf& g) {
    return env.ask<push_outcome>(shard.orderer, push_atom::value,
                                 make_push(worker, sequence, 0, g));
  };
  auto stats = [&] {
    return env.ask<orderer_stats>(shard.orderer, stats_atom::value);
  };

  reference.place_and_apply(g1, 0, expected);
  auto first = push(1, 1, g1);
  REQUIRE(first.accepted());
  auto again = push(1, 1, g1);
  CHECK(again.accepted());
  CHECK(again.snapshot.version == first.snapshot.version);
  CHECK(max_abs_difference(*again.snapshot.parameters, expected) <= 1e-6f);
  CHECK(stats().duplicates == 1);
  CHECK(stats().received == 1);

  // A rejection is repeated with its reason and detail, counted once.
  Eigen::VectorXf with_nan = g2;
  with_nan[1] = NAN;
  auto refused = push(1, 2, with_nan);
  REQUIRE(refused.rejection == rejection_reason::non_finite_value);
  auto refused_again = push(1, 2, g2); // the link's copy decides nothing
  CHECK(refused_again.rejection == refused.rejection);
  CHECK(refused_again.detail == refused.detail);
  CHECK(stats().rejected.at(rejection_reason::non_finite_value) == 1);

  // Push 4 overtook push 3 (3 was lost and sent again): both are placed.
  reference.place_and_apply(g2, 0, expected);
  REQUIRE(push(1, 4, g2).accepted());
  reference.place_and_apply(g1, 0, expected);
  auto late = push(1, 3, g1);
  CHECK(late.accepted());
  CHECK(max_abs_difference(*late.snapshot.parameters, expected) <= 1e-6f);
  auto counts = stats();
  CHECK(counts.received == 4);
  CHECK(counts.accepted == 3);
  CHECK(counts.duplicates == 2);
  CHECK(counts.received == counts.accepted + total(counts.rejected));

  // Beyond the window a number is too old to tell: refused, never placed.
  for (std::uint64_t k = 1; k <= push_ledger::window + 1; ++k)
    REQUIRE(push(2, k, g2).accepted());
  const auto before
    = env.ask<parameter_snapshot>(shard.server, pull_atom::value);
  auto stale = push(2, 1, g2);
  CHECK(stale.rejection == rejection_reason::duplicate_sequence);
  CHECK(stale.detail.find("older than the last") != std::string::npos);
  CHECK(env.ask<parameter_snapshot>(shard.server, pull_atom::value).version
        == before.version);
}

TEST_CASE("momentum_orderer: under SSGDm a repeated push waits for the "
          "close like the first") {
  deterministic_system env;
  optim::synchronous_momentum_settings settings;
  settings.learning_rate = 0.1;
  settings.momentum = 0.9;
  auto shard = spawn_shard(
    env, initial_parameters(),
    std::make_unique<optim::synchronous_momentum>(dimension, 2, settings));
  caf::anon_send(shard.orderer, join_atom::value, worker_id{1});
  caf::anon_send(shard.orderer, join_atom::value, worker_id{2});
  env.run();
  const Eigen::VectorXf g = Eigen::VectorXf::Ones(dimension);
  auto first = env.request<push_outcome>(shard.orderer, push_atom::value,
                                         make_push(1, 1, 0, g));
  env.run();
  auto again = env.request<push_outcome>(shard.orderer, push_atom::value,
                                         make_push(1, 1, 0, g));
  env.run();
  CHECK_FALSE(first->arrived());
  CHECK_FALSE(again->arrived()); // held, like the first
  auto closing = env.request<push_outcome>(shard.orderer, push_atom::value,
                                           make_push(2, 1, 0, g));
  env.run();
  REQUIRE(closing->value);
  REQUIRE(first->value);
  REQUIRE(again->value);
  CHECK(again->value->accepted());
  CHECK(again->value->snapshot.iteration == 1);
  auto counts = env.ask<orderer_stats>(shard.orderer, stats_atom::value);
  CHECK(counts.accepted == 2);
  CHECK(counts.duplicates == 1);
  // Once the iteration closed, a repeat is answered at once.
  CHECK(env.ask<push_outcome>(shard.orderer, push_atom::value,
                              make_push(1, 1, 0, g))
          .accepted());
}

TEST_CASE("momentum_orderer: a join after a leave starts a new sequence") {
  deterministic_system env;
  auto shard = spawn_shard(
    env, initial_parameters(),
    std::make_unique<optim::ordered_momentum>(
      dimension, 1, ormo_settings(optim::apply_mode::on_arrival)));
  const Eigen::VectorXf g = Eigen::VectorXf::Ones(dimension);
  caf::anon_send(shard.orderer, join_atom::value, worker_id{4});
  env.run();
  CHECK(
    env
      .ask<push_outcome>(shard.orderer, push_atom::value, make_push(4, 1, 0, g))
      .accepted());
  // A second join of a member keeps its record: 1 is a repeat, answered
  // as the first time and not applied again.
  caf::anon_send(shard.orderer, join_atom::value, worker_id{4});
  env.run();
  const auto before
    = env.ask<parameter_snapshot>(shard.server, pull_atom::value);
  CHECK(
    env
      .ask<push_outcome>(shard.orderer, push_atom::value, make_push(4, 1, 1, g))
      .accepted());
  CHECK(env.ask<parameter_snapshot>(shard.server, pull_atom::value).version
        == before.version);
  CHECK(env.ask<orderer_stats>(shard.orderer, stats_atom::value).duplicates
        == 1);
  CHECK(
    env
      .ask<push_outcome>(shard.orderer, push_atom::value, make_push(4, 2, 1, g))
      .accepted());
}

TEST_CASE("momentum_orderer: resize sets K") {
  deterministic_system env;
  auto shard
    = spawn_shard(env, initial_parameters(),
                  std::make_unique<optim::ordered_momentum>(
                    dimension, 2, ormo_settings(optim::apply_mode::on_close)));
  caf::anon_send(shard.orderer, join_atom::value, worker_id{1});
  caf::anon_send(shard.orderer, resize_atom::value, std::int32_t{3});
  env.run();
  CHECK(env.ask<orderer_stats>(shard.orderer, stats_atom::value).iteration_size
        == 3);
  const Eigen::VectorXf g = Eigen::VectorXf::Ones(dimension);
  for (std::uint64_t s = 1; s <= 2; ++s)
    CHECK(env
            .ask<push_outcome>(shard.orderer, push_atom::value,
                               make_push(1, s, 0, g))
            .snapshot.iteration
          == 0);
  CHECK(
    env
      .ask<push_outcome>(shard.orderer, push_atom::value, make_push(1, 3, 0, g))
      .snapshot.iteration
    == 1);
  // K < 1 is ignored.
  caf::anon_send(shard.orderer, resize_atom::value, std::int32_t{0});
  caf::anon_send(shard.orderer, resize_atom::value, std::int32_t{-2});
  env.run();
  CHECK(env.ask<orderer_stats>(shard.orderer, stats_atom::value).iteration_size
        == 3);
}

TEST_CASE("momentum_orderer: SSGDm holds answers until the iteration closes") {
  deterministic_system env;
  const Eigen::VectorXf initial = initial_parameters();
  optim::synchronous_momentum_settings settings;
  settings.learning_rate = 0.2;
  settings.momentum = 0.5;
  auto shard = spawn_shard(
    env, initial,
    std::make_unique<optim::synchronous_momentum>(dimension, 2, settings));
  caf::anon_send(shard.orderer, join_atom::value, worker_id{1});
  caf::anon_send(shard.orderer, join_atom::value, worker_id{2});
  env.run();
  optim::synchronous_momentum reference(dimension, 2, settings);
  Eigen::VectorXf expected = initial;
  random_source random(5);

  for (iteration_index t = 0; t < 3; ++t) {
    CAPTURE(t);
    const Eigen::VectorXf g1 = test::random_vector(random, dimension);
    const Eigen::VectorXf g2 = test::random_vector(random, dimension);
    auto seq = static_cast<std::uint64_t>(t) + 1;
    auto first = env.request<push_outcome>(shard.orderer, push_atom::value,
                                           make_push(1, seq, t, g1));
    env.run();
    // The barrier: no answer yet, but nothing else is blocked.
    CHECK_FALSE(first->arrived());
    auto stats = env.ask<orderer_stats>(shard.orderer, stats_atom::value);
    CHECK(stats.accepted == static_cast<std::uint64_t>(2 * t + 1));
    auto pulled = env.ask<parameter_snapshot>(shard.server, pull_atom::value);
    CHECK(pulled.iteration == t);
    // A NaN from the other worker is answered at once and closes nothing.
    Eigen::VectorXf bad = g2;
    bad[0] = NAN;
    auto rejected = env.ask<push_outcome>(shard.orderer, push_atom::value,
                                          make_push(2, 100 * seq, t, bad));
    CHECK(rejected.rejection == rejection_reason::non_finite_value);
    CHECK_FALSE(first->arrived());
    // A stale gradient is refused by the reference, also at once.
    if (t > 0) {
      auto old = env.ask<push_outcome>(shard.orderer, push_atom::value,
                                       make_push(2, 100 * seq + 1, t - 1, g2));
      CHECK(old.rejection == rejection_reason::not_synchronous);
      CHECK_FALSE(first->arrived());
    }

    reference.place_and_apply(g1, t, expected);
    reference.place_and_apply(g2, t, expected);
    auto second = env.request<push_outcome>(shard.orderer, push_atom::value,
                                            make_push(2, 100 * seq + 2, t, g2));
    env.run();
    REQUIRE(first->value);
    REQUIRE(second->value);
    for (const auto* outcome : {&*first->value, &*second->value}) {
      REQUIRE(outcome->accepted());
      CHECK(outcome->snapshot.iteration == t + 1);
      CHECK(test::max_relative_error(*outcome->snapshot.parameters, expected)
            <= 1e-6);
    }
    // Both see the same new parameters.
    CHECK(max_abs_difference(*first->value->snapshot.parameters,
                             *second->value->snapshot.parameters)
          == 0);
  }
  auto stats = env.ask<orderer_stats>(shard.orderer, stats_atom::value);
  CHECK(stats.accepted == 6);
  CHECK(stats.iteration == 3);
  CHECK(stats.rejected.at(rejection_reason::non_finite_value) == 3);
  CHECK(stats.rejected.at(rejection_reason::not_synchronous) == 2);
}

namespace {

/// An OrMo shard (K = 2) with worker 1 registered, and a watcher of it.
struct watched_shard {
  deterministic_system env;
  shard_route shard = spawn_shard(
    env, initial_parameters(),
    std::make_unique<optim::ordered_momentum>(
      dimension, 2, ormo_settings(optim::apply_mode::on_arrival)));
  std::shared_ptr<int> milestones = std::make_shared<int>(0);
  std::shared_ptr<orderer_stats> last = std::make_shared<orderer_stats>();
  run_monitor_actor watcher = spawn_watcher(env, milestones, last);
  std::uint64_t sequence = 0;

  watched_shard() {
    caf::anon_send(shard.orderer, join_atom::value, worker_id{1});
    env.run();
  }

  void watch(bool stop_rule, std::uint64_t received,
             iteration_index iteration) {
    caf::anon_send(shard.orderer, watch_atom::value,
                   std::uint8_t{stop_rule ? stop_watch : evaluation_watch},
                   received, iteration, watcher);
    env.run();
  }

  /// Worker 1's next push of a gradient computed at `computed_at`.
  push_outcome push(iteration_index computed_at) {
    return env.ask<push_outcome>(
      shard.orderer, push_atom::value,
      make_push(1, ++sequence, computed_at, Eigen::VectorXf::Ones(dimension)));
  }
};

} // namespace

TEST_CASE("momentum_orderer: a watch fires once at its count") {
  watched_shard x;
  x.watch(false, 3, 0);
  auto push = [&](iteration_index i) { REQUIRE(x.push(i).accepted()); };
  push(0);
  push(0); // closes iteration 0
  CHECK(*x.milestones == 0);
  push(1); // third accepted
  CHECK(*x.milestones == 1);
  // With the counters at that moment.
  CHECK(x.last->received == 3);
  CHECK(x.last->accepted == 3);
  CHECK(x.last->iteration == 1);
  push(1);
  push(2);
  CHECK(*x.milestones == 1); // once
  // An iteration watch; a rejected push counts for nothing.
  x.watch(false, 0, 4);
  CHECK(*x.milestones == 1);
  CHECK(x.push(9).rejection == rejection_reason::future_iteration);
  push(2); // closes iteration 2
  push(3);
  CHECK(*x.milestones == 1);
  push(3); // closes iteration 3: t = 4
  CHECK(*x.milestones == 2);
  CHECK(x.last->iteration == 4);
  CHECK(x.last->rejected.at(rejection_reason::future_iteration) == 1);
  // A watch already reached fires at once.
  x.watch(false, 2, 0);
  CHECK(*x.milestones == 3);
}

TEST_CASE(
  "momentum_orderer: the stop watch and the evaluation watch are apart") {
  watched_shard x;
  x.watch(true, 4, 0);
  x.watch(false, 1, 0);
  auto push = [&] { REQUIRE(x.push(0).accepted()); };
  push();
  CHECK(*x.milestones == 1); // the evaluation point
  // Re-arming the evaluation watch (late: already reached, so it fires at
  // once) leaves the stop watch armed.
  x.watch(false, 1, 0);
  CHECK(*x.milestones == 2);
  push();
  push();
  CHECK(*x.milestones == 2);
  push(); // the fourth: the stop watch
  CHECK(*x.milestones == 3);
  CHECK(x.last->received == 4);
}

TEST_CASE("momentum_orderer: rejection reasons have stable names that parse "
          "back") {
  CHECK(std::string(to_string(rejection_reason::unknown_worker))
        == "unknown_worker");
  CHECK(std::string(to_string(rejection_reason::duplicate_sequence))
        == "duplicate_sequence");
  CHECK(std::string(to_string(rejection_reason::invalid_step))
        == "invalid_step");
  for (auto reason : all_rejection_reasons) {
    CAPTURE(to_string(reason));
    CHECK(parse_rejection_reason(to_string(reason)) == reason);
  }
  CHECK(parse_rejection_reason("none") == rejection_reason::none);
  CHECK_FALSE(parse_rejection_reason("no_such_reason").has_value());
  CHECK_FALSE(parse_rejection_reason("").has_value());
}

TEST_CASE("momentum_orderer: counts by reason survive serialization") {
  orderer_stats stats;
  stats.received = 9;
  stats.rejected[rejection_reason::duplicate_sequence] = 2;
  stats.rejected[rejection_reason::invalid_step] = 1;
  push_outcome outcome;
  outcome.rejection = rejection_reason::not_synchronous;
  outcome.detail = "old";
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::vector<char> buffer;
  caf::binary_serializer sink{sys, buffer};
  REQUIRE_FALSE(sink(stats, outcome));
  orderer_stats stats_copy;
  push_outcome outcome_copy;
  caf::binary_deserializer source{sys, buffer};
  REQUIRE_FALSE(source(stats_copy, outcome_copy));
  CHECK(stats_copy.received == 9);
  CHECK(stats_copy.rejected == stats.rejected);
  CHECK(outcome_copy.rejection == rejection_reason::not_synchronous);
  CHECK(outcome_copy.detail == "old");
  CHECK(caf::deep_to_string(outcome.rejection) == "not_synchronous");
}

TEST_CASE("momentum_orderer: only the synchronous reference holds pushes "
          "until the close") {
  optim::synchronous_momentum synchronous(dimension, 2, {});
  CHECK(synchronous.holds_pushes_until_close());
  for (auto apply :
       {optim::apply_mode::on_close, optim::apply_mode::on_arrival}) {
    optim::ordered_momentum ordered(dimension, 2, ormo_settings(apply));
    CHECK_FALSE(ordered.holds_pushes_until_close());
  }
}

namespace {

/// A rule of `name` for the shard (eta 0.1, beta 0.9).
std::unique_ptr<optim::update_rule> rule_named(optim::algorithm name,
                                               int iteration_size) {
  optim::algorithm_settings settings;
  settings.name = name;
  settings.learning_rate = 0.1;
  settings.momentum = 0.9;
  auto rule = optim::make_update_rule(settings, dimension, iteration_size);
  REQUIRE(rule.has_value());
  return std::move(rule).value();
}

/// A shard that writes its checkpoints to `directory` when asked, started
/// from `cut` (whose rule state `rule` is restored from) when there is one.
shard_route checkpointed_shard(deterministic_system& env,
                               const Eigen::VectorXf& initial,
                               std::unique_ptr<optim::update_rule> rule,
                               const std::string& directory,
                               const shard_checkpoint* cut = nullptr) {
  shard_checkpointing checkpointing;
  checkpointing.directory = directory;
  shard_route route;
  route.size = initial.size();
  route.server
    = env.track(cut != nullptr ? spawn_parameter_server(env.sys(), *cut)
                               : spawn_parameter_server(env.sys(), initial));
  if (cut != nullptr) {
    rule->keep_momentum_elsewhere();
    REQUIRE(rule->restore(cut->rule));
  }
  route.orderer = env.track(spawn_momentum_orderer(
    env.sys(), std::shared_ptr<optim::update_rule>(std::move(rule)),
    route.server, checkpointing, cut));
  return route;
}

/// Asks `shard` for a checkpoint and decodes it.
shard_checkpoint cut_of(deterministic_system& env, const shard_route& shard,
                        const std::string& directory) {
  auto iteration
    = env.ask<iteration_index>(shard.orderer, checkpoint_atom::value);
  checkpoint_store store(directory, 3);
  auto file = store.at(checkpoint_store::shard_series(0), iteration);
  REQUIRE_MESSAGE(file, file.error().message());
  auto cut = decode_shard_checkpoint(file->payload);
  REQUIRE_MESSAGE(cut, cut.error().message());
  return std::move(cut).value();
}

} // namespace

TEST_CASE("momentum_orderer: shifted-momentum and smega2 through the actors "
          "equal the rule") {
  for (auto name :
       {optim::algorithm::shifted_momentum, optim::algorithm::smega2}) {
    std::string rule = optim::to_string(name);
    CAPTURE(rule);
    deterministic_system env;
    const Eigen::VectorXf initial = initial_parameters();
    auto shard = spawn_shard(env, initial, rule_named(name, 2));
    caf::anon_send(shard.orderer, join_atom::value, worker_id{1});
    caf::anon_send(shard.orderer, join_atom::value, worker_id{2});
    env.run();
    auto reference = rule_named(name, 2);
    Eigen::VectorXf expected = initial;
    std::map<worker_id, std::uint64_t> sequence;
    int looked_ahead = 0;
    for (const auto& a : mixed_schedule(30)) {
      auto placed = reference->place_and_apply(a.gradient, a.computed_at,
                                               expected, a.worker);
      REQUIRE(placed.accepted());
      auto outcome
        = env.ask<push_outcome>(shard.orderer, push_atom::value,
                                make_push(a.worker, ++sequence[a.worker],
                                          a.computed_at, a.gradient, a.loss));
      REQUIRE(outcome.accepted());
      CHECK(outcome.snapshot.iteration == placed.iteration);
      // The pushing worker receives w, or smega2's estimate.
      Eigen::VectorXf receives = expected;
      if (placed.look_ahead) {
        receives -= *placed.look_ahead;
        ++looked_ahead;
      }
      CHECK(test::max_relative_error(*outcome.snapshot.parameters, receives)
            <= 1e-6);
      // A pull gets w itself (what the monitor evaluates).
      auto pulled = env.ask<parameter_snapshot>(shard.server, pull_atom::value);
      CHECK(pulled.iteration == placed.iteration);
      CHECK(pulled.version == outcome.snapshot.version);
      CHECK(test::max_relative_error(*pulled.parameters, expected) <= 1e-6);
    }
    CHECK(looked_ahead == (name == optim::algorithm::smega2 ? 30 : 0));
  }
}

TEST_CASE("momentum_orderer: a worker's momentum lives from its join to its "
          "leave, and a checkpoint carries it") {
  ormo::test::scratch_directory dir;
  deterministic_system env;
  const Eigen::VectorXf initial = initial_parameters();
  auto shard = checkpointed_shard(
    env, initial, rule_named(optim::algorithm::shifted_momentum, 2),
    dir.path().string());
  optim::shifted_momentum reference(dimension, 2, {0.1, 0.9});
  caf::anon_send(shard.orderer, join_atom::value, worker_id{1});
  caf::anon_send(shard.orderer, join_atom::value, worker_id{2});
  env.run();
  auto cut = cut_of(env, shard, dir.path().string());
  REQUIRE(cut.rule.worker_vectors.size() == 2); // created at the join
  CHECK(cut.rule.worker_vectors.at(1) == Eigen::VectorXf::Zero(dimension));
  random_source random(5);
  Eigen::VectorXf w = initial;
  for (std::uint64_t s = 1; s <= 3; ++s)
    for (worker_id worker : {1u, 2u}) {
      Eigen::VectorXf g = test::random_vector(random, dimension);
      auto i = reference.iteration();
      reference.place_and_apply(g, i, w, worker);
      REQUIRE(env
                .ask<push_outcome>(shard.orderer, push_atom::value,
                                   make_push(worker, s, i, g))
                .accepted());
    }
  caf::anon_send(shard.orderer, leave_atom::value, worker_id{1});
  caf::anon_send(shard.orderer, join_atom::value, worker_id{3});
  env.run();
  cut = cut_of(env, shard, dir.path().string());
  // Worker 1's d floats are gone, worker 3 starts from zero.
  REQUIRE(cut.rule.worker_vectors.size() == 2);
  CHECK(cut.rule.worker_vectors.count(1) == 0);
  CHECK((cut.rule.worker_vectors.at(2).array()
         == reference.worker_momentum(2).array())
          .all());
  CHECK(cut.rule.worker_vectors.at(3) == Eigen::VectorXf::Zero(dimension));
  CHECK((cut.parameters.array() == w.array()).all());
  CHECK(cut.rule.own_vectors.empty());
}

TEST_CASE("momentum_orderer: a shard restarted from its checkpoint goes on "
          "exactly as the one that never stopped") {
  for (auto name :
       {optim::algorithm::shifted_momentum, optim::algorithm::smega2}) {
    std::string rule = optim::to_string(name);
    CAPTURE(rule);
    ormo::test::scratch_directory dir;
    deterministic_system env;
    const Eigen::VectorXf initial = initial_parameters();
    // K = 3: the cut falls inside smega2's cycle (G and the count matter).
    auto shard
      = checkpointed_shard(env, initial, rule_named(name, 3), dir.file("a"));
    for (worker_id worker : {1u, 2u})
      caf::anon_send(shard.orderer, join_atom::value, worker);
    env.run();
    random_source random(8);
    std::map<worker_id, std::uint64_t> sequence;
    auto push_to = [&](const shard_route& to, worker_id worker,
                       std::uint64_t number, const Eigen::VectorXf& g) {
      auto t = env.ask<orderer_stats>(to.orderer, stats_atom::value).iteration;
      return env.ask<push_outcome>(to.orderer, push_atom::value,
                                   make_push(worker, number, t, g));
    };
    for (int k = 0; k < 7; ++k) {
      worker_id worker = 1 + k % 2;
      push_to(shard, worker, ++sequence[worker],
              test::random_vector(random, dimension));
    }
    auto cut = cut_of(env, shard, dir.file("a"));
    if (name == optim::algorithm::smega2) {
      CHECK(cut.rule.arrivals == 1); // 7 = 2 * 3 + 1
      REQUIRE(cut.rule.own_vectors.size() == 2);
      CHECK(cut.rule.own_vectors[1] != Eigen::VectorXf::Zero(dimension));
    } else {
      CHECK(cut.rule.worker_vectors.size() == 2);
    }
    auto restarted = checkpointed_shard(env, initial, rule_named(name, 3),
                                        dir.file("b"), &cut);
    for (int k = 7; k < 16; ++k) {
      CAPTURE(k);
      worker_id worker = 1 + k % 2;
      Eigen::VectorXf g = test::random_vector(random, dimension);
      auto number = ++sequence[worker];
      auto a = push_to(shard, worker, number, g);
      auto b = push_to(restarted, worker, number, g);
      REQUIRE(a.accepted());
      REQUIRE(b.accepted());
      CHECK(a.snapshot.iteration == b.snapshot.iteration);
      CHECK(a.snapshot.version == b.snapshot.version);
      CHECK((a.snapshot.parameters->array() == b.snapshot.parameters->array())
              .all());
    }
  }
}
