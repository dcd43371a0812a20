// node: one process of a multi-process topology.
//
// Every node builds the same training_plan from the same file, and runs its
// part: the shards it hosts (a parameter server and a momentum orderer
// each), the supervisor and the run monitor if it is the supervisor node,
// and a worker host for its worker slots. It publishes one actor, the
// node's directory, on its host and port; peers ask it for the node's shard
// routes, for the supervisor, and finally tell it that the run is over.
//
//   shard node       publishes; waits for the supervisor node to attach,
//                    then for the stop or the end of the supervisor node's
//                    directory (the loss of the supervisor or of its node:
//                    an error); restarts a shard it hosts when asked
//   supervisor node  reaches every shard node, spawns the supervisor and
//                    the monitor, publishes, and writes the outputs; at the
//                    end it stops every node it knows
//   worker node      reaches the supervisor node and the shard nodes,
//                    enlists its worker host, and works until the stop
//
// Peers are never trusted: every answer from another node is checked
// against the plan (shard indices, slices, handles), and every request has
// a finite timeout. Connecting retries until network.connect_timeout.
#pragma once

#include <functional>
#include <string>

#include <caf/fwd.hpp>

#include "ormo/actors/run_report.hpp"
#include "ormo/actors/training.hpp"
#include "ormo/config/run_config.hpp"
#include "ormo/net/node_layout.hpp"

namespace ormo::net {

/// Loads CAF's middleman with the heartbeat and connection timeout of
/// `network` (CAF 0.17 detects no lost peer without them). Call after
/// ormo::actors::configure and before the actor_system is made.
void configure_network(caf::actor_system_config& cfg,
                       const config::network_config& network);

/// How a node's run ended.
struct node_outcome {
  /// 0: the run ended (or this node's part did); 1: a failure, 130:
  /// interrupted.
  int exit_status = 0;
  /// One line saying why, when exit_status != 0; otherwise what happened.
  std::string message;
  /// The supervisor node only: the run's report.
  actors::run_report report;
};

struct node_callbacks {
  /// The run's callbacks (used on the supervisor node).
  actors::training_callbacks training;
  /// One line about the node's own life ("reached server (127.0.0.1:7301)").
  std::function<void(const std::string&)> on_status;
};

/// Runs node `layout` of `plan` in `system` until the run is over for it.
/// REQUIRES: `system` configured with configure_network; the problem made
/// from the same file on every node.
node_outcome run_node(caf::actor_system& system,
                      const config::run_config& run,
                      const actors::training_plan& plan,
                      const node_layout& layout,
                      const actors::training_problem& problem,
                      const node_callbacks& callbacks);

} // namespace ormo::net
