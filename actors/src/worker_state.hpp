// The state and behaviour of a worker (see ormo/actors/worker.hpp);
// private to the actors library.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ormo/actors/worker.hpp"
#include "ormo/random.hpp"

namespace ormo::actors {

struct worker_state {
  worker_id id = 0;
  std::vector<shard_route> shards;
  std::shared_ptr<model::gradient_source> source;
  worker_timing timing;
  /// Latest parameters of each shard; released once the gradient is
  /// computed, so that servers can update in place.
  std::vector<parameter_snapshot> snapshots;
  /// Replies still awaited in the current pull or push round.
  std::size_t awaiting = 0;
  /// Rounds of requests begun so far, and that count at the last watchdog
  /// tick.
  std::uint64_t rounds = 0;
  std::uint64_t rounds_at_tick = 0;
  /// Shards that rejected the last push and must be pulled again.
  std::vector<std::size_t> stale_shards;
  /// The full parameter vector when there are several shards.
  Eigen::VectorXf assembled;
  /// The last gradient; reused once no shard holds it any more.
  std::shared_ptr<Eigen::VectorXf> gradient;
  std::vector<iteration_index> computed_at;
  float loss = 0;
  std::uint64_t sequence = 0;
  /// Asked to leave: quit once the current round is answered.
  bool leaving = false;
  /// Told when the shards disagree on one gradient (may be null).
  supervisor_actor supervisor;
  /// The current push's outcome at each shard, and its answers awaited.
  std::vector<rejection_reason> outcomes;
  std::size_t outcomes_awaited = 0;
  /// Draws the virtual compute jitter.
  random_source random{0};

  static inline const char* name = "ormo.worker";
};

using worker_pointer = worker_actor::stateful_pointer<worker_state>;

/// REQUIRES: shards non-empty, their sizes add up to source->dimension().
/// `supervisor` (may be null) hears of every gradient whose shards
/// disagreed (partial_atom).
worker_actor::behavior_type
worker(worker_pointer self, worker_id id, std::vector<shard_route> shards,
       std::shared_ptr<model::gradient_source> source, worker_timing timing,
       supervisor_actor supervisor);

} // namespace ormo::actors
