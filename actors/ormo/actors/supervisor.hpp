// supervisor: membership of the workers.
//
// Spawns the workers (one per slot; a slot fixes the data shard and the
// speed), monitors them, restarts a crashed worker as a new member (new id,
// same slot) up to restart_limit times and evicts it after that; a slot
// whose gradient source cannot be made counts as crashed the same way.
// Keeps K of every orderer equal to the live workers unless K is fixed,
// registers and unregisters worker ids at the orderers, measures each
// worker's speed
// from the orderers' counts (a gradient counts once every shard accepted
// it) and counts the gradients whose shards disagreed, as the workers
// report them. None of this stops the other workers.
//
// Workers on other nodes: a node's worker host enlists with the slots the
// topology gives that node; the supervisor registers each new worker id at
// every orderer, waits for their answers, then has the host spawn it. A
// crashed remote worker is restarted on its node; a lost node (its host
// went down, e.g. no heartbeat within the connection timeout) loses its
// workers: counted as lost, never restarted elsewhere. A returning node
// enlists again as a new member.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "ormo/actors/interfaces.hpp"
#include "ormo/actors/shard_route.hpp"
#include "ormo/actors/worker.hpp"
#include "ormo/status.hpp"

namespace ormo::actors {

struct supervisor_settings {
  std::vector<shard_route> shards;
  /// links[slot * shards.size() + s]: the link interceptor the worker in
  /// `slot` reaches shard s through, in the orderer's place (see
  /// link_interceptor.hpp); a slot beyond them reaches the shards directly.
  std::vector<momentum_orderer_actor> links;
  /// The gradient source of a worker in `slot` (its data shard, its own
  /// scratch). Called again for a restarted worker.
  /// A failure counts as a crash of that slot's worker (restart limit,
  /// eviction); see training_problem::make_source.
  std::function<ormo::result<std::shared_ptr<model::gradient_source>>(
    std::size_t slot)>
    make_source;
  /// The timing (speed) of a worker in `slot`.
  std::function<worker_timing(std::size_t slot)> timing;
  std::int32_t initial_workers = 1;
  /// K stays at this value whatever the membership; none: K = live workers.
  std::optional<std::int32_t> fixed_iteration_size;
  std::int32_t restart_limit = 3;
  /// Interval of the speed measurement.
  caf::timespan speed_interval = std::chrono::seconds(1);
  /// Multi-process runs: the slots each node may offer when it enlists its
  /// worker host, by node name; a node not in here is refused.
  std::map<std::string, std::vector<std::size_t>> node_slots;
  /// Limit of every request to another node (joins, spawns, the stop).
  caf::timespan remote_timeout = std::chrono::seconds(10);
  /// A resumed run: its workers are spawned at once (instead of
  /// initial_workers), each with its id and slot and going on where it
  /// was paused, and the counts go on from these.
  std::optional<paused_run> resume_from;
};

/// Spawns the supervisor, which spawns its initial workers at once.
/// `own_thread`: on a thread of its own (real-time runs), so that crashes,
/// joins and leaves are handled at once however busy the workers keep the
/// scheduler; never under the test coordinator.
supervisor_actor spawn_supervisor(caf::actor_system& system,
                                  supervisor_settings settings,
                                  bool own_thread = false);

} // namespace ormo::actors
