// fault_injector: fires a run's declared faults (`[[faults]]`) at their
// points.
//
// When: `at_seconds` after its start (a timer on the actor clock, so
// virtual seconds in deterministic mode); `at_gradient`, once the workers
// have pushed that many gradients in all, each counted once however often
// it is sent; `at_iteration`, once an accepted answer of the first shard
// reports that iteration index. Both counts come from the link
// interceptors in front of the first shard (tally_atom), one per worker
// slot, so a run with faults routes every worker's pushes through
// interceptors. Faults that fall due together fire in file order.
//
// What: a worker fault (kill_worker, fail_gradient, slow_worker,
// freeze_worker) goes to the supervisor, which passes it on to the slot's
// live worker (worker_fault); a link fault (drop, delay, duplicate,
// reorder) to the interceptor of its worker-shard link; a partition to
// every link of its worker; kill_shard to the run monitor, which kills the
// shard and restarts it from its checkpoint. Every
// random choice is made by the actor it strikes, from a seed derived from
// the run's seed, the fault's index and the link or worker: never from
// the wall clock, so a deterministic run with faults replays byte for byte.
//
// Counts: each fault that fires is counted by kind in `counts` (read by
// run_training for summary.json's faults_injected). The injector ends when
// the run monitor does.
//
// Thread-safety: fault_counts is guarded by its mutex; the rest is the
// actor's.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "ormo/actors/interfaces.hpp"
#include "ormo/actors/link_interceptor.hpp"
#include "ormo/config/run_config.hpp"

namespace ormo::actors {

/// The faults fired so far, by kind name.
class fault_counts {
public:
  void add(const std::string& kind) {
    std::lock_guard<std::mutex> guard{mutex_};
    ++by_kind_[kind];
  }

  std::map<std::string, std::uint64_t> snapshot() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return by_kind_;
  }

private:
  mutable std::mutex mutex_;
  std::map<std::string, std::uint64_t> by_kind_;
};

/// start_atom tells the injector what it acts on once the run's actors
/// exist: `links[slot * shards + shard]` is the interceptor of that link,
/// for every initial slot. links_atom adds (or replaces) the interceptors
/// of one slot, one per shard, in a multi-process run from the slot's node;
/// a link fault that falls due before its slot's links came strikes
/// nothing.
using fault_injector_actor = fault_observer_actor::extend<
  caf::reacts_to<start_atom, supervisor_actor, run_monitor_actor,
                 std::vector<link_interceptor_actor>>,
  caf::reacts_to<links_atom, std::uint64_t,
                 std::vector<link_interceptor_actor>>,
  /// Its own timer: fault `index` is due.
  caf::reacts_to<fault_atom, std::uint64_t>>;

struct fault_injector_settings {
  /// Validated (config::parse_run_config resolved their targets).
  std::vector<config::fault_config> faults;
  /// The run's seed; each fault draws from a stream derived from it.
  std::uint64_t seed = 0;
  /// Shards of the run (the stride of `links`).
  std::size_t shards = 1;
  /// Worker slots of the run (links_atom names one of them).
  std::size_t slots = 0;
  /// Where the faults that fire are counted; may be null.
  std::shared_ptr<fault_counts> counts;
};

/// Spawns the injector; it fires nothing before start_atom.
fault_injector_actor spawn_fault_injector(caf::actor_system& system,
                                          fault_injector_settings settings);

/// The seed of the link interceptor of `slot` and `shard` in a run seeded
/// with `seed` (one independent stream per link).
std::uint64_t link_seed(std::uint64_t seed, std::size_t slot, std::size_t shard,
                        std::size_t shards);

} // namespace ormo::actors
