// run_checkpoint: what a deterministic run saves beside its shards'
// checkpoints (shard_checkpoint.hpp) so that a resumed run goes on exactly
// as the run that never stopped: taken with every worker paused and every
// push answered, it holds each worker's place in its streams, the
// supervisor's counts, the monitor's rows and memory, and the virtual time.
//
// Plain C++ (no CAF); decoding never trusts the payload, like the shards'.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ormo/actors/run_policy.hpp"
#include "ormo/actors/run_report.hpp"
#include "ormo/optim/update_rule.hpp"
#include "ormo/status.hpp"

namespace ormo::actors {

/// Where a paused worker is: its id and slot, pushes sent (its sequence
/// number) and gradients computed (minibatches drawn, jitter draws).
struct worker_progress {
  std::uint32_t id = 0;
  std::uint64_t slot = 0;
  std::uint64_t sequence = 0;
  std::uint64_t batches = 0;
};

/// The supervisor's counts a resumed run continues.
struct membership_counts {
  std::uint32_t next_id = 1;
  std::uint32_t joined = 0;
  std::uint32_t left = 0;
  std::uint32_t crashed = 0;
  std::uint32_t restarted = 0;
  std::uint32_t evicted = 0;
  std::uint64_t retries = 0;
  std::uint64_t gradients_lost = 0;
};

struct run_checkpoint {
  /// The iteration index of each shard's checkpoint of the same cut.
  std::vector<optim::iteration_index> shard_iterations;
  /// The virtual clock at the cut, and the monitor's start and the
  /// workers' start on it (nanoseconds since the clock's epoch).
  std::int64_t clock_ns = 0;
  std::int64_t start_ns = 0;
  std::int64_t training_start_ns = 0;
  /// When the monitor's next tick is due.
  std::int64_t next_tick_ns = 0;
  policy_memory policy;
  /// The metrics rows made before the cut.
  std::vector<metrics_row> rows;
  /// The live workers, by id.
  std::vector<worker_progress> workers;
  membership_counts membership;
};

/// The payload of `checkpoint`.
std::string encode(const run_checkpoint& checkpoint);

/// The checkpoint in `payload`, or why it cannot be one (corrupt).
result<run_checkpoint> decode_run_checkpoint(const std::string& payload);

} // namespace ormo::actors
