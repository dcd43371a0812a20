// The state and behaviour of a worker (see ormo/actors/worker.hpp);
// private to the actors library.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/typed_response_promise.hpp>

#include "ormo/actors/worker.hpp"
#include "ormo/random.hpp"

namespace ormo::actors {

/// A push some shard has not answered yet.
struct push_in_flight {
  std::uint64_t sequence = 0;
  /// The slice sent to each shard (by route index), kept to send again.
  std::vector<gradient_push> slices;
  /// Each shard's outcome (none: applied or not yet in), whether it came,
  /// and when the slice was last sent (the actor clock's time).
  std::vector<rejection_reason> outcomes;
  std::vector<bool> answered;
  std::vector<caf::actor_clock::time_point> sent_at;
  /// Answers still awaited.
  std::size_t awaited = 0;
  /// Shards that rejected it, in the order their answers came; pulled once
  /// every shard answered.
  std::vector<std::size_t> stale_shards;
};

struct worker_state {
  worker_id id = 0;
  std::vector<shard_route> shards;
  std::shared_ptr<model::gradient_source> source;
  worker_timing timing;
  /// Latest parameters of each shard; released once the gradient is
  /// computed unless the worker may compute on them again before an answer
  /// comes (pipelining), so that servers can update in place.
  std::vector<parameter_snapshot> snapshots;
  /// Replies still awaited: pulls and every shard's answer to every push.
  std::size_t awaiting = 0;
  /// Replies received so far, and that count at the last watchdog tick.
  std::uint64_t replies = 0;
  std::uint64_t replies_at_tick = 0;
  /// Pushes not answered by every shard yet, oldest first.
  std::vector<push_in_flight> pushes;
  /// Per shard: rejected a push and not pulled again since (no computing on
  /// it), and whether that pull is awaited.
  std::vector<bool> stale;
  /// Per shard: found down (a request to it bounced) and not yet told its
  /// restarted route; and how often its route changed (a request that
  /// bounces after a change is simply sent again).
  std::vector<bool> shard_down;
  std::vector<std::uint64_t> route_changes;
  std::vector<bool> pulling;
  /// Pulls awaited.
  std::size_t pulls_awaited = 0;
  /// A gradient is computed and its (slowed) push not sent yet.
  bool computing = false;
  /// The full parameter vector when there are several shards.
  Eigen::VectorXf assembled;
  /// The last gradient; reused once no shard holds it any more.
  std::shared_ptr<Eigen::VectorXf> gradient;
  /// Earlier gradients still held by pushes in flight, reused once free
  /// (at most pushes_in_flight - 1, so none when pipelining is off).
  std::vector<std::shared_ptr<Eigen::VectorXf>> spare_gradients;
  std::vector<iteration_index> computed_at;
  float loss = 0;
  std::uint64_t sequence = 0;
  /// Gradients computed (minibatches drawn, jitter draws).
  std::uint64_t batches = 0;
  /// Resumed: batches the source skips before the first gradient.
  std::uint64_t to_skip = 0;
  /// Asked to pause: compute nothing new; answer `pause` once every push
  /// is answered.
  bool paused = false;
  caf::typed_response_promise<worker_progress> pause;
  /// Asked to leave: compute nothing new, quit once every push is answered.
  bool leaving = false;
  /// Told when the shards disagree on one gradient (may be null).
  supervisor_actor supervisor;
  /// Draws the virtual compute jitter.
  random_source random{0};
  /// Declared faults (worker_fault): until when its gradients fail, with
  /// what chance (drawn from fault_random), and until when they are slowed,
  /// by what factor.
  caf::actor_clock::time_point fail_until{};
  double fail_probability = 0;
  caf::actor_clock::time_point slow_until{};
  double slow_factor = 1;
  random_source fault_random{0};
  /// A declared freeze: until when, and what arrived meanwhile (messages,
  /// answers), run in arrival order at the thaw. Exit messages are not
  /// held: a frozen worker can be ended.
  bool frozen = false;
  caf::actor_clock::time_point frozen_until{};
  std::vector<std::function<void()>> deferred;
  /// It failed or quit: run nothing more.
  bool ended = false;

  static inline const char* name = "ormo.worker";
};

using worker_pointer = worker_actor::stateful_pointer<worker_state>;

/// REQUIRES: shards non-empty, their sizes add up to source->dimension().
/// `supervisor` (may be null) hears of every gradient whose shards
/// disagreed (partial_atom). `from`: where a resumed worker goes on (its
/// sequence and batches; zero for a new one).
worker_actor::behavior_type
worker(worker_pointer self, worker_id id, std::vector<shard_route> shards,
       std::shared_ptr<model::gradient_source> source, worker_timing timing,
       supervisor_actor supervisor, worker_progress from = {});

} // namespace ormo::actors
