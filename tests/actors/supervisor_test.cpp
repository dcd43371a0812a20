// supervisor with real workers in virtual time: gradients flow and the counts
// add up, K follows the live workers (or stays fixed), workers are added and
// removed, crashed workers come back as new members and are evicted after
// restart_limit, and stop ends everyone.
#include "ormo/actors/supervisor.hpp"

#include "ormo/actors/worker_host.hpp"

#include <map>
#include <set>

#include "actors/actor_testing.hpp"
#include "ormo/optim/ordered_momentum.hpp"
#include "ormo/optim/synchronous_momentum.hpp"

using namespace ormo;
using namespace ormo::actors;
using namespace ormo::actors::testing;
using std::chrono::milliseconds;

namespace {

constexpr int dimension = 4;

Eigen::VectorXf target() {
  Eigen::VectorXf result(dimension);
  result << 1, -2, 3, 0.5f;
  return result;
}

double loss_at(const Eigen::VectorXf& w) {
  return 0.5 * static_cast<double>((w - target()).squaredNorm());
}

std::unique_ptr<optim::update_rule> ormo_rule(int iteration_size = 1) {
  optim::ordered_momentum_settings settings;
  settings.learning_rate = 0.05;
  settings.momentum = 0.9;
  return std::make_unique<optim::ordered_momentum>(dimension, iteration_size,
                                                   settings);
}

/// A test topology: one shard, a supervisor of quadratic workers.
struct topology {
  shard_route shard;
  supervisor_actor supervisor;
};

topology spawn_topology(deterministic_system& env, supervisor_settings settings,
                        std::unique_ptr<optim::update_rule> rule
                        = ormo_rule()) {
  topology result;
  result.shard
    = spawn_shard(env, Eigen::VectorXf::Zero(dimension), std::move(rule));
  settings.shards = {result.shard};
  if (!settings.make_source)
    settings.make_source = [](std::size_t) -> source_result {
      return source_of<quadratic_source>(target());
    };
  if (!settings.timing)
    settings.timing = [](std::size_t) { return virtual_timing(); };
  result.supervisor
    = env.track_supervisor(spawn_supervisor(env.sys(), std::move(settings)));
  env.run();
  return result;
}

supervisor_settings workers(std::int32_t count) {
  supervisor_settings settings;
  settings.initial_workers = count;
  settings.speed_interval = std::chrono::seconds(10);
  return settings;
}

orderer_stats stats_of(deterministic_system& env, const topology& t) {
  return env.ask<orderer_stats>(t.shard.orderer, stats_atom::value);
}

membership_stats membership_of(deterministic_system& env, const topology& t) {
  return env.ask<membership_stats>(t.supervisor, stats_atom::value);
}

void check_counts_add_up(const orderer_stats& stats) {
  CHECK(stats.accepted == total(stats.accepted_by_worker));
  CHECK(stats.received == stats.accepted + total(stats.rejected));
  CHECK(stats.loss_count == stats.accepted);
}

std::uint64_t accepted_of(const orderer_stats& stats, worker_id id) {
  auto found = stats.accepted_by_worker.find(id);
  return found == stats.accepted_by_worker.end() ? 0 : found->second;
}

} // namespace

TEST_CASE("supervisor: gradients flow and the counts add up") {
  deterministic_system env;
  auto settings = workers(3);
  settings.speed_interval = milliseconds(10);
  auto t = spawn_topology(env, std::move(settings));
  auto start = env.ask<parameter_snapshot>(t.shard.server, pull_atom::value);
  env.run_for(milliseconds(50));
  auto stats = stats_of(env, t);
  // One gradient per worker per virtual millisecond, no barrier.
  CHECK(stats.accepted_by_worker
        == std::map<worker_id, std::uint64_t>{{1, 50}, {2, 50}, {3, 50}});
  CHECK(stats.accepted == 150);
  CHECK(stats.rejected.empty());
  check_counts_add_up(stats);
  CHECK(stats.iteration_size == 3);
  CHECK(stats.iteration == 50);
  auto m = membership_of(env, t);
  CHECK(m.live == 3);
  CHECK(m.joined == 3);
  CHECK(m.left + m.crashed + m.restarted + m.evicted == 0);
  // Nothing was lost, so nothing was sent twice.
  CHECK(m.retries == 0);
  CHECK(m.gradients_lost == 0);
  CHECK(stats.duplicates == 0);
  // Speed: 1000 gradients per virtual second each.
  REQUIRE(m.gradients_per_second.size() == 3);
  for (const auto& [worker, speed] : m.gradients_per_second) {
    // C++17 lambdas (CAPTURE's) cannot capture a structured binding.
    auto id = worker;
    CAPTURE(id);
    CHECK(speed == doctest::Approx(1000).epsilon(0.11));
  }
  // It trains.
  auto end = env.ask<parameter_snapshot>(t.shard.server, pull_atom::value);
  CHECK(end.version > 0);
  CHECK(loss_at(*end.parameters) < 0.01 * loss_at(*start.parameters));
}

TEST_CASE("supervisor: the workers' retries and lost pushes are counted") {
  deterministic_system env;
  auto t = spawn_topology(env, workers(0));
  caf::anon_send(t.supervisor, retry_atom::value, std::uint64_t{2});
  caf::anon_send(t.supervisor, retry_atom::value, std::uint64_t{1});
  caf::anon_send(t.supervisor, lost_atom::value, std::uint64_t{2});
  env.run();
  CHECK(membership_of(env, t).retries == 3);
  CHECK(membership_of(env, t).gradients_lost == 2);
}

TEST_CASE("supervisor: K follows the live workers") {
  deterministic_system env;
  auto t = spawn_topology(env, workers(2), ormo_rule(7));
  CHECK(stats_of(env, t).iteration_size == 2);
  env.run_for(milliseconds(10));

  caf::anon_send(t.supervisor, add_atom::value, std::int32_t{3});
  env.run_for(milliseconds(10));
  auto m = membership_of(env, t);
  CHECK(m.live == 5);
  CHECK(m.joined == 5);
  auto stats = stats_of(env, t);
  CHECK(stats.iteration_size == 5);
  for (worker_id id = 3; id <= 5; ++id)
    CHECK(accepted_of(stats, id) == 10);
  CHECK(accepted_of(stats, 1) == 20);

  // Worker 2 is half-way through its 21st gradient: it pushes it at 21 ms
  // and leaves.
  caf::anon_send(t.supervisor, remove_atom::value, worker_id{2});
  env.run();
  CHECK(membership_of(env, t).live == 5);
  env.run_for(milliseconds(1));
  m = membership_of(env, t);
  CHECK(m.live == 4);
  CHECK(m.left == 1);
  CHECK(m.crashed == 0);
  stats = stats_of(env, t);
  CHECK(stats.iteration_size == 4);
  const auto removed_count = accepted_of(stats, 2);
  CHECK(removed_count == 21);
  env.run_for(milliseconds(10));
  stats = stats_of(env, t);
  CHECK(accepted_of(stats, 2) == removed_count);
  CHECK(accepted_of(stats, 1) == 31);
  // Its id is no member any more.
  auto push = env.ask<push_outcome>(
    t.shard.orderer, push_atom::value,
    make_push(2, 1000000, 0, Eigen::VectorXf::Zero(dimension)));
  CHECK(push.rejection == rejection_reason::unknown_worker);
  // Removing an unknown or already removed id changes nothing.
  caf::anon_send(t.supervisor, remove_atom::value, worker_id{2});
  caf::anon_send(t.supervisor, remove_atom::value, worker_id{99});
  caf::anon_send(t.supervisor, add_atom::value, std::int32_t{0});
  caf::anon_send(t.supervisor, add_atom::value, std::int32_t{-1});
  env.run_for(milliseconds(1));
  m = membership_of(env, t);
  CHECK(m.live == 4);
  CHECK(m.left == 1);
  CHECK(m.joined == 5);
  CHECK(stats_of(env, t).iteration_size == 4);
  check_counts_add_up(stats_of(env, t));
}

TEST_CASE("supervisor: a fixed K stays fixed") {
  deterministic_system env;
  auto settings = workers(3);
  settings.fixed_iteration_size = 2;
  auto t = spawn_topology(env, std::move(settings), ormo_rule(7));
  CHECK(stats_of(env, t).iteration_size == 2);
  caf::anon_send(t.supervisor, add_atom::value, std::int32_t{2});
  env.run_for(milliseconds(5));
  CHECK(membership_of(env, t).live == 5);
  CHECK(stats_of(env, t).iteration_size == 2);
  caf::anon_send(t.supervisor, remove_atom::value, worker_id{1});
  caf::anon_send(t.supervisor, remove_atom::value, worker_id{4});
  env.run_for(milliseconds(5));
  CHECK(membership_of(env, t).live == 3);
  auto stats = stats_of(env, t);
  CHECK(stats.iteration_size == 2);
  // 0-5 ms: 5 workers, 25 gradients. Removed at 5 ms, workers 1 and 4 still
  // push the gradient they are computing (at 6 ms) and leave; 6-10 ms:
  // workers 2, 3 and 5, 15 gradients. Two per iteration.
  CHECK(stats.accepted == 42);
  CHECK(stats.iteration == 21);
  CHECK(accepted_of(stats, 1) == 6);
  CHECK(accepted_of(stats, 4) == 6);
}

TEST_CASE("supervisor: a crashed worker comes back as a new member") {
  deterministic_system env;
  auto settings = workers(2);
  // Slot 0's first source throws at its third gradient; later ones do not.
  auto made = std::make_shared<std::map<std::size_t, int>>();
  settings.make_source
    = [made](std::size_t slot) -> source_result {
    if (slot == 0 && (*made)[slot]++ == 0)
      return source_of<throwing_source>(target(), 3);
    return source_of<quadratic_source>(target());
  };
  auto t = spawn_topology(env, std::move(settings));
  env.run_for(milliseconds(20));
  auto m = membership_of(env, t);
  CHECK(m.crashed == 1);
  CHECK(m.restarted == 1);
  CHECK(m.evicted == 0);
  CHECK(m.joined == 3);
  CHECK(m.live == 2);
  CHECK((*made)[0] == 2);
  auto stats = stats_of(env, t);
  CHECK(stats.iteration_size == 2);
  // Worker 1 pushed two gradients, then its third computation threw; its
  // slot came back at once as worker 3. Worker 2 never noticed.
  CHECK(accepted_of(stats, 1) == 2);
  CHECK(accepted_of(stats, 2) == 20);
  CHECK(accepted_of(stats, 3) == 18);
  CHECK(stats.rejected.empty());
  check_counts_add_up(stats);
  // The crashed id is gone from the orderer.
  CHECK(env
          .ask<push_outcome>(
            t.shard.orderer, push_atom::value,
            make_push(1, 1000, 0, Eigen::VectorXf::Zero(dimension)))
          .rejection
        == rejection_reason::unknown_worker);
}

TEST_CASE("supervisor: a worker that keeps crashing is evicted") {
  for (std::int32_t limit : {0, 2}) {
    CAPTURE(limit);
    deterministic_system env;
    auto settings = workers(3);
    settings.restart_limit = limit;
    settings.make_source
      = [](std::size_t slot) -> source_result {
      if (slot == 1)
        return source_of<throwing_source>(target(), 3);
      return source_of<quadratic_source>(target());
    };
    auto t = spawn_topology(env, std::move(settings));
    env.run_for(milliseconds(30));
    auto m = membership_of(env, t);
    const auto limit_count = static_cast<std::uint32_t>(limit);
    CHECK(m.crashed == limit_count + 1);
    CHECK(m.restarted == limit_count);
    CHECK(m.evicted == 1);
    CHECK(m.joined == 3 + limit_count);
    CHECK(m.live == 2);
    CHECK(m.left == 0);
    auto stats = stats_of(env, t);
    CHECK(stats.iteration_size == 2);
    CHECK(accepted_of(stats, 1) == 30);
    CHECK(accepted_of(stats, 3) == 30);
    // Slot 1's workers: id 2, then ids 4, 5, ...; two gradients each.
    CHECK(accepted_of(stats, 2) == 2);
    for (worker_id id = 4; id < 4 + limit_count; ++id)
      CHECK(accepted_of(stats, id) == 2);
    CHECK(stats.accepted == 60 + 2 * (limit_count + 1));
    check_counts_add_up(stats);
    const worker_id last = limit == 0 ? 2 : 3 + limit_count;
    CHECK(env
            .ask<push_outcome>(
              t.shard.orderer, push_atom::value,
              make_push(last, 1000, 0, Eigen::VectorXf::Zero(dimension)))
            .rejection
          == rejection_reason::unknown_worker);
  }
}

TEST_CASE("supervisor: a gradient source that cannot be made counts as a "
          "crash of its slot") {
  for (std::int32_t limit : {0, 2}) {
    CAPTURE(limit);
    deterministic_system env;
    auto settings = workers(3);
    settings.restart_limit = limit;
    auto made = std::make_shared<std::map<std::size_t, int>>();
    settings.make_source = [made](std::size_t slot) -> source_result {
      ++(*made)[slot];
      if (slot == 1)
        return status::error(status_code::invalid_argument,
                             "slot 1 has no data on purpose");
      return source_of<quadratic_source>(target());
    };
    auto t = spawn_topology(env, std::move(settings));
    env.run_for(milliseconds(10));
    auto m = membership_of(env, t);
    const auto limit_count = static_cast<std::uint32_t>(limit);
    // Tried once, then once per restart; never a member.
    CHECK((*made)[1] == limit + 1);
    CHECK(m.crashed == limit_count + 1);
    CHECK(m.restarted == limit_count);
    CHECK(m.evicted == 1);
    CHECK(m.joined == 2);
    CHECK(m.live == 2);
    CHECK(m.last_failure.find("slot 1") != std::string::npos);
    CHECK(m.last_failure.find("no data on purpose") != std::string::npos);
    // The other slots train undisturbed, and K counts only live workers.
    auto stats = stats_of(env, t);
    CHECK(stats.iteration_size == 2);
    CHECK(stats.accepted_by_worker
          == std::map<worker_id, std::uint64_t>{{1, 10}, {2, 10}});
    check_counts_add_up(stats);
  }
}

TEST_CASE("supervisor: a source that fails once is retried at once") {
  deterministic_system env;
  auto settings = workers(1);
  auto made = std::make_shared<int>(0);
  settings.make_source = [made](std::size_t) -> source_result {
    if ((*made)++ == 0)
      return status::error(status_code::io_error, "first try fails");
    return source_of<quadratic_source>(target());
  };
  auto t = spawn_topology(env, std::move(settings));
  env.run_for(milliseconds(5));
  auto m = membership_of(env, t);
  CHECK(*made == 2);
  CHECK(m.crashed == 1);
  CHECK(m.restarted == 1);
  CHECK(m.evicted == 0);
  CHECK(m.joined == 1);
  CHECK(m.live == 1);
  CHECK(accepted_of(stats_of(env, t), 1) == 5);
}

TEST_CASE("supervisor: stop ends every worker and the supervisor") {
  deterministic_system env;
  auto t = spawn_topology(env, workers(3));
  env.run_for(milliseconds(5));
  // Server, orderer, supervisor and three workers.
  CHECK(env.running() == 6);
  caf::anon_send(t.supervisor, stop_atom::value);
  env.run_for(milliseconds(5));
  CHECK(env.running() == 2);
  auto stats = stats_of(env, t);
  CHECK(stats.accepted == 15);
  auto answer = env.request<membership_stats>(t.supervisor, stats_atom::value);
  env.run();
  CHECK(answer->error);
}

TEST_CASE("supervisor: a removed worker finishes its current gradient") {
  deterministic_system env;
  auto settings = workers(2);
  settings.timing
    = [](std::size_t slot) { return virtual_timing(slot == 1 ? 10 : 1); };
  auto t = spawn_topology(env, std::move(settings));
  // Worker 2 pushes at 10 ms, 20 ms, ...; at 15 ms it is half-way through.
  env.run_for(milliseconds(15));
  REQUIRE(accepted_of(stats_of(env, t), 2) == 1);
  caf::anon_send(t.supervisor, remove_atom::value, worker_id{2});
  env.run_for(milliseconds(20));
  CHECK(accepted_of(stats_of(env, t), 2) == 2);
  CHECK(membership_of(env, t).left == 1);
}

TEST_CASE("supervisor: SSGDm goes on when a worker leaves mid-iteration") {
  deterministic_system env;
  optim::synchronous_momentum_settings ssgdm;
  ssgdm.learning_rate = 0.05;
  auto settings = workers(3);
  settings.timing
    = [](std::size_t slot) { return virtual_timing(slot == 2 ? 10 : 1); };
  auto t = spawn_topology(
    env, std::move(settings),
    std::make_unique<optim::synchronous_momentum>(dimension, 3, ssgdm));
  env.run_for(milliseconds(5));
  // Workers 1 and 2 pushed at 1 ms and wait; worker 3 computes until 10 ms.
  REQUIRE(stats_of(env, t).accepted == 2);
  caf::anon_send(t.supervisor, remove_atom::value, worker_id{3});
  env.run_for(milliseconds(20));
  auto stats = stats_of(env, t);
  CHECK(stats.iteration_size == 2);
  CHECK(stats.iteration >= 10);
  CHECK(accepted_of(stats, 1) >= 10);
}

namespace {

/// A worker host for `slots`, as a node runs it, reaching `t`'s shard.
worker_host_actor spawn_host(deterministic_system& env, const topology& t,
                             std::vector<std::size_t> slots) {
  worker_host_settings settings;
  settings.shards = {t.shard};
  settings.make_source = [](std::size_t) -> source_result {
    return source_of<quadratic_source>(target());
  };
  settings.timing = [](std::size_t) { return virtual_timing(); };
  settings.slots = std::move(slots);
  settings.supervisor = t.supervisor;
  return env.track(spawn_worker_host(env.sys(), std::move(settings)));
}

/// A supervisor that spawns nothing itself and accepts nodes wa (slots 0,
/// 1) and wb (slot 2).
topology spawn_node_topology(deterministic_system& env) {
  auto settings = workers(0);
  settings.node_slots = {{"wa", {0, 1}}, {"wb", {2}}};
  return spawn_topology(env, std::move(settings), ormo_rule(7));
}

std::string enlist_error(deterministic_system& env, const topology& t,
                         const std::string& node, worker_host_actor host,
                         std::vector<std::uint64_t> slots) {
  auto answer = env.request<bool>(t.supervisor, enlist_atom::value, node,
                                  std::move(host), std::move(slots));
  env.run();
  REQUIRE(answer->arrived());
  REQUIRE(answer->error);
  return env.sys().render(*answer->error);
}

/// Enlists `host` as node `node` with `slots`; REQUIRES the supervisor's
/// yes.
void enlist(deterministic_system& env, const topology& t,
            const std::string& node, worker_host_actor host,
            std::vector<std::uint64_t> slots) {
  REQUIRE(env.ask<bool>(t.supervisor, enlist_atom::value, node,
                        std::move(host), std::move(slots)));
}

} // namespace

TEST_CASE("supervisor: an enlisted node's workers join before they push") {
  deterministic_system env;
  auto t = spawn_node_topology(env);
  auto wa = spawn_host(env, t, {0, 1});
  enlist(env, t, "wa", wa, {1, 0});
  env.run_for(milliseconds(10));
  auto m = membership_of(env, t);
  CHECK(m.live == 2);
  CHECK(m.joined == 2);
  auto stats = stats_of(env, t);
  CHECK(stats.iteration_size == 2);
  // No push came before its worker was registered.
  CHECK(stats.rejected.empty());
  CHECK(accepted_of(stats, 1) == 10);
  CHECK(accepted_of(stats, 2) == 10);
  check_counts_add_up(stats);
}

TEST_CASE("supervisor: a kill for a slot whose worker is not spawned yet "
          "strikes the slot's next worker") {
  deterministic_system env;
  auto t = spawn_node_topology(env);
  worker_fault kill;
  kill.kind = worker_fault_kind::kill;
  kill.slot = 1;
  caf::anon_send(t.supervisor, fault_atom::value, kill);
  env.run();
  auto wa = spawn_host(env, t, {0, 1});
  enlist(env, t, "wa", wa, {0, 1});
  env.run_for(milliseconds(10));
  auto m = membership_of(env, t);
  CHECK(m.crashed == 1);
  CHECK(m.restarted == 1);
  CHECK(m.live == 2);
  CHECK(m.last_failure.find("(slot 1)") != std::string::npos);
  CHECK(m.last_failure.find("killed by a declared fault") != std::string::npos);
  // Once: the restarted worker lives on.
  env.run_for(milliseconds(10));
  CHECK(membership_of(env, t).crashed == 1);
}

TEST_CASE("supervisor: a restarted shard's route reaches an enlisted node's "
          "workers through their host, and only from the supervisor") {
  deterministic_system env;
  auto t = spawn_node_topology(env);
  auto wa = spawn_host(env, t, {0, 1});
  enlist(env, t, "wa", wa, {0, 1});
  env.run_for(milliseconds(5));
  // A shard of the same slice, as a restarted one would be.
  auto restarted
    = spawn_shard(env, Eigen::VectorXf::Zero(dimension), ormo_rule(7));
  auto received_there = [&] {
    return env.ask<orderer_stats>(restarted.orderer, stats_atom::value)
      .received;
  };
  // From anyone but its supervisor, the host moves nothing.
  caf::anon_send(wa, route_atom::value, std::uint64_t{0}, restarted.server,
                 restarted.orderer);
  env.run_for(milliseconds(5));
  CHECK(received_there() == 0);
  // From the supervisor: the workers are registered at the new orderer,
  // then moved to it.
  caf::anon_send(t.supervisor, route_atom::value, std::uint64_t{0},
                 restarted.server, restarted.orderer);
  env.run_for(milliseconds(5));
  auto moved = env.ask<orderer_stats>(restarted.orderer, stats_atom::value);
  CHECK(moved.received > 0);
  // No push came before its worker's registration. (The pushes sent again
  // were computed at iterations this shard has not reached: future.)
  CHECK(moved.rejected.count(rejection_reason::unknown_worker) == 0);
  CHECK(moved.accepted > 0);
  check_counts_add_up(moved);
}

TEST_CASE("supervisor: nodes outside the topology or its slots are refused") {
  deterministic_system env;
  auto t = spawn_node_topology(env);
  auto host = spawn_host(env, t, {0, 1});
  CHECK(enlist_error(env, t, "wc", host, {0, 1})
        == "ormo.invalid_setup: node wc refused: not a node of this topology");
  CHECK(enlist_error(env, t, "wa", host, {0})
        == "ormo.invalid_setup: node wa refused: it offers other worker slots "
           "than the topology gives it");
  CHECK(enlist_error(env, t, "wa", host, {0, 1, 2})
        .find("other worker slots") != std::string::npos);
  enlist(env, t, "wa", host, {0, 1});
  auto again = spawn_host(env, t, {0, 1});
  CHECK(enlist_error(env, t, "wa", again, {0, 1})
        == "ormo.invalid_setup: node wa refused: a node of that name is a "
           "member");
  env.run_for(milliseconds(5));
  CHECK(membership_of(env, t).joined == 2);
}

TEST_CASE("supervisor: a lost node's workers are lost, never restarted") {
  deterministic_system env;
  auto t = spawn_node_topology(env);
  auto wa = spawn_host(env, t, {0, 1});
  auto wb = spawn_host(env, t, {2});
  enlist(env, t, "wa", wa, {0, 1});
  enlist(env, t, "wb", wb, {2});
  env.run_for(milliseconds(5));
  REQUIRE(membership_of(env, t).live == 3);
  REQUIRE(stats_of(env, t).iteration_size == 3);
  // The host goes down with its node (here: killed); its worker is cut
  // off from the run.
  caf::anon_send_exit(wb, caf::exit_reason::kill);
  env.run_for(milliseconds(5));
  auto m = membership_of(env, t);
  CHECK(m.live == 2);
  CHECK(m.lost == 1);
  CHECK(m.nodes_lost == 1);
  CHECK(m.crashed == 0);
  CHECK(m.restarted == 0);
  CHECK(m.last_failure.rfind("node wb lost: ", 0) == 0);
  CHECK(stats_of(env, t).iteration_size == 2);
  // Its worker ended with the host: it pushes no more.
  auto pushed = stats_of(env, t).received;
  env.run_for(milliseconds(5));
  CHECK(stats_of(env, t).received == pushed + 2 * 5);
  // The node comes back: a new member with a new worker id.
  auto wb2 = spawn_host(env, t, {2});
  enlist(env, t, "wb", wb2, {2});
  env.run_for(milliseconds(5));
  m = membership_of(env, t);
  CHECK(m.live == 3);
  CHECK(m.joined == 4);
  auto stats = stats_of(env, t);
  CHECK(stats.iteration_size == 3);
  CHECK(accepted_of(stats, 4) == 5);
  CHECK(stats.rejected.empty());
}

TEST_CASE("supervisor: its stop tells every enlisted host, which quits") {
  deterministic_system env;
  auto t = spawn_node_topology(env);
  auto wa = spawn_host(env, t, {0, 1});
  enlist(env, t, "wa", wa, {0, 1});
  env.run_for(milliseconds(2));
  auto down = std::make_shared<bool>(false);
  env.track(env.sys().spawn([=](caf::event_based_actor* self) {
    self->monitor(wa);
    self->set_down_handler([=](caf::down_msg&) { *down = true; });
    return caf::behavior{[](stop_atom) {}};
  }));
  caf::anon_send(t.supervisor, stop_atom::value);
  env.run_for(milliseconds(1));
  CHECK(*down);
}

TEST_CASE("supervisor: the workers of a node shut down on purpose left") {
  deterministic_system env;
  auto t = spawn_node_topology(env);
  auto wa = spawn_host(env, t, {0, 1});
  enlist(env, t, "wa", wa, {0, 1});
  env.run_for(milliseconds(2));
  caf::anon_send_exit(wa, caf::exit_reason::user_shutdown);
  env.run_for(milliseconds(1));
  auto m = membership_of(env, t);
  CHECK(m.live == 0);
  CHECK(m.left == 2);
  CHECK(m.lost == 0);
  CHECK(m.nodes_lost == 0);
  CHECK(m.last_failure.empty());
}
