// worker: the pull -> compute -> push loop around a gradient_source.
//
// It pulls every shard once, then loops: compute the gradient on the
// parameters it holds, push one slice per shard, and compute again on the
// parameters each shard answers with (pulling again only a shard that
// rejected the push). So at most one push per shard is in flight (the
// credit that bounds the middleman's queues), and a worker never waits for
// another one (except under the synchronous reference, whose servers hold
// the answers until the iteration closes).
//
// Speed: a worker with slowdown f > 1 waits (f - 1) times its measured
// compute time before pushing, without blocking a thread. In deterministic
// mode the compute time is virtual: f * virtual_compute.
//
// Failure: a throwing gradient_source or a failed request ends the worker
// with an error; its supervisor sees the down message. Requests carry no
// timeout of their own (in CAF 0.17 each one wakes the clock thread twice,
// which cost 10 % of the throughput): a watchdog ticking every
// request_timeout ends the worker when a round of requests stays unanswered
// from one tick to the next, so after between one and two timeouts.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "ormo/actors/interfaces.hpp"
#include "ormo/actors/shard_route.hpp"
#include "ormo/model/gradient_source.hpp"
#include "ormo/random.hpp"

namespace ormo::actors {

struct worker_timing {
  /// >= 1.
  double slowdown = 1;
  /// Deterministic mode: the virtual duration of one gradient at slowdown 1.
  /// None: real time.
  std::optional<caf::timespan> virtual_compute;
  /// Deterministic mode: each gradient's virtual duration is multiplied by
  /// exp(jitter * z), z ~ N(0, 1) drawn from `seed`.
  double jitter = 0;
  std::uint64_t seed = 0;
  /// How long a round of requests may stay unanswered (up to twice this):
  /// a dead remote server must not hang a worker.
  caf::timespan request_timeout = std::chrono::seconds(60);
};

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
  /// Draws the virtual compute jitter.
  random_source random{0};

  static inline const char* name = "ormo.worker";
};

using worker_pointer = worker_actor::stateful_pointer<worker_state>;

/// REQUIRES: shards non-empty, their sizes add up to source->dimension().
worker_actor::behavior_type
worker(worker_pointer self, worker_id id, std::vector<shard_route> shards,
       std::shared_ptr<model::gradient_source> source, worker_timing timing);

} // namespace ormo::actors
