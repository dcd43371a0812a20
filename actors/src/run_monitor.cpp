#include "ormo/actors/run_monitor.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>

namespace ormo::actors {

namespace {

struct monitor_state {
  run_monitor_settings settings;
  caf::actor_clock::time_point start;
  /// When the workers were started (after the initial evaluation), and when
  /// `counts` were taken: the window the throughput is measured over.
  caf::actor_clock::time_point training_start;
  caf::actor_clock::time_point counts_time;
  std::chrono::steady_clock::time_point wall_start;
  std::chrono::steady_clock::time_point last_progress;
  /// Counters summed over the shards' orderers at the last tick.
  orderer_stats counts;
  membership_stats membership;
  /// Counters at the previous metrics row.
  double row_loss_sum = 0;
  std::uint64_t row_loss_count = 0;
  std::uint64_t row_gradients = 0;
  double row_time = 0;
  double last_train_loss = std::numeric_limits<double>::quiet_NaN();
  double last_accuracy = -1;
  double next_evaluation_epoch = 0;
  bool evaluating = false;
  /// A stop rule was met (`stopped_by`): `counts` stay as they were then,
  /// while the final evaluation runs.
  bool stopping = false;
  std::string stopped_by;
  bool finishing = false;
  /// The host asked to stop (training_callbacks::stop_requested).
  bool interrupted = false;

  static inline const char* name = "ormo.run_monitor";
};

using monitor_pointer = run_monitor_actor::stateful_pointer<monitor_state>;

double seconds_since_start(monitor_pointer self) {
  return std::chrono::duration<double>(self->clock().now() - self->state.start)
    .count();
}

double wall_seconds(monitor_pointer self) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now()
                                       - self->state.wall_start)
    .count();
}

/// Passes over the training set, counted in gradients received: a rejected
/// gradient used its samples too, and a run whose gradients are all rejected
/// (diverged parameters) must still reach its end.
double epoch_of(const monitor_state& state) {
  return static_cast<double>(state.counts.received)
         * static_cast<double>(state.settings.batch_size)
         / static_cast<double>(state.settings.samples_per_epoch);
}

/// The first stop rule reached, or empty.
std::string stop_reason(monitor_pointer self) {
  const auto& state = self->state;
  const auto& stop = state.settings.stop;
  if (state.interrupted)
    return "interrupted";
  if (stop.epochs > 0 && epoch_of(state) >= stop.epochs)
    return "epochs";
  if (stop.iterations > 0 && state.counts.iteration >= stop.iterations)
    return "iterations";
  if (stop.seconds > 0 && seconds_since_start(self) >= stop.seconds)
    return "seconds";
  if (stop.accuracy > 0 && state.last_accuracy >= stop.accuracy)
    return "accuracy";
  const auto& m = state.membership;
  if ((m.joined > 0 || m.crashed > 0) && m.live == 0)
    return "failure: no live worker (" + std::to_string(m.evicted)
           + " evicted after repeated crashes"
           + (m.last_failure.empty() ? "" : "; the last: " + m.last_failure)
           + ")";
  return {};
}

/// Fraction done by the nearest stop rule.
double fraction_done(monitor_pointer self) {
  const auto& state = self->state;
  const auto& stop = state.settings.stop;
  double done = 0;
  if (stop.epochs > 0)
    done = std::max(done, epoch_of(state) / stop.epochs);
  if (stop.iterations > 0)
    done = std::max(done, static_cast<double>(state.counts.iteration)
                            / static_cast<double>(stop.iterations));
  if (stop.seconds > 0)
    done = std::max(done, seconds_since_start(self) / stop.seconds);
  return std::min(done, 1.0);
}

std::uint64_t total_rejected(const orderer_stats& counts) {
  std::uint64_t total = 0;
  for (const auto& [reason, count] : counts.rejected)
    total += count;
  return total;
}

/// Mean minibatch loss of the gradients applied since the last row; none
/// when there are none.
std::optional<double> loss_since_row(const monitor_state& state) {
  auto count = state.counts.loss_count - state.row_loss_count;
  if (count == 0)
    return std::nullopt;
  return (state.counts.loss_sum - state.row_loss_sum)
         / static_cast<double>(count);
}

void report_progress(monitor_pointer self) {
  auto& state = self->state;
  if (!state.settings.on_progress)
    return;
  progress p;
  p.time_s = seconds_since_start(self);
  p.epoch = epoch_of(state);
  p.iteration = state.counts.iteration;
  p.gradients_per_second
    = p.time_s > 0 ? static_cast<double>(state.counts.accepted) / p.time_s : 0;
  // Since the last row; right after a row, since the start.
  p.train_loss = loss_since_row(state).value_or(
    state.counts.loss_count > 0
      ? state.counts.loss_sum / static_cast<double>(state.counts.loss_count)
      : std::numeric_limits<double>::quiet_NaN());
  p.test_accuracy = state.last_accuracy;
  p.done = fraction_done(self);
  double wall = wall_seconds(self);
  p.eta_seconds = p.done > 0 ? wall * (1 - p.done) / p.done : -1;
  p.live_workers = state.membership.live;
  p.rejected = total_rejected(state.counts);
  state.settings.on_progress(p);
}

void finish(monitor_pointer self, std::string reason);

/// Appends a metrics row of the current counts for parameters `w`,
/// evaluated when there is an evaluation function. In real time the
/// monitor has a thread of its own, so the evaluation runs at once however
/// busy the workers keep the scheduler (a scheduled evaluator actor was
/// starved by their push chains: a stop on accuracy came 30x too late).
void record_row(monitor_pointer self, const Eigen::VectorXf& w) {
  auto& state = self->state;
  metrics_row row;
  row.time_s = seconds_since_start(self);
  row.wall_s = wall_seconds(self);
  row.epoch = epoch_of(state);
  row.iteration = state.counts.iteration;
  row.gradients = state.counts.accepted;
  if (auto loss = loss_since_row(state))
    state.last_train_loss = *loss;
  row.train_loss = state.last_train_loss;
  row.test_loss = std::numeric_limits<double>::quiet_NaN();
  row.test_accuracy = std::numeric_limits<double>::quiet_NaN();
  if (state.settings.evaluate) {
    auto evaluation = state.settings.evaluate(w);
    row.test_loss = evaluation.loss;
    row.test_accuracy = evaluation.accuracy;
    state.last_accuracy = evaluation.accuracy;
  }
  row.rejected = total_rejected(state.counts);
  double elapsed = row.time_s - state.row_time;
  if (elapsed > 0)
    row.samples_per_second
      = static_cast<double>(row.gradients - state.row_gradients)
        * static_cast<double>(state.settings.batch_size) / elapsed;
  state.row_loss_sum = state.counts.loss_sum;
  state.row_loss_count = state.counts.loss_count;
  state.row_gradients = row.gradients;
  state.row_time = row.time_s;
  state.settings.report->rows.push_back(row);
  state.settings.report->final_parameters = w;
  if (state.settings.on_row)
    state.settings.on_row(row);
}

/// Pulls every shard, then calls `done` with the full parameters.
template <class F>
void pull_parameters(monitor_pointer self, F done) {
  auto& shards = self->state.settings.shards;
  Eigen::Index dimension = 0;
  for (auto& route : shards)
    dimension = std::max(dimension, route.offset + route.size);
  auto assembled = std::make_shared<Eigen::VectorXf>(dimension);
  auto awaiting = std::make_shared<std::size_t>(shards.size());
  for (auto& route : shards) {
    self
      ->request(route.server, self->state.settings.request_timeout,
                pull_atom::value)
      .then(
        [=](const parameter_snapshot& snapshot) {
          if (static_cast<Eigen::Index>(snapshot.parameters.size())
              != route.size) {
            finish(self, "failure: a server sent "
                           + std::to_string(snapshot.parameters.size())
                           + " parameters for a shard of "
                           + std::to_string(route.size));
            return;
          }
          assembled->segment(route.offset, route.size) = *snapshot.parameters;
          if (--*awaiting == 0)
            done(*assembled);
        },
        [=](caf::error& error) {
          finish(self, "failure: " + self->system().render(error));
        });
  }
}

/// Pulls the parameters and records a row for them; the final row (a stop
/// rule was met) then finishes the run.
void evaluate_then(monitor_pointer self, bool final_row) {
  self->state.evaluating = true;
  pull_parameters(self, [=](const Eigen::VectorXf& w) {
    auto& state = self->state;
    state.evaluating = false;
    if (state.finishing)
      return;
    record_row(self, w);
    if (final_row)
      finish(self, state.stopped_by);
    else if (state.stopping) // a count was reached while this row was made
      evaluate_then(self, true);
    else if (auto why = stop_reason(self); !why.empty())
      finish(self, why); // the accuracy of this row
  });
}

/// A stop rule was met: the counts stay as they are, the workers end (so
/// that the final parameters are those of the counts, give or take the
/// pushes already on their way, and the final evaluation has the cores to
/// itself), and the final row follows the evaluation in progress, if any.
void stop(monitor_pointer self, std::string reason) {
  auto& state = self->state;
  state.stopping = true;
  state.stopped_by = std::move(reason);
  self->send(state.settings.supervisor, stop_atom::value);
  if (!state.evaluating)
    evaluate_then(self, true);
}

void fill_report(monitor_pointer self) {
  auto& state = self->state;
  auto& report = *state.settings.report;
  const auto& counts = state.counts;
  report.iteration_size = counts.iteration_size;
  report.iterations = counts.iteration;
  report.epochs = epoch_of(state);
  report.gradients_received = counts.received;
  report.gradients_applied = counts.accepted;
  report.gradients_rejected.clear();
  for (const auto& [reason, count] : counts.rejected)
    report.gradients_rejected[to_string(reason)] = count;
  report.mean_delay
    = counts.accepted > 0
        ? counts.delay_sum / static_cast<double>(counts.accepted)
        : 0;
  report.max_delay = counts.max_delay;
  report.time_seconds = seconds_since_start(self);
  report.wall_seconds = wall_seconds(self);
  auto training_seconds
    = std::chrono::duration<double>(state.counts_time - state.training_start)
        .count();
  report.samples_per_second
    = training_seconds > 0
        ? static_cast<double>(counts.accepted)
            * static_cast<double>(state.settings.batch_size) / training_seconds
        : 0;
  if (!report.rows.empty()) {
    const auto& last = report.rows.back();
    report.final_train_loss = last.train_loss;
    report.final_test_loss = last.test_loss;
    report.final_test_accuracy = last.test_accuracy;
  }
  const auto& m = state.membership;
  report.joined = m.joined;
  report.crashed = m.crashed;
  report.restarted = m.restarted;
  report.evicted = m.evicted;
  report.left = m.left;
}

void finish(monitor_pointer self, std::string reason) {
  auto& state = self->state;
  if (state.finishing)
    return;
  state.finishing = true;
  auto& report = *state.settings.report;
  if (reason.rfind("failure: ", 0) == 0) {
    report.failure = reason.substr(9);
    reason = "failure";
  }
  report.stop_reason = reason;
  fill_report(self);
  report_progress(self);
  self->send(state.settings.supervisor, stop_atom::value);
  for (auto& route : state.settings.shards) {
    self->send_exit(route.orderer, caf::exit_reason::user_shutdown);
    self->send_exit(route.server, caf::exit_reason::user_shutdown);
  }
  self->quit();
}

/// Gradients received when `epoch` is reached.
std::uint64_t gradients_at(const monitor_state& state, double epoch) {
  return static_cast<std::uint64_t>(
    std::ceil(epoch * static_cast<double>(state.settings.samples_per_epoch)
              / static_cast<double>(state.settings.batch_size)));
}

/// Asks the first orderer to call back at the next evaluation point.
void arm_watch(monitor_pointer self) {
  auto& state = self->state;
  auto received = gradients_at(state, state.next_evaluation_epoch);
  self->send(state.settings.shards.front().orderer, watch_atom::value, false,
             std::max<std::uint64_t>(received, 1), iteration_index{0},
             caf::actor_cast<run_monitor_actor>(self));
}

/// Asks the first orderer to call back when the epoch or iteration stop
/// rule is reached.
void arm_stop_watch(monitor_pointer self) {
  auto& state = self->state;
  const auto& stop = state.settings.stop;
  if (stop.epochs <= 0 && stop.iterations <= 0)
    return;
  auto received
    = stop.epochs > 0
        ? std::max<std::uint64_t>(gradients_at(state, stop.epochs), 1)
        : 0;
  self->send(state.settings.shards.front().orderer, watch_atom::value, true,
             received, stop.iterations,
             caf::actor_cast<run_monitor_actor>(self));
}

/// Counters of all shards are in: evaluate, report, stop as due.
void on_counts(monitor_pointer self) {
  auto& state = self->state;
  if (state.finishing || state.stopping)
    return;
  if (auto reason = stop_reason(self); !reason.empty()) {
    stop(self, std::move(reason));
    return;
  }
  if (epoch_of(state) >= state.next_evaluation_epoch) {
    while (state.next_evaluation_epoch <= epoch_of(state))
      state.next_evaluation_epoch += 1.0 / state.settings.evaluations_per_epoch;
    // An evaluation still in progress stands for this point.
    if (!state.evaluating)
      evaluate_then(self, false);
  }
  arm_watch(self);
  auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - state.last_progress).count()
      >= state.settings.progress_seconds) {
    state.last_progress = now;
    report_progress(self);
  }
}

/// Folds one shard's counters into `sum`. Every shard sees every push and
/// gives it the same outcome (a gradient not finite in one slice is
/// rejected by all): the counts are the first shard's; per rejection reason
/// the most any shard rejected, so that a shard disagreeing (a slice
/// corrupted on its way) still shows.
void fold_shard_counts(orderer_stats& sum, orderer_stats shard,
                       bool first_shard) {
  auto rejected = std::move(sum.rejected);
  for (const auto& [reason, count] : shard.rejected)
    rejected[reason] = std::max(rejected[reason], count);
  if (first_shard)
    sum = std::move(shard);
  sum.rejected = std::move(rejected);
}

void collect_counts(monitor_pointer self) {
  auto& state = self->state;
  if (state.stopping)
    return;
  auto sum = std::make_shared<orderer_stats>();
  auto awaiting
    = std::make_shared<std::size_t>(state.settings.shards.size() + 1);
  auto arrived = [=] {
    if (--*awaiting != 0 || self->state.stopping)
      return;
    self->state.counts = std::move(*sum);
    self->state.counts_time = self->clock().now();
    on_counts(self);
  };
  auto failed = [=](caf::error& error) {
    finish(self, "failure: " + self->system().render(error));
  };
  bool first = true;
  for (auto& route : state.settings.shards) {
    self
      ->request(route.orderer, state.settings.request_timeout,
                stats_atom::value)
      .then(
        [=](orderer_stats& shard) {
          fold_shard_counts(*sum, std::move(shard), first);
          arrived();
        },
        failed);
    first = false;
  }
  self
    ->request(state.settings.supervisor, state.settings.request_timeout,
              stats_atom::value)
    .then(
      [=](membership_stats& membership) {
        self->state.membership = std::move(membership);
        arrived();
      },
      failed);
}

run_monitor_actor::behavior_type run_monitor(monitor_pointer self,
                                             run_monitor_settings settings) {
  auto& state = self->state;
  state.settings = std::move(settings);
  state.start = self->clock().now();
  state.wall_start = std::chrono::steady_clock::now();
  state.last_progress = state.wall_start;
  // The first row is the initial parameters; then the workers start.
  state.evaluating = true;
  pull_parameters(self, [=](const Eigen::VectorXf& w) {
    auto& state = self->state;
    state.evaluating = false;
    record_row(self, w);
    state.next_evaluation_epoch = 1.0 / state.settings.evaluations_per_epoch;
    arm_watch(self);
    arm_stop_watch(self);
    state.training_start = state.counts_time = self->clock().now();
    if (state.settings.workers_to_start > 0)
      self->send(state.settings.supervisor, add_atom::value,
                 state.settings.workers_to_start);
    self->send(self, tick_atom::value);
  });
  return {
    [=](tick_atom) {
      auto& state = self->state;
      if (state.finishing)
        return;
      if (state.settings.stop_requested && state.settings.stop_requested())
        state.interrupted = true;
      collect_counts(self);
      self->delayed_send(self, self->state.settings.tick, tick_atom::value);
    },
    [=](milestone_atom, orderer_stats& first_shard) {
      // The watched first shard's counters at the count itself (no request
      // that could wait behind the workers); the other shards' rejections
      // and the membership as of the last tick.
      auto& state = self->state;
      if (state.finishing || state.stopping)
        return;
      fold_shard_counts(state.counts, std::move(first_shard), true);
      state.counts_time = self->clock().now();
      on_counts(self);
    },
  };
}

} // namespace

run_monitor_actor spawn_run_monitor(caf::actor_system& system,
                                    run_monitor_settings settings) {
  if (settings.own_thread)
    return system.spawn<caf::detached>(run_monitor, std::move(settings));
  return system.spawn(run_monitor, std::move(settings));
}

} // namespace ormo::actors
