// run_monitor: watches a run from outside the training path.
//
// Every tick it reads the orderers' and the supervisor's counters, and
// every orderer calls it back at the counts the stop rules and the next
// evaluation point wait for; it folds them into the whole gradient's counts
// and feeds them to a run_policy, which decides. At each evaluation point it
// pulls the parameters and measures the held-out loss and accuracy (its own
// thread of work, never a worker's or a server's); it reports progress, and
// it ends the run at the first stop rule reached: final evaluation, report,
// stop of every actor. A server or orderer that goes down before that (its
// node was lost) ends the run as a failure naming the shard.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ormo/actors/interfaces.hpp"
#include "ormo/actors/run_checkpoint.hpp"
#include "ormo/actors/run_policy.hpp"
#include "ormo/actors/run_report.hpp"
#include "ormo/actors/shard_route.hpp"
#include "ormo/config/run_config.hpp"
#include "ormo/model/gradient_function.hpp"

namespace ormo::actors {

struct run_monitor_settings {
  std::vector<shard_route> shards;
  /// Where each shard runs, for messages (e.g. "node s1 (127.0.0.1:7323)");
  /// empty in one process.
  std::vector<std::string> shard_places;
  supervisor_actor supervisor;
  config::stop_rules stop;
  std::size_t batch_size = 1;
  /// Training samples (one epoch).
  std::size_t samples_per_epoch = 1;
  double evaluations_per_epoch = 4;
  double progress_seconds = 2;
  /// Held-out loss and accuracy of full parameters; may be empty (then
  /// test columns are NaN and stop_rules.accuracy never triggers).
  std::function<model::evaluation(const Eigen::VectorXf&)> evaluate;
  /// Called for each metrics row as it is made (e.g. appends to a file).
  std::function<void(const metrics_row&)> on_row;
  std::function<void(const progress&)> on_progress;
  /// Polled at every tick; true ends the run ("interrupted").
  std::function<bool()> stop_requested;
  /// Workers the monitor asks the supervisor for once it is ready (0: the
  /// supervisor started its own).
  std::int32_t workers_to_start = 0;
  /// Filled as the run goes; complete when the monitor has quit.
  std::shared_ptr<run_report> report;
  caf::timespan tick = std::chrono::milliseconds(100);
  /// Limit of every request.
  caf::timespan request_timeout = std::chrono::seconds(60);
  /// Deterministic runs: a checkpoint of the whole run whenever shard 0's
  /// iteration index reaches a multiple of this (0: none): the workers are
  /// paused, every shard writes its part, the monitor the run's own
  /// (run_checkpoint.hpp), then the workers go on.
  std::int64_t checkpoint_every = 0;
  std::string checkpoint_directory;
  int checkpoint_keep = 3;
  /// A resumed deterministic run: the cut it goes on from (its shards and
  /// supervisor were started from the same cut). Its rows are the report's
  /// first (on_row hears them again), no initial evaluation is made and the
  /// clock must already be at the cut's time.
  std::shared_ptr<const run_checkpoint> resume_from;
  /// Restarts shard `s` from its newest checkpoint (new server and
  /// orderer, spawned); empty: a shard that goes down ends the run. A
  /// restarted shard's workers, link interceptors and the monitor's watches
  /// move to it (the supervisor passes its route on).
  std::function<caf::expected<shard_route>(std::size_t s)> restart_shard;
  /// A multi-process run's restart_shard: asked to restart shard `s` on
  /// its node (restart_atom); its answer is the route from here. Null:
  /// restart_shard decides.
  shard_keeper_actor keeper;
  /// Run on a thread of its own (real-time runs), so that busy workers
  /// never delay the monitor: CAF's work-stealing scheduler runs the jobs a
  /// thread creates last-in first-out, and the workers' push -> step ->
  /// reply chains would starve an actor queued behind them. Not under the
  /// test coordinator.
  bool own_thread = false;
};

/// Starts ticking at once.
run_monitor_actor spawn_run_monitor(caf::actor_system& system,
                                    run_monitor_settings settings);

} // namespace ormo::actors
