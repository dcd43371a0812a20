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
// Pipelining (pushes_in_flight = N > 1): the worker computes its next
// gradient right after a push, on the newest parameters it holds, while up
// to N pushes await their answers; an answer with newer parameters (a
// higher or equal version, so the later of two) replaces the shard's
// snapshot for the next computation. Each gradient carries the iteration
// index of the parameters it was computed on, so the rule counts its delay.
// A shard that rejected a push is pulled (once every shard answered that
// push) before the worker computes on it again. While one push stays
// unanswered the others may complete and new ones follow, but a new push's
// sequence number stays less than push_ledger::window above the oldest
// unanswered one, so that the orderers never forget whether they decided
// it (see push_ledger.hpp). While it may still compute
// on a snapshot the worker holds its buffer, so a server updates into
// another one (copy-on-write). N = 1 is the loop above, unchanged.
//
// Speed: a worker with slowdown f > 1 waits (f - 1) times its measured
// compute time (its thread's CPU time, so time spent waiting for a core
// does not count) before pushing, without blocking a thread. In
// deterministic mode the compute time is virtual: f * virtual_compute.
//
// Partial gradients: only the worker sees every shard's answer to one
// gradient. When they disagree (some shards applied their slice, others
// rejected it; never with one shard), it tells its supervisor each shard's
// outcome, so that the run's counts hold for the whole gradient.
//
// Retries: a push slice a shard has not answered for retry_after (checked
// by a tick of that period) is sent to that shard again, with the same
// worker and sequence number, and again after each further period. The
// orderer answers a push it receives again as it answered the first (see
// push_ledger.hpp), so a lost push is placed late and never lost, and a lost
// answer's push is never applied twice; the worker takes the first answer
// to each slice and ignores the others. It tells its supervisor how many
// slices it sent again (retry_atom).
//
// Leaving: the worker computes no new gradient, pushes the one in progress,
// takes the answers to every push in flight and then quits.
//
// Declared faults (worker_fault, from its supervisor; see
// fault_injector.hpp): kill ends it as a failure would; fail_gradient makes
// each gradient it starts while the fault lasts fail with the fault's
// probability (drawn from the fault's seed and the worker's id), which ends
// it; slow multiplies each gradient's time by the fault's factor while it
// lasts; freeze holds every message and answer it receives until the fault
// is over and then handles them in order (an exit still ends it at once).
// It answers its supervisor's stats_atom (a sign of life) with the
// gradients it pushed, after a freeze only.
//
// Failure: a throwing gradient_source or a failed request ends the worker
// with an error; its supervisor sees the down message. Requests carry no
// timeout of their own (in CAF 0.17 each timeout wakes the clock thread
// twice, on the hot path): a watchdog ticking every request_timeout ends
// the worker when requests are awaited and no answer arrived from one tick
// to the next, so after between one and two timeouts.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <caf/fwd.hpp>

#include "ormo/actors/gradient_pool.hpp"
#include "ormo/actors/interfaces.hpp"
#include "ormo/actors/shard_route.hpp"
#include "ormo/model/gradient_source.hpp"

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
  /// How long a push may stay unanswered by a shard before it is sent to
  /// that shard again (checked by a tick of this period).
  caf::timespan retry_after = std::chrono::seconds(2);
  /// Pushes that may await their answers while the worker computes on
  /// (>= 1; 1 = compute only after every shard answered the last push).
  /// REQUIRES 1 under the synchronous reference, whose servers hold the
  /// answers until the iteration closes.
  int pushes_in_flight = 1;
  /// Null: the worker keeps every push until each shard answered it, to
  /// send it again after a loss (a faulty link, a restarted shard), and
  /// reuses its own gradient buffers. Otherwise it computes into buffers of
  /// this pool and keeps no copy: a buffer returns as soon as the server
  /// has applied it. Set it only where no message can be lost: every shard
  /// in this process, no declared faults, no shard restarts.
  std::shared_ptr<gradient_pool> gradients;
};

/// Spawns a worker and starts it (it pulls every shard, then loops).
/// REQUIRES: shards non-empty, their sizes add up to source->dimension(),
/// and every orderer knows `id` (join_atom) before its first push.
/// `supervisor` (may be null) hears of every gradient whose shards
/// disagreed (partial_atom).
worker_actor spawn_worker(caf::actor_system& system, worker_id id,
                          std::vector<shard_route> shards,
                          std::shared_ptr<model::gradient_source> source,
                          worker_timing timing,
                          supervisor_actor supervisor = {});

} // namespace ormo::actors
