// worker_host: spawns workers on its node for a supervisor elsewhere.
//
// A node that runs workers of a multi-process topology has one host. It
// enlists with the supervisor (supervisor_actor's enlist_atom) and then
// spawns a worker whenever the supervisor asks, with the id the supervisor
// chose, in the slot it names (which fixes the worker's data shard and
// speed), reaching the shards through routes made on this node. The
// supervisor monitors each worker and the host: a host that goes down takes
// its node's workers with it. When a shard restarts, the supervisor tells
// the host, which moves its link interceptors and workers to it.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include <caf/fwd.hpp>

#include "ormo/actors/interfaces.hpp"
#include "ormo/actors/shard_route.hpp"
#include "ormo/actors/worker.hpp"
#include "ormo/status.hpp"

namespace ormo::actors {

struct worker_host_settings {
  /// Every shard, in order (as this node reaches them).
  std::vector<shard_route> shards;
  /// The gradient source of a worker in `slot`; called once per spawn.
  std::function<ormo::result<std::shared_ptr<model::gradient_source>>(
    std::size_t slot)>
    make_source;
  /// The timing of a worker in `slot`.
  std::function<worker_timing(std::size_t slot)> timing;
  /// Slots the host may spawn; others are refused.
  std::vector<std::size_t> slots;
  /// links[slot][s]: the link interceptor a worker in `slot` reaches shard
  /// s through, in its orderer's place (a run with faults; see
  /// link_interceptor.hpp). A slot not in here reaches the shards directly.
  /// They end with the host.
  std::map<std::size_t, std::vector<momentum_orderer_actor>> links;
  /// The route from this node to shard `s` restarted as `fresh` (e.g.
  /// through this node's proxy of the shard); empty: `fresh` itself.
  std::function<shard_route(std::size_t s, const shard_route& fresh)> localize;
  /// Hears of the workers' partial gradients.
  supervisor_actor supervisor;
};

/// Spawns the host. It quits after answering stop_atom; its workers end
/// with it, however it ends.
worker_host_actor spawn_worker_host(caf::actor_system& system,
                                    worker_host_settings settings);

} // namespace ormo::actors
