// chunk_relay: a shard reached through a proxy and a relay answers as the
// shard itself does, with its tensors in chunks; a chunk out of place or a
// transfer left incomplete fails its request and applies nothing. In one
// actor system under the test coordinator (the relay's logic does not
// depend on the transport; the node tests run it across processes).
#include "../net/src/chunk_relay.hpp"

#include <memory>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <doctest/doctest.h>

#include "actors/actor_testing.hpp"
#include "ormo/actors/worker.hpp"
#include "ormo/optim/ordered_momentum.hpp"

using namespace ormo;
using namespace ormo::actors;
using namespace ormo::actors::testing;
using net::chunk_atom;

namespace {

constexpr int dimension = 10;
constexpr std::size_t chunk_values = 3; // 10 values: chunks of 3, 3, 3, 1

Eigen::VectorXf ramp(float scale) {
  Eigen::VectorXf v(dimension);
  for (int k = 0; k < dimension; ++k)
    v[k] = scale * static_cast<float>(k + 1);
  return v;
}

std::unique_ptr<optim::update_rule> rule() {
  optim::ordered_momentum_settings settings;
  settings.learning_rate = 0.1;
  settings.momentum = 0.9;
  return std::make_unique<optim::ordered_momentum>(dimension, 1, settings);
}

struct relayed_shard {
  shard_route shard;
  net::shard_relay_actor relay;
  net::shard_proxy_actor proxy;
};

relayed_shard spawn_relayed(deterministic_system& env) {
  relayed_shard result;
  result.shard = spawn_shard(env, ramp(1), rule());
  result.relay
    = env.track(net::spawn_shard_relay(env.sys(), result.shard, chunk_values));
  result.proxy = env.track(net::spawn_shard_proxy(
    env.sys(), result.relay, dimension, chunk_values, std::chrono::seconds(5)));
  caf::anon_send(result.shard.orderer, join_atom::value, worker_id{1});
  env.run();
  return result;
}

} // namespace

TEST_CASE("chunk relay: a pull through it returns the whole parameters") {
  deterministic_system env;
  auto t = spawn_relayed(env);
  auto direct = env.ask<parameter_snapshot>(t.shard.server, pull_atom::value);
  auto relayed = env.ask<parameter_snapshot>(
    caf::actor_cast<parameter_server_actor>(t.proxy), pull_atom::value);
  REQUIRE(relayed.parameters.size() == dimension);
  CHECK(*relayed.parameters == *direct.parameters);
  CHECK(relayed.iteration == direct.iteration);
  CHECK(relayed.version == direct.version);
}

TEST_CASE("chunk relay: a push through it is applied as a direct push") {
  deterministic_system env;
  auto relayed = spawn_relayed(env);
  auto twin = spawn_shard(env, ramp(1), rule());
  caf::anon_send(twin.orderer, join_atom::value, worker_id{1});
  env.run();
  for (std::uint64_t sequence = 1; sequence <= 3; ++sequence) {
    auto push = make_push(1, sequence, 0, ramp(0.5f * sequence));
    auto through = env.ask<push_outcome>(
      caf::actor_cast<momentum_orderer_actor>(relayed.proxy), push_atom::value,
      push);
    auto direct = env.ask<push_outcome>(twin.orderer, push_atom::value, push);
    CAPTURE(sequence);
    REQUIRE(through.accepted());
    REQUIRE(direct.accepted());
    CHECK(*through.snapshot.parameters == *direct.snapshot.parameters);
    CHECK(through.snapshot.iteration == direct.snapshot.iteration);
  }
  // A rejected push comes back as the shard's rejection.
  auto refused = env.ask<push_outcome>(
    caf::actor_cast<momentum_orderer_actor>(relayed.proxy), push_atom::value,
    make_push(1, 0, 0, ramp(1)));
  CHECK(refused.rejection == rejection_reason::duplicate_sequence);
  CHECK(refused.snapshot.parameters.empty());
  // A push sent again is answered as the first time, with parameters.
  auto again = env.ask<push_outcome>(
    caf::actor_cast<momentum_orderer_actor>(relayed.proxy), push_atom::value,
    make_push(1, 3, 0, ramp(1.5f)));
  REQUIRE(again.accepted());
  CHECK(static_cast<Eigen::Index>(again.snapshot.parameters.size())
        == relayed.shard.size);
}

TEST_CASE("chunk relay: chunks out of place fail the push, nothing applied") {
  deterministic_system env;
  auto t = spawn_relayed(env);
  auto before = env.ask<orderer_stats>(t.shard.orderer, stats_atom::value);
  auto piece = [](int count) { return share(Eigen::VectorXf::Ones(count)); };
  auto header = make_push(1, 1, 0, Eigen::VectorXf{});
  // A forged sender of chunks: the second piece skips ahead, the fourth
  // transfer is one value short, the fifth one value too long.
  using chunks = std::vector<std::pair<std::uint64_t, int>>;
  for (const auto& transfer :
       std::vector<std::pair<std::uint64_t, chunks>>{
         {1, {{0, 3}, {6, 3}, {9, 1}}},
         {2, {{3, 3}}},
         {4, {{0, 3}, {3, 3}, {6, 3}}},
         {5, {{0, 3}, {3, 3}, {6, 3}, {9, 2}}}}) {
    // Not a structured binding: C++17 lambdas cannot capture one.
    const auto id = transfer.first;
    const auto& pieces = transfer.second;
    CAPTURE(id);
    auto error = std::make_shared<std::optional<caf::error>>();
    auto relay = t.relay;
    env.track(env.sys().spawn([=](caf::event_based_actor* self) {
      for (auto [offset, count] : pieces)
        self->send(relay, chunk_atom::value, id,
                   static_cast<std::uint64_t>(offset), piece(count));
      self->request(relay, caf::infinite, push_atom::value, id, header)
        .then([=](push_outcome&) { *error = caf::error{}; },
              [=](caf::error& e) { *error = e; });
    }));
    env.run();
    REQUIRE(error->has_value());
    CHECK(**error);
  }
  // A push of a transfer that sent no chunk at all.
  auto none = env.request<push_outcome>(t.relay, push_atom::value,
                                        std::uint64_t{9}, header);
  env.run();
  CHECK(none->error);
  auto after = env.ask<orderer_stats>(t.shard.orderer, stats_atom::value);
  CHECK(after.received == before.received);
}

TEST_CASE("chunk relay: a worker trains through it") {
  deterministic_system env;
  auto t = spawn_relayed(env);
  auto target = ramp(-1);
  auto worker = env.track(spawn_worker(
    env.sys(), 1, {net::through(t.shard, t.proxy)},
    std::make_shared<quadratic_source>(target), virtual_timing()));
  env.run_for(std::chrono::milliseconds(50));
  auto stats = env.ask<orderer_stats>(t.shard.orderer, stats_atom::value);
  CHECK(stats.accepted >= 40);
  CHECK(stats.rejected.empty());
  auto w = env.ask<parameter_snapshot>(t.shard.server, pull_atom::value);
  CHECK(max_abs_difference(*w.parameters, target)
        < max_abs_difference(ramp(1), target));
}

TEST_CASE("chunk relay: the proxy goes down with its relay") {
  deterministic_system env;
  auto t = spawn_relayed(env);
  auto down = std::make_shared<std::optional<caf::error>>();
  auto proxy = t.proxy;
  env.track(env.sys().spawn([=](caf::event_based_actor* self) {
    self->monitor(proxy);
    self->set_down_handler([=](caf::down_msg& msg) { *down = msg.reason; });
    return caf::behavior{[](stop_atom) {}};
  }));
  env.run();
  caf::anon_send_exit(t.relay, caf::exit_reason::kill);
  env.run();
  REQUIRE(down->has_value());
  CHECK(**down == caf::exit_reason::kill);
}
