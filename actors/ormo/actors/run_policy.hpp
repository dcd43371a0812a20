// run_policy: what a run does with its counters, without actors.
//
// The run monitor gathers counters (the whole gradient's, see run_counts;
// the membership; the time) and feeds them here; the policy answers: which
// stop rule ended the run (the first reached wins), whether an evaluation
// point was passed, what to watch for next, the metrics.csv rows, the
// progress reports and the final report's fields. No CAF: tested without an
// actor system.
//
// Times are seconds since the run's start on the run's clock (virtual in
// deterministic mode); wall seconds are real time (ETA only).
//
// Thread-safety: a value; one owner.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "ormo/actors/run_report.hpp"
#include "ormo/config/run_config.hpp"
#include "ormo/model/gradient_function.hpp"
#include "ormo/rejection_reason.hpp"

namespace ormo::actors {

/// Why a run ended.
enum class stop_reason : std::uint8_t {
  none,        ///< Still running.
  epochs,      ///< stop_rules.epochs reached.
  iterations,  ///< stop_rules.iterations reached.
  seconds,     ///< stop_rules.seconds reached.
  accuracy,    ///< stop_rules.accuracy reached at an evaluation.
  interrupted, ///< The host asked to stop.
  failure,     ///< The run cannot go on (see run_failure).
};

/// Stable name, as summary.json's stop_reason: "epochs", "failure", ...
const char* to_string(stop_reason reason);

/// The smallest delay d with at least `q` of the gradients counted in
/// `delays` (by delay) at d or below (nearest rank); 0 when none counted.
/// REQUIRES: 0 < q <= 1.
std::int64_t
delay_percentile(const std::map<std::int64_t, std::uint64_t>& delays, double q);

/// What went wrong when a run ends with stop_reason::failure.
enum class run_failure : std::uint8_t {
  none,
  no_live_worker, ///< Every worker left, crashed out or was evicted.
  request_failed, ///< A server, orderer or the supervisor did not answer.
  invalid_reply,  ///< An answer did not fit (e.g. a shard of the wrong size).
  shard_lost,     ///< A server or orderer went down (e.g. its node was lost).
  checkpoint_failed, ///< A checkpoint could not be taken or written.
};

const char* to_string(run_failure failure);

/// How a run ends: a reason and, for a failure, what failed and why.
struct run_end {
  stop_reason reason = stop_reason::none;
  run_failure failure = run_failure::none;
  /// One line for a human (summary.json's failure); empty unless failed.
  std::string detail;

  bool ended() const { return reason != stop_reason::none; }

  static run_end stopped(stop_reason reason) { return {reason, {}, {}}; }

  static run_end failed(run_failure failure, std::string detail) {
    return {stop_reason::failure, failure, std::move(detail)};
  }
};

/// Counters that hold for the whole gradient (all shards' slices), since
/// the run started.
struct run_counts {
  /// Closed iterations.
  std::int64_t iteration = 0;
  std::int32_t iteration_size = 0;
  /// Gradients every shard has received (its slice of them).
  std::uint64_t received = 0;
  /// Gradients every shard applied.
  std::uint64_t applied = 0;
  /// Gradients some shards applied and others rejected.
  std::uint64_t partial = 0;
  /// Gradients every shard rejected, by reason.
  std::map<rejection_reason, std::uint64_t> rejected;
  /// Push slices received again after their decision, over all shards.
  std::uint64_t duplicates = 0;
  /// Sum and count of the minibatch losses of the gradients the first
  /// shard applied (a partial gradient's loss is counted when that shard
  /// applied it).
  double loss_sum = 0;
  std::uint64_t loss_count = 0;
  /// Sum and maximum of t - i over the same gradients (loss_count of them).
  double delay_sum = 0;
  std::int64_t max_delay = 0;
  /// The same gradients by t - i.
  std::map<std::int64_t, std::uint64_t> delays;

  std::uint64_t rejected_total() const;
};

/// Membership as far as the policy needs it.
struct run_membership {
  std::uint32_t live = 0;
  std::uint32_t joined = 0;
  std::uint32_t crashed = 0;
  std::uint32_t restarted = 0;
  std::uint32_t evicted = 0;
  std::uint32_t left = 0;
  /// Workers lost with their node, and the nodes lost.
  std::uint32_t lost = 0;
  std::uint32_t nodes_lost = 0;
  /// Push slices the workers sent again.
  std::uint64_t retries = 0;
  /// Pushes awaiting an answer when their worker failed.
  std::uint64_t gradients_lost = 0;
  /// Why the last crash happened; may be empty.
  std::string last_failure;
};

/// A progress report (at most every progress_seconds of real time).
struct progress {
  double time_s = 0;
  double epoch = 0;
  std::int64_t iteration = 0;
  double gradients_per_second = 0;
  double train_loss = 0;
  /// Latest evaluation; negative before the first.
  double test_accuracy = -1;
  /// Fraction of the run done in [0, 1] by the nearest stop rule, and the
  /// estimated seconds left (negative: unknown).
  double done = 0;
  double eta_seconds = -1;
  std::uint32_t live_workers = 0;
  std::uint64_t rejected = 0;
};

/// What a policy remembers beyond its counters and membership: restored
/// with them when a run resumes, its next rows and evaluation points are
/// those of the run that never stopped.
struct policy_memory {
  double last_accuracy = -1;
  double last_train_loss = 0;
  std::uint64_t next_evaluation = 1;
  /// Counters and time at the last row.
  double row_loss_sum = 0;
  std::uint64_t row_loss_count = 0;
  std::uint64_t row_gradients = 0;
  double row_time = 0;
};

struct run_policy_settings {
  config::stop_rules stop;
  /// Samples per gradient. REQUIRES: >= 1.
  std::size_t batch_size = 1;
  /// Training samples (one epoch). REQUIRES: >= 1.
  std::size_t samples_per_epoch = 1;
  /// Evaluation points per epoch: at k / evaluations_per_epoch epochs for
  /// k = 1, 2, ... REQUIRES: > 0.
  double evaluations_per_epoch = 4;
};

class run_policy {
public:
  explicit run_policy(run_policy_settings settings);

  // -- inputs ----------------------------------------------------------------

  /// The latest whole-gradient counters (they only grow).
  void set_counts(const run_counts& counts) { counts_ = counts; }

  void set_membership(const run_membership& membership) {
    membership_ = membership;
  }

  /// The host asked to stop: the next stop check says interrupted.
  void interrupt() { interrupted_ = true; }

  const run_counts& counts() const { return counts_; }
  const run_membership& membership() const { return membership_; }

  policy_memory memory() const;

  /// Continues from `memory` (a checkpoint's).
  void restore(const policy_memory& memory);

  // -- stop rules ------------------------------------------------------------

  /// The first stop rule reached at `time_s`, in this order: interrupted,
  /// epochs, iterations, seconds, accuracy (of the last evaluation), no live
  /// worker (once a worker joined or a slot failed, none is live); or a
  /// run_end that has not ended.
  run_end check_stop(double time_s) const;

  /// Passes over the training set, counted in gradients received: a
  /// rejected gradient used its samples too, and a run whose gradients are
  /// all rejected (diverged parameters) must still reach its end.
  double epoch() const;

  /// Gradients received when `epoch` is reached (rounded up).
  std::uint64_t gradients_at(double epoch) const;

  /// The epoch and iteration counts the stop rules wait for, for a watch
  /// that fires exactly there (0: that part off; both 0: nothing to watch).
  std::uint64_t stop_watch_received() const;
  std::int64_t stop_watch_iteration() const;

  // -- evaluation points -----------------------------------------------------

  /// True when the counts passed one or more evaluation points not passed
  /// before: one evaluation then stands for all of them (counts that jump
  /// never make two rows of the same parameters), and the next point is the
  /// first one beyond the counts.
  bool pass_evaluation_points();

  /// The epoch of the next evaluation point, k / evaluations_per_epoch.
  double next_evaluation_epoch() const;

  /// Gradients received at the next evaluation point (>= 1): what to watch.
  std::uint64_t next_evaluation_received() const;

  // -- rows, progress, report ------------------------------------------------

  /// The metrics row of the current counts at `time_s`, with an evaluation
  /// of the parameters if there was one; the next row's train loss and
  /// samples/s are measured from here.
  metrics_row make_row(double time_s, double wall_s,
                       const std::optional<model::evaluation>& evaluation);

  /// Fraction of the run done by the nearest stop rule, in [0, 1] (0 when
  /// only accuracy or nothing stops the run).
  double fraction_done(double time_s) const;

  /// A progress report; the ETA extrapolates the wall time spent so far.
  progress make_progress(double time_s, double wall_s) const;

  /// The report's counts, times and membership at the end `end`; the final
  /// losses from the last row. `training_seconds`: from the workers' start
  /// to the time of the counts (the throughput window).
  void fill_report(run_report& report, const run_end& end, double time_s,
                   double wall_s, double training_seconds) const;

private:
  /// Mean loss of the gradients applied since the last row, if any.
  std::optional<double> loss_since_row() const;

  run_policy_settings settings_;
  run_counts counts_;
  run_membership membership_;
  bool interrupted_ = false;
  double last_accuracy_ = -1;
  double last_train_loss_;
  /// The next evaluation point is k / evaluations_per_epoch.
  std::uint64_t next_evaluation_ = 1;
  /// Counters at the last row.
  double row_loss_sum_ = 0;
  std::uint64_t row_loss_count_ = 0;
  std::uint64_t row_gradients_ = 0;
  double row_time_ = 0;
};

} // namespace ormo::actors
