// momentum_orderer: owns the update rule of one shard (u, t, n).
//
// Validates every push (registered worker, fresh sequence number, then the
// rule's own checks: dimension, finite values, 0 <= i <= t), places the
// gradient by its iteration index and delegates the push to its parameter
// server with the step w must take, so the worker's answer carries the
// parameters that include its gradient. Rejections are counted by reason and
// answered to the worker, never dropped.
#pragma once

#include <map>
#include <memory>

#include "ormo/actors/interfaces.hpp"
#include "ormo/optim/update_rule.hpp"

namespace ormo::actors {

struct momentum_orderer_state {
  /// Shared only to pass it through spawn; the spawner must drop its copy.
  std::shared_ptr<optim::update_rule> rule;
  parameter_server_actor server;
  /// Registered workers and the last sequence number accepted from each
  /// (0: none yet; workers number their pushes from 1).
  std::map<worker_id, std::uint64_t> last_sequence;
  orderer_stats stats;
  /// SSGDm: workers wait for the close of their iteration.
  bool synchronous = false;
  /// The pending watch (see watch_atom); no watcher: none.
  std::uint64_t watch_received = 0;
  iteration_index watch_iteration = 0;
  run_monitor_actor watcher;

  static inline const char* name = "ormo.momentum_orderer";
};

using momentum_orderer_pointer
  = momentum_orderer_actor::stateful_pointer<momentum_orderer_state>;

/// `rule` must fit the shard `server` owns (same dimension).
momentum_orderer_actor::behavior_type
momentum_orderer(momentum_orderer_pointer self,
                 std::shared_ptr<optim::update_rule> rule,
                 parameter_server_actor server);

} // namespace ormo::actors
