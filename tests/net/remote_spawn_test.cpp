// A peer may ask a node to spawn an actor (CAF's remote spawn): an ormo
// node registers no actor type for that, so every request is refused and
// nothing is spawned. Two actor systems with their own middleman in one
// process, over 127.0.0.1, the node configured as `ormo node` configures it.
#include <chrono>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>
#include <doctest/doctest.h>

#include "ormo/actors/training.hpp"
#include "ormo/net/node.hpp"

namespace {

struct ormo_node_config : caf::actor_system_config {
  ormo_node_config() {
    ormo::actors::configure(*this, false);
    ormo::net::configure_network(*this, ormo::config::network_config{});
  }
};

struct peer_config : caf::actor_system_config {
  peer_config() { load<caf::io::middleman>(); }
};

} // namespace

TEST_CASE("remote spawn: an ormo node spawns nothing for a peer"
          * doctest::test_suite("real_time")) {
  ormo_node_config node_cfg;
  caf::actor_system node{node_cfg};
  auto published_actor = node.spawn([](caf::event_based_actor*) {
    return caf::behavior{[](std::int32_t x) { return x; }};
  });
  auto port = node.middleman().publish(published_actor, 0, "127.0.0.1");
  REQUIRE_MESSAGE(port, node.render(port.error()));
  peer_config peer_cfg;
  caf::actor_system peer{peer_cfg};
  auto node_id = peer.middleman().connect("127.0.0.1", *port);
  REQUIRE_MESSAGE(node_id, peer.render(node_id.error()));
  auto running = node.registry().running();
  for (std::string name : {"ormo.worker", "ormo.parameter_server",
                           "ormo.momentum_orderer", "ormo.supervisor",
                           "ormo.worker_host", "ormo.node", ""}) {
    CAPTURE(name);
    auto spawned = peer.middleman().remote_spawn<caf::actor>(
      *node_id, name, caf::make_message(), std::chrono::seconds(10));
    CHECK_FALSE(spawned);
  }
  CHECK(node.registry().running() == running);
  caf::anon_send_exit(published_actor, caf::exit_reason::kill);
}
