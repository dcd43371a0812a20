// Composing and running a whole training topology: the entry point for the
// CLI and for host programs that embed ormo in their own actor system.
//
//   caf::actor_system_config cfg;
//   ormo::actors::configure(cfg, run.run.deterministic);
//   caf::actor_system system{cfg};
//   auto report = ormo::actors::run_training(system, run, my_problem, {});
//
// A run_config becomes a training_plan (training_plan.hpp: what runs, as
// data), which spawn_training realises as actors of one actor system.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>

#include "ormo/actors/fault_injector.hpp"
#include "ormo/actors/interfaces.hpp"
#include "ormo/actors/resume_point.hpp"
#include "ormo/actors/run_policy.hpp"
#include "ormo/actors/run_report.hpp"
#include "ormo/actors/shard_route.hpp"
#include "ormo/actors/training_plan.hpp"
#include "ormo/actors/training_problem.hpp"
#include "ormo/actors/worker.hpp"
#include "ormo/config/run_config.hpp"

namespace ormo::actors {

/// Registers ormo's message types and error category in a host's config;
/// selects CAF's test coordinator (virtual time) with `deterministic`, else
/// a coordinator of workers_last_sharing (first in first out, workers'
/// jobs behind every other actor's), which a "scheduler.policy" setting
/// cannot override.
/// Also makes every thread of the actor system flush denormal floats to
/// zero (see ormo/denormals.hpp). Call once, before the actor_system is
/// made.
void configure(caf::actor_system_config& cfg, bool deterministic);

/// Callbacks of a run (all optional).
struct training_callbacks {
  std::function<void(const metrics_row&)> on_row;
  std::function<void(const progress&)> on_progress;
  /// Polled at every tick (thread-safe, cheap): true ends the run as
  /// "interrupted", with a final evaluation and a complete report (e.g. on
  /// Ctrl-C).
  std::function<bool()> stop_requested;
};

/// Handles of a spawned topology.
struct training_handles {
  std::vector<shard_route> shards;
  supervisor_actor supervisor;
  run_monitor_actor monitor;
  /// Complete once the monitor has quit.
  std::shared_ptr<run_report> report;
  /// The declared faults that fired, by kind (null without faults); not
  /// in `report` (run_training copies them there).
  std::shared_ptr<fault_counts> faults;
};

/// The timing a worker in `slot` of `plan` runs with.
worker_timing worker_timing_for(const training_plan& plan, std::size_t slot);

/// Spawns shard `shard` of `plan`: a parameter server holding its slice of
/// `initial_parameters` (the full vector) and its momentum orderer. Fails
/// when the shard's rule cannot be built.
/// REQUIRES: shard < plan.shards.size(), initial_parameters of plan.dimension.
caf::expected<shard_route> spawn_shard(caf::actor_system& system,
                                       const training_plan& plan,
                                       std::size_t shard,
                                       const Eigen::VectorXf& initial_parameters);

/// What restarts a lost shard `s` of `plan` from its newest checkpoint
/// that reads whole (new server and orderer, spawned in `system`); empty
/// when the plan writes no checkpoints.
std::function<caf::expected<shard_route>(std::size_t s)>
shard_restarter(caf::actor_system& system, const training_plan& plan);

/// Spawns the run monitor of `plan` watching `shards` and `supervisor`; it
/// fills `report` (with the plan's facts at once) and quits when the run
/// is over. `from`: a resumed run's cut; `restart_shard` and `keeper`: see
/// run_monitor_settings.
run_monitor_actor spawn_monitor(
  caf::actor_system& system, const training_plan& plan,
  std::vector<shard_route> shards, supervisor_actor supervisor,
  const training_problem& problem, const training_callbacks& callbacks,
  std::shared_ptr<run_report> report,
  std::vector<std::string> shard_places = {},
  std::shared_ptr<const run_checkpoint> from = nullptr,
  std::function<caf::expected<shard_route>(std::size_t)> restart_shard = {},
  shard_keeper_actor keeper = {});

/// Realises `plan` in `system`: for each shard a parameter server (holding
/// the problem's initial parameters of its slice) and its orderer, then the
/// supervisor (which spawns the workers) and the run monitor. With faults,
/// also the fault injector, and a link interceptor on each initial worker
/// slot's route to each shard. Fails without
/// spawning anything when the problem does not fit the plan (no
/// make_source, another parameter dimension) or a rule cannot be built.
/// With `from` (find_resume_point of the same plan) the shards start from
/// its checkpoints; in deterministic mode the workers and the monitor go on
/// from its run checkpoint too, and the clock must be at its time.
caf::expected<training_handles>
spawn_training(caf::actor_system& system, const training_plan& plan,
               const training_problem& problem,
               const training_callbacks& callbacks,
               const resume_point* from = nullptr);

/// make_training_plan for `run` and the problem's sizes, then
/// spawn_training of that plan. Fails with a message naming the bad
/// setting (e.g. a rule's hyper-parameter) without spawning anything.
caf::expected<training_handles>
spawn_training(caf::actor_system& system, const config::run_config& run,
               const training_problem& problem,
               const training_callbacks& callbacks);

/// spawn_training, then blocks until the run is over and returns its
/// report (report.failure says why a run failed). In deterministic mode the
/// calling thread drives CAF's test coordinator through virtual time, so the
/// system must have been configured with deterministic = true. `resume`:
/// the run goes on from its newest checkpoint (find_resume_point; the
/// report names the files, and those refused); a run without one fails.
run_report run_training(caf::actor_system& system,
                        const config::run_config& run,
                        const training_problem& problem,
                        const training_callbacks& callbacks,
                        bool resume = false);

} // namespace ormo::actors
