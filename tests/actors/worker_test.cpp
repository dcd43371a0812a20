// worker in virtual time: its speed, no barrier with a slow worker (and the
// barrier of the SSGDm reference), rejected gradients, several shards.
#include "ormo/actors/worker.hpp"

#include <map>

#include "actors/actor_testing.hpp"
#include "ormo/optim/ordered_momentum.hpp"
#include "ormo/optim/synchronous_momentum.hpp"

using namespace ormo;
using namespace ormo::actors;
using namespace ormo::actors::testing;
using std::chrono::milliseconds;

namespace {

constexpr int dimension = 6;

Eigen::VectorXf target() {
  return Eigen::VectorXf::LinSpaced(dimension, -1, 2);
}

std::unique_ptr<optim::update_rule> ormo_rule(std::size_t size = dimension,
                                              int iteration_size = 1) {
  optim::ordered_momentum_settings settings;
  settings.learning_rate = 0.05;
  settings.momentum = 0.9;
  return std::make_unique<optim::ordered_momentum>(size, iteration_size,
                                                   settings);
}

std::unique_ptr<optim::update_rule> ssgdm_rule() {
  optim::synchronous_momentum_settings settings;
  settings.learning_rate = 0.05;
  settings.momentum = 0.9;
  return std::make_unique<optim::synchronous_momentum>(dimension, 1, settings);
}

/// Accepted gradients per worker after `duration` of virtual time, with
/// one worker per entry of `slowdowns`, under `rule`.
std::map<worker_id, std::uint64_t>
accepted_after(caf::timespan duration, std::vector<double> slowdowns,
               std::unique_ptr<optim::update_rule> rule) {
  deterministic_system env;
  auto shard
    = spawn_shard(env, Eigen::VectorXf::Zero(dimension), std::move(rule));
  supervisor_settings settings;
  settings.shards = {shard};
  settings.initial_workers = static_cast<std::int32_t>(slowdowns.size());
  settings.make_source
    = [](std::size_t) -> source_result {
    return source_of<quadratic_source>(target());
  };
  settings.timing = [slowdowns](std::size_t slot) {
    return virtual_timing(slowdowns.at(slot));
  };
  env.track_supervisor(spawn_supervisor(env.sys(), std::move(settings)));
  env.run_for(duration);
  auto stats = env.ask<orderer_stats>(shard.orderer, stats_atom::value);
  CHECK(stats.rejected.empty());
  CHECK(stats.accepted == total(stats.accepted_by_worker));
  return stats.accepted_by_worker;
}

/// Registers `id` at every orderer, then spawns one worker of `source` on
/// `shards` and starts it.
worker_actor spawn_worker(deterministic_system& env, worker_id id,
                          std::vector<shard_route> shards,
                          std::shared_ptr<model::gradient_source> source,
                          worker_timing timing) {
  for (auto& route : shards)
    caf::anon_send(route.orderer, join_atom::value, id);
  return env.track(ormo::actors::spawn_worker(env.sys(), id, std::move(shards),
                                              std::move(source), timing));
}

/// Filled with the worker's exit reason once it ends.
std::shared_ptr<std::optional<caf::error>>
exit_reason_of(deterministic_system& env, const worker_actor& handle) {
  auto reason = std::make_shared<std::optional<caf::error>>();
  env.track(env.sys().spawn([=](caf::event_based_actor* self) {
    self->monitor(handle);
    self->set_down_handler([=](caf::down_msg& down) { *reason = down.reason; });
    return caf::behavior{[](int) {}};
  }));
  return reason;
}

} // namespace

TEST_CASE("worker: one gradient takes slowdown times the virtual compute") {
  deterministic_system env;
  auto shard = spawn_shard(env, Eigen::VectorXf::Zero(dimension), ormo_rule());
  auto source = std::make_shared<quadratic_source>(target());
  spawn_worker(env, 1, {shard}, source, virtual_timing(3, milliseconds(2)));
  env.run();
  // It pulled and computed at once; the push waits 6 ms.
  CHECK(source->calls == 1);
  CHECK(env.ask<orderer_stats>(shard.orderer, stats_atom::value).accepted == 0);
  env.run_for(milliseconds(5));
  CHECK(env.ask<orderer_stats>(shard.orderer, stats_atom::value).accepted == 0);
  env.run_for(milliseconds(1));
  CHECK(env.ask<orderer_stats>(shard.orderer, stats_atom::value).accepted == 1);
  env.run_for(milliseconds(54));
  auto stats = env.ask<orderer_stats>(shard.orderer, stats_atom::value);
  CHECK(stats.accepted == 10);
  CHECK(stats.iteration == 10);
  CHECK(source->calls == 11);
  // Each push carries the iteration the worker pulled: no delay alone.
  CHECK(stats.max_delay == 0);
}

TEST_CASE("worker: without a barrier a slow worker does not slow the others") {
  const auto interval = milliseconds(100);
  auto alone = accepted_after(interval, {1, 1, 1}, ormo_rule());
  CHECK(alone
        == std::map<worker_id, std::uint64_t>{{1, 100}, {2, 100}, {3, 100}});
  auto with_slow = accepted_after(interval, {1, 1, 1, 10}, ormo_rule());
  REQUIRE(with_slow.size() == 4);
  for (worker_id id = 1; id <= 3; ++id) {
    CAPTURE(id);
    CHECK(with_slow[id] + 1 >= alone[id]);
    CHECK(with_slow[id] <= alone[id] + 1);
  }
  CHECK(with_slow[4] == 10);

  // The synchronous reference waits for the slow worker every iteration.
  auto synchronous = accepted_after(interval, {1, 1, 1, 10}, ssgdm_rule());
  REQUIRE(synchronous.size() == 4);
  for (worker_id id = 1; id <= 3; ++id) {
    CAPTURE(id);
    CHECK(synchronous[id] <= 11);
    CHECK(synchronous[id] + 1 >= synchronous[4]);
  }
  CHECK(synchronous[4] == 10);
  // Without a slow worker the reference runs at full speed.
  auto synchronous_alone = accepted_after(interval, {1, 1, 1}, ssgdm_rule());
  CHECK(synchronous_alone
        == std::map<worker_id, std::uint64_t>{{1, 100}, {2, 100}, {3, 100}});
}

TEST_CASE("worker: speeds are measured per worker") {
  deterministic_system env;
  auto shard = spawn_shard(env, Eigen::VectorXf::Zero(dimension), ormo_rule());
  supervisor_settings settings;
  settings.shards = {shard};
  settings.initial_workers = 3;
  settings.speed_interval = milliseconds(200);
  settings.make_source
    = [](std::size_t) -> source_result {
    return source_of<quadratic_source>(target());
  };
  settings.timing
    = [](std::size_t slot) { return virtual_timing(slot == 2 ? 10 : 1); };
  auto supervisor_handle
    = env.track_supervisor(spawn_supervisor(env.sys(), std::move(settings)));
  env.run_for(milliseconds(401));
  auto m = env.ask<membership_stats>(supervisor_handle, stats_atom::value);
  REQUIRE(m.gradients_per_second.size() == 3);
  CHECK(m.gradients_per_second[1] == doctest::Approx(1000).epsilon(0.02));
  CHECK(m.gradients_per_second[2] == doctest::Approx(1000).epsilon(0.02));
  CHECK(m.gradients_per_second[3] == doctest::Approx(100).epsilon(0.06));
}

TEST_CASE("worker: rejected gradients are answered and the worker goes on") {
  deterministic_system env;
  auto shard = spawn_shard(env, Eigen::VectorXf::Zero(dimension), ormo_rule());
  auto bad = std::make_shared<nan_source>(target());
  auto good = std::make_shared<quadratic_source>(target());
  spawn_worker(env, 1, {shard}, bad, virtual_timing());
  spawn_worker(env, 2, {shard}, good, virtual_timing());
  env.run_for(milliseconds(20));
  auto stats = env.ask<orderer_stats>(shard.orderer, stats_atom::value);
  // Every NaN push was refused and answered (the worker pulled and computed
  // again each time); the other worker did not notice.
  CHECK(stats.rejected
        == std::map<rejection_reason, std::uint64_t>{
          {rejection_reason::non_finite_value, 20}});
  CHECK(stats.accepted_by_worker
        == std::map<worker_id, std::uint64_t>{{2, 20}});
  CHECK(stats.received == 40);
  CHECK(bad->calls == 21);
  auto w = env.ask<parameter_snapshot>(shard.server, pull_atom::value);
  CHECK(w.parameters->allFinite());
  CHECK(w.version == 20);
}

TEST_CASE("worker: a request that fails ends the worker with an error") {
  deterministic_system env;
  auto shard = spawn_shard(env, Eigen::VectorXf::Zero(dimension), ormo_rule());
  auto source = std::make_shared<quadratic_source>(target());
  auto handle = spawn_worker(env, 1, {shard}, source, virtual_timing());
  auto reason = exit_reason_of(env, handle);
  env.run_for(milliseconds(3));
  CHECK_FALSE(reason->has_value());
  caf::anon_send_exit(shard.orderer, caf::exit_reason::kill);
  env.run_for(milliseconds(3));
  REQUIRE(reason->has_value());
  CHECK(**reason);
}

namespace {

struct silent_server_state {
  std::vector<caf::typed_response_promise<push_outcome>> unanswered;
};

/// Answers pulls, never steps: every push through it stays unanswered.
parameter_server_actor::behavior_type silent_server(
  parameter_server_actor::stateful_pointer<silent_server_state> self) {
  return {
    [](pull_atom) {
      return parameter_snapshot{share(Eigen::VectorXf::Zero(dimension)), 0, 0};
    },
    [=](step_atom, const parameter_step&) -> caf::result<push_outcome> {
      auto& unanswered = self->state.unanswered;
      unanswered.push_back(self->make_response_promise<push_outcome>());
      return unanswered.back();
    },
  };
}

} // namespace

TEST_CASE("worker: a round unanswered for a request timeout ends the worker") {
  deterministic_system env;
  shard_route shard;
  shard.size = dimension;
  shard.server = env.track(env.sys().spawn(silent_server));
  shard.orderer = env.track(spawn_momentum_orderer(
    env.sys(), std::shared_ptr<optim::update_rule>(ormo_rule()),
    shard.server));
  auto timing = virtual_timing();
  timing.request_timeout = std::chrono::seconds(10);
  auto handle = spawn_worker(
    env, 1, {shard}, std::make_shared<quadratic_source>(target()), timing);
  auto reason = exit_reason_of(env, handle);
  // Its first push is never answered: alive after one timeout...
  env.run_for(std::chrono::seconds(9));
  CHECK_FALSE(reason->has_value());
  // ...and ended, with the timeout as the reason, before two.
  env.run_for(std::chrono::seconds(11));
  REQUIRE(reason->has_value());
  CHECK(*reason == caf::sec::request_timeout);
}

TEST_CASE("worker: a slow but answered worker outlives many timeouts") {
  deterministic_system env;
  auto shard = spawn_shard(env, Eigen::VectorXf::Zero(dimension), ormo_rule());
  auto timing = virtual_timing(1, std::chrono::seconds(3));
  timing.request_timeout = std::chrono::seconds(1);
  auto handle = spawn_worker(
    env, 1, {shard}, std::make_shared<quadratic_source>(target()), timing);
  auto reason = exit_reason_of(env, handle);
  // Each gradient takes 3 timeouts to compute; the answers come at once.
  env.run_for(std::chrono::seconds(30));
  CHECK_FALSE(reason->has_value());
  auto stats = env.ask<orderer_stats>(shard.orderer, stats_atom::value);
  CHECK(stats.accepted >= 9);
}

TEST_CASE("worker: two shards train like one") {
  // One worker, so the arrival order is fixed: the two-shard run must give
  // the one-shard run's parameters (OrMo is elementwise).
  auto run = [](int shard_count) {
    deterministic_system env;
    std::vector<shard_route> shards;
    const Eigen::Index half = dimension / 2;
    for (int s = 0; s < shard_count; ++s) {
      Eigen::Index offset = shard_count == 1 ? 0 : s * half;
      Eigen::Index size = shard_count == 1 ? dimension : half;
      shards.push_back(spawn_shard(env, Eigen::VectorXf::Zero(size),
                                   ormo_rule(static_cast<std::size_t>(size), 2),
                                   offset));
    }
    spawn_worker(env, 1, shards, std::make_shared<quadratic_source>(target()),
                 virtual_timing());
    env.run_for(milliseconds(100));
    Eigen::VectorXf w(dimension);
    for (auto& route : shards) {
      auto stats = env.ask<orderer_stats>(route.orderer, stats_atom::value);
      CHECK(stats.accepted == 100);
      CHECK(stats.iteration == 50);
      auto snapshot
        = env.ask<parameter_snapshot>(route.server, pull_atom::value);
      REQUIRE(static_cast<Eigen::Index>(snapshot.parameters.size())
              == route.size);
      w.segment(route.offset, route.size) = *snapshot.parameters;
    }
    return w;
  };
  const Eigen::VectorXf one = run(1);
  const Eigen::VectorXf two = run(2);
  CHECK(max_abs_difference(one, two) <= 1e-6);
  // And it learned: the distance to the target fell to a fraction.
  CHECK((one - target()).norm() < 0.05 * target().norm());
  CHECK(max_abs_difference(one, Eigen::VectorXf::Zero(dimension)) > 1);
}

TEST_CASE("worker: a NaN in one shard's slice is rejected by every shard") {
  deterministic_system env;
  const Eigen::Index half = dimension / 2;
  std::vector<shard_route> shards;
  for (Eigen::Index offset : {Eigen::Index{0}, half})
    shards.push_back(spawn_shard(env, Eigen::VectorXf::Zero(half),
                                 ormo_rule(static_cast<std::size_t>(half)),
                                 offset));
  // The NaN is in the first shard's slice; the second slice is finite.
  spawn_worker(env, 1, shards, std::make_shared<nan_source>(target()),
               virtual_timing());
  env.run_for(milliseconds(10));
  for (auto& route : shards) {
    auto stats = env.ask<orderer_stats>(route.orderer, stats_atom::value);
    CHECK(stats.accepted == 0);
    CHECK(stats.rejected
          == std::map<rejection_reason, std::uint64_t>{
            {rejection_reason::non_finite_value, 10}});
    auto w = env.ask<parameter_snapshot>(route.server, pull_atom::value);
    CHECK(w.version == 0);
    CHECK(*w.parameters == Eigen::VectorXf::Zero(half));
  }
}
