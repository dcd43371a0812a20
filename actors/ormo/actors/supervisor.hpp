// supervisor: membership of the workers.
//
// Spawns the workers (one per slot; a slot fixes the data shard and the
// speed), monitors them, restarts a crashed worker as a new member (new id,
// same slot) up to restart_limit times and evicts it after that. Keeps K of
// every orderer equal to the live workers unless K is fixed, registers and
// unregisters worker ids at the orderers, and measures each worker's speed
// from the orderers' counts. None of this stops the other workers.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "ormo/actors/interfaces.hpp"
#include "ormo/actors/shard_route.hpp"
#include "ormo/actors/worker.hpp"
#include "ormo/status.hpp"

namespace ormo::actors {

struct supervisor_settings {
  std::vector<shard_route> shards;
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
};

struct supervisor_state {
  struct member {
    worker_id id = 0;
    std::size_t slot = 0;
    /// Restarts of this slot's worker so far.
    std::int32_t restarts = 0;
    bool removed = false;
    worker_actor handle;
  };

  supervisor_settings settings;
  std::map<caf::actor_addr, member> members;
  worker_id next_id = 1;
  std::size_t next_slot = 0;
  membership_stats stats;
  bool stopping = false;
  /// Speed measurement: accepted counts and time at the last tick.
  std::map<worker_id, std::uint64_t> last_accepted;
  caf::actor_clock::time_point last_tick;

  static inline const char* name = "ormo.supervisor";
};

using supervisor_pointer = supervisor_actor::stateful_pointer<supervisor_state>;

supervisor_actor::behavior_type supervisor(supervisor_pointer self,
                                           supervisor_settings settings);

} // namespace ormo::actors
