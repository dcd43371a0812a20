// The typed interfaces of ormo's actors: what each one answers to.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/replies_to.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "ormo/actors/atoms.hpp"
#include "ormo/actors/messages.hpp"

namespace ormo::actors {

/// The watches a momentum orderer keeps (watch_atom's slot), each replacing
/// the previous of its kind, so that re-arming one late never delays
/// another.
enum watch_slot : std::uint8_t {
  evaluation_watch, ///< The next evaluation point.
  stop_watch,       ///< The epoch and iteration stop rules.
  checkpoint_watch, ///< The next checkpoint (deterministic mode).
  watch_slots,
};

/// Owns one shard of w and u beside it; answers pulls with immutable
/// snapshots of w.
using parameter_server_actor = caf::typed_actor<
  /// The current parameters and iteration index.
  caf::replies_to<pull_atom>::with<parameter_snapshot>,
  /// Applies a step to u and w from this shard's orderer and answers the
  /// worker whose gradient caused it (the orderer delegates the push to the
  /// server).
  caf::replies_to<step_atom, parameter_step>::with<push_outcome>,
  /// Its state for a checkpoint, after every step sent before: w (with
  /// its iteration index and version), u and the base (empty when unused).
  caf::replies_to<checkpoint_atom>::with<parameter_snapshot, shared_vector,
                                         shared_vector>>;

/// Watches a run from outside the training path (see run_monitor.hpp).
using run_monitor_actor = caf::typed_actor<
  /// Periodic: read the counters, report progress, check the stop rules.
  caf::reacts_to<tick_atom>,
  /// A watched count was reached at one orderer (the sender); its
  /// counters then.
  caf::reacts_to<milestone_atom, orderer_stats>,
  /// A declared fault: kill shard `s` (it restarts from its checkpoint).
  caf::reacts_to<fault_atom, std::uint64_t>>;

/// Owns the update rule of one shard (t, n): validates gradients, places
/// them by their iteration index and tells the parameter server what to
/// apply to u and w.
using momentum_orderer_actor = caf::typed_actor<
  caf::replies_to<push_atom, gradient_push>::with<push_outcome>,
  /// Registers a worker; pushes from unregistered workers are rejected.
  caf::reacts_to<join_atom, worker_id>, caf::reacts_to<leave_atom, worker_id>,
  /// Sets K (>= 1).
  caf::reacts_to<resize_atom, std::int32_t>,
  caf::replies_to<stats_atom>::with<orderer_stats>,
  /// Sends milestone_atom with its counters to `watcher` once, as soon as
  /// this many gradients are received or this iteration index is reached
  /// (0: that part off), so that stop rules, evaluation points and
  /// checkpoints are exact; one watch per watch_slot.
  caf::reacts_to<watch_atom, std::uint8_t, std::uint64_t, iteration_index,
                 run_monitor_actor>,
  /// Writes this shard's checkpoint now (server and orderer, one cut) and
  /// answers with its iteration index once the file is written. Asked with
  /// every worker paused (deterministic mode); fails when it cannot write.
  caf::replies_to<checkpoint_atom>::with<iteration_index>,
  /// A declared fault (kill_shard): sends `watcher` a milestone with its
  /// counters as they are, then goes down (killed), and its server with
  /// it.
  caf::reacts_to<fault_atom, run_monitor_actor>,
  /// For a link interceptor in an orderer's place: the shard was restarted,
  /// this (a momentum_orderer_actor) is its orderer from now on. An orderer
  /// ignores it.
  caf::reacts_to<route_atom, caf::actor>>;

/// The pull -> compute -> push loop. Driven by its own messages.
using worker_actor = caf::typed_actor<
  /// Pull the parameters and begin.
  caf::reacts_to<start_atom>,
  /// The (possibly slowed) computation is over: push the gradient.
  caf::reacts_to<push_atom>,
  /// Finish the gradient in progress (push it, take the answer), then quit
  /// normally.
  caf::reacts_to<leave_atom>,
  /// Its own watchdog, and its check for pushes to send again (see
  /// worker.hpp).
  caf::reacts_to<tick_atom>, caf::reacts_to<retry_atom>,
  /// Computes nothing new and answers once every push is answered, with
  /// where it is.
  caf::replies_to<pause_atom>::with<worker_progress>,
  /// After a pause: pulls every shard and goes on.
  caf::reacts_to<resume_atom>,
  /// Shard `s` was restarted from its checkpoint: its server, and its
  /// orderer (null: the worker reaches it through a link interceptor, which
  /// was told). The worker sends it the pushes it has not answered and
  /// pulls its parameters (and with them its iteration index).
  caf::reacts_to<route_atom, std::uint64_t, parameter_server_actor,
                 momentum_orderer_actor>,
  /// A declared fault strikes it (see fault_injector.hpp).
  caf::reacts_to<fault_atom, worker_fault>,
  /// A sign of life for its supervisor: the gradients it pushed so far.
  caf::replies_to<stats_atom>::with<std::uint64_t>>;

/// Spawns workers on its node for a supervisor on another node (see
/// worker_host.hpp).
using worker_host_actor = caf::typed_actor<
  /// Spawns and starts a worker with this id in this slot; fails when the
  /// slot's gradient source cannot be made.
  caf::replies_to<spawn_atom, worker_id, std::uint64_t>::with<worker_actor>,
  /// From its supervisor: shard `s` was restarted with this server and
  /// orderer. The host moves its link interceptors and workers to it (as
  /// this node reaches it), and spawns new workers with it.
  caf::reacts_to<route_atom, std::uint64_t, parameter_server_actor,
                 momentum_orderer_actor>,
  /// The run is over: ends every worker it spawned, answers, and quits.
  caf::replies_to<stop_atom>::with<bool>>;

/// Membership: spawns, monitors, restarts and evicts workers, keeps K equal
/// to the live workers (unless fixed) and measures their speed.
using supervisor_actor = caf::typed_actor<
  /// Adds this many workers.
  caf::reacts_to<add_atom, std::int32_t>,
  /// A worker host on node `name` offers these slots: the supervisor
  /// spawns their workers there (registered at every orderer first). Fails
  /// for a node or slots the topology does not give it, or a node that is
  /// already a member.
  caf::replies_to<enlist_atom, std::string, worker_host_actor,
                  std::vector<std::uint64_t>>::with<bool>,
  /// Removes a worker: it pushes the gradient in progress, then quits.
  caf::reacts_to<remove_atom, worker_id>,
  caf::replies_to<stats_atom>::with<membership_stats>,
  /// A worker's shards disagreed on one gradient: each shard's outcome (by
  /// shard route index; none: applied). Counted in membership_stats.
  caf::reacts_to<partial_atom, std::vector<rejection_reason>>,
  /// A worker sent this many push slices again (no answer came in time).
  caf::reacts_to<retry_atom, std::uint64_t>,
  /// A failing worker had this many pushes without every answer: each
  /// may or may not have been applied, its worker never learns which.
  caf::reacts_to<lost_atom, std::uint64_t>,
  /// Periodic speed measurement.
  caf::reacts_to<tick_atom>,
  /// A declared fault for the worker of a slot: passed on to its live
  /// worker and, while it lasts, to the one that replaces it.
  caf::reacts_to<fault_atom, worker_fault>,
  /// Stops every worker and then itself.
  caf::reacts_to<stop_atom>,
  /// Pauses every live worker (see worker_actor) and answers once all are
  /// paused, for a deterministic run's checkpoint.
  caf::replies_to<pause_atom>::with<paused_run>,
  /// Resumes every paused worker.
  caf::reacts_to<resume_atom>,
  /// Shard `s` was restarted with this server and orderer: its workers and
  /// link interceptors are told, and new workers get them.
  caf::reacts_to<route_atom, std::uint64_t, parameter_server_actor,
                 momentum_orderer_actor>>;

} // namespace ormo::actors
