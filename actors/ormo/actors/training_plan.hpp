// training_plan: every decision about a run's topology, as plain data.
//
// make_training_plan turns a validated run_config and the sizes of the
// problem into a plan: how the parameters are sliced into shards, each
// shard's update rule, each worker slot's speed and timing, the supervisor's
// and the monitor's settings, and the facts the report states. A realiser
// (spawn_training in training.hpp) turns the plan into actors; nothing in
// the plan says where an actor lives, so a realiser may put parts of it on
// other nodes. No CAF in this header: durations are std::chrono::nanoseconds
// (the type of caf::timespan).
//
// Thread-safety: a plan is a value; copies are independent.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ormo/config/run_config.hpp"
#include "ormo/optim/make_update_rule.hpp"
#include "ormo/optim/update_rule.hpp"
#include "ormo/status.hpp"

namespace ormo::actors {

/// What the problem contributes to a plan: its sizes, not its functions.
struct plan_inputs {
  /// Length of the full parameter vector.
  std::size_t dimension = 0;
  /// Samples per gradient.
  std::size_t batch_size = 1;
  /// Training samples (one epoch).
  std::size_t samples_per_epoch = 1;
};

/// Everything needed to build one shard's update rule, on any node.
struct rule_plan {
  optim::algorithm_settings settings;
  /// The shard's slice size.
  std::size_t dimension = 0;
  /// K, the iteration size the rule starts with.
  int iteration_size = 1;
  std::int64_t warmup_iterations = 0;
};

/// Builds the rule a rule_plan describes (warm-up set), or says which
/// setting is bad. The same plan always gives an equal rule.
result<std::unique_ptr<optim::update_rule>> make_rule(const rule_plan& plan);

/// Shard s holds parameters [offset, offset + size) of the full vector.
struct shard_plan {
  std::size_t offset = 0;
  std::size_t size = 0;
  rule_plan rule;
  /// Its checkpoints: where, every how many iterations (0 = none), and how
  /// many it keeps.
  std::string checkpoint_directory;
  std::int64_t checkpoint_every = 0;
  int checkpoint_keep = 3;
};

/// The timing of one worker slot (what the worker's worker_timing holds).
struct worker_slot_plan {
  /// >= 1, 1 = nominal speed.
  double slowdown = 1;
  /// Deterministic mode only: the virtual duration of one gradient at
  /// slowdown 1. None: real time.
  std::optional<std::chrono::nanoseconds> virtual_compute;
  /// Deterministic mode: spread of each gradient's virtual duration.
  double jitter = 0;
  /// Seeds the slot's jitter draws.
  std::uint64_t seed = 0;
  /// How long a round of a worker's requests may stay unanswered.
  std::chrono::nanoseconds request_timeout = std::chrono::seconds(60);
  /// How long a push may stay unanswered before it is sent again.
  std::chrono::nanoseconds retry_after = std::chrono::seconds(2);
  /// Pushes that may await their answers while the worker computes on.
  int pushes_in_flight = 1;
};

/// The workers: one timing per initial slot, and what makes the timing of
/// any slot (see worker_timing_of).
struct workers_plan {
  /// Workers the run starts with (slots 0 .. initial - 1).
  std::size_t initial = 0;
  /// slots[k]: the timing of initial slot k; size() == initial.
  std::vector<worker_slot_plan> slots;
  /// What a later slot's timing is made of.
  config::speed_config speed;
  std::uint64_t seed = 0;
  std::optional<std::chrono::nanoseconds> virtual_compute;
  double jitter = 0;
  std::chrono::nanoseconds request_timeout = std::chrono::seconds(60);
  std::chrono::nanoseconds retry_after = std::chrono::seconds(2);
  int pushes_in_flight = 1;
};

/// The supervisor's settings that are data.
struct supervisor_plan {
  /// Workers it spawns by itself (0: the monitor asks for them once it is
  /// ready to watch them).
  std::int32_t initial_workers = 0;
  /// K stays at this value whatever the membership; none: K = live workers.
  std::optional<std::int32_t> fixed_iteration_size;
  std::int32_t restart_limit = 3;
  /// In real time the supervisor runs on a thread of its own, so that busy
  /// workers never delay its handling of crashes, joins and leaves.
  bool own_thread = false;
};

/// The run monitor's settings that are data.
struct monitor_plan {
  config::stop_rules stop;
  std::size_t batch_size = 1;
  std::size_t samples_per_epoch = 1;
  double evaluations_per_epoch = 4;
  double progress_seconds = 2;
  /// Workers the monitor asks the supervisor for once it is ready.
  std::int32_t workers_to_start = 0;
  /// Deterministic mode: a checkpoint of the whole run (workers paused)
  /// every this many iterations, in the shards' checkpoint directory; the
  /// shards then take none on their own (their checkpoint_every is 0, and
  /// they keep one more than the run: a cut whose shard parts are written
  /// but not yet its own still finds the previous cut's parts).
  std::int64_t checkpoint_every = 0;
  int checkpoint_keep = 3;
  /// In real time the monitor runs on a thread of its own, so that busy
  /// workers never delay its ticks, milestones and stop.
  bool own_thread = false;
};

/// The run-level facts the report states.
struct report_plan {
  std::string algorithm;
  std::string apply;
  std::uint32_t workers = 0;
  std::int32_t iteration_size = 0;
  bool deterministic = false;
  std::uint64_t seed = 0;
};

struct training_plan {
  /// Length of the full parameter vector; the shards cover [0, dimension)
  /// in order, without gaps or overlap.
  std::size_t dimension = 0;
  std::vector<shard_plan> shards;
  workers_plan workers;
  supervisor_plan supervisor;
  monitor_plan monitor;
  report_plan report;
  /// Virtual time under CAF's test coordinator.
  bool deterministic = false;
  /// Faults the actors inject (see fault_injector.hpp; the node kinds are
  /// the launcher's and not in here); empty: none, and no interceptor on
  /// any route.
  std::vector<config::fault_config> faults;
};

/// Decides the topology of `run` for a problem of the given sizes. Fails,
/// with a message naming the setting at fault ("server.shards: ...",
/// "algorithm: ..."), when there are more shards than parameters or a
/// shard's rule cannot be built. REQUIRES: `run` passed config validation.
result<training_plan> make_training_plan(const config::run_config& run,
                                         const plan_inputs& inputs);

/// The timing of worker `slot`: plan.workers.slots[slot] for an initial
/// slot; for a slot added later, made from plan.workers as the initial ones
/// were (its slowdown from slowdown_for(speed, slot, initial, seed)).
worker_slot_plan worker_timing_of(const training_plan& plan, std::size_t slot);

bool operator==(const rule_plan& a, const rule_plan& b);
bool operator==(const shard_plan& a, const shard_plan& b);
bool operator==(const worker_slot_plan& a, const worker_slot_plan& b);
bool operator==(const workers_plan& a, const workers_plan& b);
bool operator==(const supervisor_plan& a, const supervisor_plan& b);
bool operator==(const monitor_plan& a, const monitor_plan& b);
bool operator==(const report_plan& a, const report_plan& b);
bool operator==(const training_plan& a, const training_plan& b);

} // namespace ormo::actors
