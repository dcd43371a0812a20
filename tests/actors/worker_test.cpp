// worker in virtual time: its speed, no barrier with a slow worker (and the
// barrier of the SSGDm reference), rejected gradients, several shards, and
// pipelined pushes (scripted shards whose answers the test writes).
#include "ormo/actors/worker.hpp"

#include <map>

#include "actors/actor_testing.hpp"
#include "ormo/actors/push_ledger.hpp"
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
  settings.make_source = [](std::size_t) -> source_result {
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
  settings.make_source = [](std::size_t) -> source_result {
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

TEST_CASE("worker: a shard that goes down and never restarts ends the "
          "worker at its request timeout") {
  deterministic_system env;
  auto shard = spawn_shard(env, Eigen::VectorXf::Zero(dimension), ormo_rule());
  auto source = std::make_shared<quadratic_source>(target());
  auto handle = spawn_worker(env, 1, {shard}, source, virtual_timing());
  auto reason = exit_reason_of(env, handle);
  env.run_for(milliseconds(3));
  CHECK_FALSE(reason->has_value());
  caf::anon_send_exit(shard.orderer, caf::exit_reason::kill);
  env.run_for(milliseconds(3));
  CHECK_FALSE(reason->has_value());       // waiting for the shard's restart
  env.run_for(std::chrono::seconds(121)); // twice the timeout, and a bit
  REQUIRE(reason->has_value());
  CHECK(**reason == caf::sec::request_timeout);
}

TEST_CASE("worker: told a restarted shard's route, it sends there what was "
          "unanswered, pulls its parameters and goes on") {
  deterministic_system env;
  auto shard = spawn_shard(env, Eigen::VectorXf::Zero(dimension), ormo_rule());
  auto source = std::make_shared<quadratic_source>(target());
  auto handle = spawn_worker(env, 1, {shard}, source, virtual_timing());
  auto reason = exit_reason_of(env, handle);
  env.run_for(milliseconds(5));
  auto before = env.ask<orderer_stats>(shard.orderer, stats_atom::value);
  REQUIRE(before.received > 0);
  caf::anon_send_exit(shard.orderer, caf::exit_reason::kill);
  caf::anon_send_exit(shard.server, caf::exit_reason::kill);
  env.run_for(milliseconds(3));
  // The restarted shard: afresh here (a checkpoint's state in a run).
  auto restarted
    = spawn_shard(env, Eigen::VectorXf::Zero(dimension), ormo_rule());
  caf::anon_send(restarted.orderer, join_atom::value, worker_id{1});
  caf::anon_send(handle, route_atom::value, std::uint64_t{0}, restarted.server,
                 restarted.orderer);
  env.run_for(milliseconds(10));
  CHECK_FALSE(reason->has_value());
  auto after = env.ask<orderer_stats>(restarted.orderer, stats_atom::value);
  // Its pushes go on at the new shard: the one left unanswered first (from
  // an iteration the new shard has not reached: rejected, then pulled).
  CHECK(after.received >= 5);
  CHECK(after.accepted >= 4);
  CHECK(after.rejected.size() <= 1);
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
    [](checkpoint_atom) {
      return caf::make_result(parameter_snapshot{}, shared_vector{},
                              shared_vector{});
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
    env.sys(), std::shared_ptr<optim::update_rule>(ormo_rule()), shard.server));
  auto timing = virtual_timing();
  timing.request_timeout = std::chrono::seconds(10);
  timing.retry_after = timing.request_timeout; // no retries
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

// -- pipelining (pushes_in_flight > 1) ---------------------------------------

namespace {

/// The other half of a scripted shard: what it saw, what it answers.
struct shard_script {
  /// Answers every pull (when pulls are not held).
  parameter_snapshot next_pull;
  /// Keep pulls unanswered until the server gets answer_atom.
  bool hold_pulls = false;
  int pulls = 0;
  /// Every push received, in order of arrival.
  std::vector<gradient_push> pushes;
  /// Pushes not answered yet, now and at most.
  std::size_t unanswered = 0;
  std::size_t max_unanswered = 0;

  void received(const gradient_push& push) {
    pushes.push_back(push);
    max_unanswered = std::max(max_unanswered, ++unanswered);
  }
};

/// The test's own message to a scripted actor.
using answer_atom = caf::atom_constant<caf::atom("answer")>;

/// `size` parameters all equal to `value`, at iteration and version `value`,
/// so a gradient source sees which snapshot it computes on.
parameter_snapshot snapshot_at(Eigen::Index size, int value) {
  return {share(Eigen::VectorXf::Constant(size, static_cast<float>(value))),
          value, static_cast<std::uint64_t>(value)};
}

push_outcome accepted_with(parameter_snapshot snapshot) {
  return {rejection_reason::none, {}, std::move(snapshot)};
}

push_outcome rejected_for(rejection_reason reason) {
  return {reason, "scripted", {}};
}

struct scripted_orderer_state {
  std::map<std::uint64_t, caf::response_promise> waiting;
};

/// Takes pushes and answers each only when the test sends it (answer_atom,
/// sequence, outcome).
caf::behavior
scripted_orderer(caf::stateful_actor<scripted_orderer_state>* self,
                 std::shared_ptr<shard_script> script) {
  return {
    [=](push_atom, gradient_push& push) {
      script->received(push);
      auto promise = self->make_response_promise();
      self->state.waiting.emplace(push.sequence, promise);
      return promise;
    },
    [=](answer_atom, std::uint64_t sequence, push_outcome& outcome) {
      auto waiting = self->state.waiting.find(sequence);
      if (waiting == self->state.waiting.end())
        return;
      waiting->second.deliver(std::move(outcome));
      self->state.waiting.erase(waiting);
      --script->unanswered;
    },
  };
}

struct scripted_server_state {
  std::vector<caf::typed_response_promise<parameter_snapshot>> held;
};

/// Answers pulls with the script's next_pull, at once or (hold_pulls) when
/// it gets answer_atom.
caf::behavior scripted_server(caf::stateful_actor<scripted_server_state>* self,
                              std::shared_ptr<shard_script> script) {
  return {
    [=](pull_atom) -> caf::result<parameter_snapshot> {
      ++script->pulls;
      if (!script->hold_pulls)
        return script->next_pull;
      self->state.held.push_back(
        self->make_response_promise<parameter_snapshot>());
      return self->state.held.back();
    },
    [=](answer_atom) {
      for (auto& promise : self->state.held)
        promise.deliver(script->next_pull);
      self->state.held.clear();
    },
  };
}

/// A shard whose answers the test writes.
struct scripted_shard {
  shard_route route;
  caf::actor orderer;
  caf::actor server;
  std::shared_ptr<shard_script> script;

  void answer(std::uint64_t sequence, push_outcome outcome) const {
    caf::anon_send(orderer, answer_atom::value, sequence, std::move(outcome));
  }
  void release_pulls() const { caf::anon_send(server, answer_atom::value); }
};

scripted_shard spawn_scripted_shard(deterministic_system& env,
                                    Eigen::Index size,
                                    Eigen::Index offset = 0) {
  scripted_shard shard;
  shard.script = std::make_shared<shard_script>();
  shard.script->next_pull = snapshot_at(size, 0);
  shard.server = env.track(env.sys().spawn(scripted_server, shard.script));
  shard.orderer = env.track(env.sys().spawn(scripted_orderer, shard.script));
  shard.route.offset = offset;
  shard.route.size = size;
  shard.route.server = caf::actor_cast<parameter_server_actor>(shard.server);
  shard.route.orderer = caf::actor_cast<momentum_orderer_actor>(shard.orderer);
  return shard;
}

struct delaying_state {
  std::map<std::uint64_t, std::pair<caf::response_promise, push_outcome>> ready;
  std::uint64_t next = 0;
};

/// In front of a real orderer: answers each push `latency` of virtual time
/// after the orderer did (a slow link back to the worker).
caf::behavior delaying_orderer(caf::stateful_actor<delaying_state>* self,
                               momentum_orderer_actor orderer,
                               caf::timespan latency,
                               std::shared_ptr<shard_script> script) {
  return {
    [=](push_atom, gradient_push& push) {
      script->received(push);
      auto promise = self->make_response_promise();
      auto id = self->state.next++;
      self->request(orderer, caf::infinite, push_atom::value, std::move(push))
        .then([=](push_outcome& outcome) {
          self->state.ready.emplace(
            id, std::make_pair(promise, std::move(outcome)));
          self->delayed_send(self, latency, answer_atom::value, id);
        });
      return promise;
    },
    [=](answer_atom, std::uint64_t id) {
      auto ready = self->state.ready.find(id);
      if (ready == self->state.ready.end())
        return;
      ready->second.first.deliver(std::move(ready->second.second));
      self->state.ready.erase(ready);
      --script->unanswered;
    },
  };
}

/// A quadratic_source that keeps the parameters of each call.
class recording_source : public quadratic_source {
public:
  using quadratic_source::quadratic_source;

  float compute(Eigen::Ref<const Eigen::VectorXf> parameters,
                Eigen::Ref<Eigen::VectorXf> gradient) override {
    seen.emplace_back(parameters);
    return quadratic_source::compute(parameters, gradient);
  }

  std::vector<Eigen::VectorXf> seen;
};

/// virtual_timing() with up to `pushes` pushes in flight.
worker_timing pipelined(int pushes) {
  auto timing = virtual_timing();
  timing.pushes_in_flight = pushes;
  return timing;
}

} // namespace

TEST_CASE("worker: at most pushes_in_flight pushes await their answers") {
  for (int n : {1, 2, 3, 8}) {
    CAPTURE(n);
    deterministic_system env;
    auto shard = spawn_scripted_shard(env, dimension);
    auto source = std::make_shared<recording_source>(target());
    env.track(ormo::actors::spawn_worker(env.sys(), 1, {shard.route}, source,
                                         pipelined(n)));
    // Nothing is answered: n gradients on the pulled parameters, then none.
    env.run_for(milliseconds(100));
    const auto& pushes = shard.script->pushes;
    CHECK(pushes.size() == static_cast<std::size_t>(n));
    CHECK(source->calls == n);
    CHECK(shard.script->pulls == 1);
    // Answer push k with the parameters of iteration k: each gradient after
    // the first n is computed on the newest answer, the others before any.
    for (std::uint64_t k = 1; k <= 20; ++k) {
      shard.answer(k,
                   accepted_with(snapshot_at(dimension, static_cast<int>(k))));
      env.run_for(milliseconds(10));
      CHECK(shard.script->unanswered == static_cast<std::size_t>(n));
    }
    CHECK(shard.script->max_unanswered == static_cast<std::size_t>(n));
    REQUIRE(pushes.size() == static_cast<std::size_t>(n) + 20);
    CHECK(static_cast<std::size_t>(source->calls) == pushes.size());
    for (std::size_t j = 0; j < pushes.size(); ++j) {
      CAPTURE(j);
      auto expected = static_cast<iteration_index>(
        j < static_cast<std::size_t>(n) ? 0
                                        : j - static_cast<std::size_t>(n) + 1);
      CHECK(pushes[j].sequence == j + 1);
      CHECK(pushes[j].computed_at == expected);
      CHECK(source->seen[j][0] == static_cast<float>(expected));
    }
    CHECK(shard.script->pulls == 1);
  }
}

TEST_CASE("worker: pipelining hides the answers' latency") {
  // 1 ms to compute, 3 ms until an answer comes back: one push in flight
  // gives a gradient per 4 ms, two per 4 ms with two, one per ms with four.
  auto accepted_with_pushes = [](int n) {
    deterministic_system env;
    auto real = spawn_shard(env, Eigen::VectorXf::Zero(dimension), ormo_rule());
    auto script = std::make_shared<shard_script>();
    auto route = real;
    route.orderer
      = caf::actor_cast<momentum_orderer_actor>(env.track(env.sys().spawn(
        delaying_orderer, real.orderer, milliseconds(3), script)));
    caf::anon_send(real.orderer, join_atom::value, worker_id{1});
    env.track(ormo::actors::spawn_worker(
      env.sys(), 1, {route}, std::make_shared<quadratic_source>(target()),
      pipelined(n)));
    env.run_for(milliseconds(100));
    // With four, an answer is back by the time the fourth push goes out.
    CHECK(script->max_unanswered == static_cast<std::size_t>(std::min(n, 3)));
    auto stats = env.ask<orderer_stats>(real.orderer, stats_atom::value);
    CHECK(stats.rejected.empty());
    CHECK(stats.accepted == script->pushes.size());
    return stats.accepted;
  };
  auto one = accepted_with_pushes(1);
  auto two = accepted_with_pushes(2);
  auto four = accepted_with_pushes(4);
  CHECK(one >= 24);
  CHECK(one <= 26);
  CHECK(two >= 48);
  CHECK(two <= 51);
  CHECK(four >= 96);
  CHECK(four <= 100);
}

TEST_CASE("worker: a pipelined gradient carries the iteration it was "
          "computed at") {
  // One worker, answers at once: each gradient is computed while the answer
  // to the previous push is on its way, so on parameters one step old.
  auto run = [](int n) {
    deterministic_system env;
    auto shard
      = spawn_shard(env, Eigen::VectorXf::Zero(dimension), ormo_rule());
    spawn_worker(env, 1, {shard}, std::make_shared<quadratic_source>(target()),
                 pipelined(n));
    env.run_for(milliseconds(100));
    auto stats = env.ask<orderer_stats>(shard.orderer, stats_atom::value);
    CHECK(stats.rejected.empty());
    CHECK(stats.accepted == 100);
    auto w = env.ask<parameter_snapshot>(shard.server, pull_atom::value);
    return std::make_pair(stats, Eigen::VectorXf(*w.parameters));
  };
  auto [alone, w_alone] = run(1);
  CHECK(alone.max_delay == 0);
  CHECK(alone.delay_sum == 0);
  auto [pipelined_stats, w_pipelined] = run(2);
  // The first gradient is computed before any push, every later one at the
  // parameters before the last step.
  CHECK(pipelined_stats.max_delay == 1);
  CHECK(pipelined_stats.delay_sum == 99);
  // It learns all the same.
  CHECK((w_pipelined - target()).norm() < 0.05 * target().norm());
  CHECK(max_abs_difference(w_alone, w_pipelined) > 0);
}

TEST_CASE("worker: a rejected shard is pulled before the worker computes "
          "on it again") {
  deterministic_system env;
  auto shard = spawn_scripted_shard(env, dimension);
  auto source = std::make_shared<recording_source>(target());
  auto handle = env.track(ormo::actors::spawn_worker(
    env.sys(), 1, {shard.route}, source, pipelined(3)));
  env.run_for(milliseconds(10));
  const auto& pushes = shard.script->pushes;
  REQUIRE(pushes.size() == 3);
  // Push 1 and 2 accepted, 3 rejected, at once: the worker computes on 5 as
  // soon as the first answer frees a credit, keeps 6, then pulls.
  shard.script->hold_pulls = true;
  shard.script->next_pull = snapshot_at(dimension, 9);
  shard.answer(1, accepted_with(snapshot_at(dimension, 5)));
  shard.answer(2, accepted_with(snapshot_at(dimension, 6)));
  shard.answer(3, rejected_for(rejection_reason::future_iteration));
  env.run_for(milliseconds(10));
  REQUIRE(pushes.size() == 4);
  CHECK(pushes[3].computed_at == 5);
  CHECK(shard.script->pulls == 2);
  // Two credits are free and it holds parameters, but not fresh ones: it
  // waits for the pull.
  CHECK(source->calls == 4);
  shard.release_pulls();
  env.run_for(milliseconds(10));
  REQUIRE(pushes.size() == 6);
  CHECK(pushes[4].computed_at == 9);
  CHECK(pushes[5].computed_at == 9);
  CHECK(source->calls == 6);
  // An answer older than the parameters it had is not taken: it pulls.
  shard.script->hold_pulls = false;
  shard.script->next_pull = snapshot_at(dimension, 11);
  shard.answer(4, accepted_with(snapshot_at(dimension, 8)));
  env.run_for(milliseconds(10));
  REQUIRE(pushes.size() == 7);
  CHECK(pushes[6].computed_at == 11);
  CHECK(shard.script->pulls == 3);
  CHECK(source->seen[6][0] == 11);
  auto reason = exit_reason_of(env, handle);
  env.run();
  CHECK_FALSE(reason->has_value());
}

TEST_CASE("worker: partial gradients are reported per push when several are "
          "in flight") {
  deterministic_system env;
  const Eigen::Index half = dimension / 2;
  auto a = spawn_scripted_shard(env, half, 0);
  auto b = spawn_scripted_shard(env, half, half);
  auto reports = std::make_shared<std::vector<std::vector<rejection_reason>>>();
  auto recorder = env.track(env.sys().spawn([=](caf::event_based_actor*) {
    return caf::behavior{
      [=](partial_atom, std::vector<rejection_reason>& outcomes) {
        reports->push_back(std::move(outcomes));
      }};
  }));
  env.track(ormo::actors::spawn_worker(
    env.sys(), 1, {a.route, b.route},
    std::make_shared<quadratic_source>(target()), pipelined(2),
    caf::actor_cast<supervisor_actor>(recorder)));
  env.run_for(milliseconds(10));
  REQUIRE(a.script->pushes.size() == 2);
  REQUIRE(b.script->pushes.size() == 2);
  // Push 1: a applies it, b rejects it; push 2 the other way round. The
  // answers interleave; each push is reported once all its answers are in.
  a.answer(1, accepted_with(snapshot_at(half, 1)));
  env.run();
  b.answer(2, accepted_with(snapshot_at(half, 1)));
  env.run();
  CHECK(reports->empty());
  a.answer(2, rejected_for(rejection_reason::future_iteration));
  env.run();
  REQUIRE(reports->size() == 1);
  CHECK(reports->back()
        == std::vector<rejection_reason>{rejection_reason::future_iteration,
                                         rejection_reason::none});
  b.answer(1, rejected_for(rejection_reason::unknown_worker));
  env.run();
  REQUIRE(reports->size() == 2);
  CHECK(reports->back()
        == std::vector<rejection_reason>{rejection_reason::none,
                                         rejection_reason::unknown_worker});
  // Each rejecting shard was pulled again once its push was fully answered.
  CHECK(a.script->pulls == 2);
  CHECK(b.script->pulls == 2);
}

TEST_CASE("worker: leaving, a pipelined worker finishes its pushes in "
          "flight and computes no new gradient") {
  deterministic_system env;
  auto shard = spawn_scripted_shard(env, dimension);
  auto source = std::make_shared<quadratic_source>(target());
  auto handle = env.track(ormo::actors::spawn_worker(
    env.sys(), 1, {shard.route}, source, pipelined(3)));
  auto reason = exit_reason_of(env, handle);
  env.run_for(milliseconds(10));
  REQUIRE(shard.script->pushes.size() == 3);
  // An answer frees a credit: the fourth gradient is computed, its push is
  // due in 1 ms, when the worker is told to leave.
  shard.answer(1, accepted_with(snapshot_at(dimension, 1)));
  env.run();
  CHECK(source->calls == 4);
  caf::anon_send(handle, leave_atom::value);
  env.run_for(milliseconds(10));
  // It pushed the gradient in progress and waits for three answers.
  CHECK(shard.script->pushes.size() == 4);
  for (std::uint64_t k = 2; k <= 4; ++k) {
    CAPTURE(k);
    CHECK_FALSE(reason->has_value());
    shard.answer(k, accepted_with(snapshot_at(dimension, static_cast<int>(k))));
    env.run_for(milliseconds(10));
    CHECK(source->calls == 4);
  }
  REQUIRE(reason->has_value());
  CHECK_FALSE(**reason);
  CHECK(shard.script->pushes.size() == 4);
}

TEST_CASE("worker: pipelined counts add up over workers, shards and "
          "rejections") {
  deterministic_system env;
  const Eigen::Index half = dimension / 2;
  std::vector<shard_route> shards;
  for (Eigen::Index offset : {Eigen::Index{0}, half})
    shards.push_back(spawn_shard(env, Eigen::VectorXf::Zero(half),
                                 ormo_rule(static_cast<std::size_t>(half)),
                                 offset));
  auto good = std::make_shared<quadratic_source>(target());
  auto other = std::make_shared<quadratic_source>(target());
  auto bad = std::make_shared<nan_source>(target());
  std::vector<worker_actor> handles{
    spawn_worker(env, 1, shards, good, pipelined(3)),
    spawn_worker(env, 2, shards, other, pipelined(2)),
    spawn_worker(env, 3, shards, bad, pipelined(3))};
  std::vector<std::shared_ptr<std::optional<caf::error>>> reasons;
  for (const auto& handle : handles)
    reasons.push_back(exit_reason_of(env, handle));
  env.run_for(milliseconds(50));
  for (const auto& handle : handles)
    caf::anon_send(handle, leave_atom::value);
  env.run_for(milliseconds(10));
  for (const auto& reason : reasons) {
    REQUIRE(reason->has_value());
    CHECK_FALSE(**reason);
  }
  // Each gradient computed was pushed to both shards and answered: applied
  // by both, or (the NaN ones) rejected by both.
  CHECK(good->calls >= 49);
  CHECK(other->calls >= 49);
  CHECK(bad->calls >= 49);
  for (const auto& route : shards) {
    auto stats = env.ask<orderer_stats>(route.orderer, stats_atom::value);
    CHECK(
      stats.received
      == static_cast<std::uint64_t>(good->calls + other->calls + bad->calls));
    CHECK(stats.accepted_by_worker
          == std::map<worker_id, std::uint64_t>{
            {1, static_cast<std::uint64_t>(good->calls)},
            {2, static_cast<std::uint64_t>(other->calls)}});
    CHECK(stats.accepted == total(stats.accepted_by_worker));
    CHECK(stats.rejected
          == std::map<rejection_reason, std::uint64_t>{
            {rejection_reason::non_finite_value,
             static_cast<std::uint64_t>(bad->calls)}});
  }
}

TEST_CASE("worker: pipelined pushes unanswered for a request timeout end "
          "the worker") {
  deterministic_system env;
  shard_route shard;
  shard.size = dimension;
  shard.server = env.track(env.sys().spawn(silent_server));
  shard.orderer = env.track(spawn_momentum_orderer(
    env.sys(), std::shared_ptr<optim::update_rule>(ormo_rule()), shard.server));
  auto timing = pipelined(2);
  timing.request_timeout = std::chrono::seconds(10);
  timing.retry_after = timing.request_timeout; // no retries
  auto source = std::make_shared<quadratic_source>(target());
  auto handle = spawn_worker(env, 1, {shard}, source, timing);
  auto reason = exit_reason_of(env, handle);
  env.run_for(std::chrono::seconds(9));
  CHECK_FALSE(reason->has_value());
  // Two pushes went out, the third waits for a credit.
  CHECK(source->calls == 2);
  CHECK(env.ask<orderer_stats>(shard.orderer, stats_atom::value).received == 2);
  env.run_for(std::chrono::seconds(11));
  REQUIRE(reason->has_value());
  CHECK(*reason == caf::sec::request_timeout);
}

namespace {

/// What a lossy link in front of an orderer loses.
struct losses {
  /// Pushes dropped on their way in (the orderer never sees them).
  int requests = 0;
  /// Answers dropped on their way back (the orderer decided).
  int answers = 0;
};

struct lossy_link_state {
  std::vector<caf::typed_response_promise<push_outcome>> never_answered;
};

/// In front of `orderer`: loses pushes or answers as `lose` says, passes
/// everything else on.
momentum_orderer_actor::behavior_type
lossy_link(momentum_orderer_actor::stateful_pointer<lossy_link_state> self,
           momentum_orderer_actor orderer, std::shared_ptr<losses> lose) {
  return {
    [=](push_atom, gradient_push& push) -> caf::result<push_outcome> {
      if (lose->requests > 0) {
        --lose->requests;
        self->state.never_answered.push_back(
          self->make_response_promise<push_outcome>());
        return self->state.never_answered.back();
      }
      if (lose->answers > 0) {
        --lose->answers;
        self->request(orderer, caf::infinite, push_atom::value, push)
          .then([](push_outcome&) {});
        self->state.never_answered.push_back(
          self->make_response_promise<push_outcome>());
        return self->state.never_answered.back();
      }
      return self->delegate(orderer, push_atom::value, std::move(push));
    },
    [=](join_atom, worker_id w) { self->send(orderer, join_atom::value, w); },
    [=](leave_atom, worker_id w) { self->send(orderer, leave_atom::value, w); },
    [=](resize_atom, std::int32_t k) {
      self->send(orderer, resize_atom::value, k);
    },
    [=](stats_atom) { return self->delegate(orderer, stats_atom::value); },
    [=](watch_atom, std::uint8_t slot, std::uint64_t received,
        iteration_index iteration, run_monitor_actor watcher) {
      self->send(orderer, watch_atom::value, slot, received, iteration,
                 std::move(watcher));
    },
    [=](checkpoint_atom) {
      return self->delegate(orderer, checkpoint_atom::value);
    },
    [=](fault_atom, run_monitor_actor& watcher) {
      self->send(orderer, fault_atom::value, std::move(watcher));
    },
    [=](route_atom, const caf::actor&) {},
  };
}

} // namespace

TEST_CASE("worker: a push or an answer lost on the way is sent again, "
          "applied once, and the worker goes on") {
  for (bool answer_lost : {false, true}) {
    CAPTURE(answer_lost);
    deterministic_system env;
    auto shard
      = spawn_shard(env, Eigen::VectorXf::Zero(dimension), ormo_rule());
    auto lose = std::make_shared<losses>();
    (answer_lost ? lose->answers : lose->requests) = 1;
    auto real_orderer = shard.orderer;
    shard.orderer
      = env.track(env.sys().spawn(lossy_link, real_orderer, lose));
    auto timing = virtual_timing();
    timing.request_timeout = std::chrono::seconds(10);
    timing.retry_after = std::chrono::seconds(1);
    auto source = std::make_shared<quadratic_source>(target());
    auto handle = spawn_worker(env, 1, {shard}, source, timing);
    auto reason = exit_reason_of(env, handle);
    // The first push is lost; within two retry periods it is sent again,
    // answered, and the worker computes on.
    env.run_for(std::chrono::milliseconds(2500));
    CHECK_FALSE(reason->has_value());
    CHECK(source->calls > 100);
    auto stats = env.ask<orderer_stats>(real_orderer, stats_atom::value);
    // Every gradient decided once: the lost push too (placed when it came
    // again), the lost answer's push not twice.
    CHECK(stats.accepted == stats.received);
    CHECK(stats.duplicates == (answer_lost ? 1u : 0u));
    CHECK(stats.received + 1 >= static_cast<std::uint64_t>(source->calls));
    CHECK(stats.received <= static_cast<std::uint64_t>(source->calls));
  }
}

TEST_CASE("worker: a failing worker tells its supervisor the pushes it "
          "leaves without an answer") {
  deterministic_system env;
  auto shard = spawn_scripted_shard(env, dimension, 0);
  auto lost = std::make_shared<std::uint64_t>(0);
  auto recorder = env.track(env.sys().spawn([=](caf::event_based_actor*) {
    return caf::behavior{[=](lost_atom, std::uint64_t pushes) {
      *lost += pushes;
    }};
  }));
  auto timing = pipelined(2);
  timing.request_timeout = std::chrono::seconds(10);
  timing.retry_after = timing.request_timeout; // no retries
  auto handle = env.track(ormo::actors::spawn_worker(
    env.sys(), 1, {shard.route}, std::make_shared<quadratic_source>(target()),
    timing, caf::actor_cast<supervisor_actor>(recorder)));
  auto reason = exit_reason_of(env, handle);
  env.run_for(milliseconds(10));
  REQUIRE(shard.script->pushes.size() == 2);
  CHECK(*lost == 0);
  // Neither push is answered: the watchdog ends the worker.
  env.run_for(std::chrono::seconds(25));
  REQUIRE(reason->has_value());
  CHECK(*lost == 2);
}

TEST_CASE("worker: a declared freeze stops it until the thaw; an exit still "
          "ends it at once") {
  for (bool thaw : {true, false}) {
    CAPTURE(thaw);
    deterministic_system env;
    auto shard
      = spawn_shard(env, Eigen::VectorXf::Zero(dimension), ormo_rule());
    auto source = std::make_shared<quadratic_source>(target());
    auto handle = spawn_worker(env, 1, {shard}, source, virtual_timing());
    auto reason = exit_reason_of(env, handle);
    env.run_for(milliseconds(10));
    const auto before = source->calls;
    CHECK(before >= 8);
    worker_fault freeze;
    freeze.kind = worker_fault_kind::freeze;
    freeze.duration = thaw ? milliseconds(20) : std::chrono::seconds(100);
    caf::anon_send(handle, fault_atom::value, freeze);
    env.run_for(milliseconds(15));
    // At most the gradient in progress.
    CHECK(source->calls <= before + 1);
    if (thaw) {
      env.run_for(milliseconds(20));
      CHECK(source->calls >= before + 10);
      CHECK_FALSE(reason->has_value());
    } else {
      caf::anon_send_exit(handle, caf::exit_reason::kill);
      env.run();
      CHECK(reason->has_value());
    }
  }
}

TEST_CASE("worker: declared slowdowns and gradient failures last their "
          "duration") {
  deterministic_system env;
  auto shard = spawn_shard(env, Eigen::VectorXf::Zero(dimension), ormo_rule());
  auto source = std::make_shared<quadratic_source>(target());
  auto handle = spawn_worker(env, 1, {shard}, source, virtual_timing());
  auto reason = exit_reason_of(env, handle);
  env.run_for(milliseconds(10));
  worker_fault slow;
  slow.kind = worker_fault_kind::slow;
  slow.factor = 5;
  slow.duration = milliseconds(50);
  caf::anon_send(handle, fault_atom::value, slow);
  auto before = source->calls;
  env.run_for(milliseconds(50));
  // One gradient every 5 ms instead of every millisecond.
  CHECK(source->calls - before >= 9);
  CHECK(source->calls - before <= 11);
  before = source->calls;
  env.run_for(milliseconds(10));
  CHECK(source->calls - before >= 9);
  // A failure for certain: the next gradient ends the worker.
  worker_fault fail;
  fail.kind = worker_fault_kind::fail_gradient;
  fail.probability = 1;
  fail.duration = milliseconds(10);
  caf::anon_send(handle, fault_atom::value, fail);
  env.run_for(milliseconds(3));
  REQUIRE(reason->has_value());
  CHECK(env.sys().render(**reason).find("declared fault") != std::string::npos);
}

TEST_CASE("worker: while one push stays unanswered it numbers no push a "
          "ledger's window above it") {
  deterministic_system env;
  auto shard = spawn_scripted_shard(env, dimension);
  auto source = std::make_shared<quadratic_source>(target());
  auto timing = pipelined(2);
  timing.retry_after = std::chrono::seconds(100); // no retries
  timing.request_timeout = std::chrono::seconds(100);
  env.track(
    ormo::actors::spawn_worker(env.sys(), 1, {shard.route}, source, timing));
  env.run_for(milliseconds(10));
  const auto& pushes = shard.script->pushes;
  REQUIRE(pushes.size() == 2);
  // Push 1 stays unanswered; every later one is answered as it comes.
  std::uint64_t answered = 1;
  for (int round = 0; round < 100; ++round) {
    while (answered < pushes.size()) {
      ++answered;
      shard.answer(answered, accepted_with(snapshot_at(
                               dimension, static_cast<int>(answered))));
    }
    env.run_for(milliseconds(5));
  }
  // 1 .. window - 1 above it: 16 pushes, then it waits for push 1.
  CHECK(pushes.size() == push_ledger::window);
  shard.answer(1, accepted_with(snapshot_at(dimension, 100)));
  ++answered;
  shard.answer(answered, accepted_with(snapshot_at(dimension, 101)));
  env.run_for(milliseconds(10));
  CHECK(pushes.size() > push_ledger::window);
}

TEST_CASE("worker: workers drawing from a gradient_pool train as with their "
          "own buffers, and every buffer goes back") {
  // Eight workers of different speeds on one shard; in virtual time the
  // arrival order is fixed, so the parameters must match bit for bit.
  auto run = [](std::shared_ptr<gradient_pool> pool) {
    deterministic_system env;
    auto shard = spawn_shard(env, Eigen::VectorXf::Zero(dimension),
                             ormo_rule(dimension, 8));
    std::vector<worker_actor> workers;
    for (worker_id id = 1; id <= 8; ++id) {
      auto timing = virtual_timing(1 + 0.25 * id);
      timing.gradients = pool;
      workers.push_back(
        spawn_worker(env, id, {shard},
                     std::make_shared<quadratic_source>(target()), timing));
    }
    env.run_for(milliseconds(100));
    auto stats = env.ask<orderer_stats>(shard.orderer, stats_atom::value);
    CHECK(stats.rejected.empty());
    CHECK(stats.accepted > 200);
    for (auto& worker : workers)
      caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
    env.run();
    return env.ask<parameter_snapshot>(shard.server, pull_atom::value);
  };
  auto own = run(nullptr);
  auto pool = std::make_shared<gradient_pool>(dimension);
  auto pooled = run(pool);
  CHECK(pooled.version == own.version);
  CHECK(max_abs_difference(*pooled.parameters, *own.parameters) == 0);
  CHECK(pool->made() <= 8);
  CHECK(pool->idle() == pool->made());
}
