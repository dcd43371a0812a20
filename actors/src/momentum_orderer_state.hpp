// The state and behaviour of a momentum orderer (see
// ormo/actors/momentum_orderer.hpp); private to the actors library.
#pragma once

#include <array>
#include <map>
#include <memory>

#include "ormo/actors/momentum_orderer.hpp"
#include "ormo/actors/push_ledger.hpp"

namespace ormo::actors {

/// Sends a milestone to `watcher` once `received` gradients are received or
/// the iteration index reaches `iteration` (0: that part off); no watcher:
/// none pending.
struct orderer_watch {
  std::uint64_t received = 0;
  iteration_index iteration = 0;
  run_monitor_actor watcher;
};

struct momentum_orderer_state {
  /// Shared only to pass it through spawn; the spawner must drop its copy.
  std::shared_ptr<optim::update_rule> rule;
  parameter_server_actor server;
  /// Registered workers and the decisions on their recent pushes.
  push_ledger ledger;
  shard_checkpointing checkpointing;
  orderer_stats stats;
  /// The rule holds pushes until the close (the synchronous reference):
  /// workers wait for the close of their iteration.
  bool synchronous = false;
  /// The pending watches (see watch_atom), by watch_slot.
  std::array<orderer_watch, watch_slots> watches;

  static inline const char* name = "ormo.momentum_orderer";
};

using momentum_orderer_pointer
  = momentum_orderer_actor::stateful_pointer<momentum_orderer_state>;

/// `rule` must fit the shard `server` owns (same dimension).
momentum_orderer_actor::behavior_type momentum_orderer(
  momentum_orderer_pointer self, std::shared_ptr<optim::update_rule> rule,
  parameter_server_actor server, shard_checkpointing checkpointing,
  push_ledger ledger, orderer_stats stats);

} // namespace ormo::actors
