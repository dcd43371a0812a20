#include "ormo/actors/run_policy.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace ormo::actors {

std::int64_t
delay_percentile(const std::map<std::int64_t, std::uint64_t>& delays,
                 double q) {
  std::uint64_t total = 0;
  for (const auto& entry : delays)
    total += entry.second;
  if (total == 0)
    return 0;
  // Nearest rank: the ceil(q * total)-th smallest, counted from 1.
  auto rank
    = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total)));
  rank = std::max<std::uint64_t>(rank, 1);
  std::uint64_t seen = 0;
  for (const auto& [delay, count] : delays) {
    seen += count;
    if (seen >= rank)
      return delay;
  }
  return delays.rbegin()->first;
}

const char* to_string(stop_reason reason) {
  switch (reason) {
    case stop_reason::none:
      return "";
    case stop_reason::epochs:
      return "epochs";
    case stop_reason::iterations:
      return "iterations";
    case stop_reason::seconds:
      return "seconds";
    case stop_reason::accuracy:
      return "accuracy";
    case stop_reason::interrupted:
      return "interrupted";
    case stop_reason::failure:
      return "failure";
  }
  return "unknown";
}

const char* to_string(run_failure failure) {
  switch (failure) {
    case run_failure::none:
      return "none";
    case run_failure::no_live_worker:
      return "no_live_worker";
    case run_failure::request_failed:
      return "request_failed";
    case run_failure::invalid_reply:
      return "invalid_reply";
    case run_failure::shard_lost:
      return "shard_lost";
    case run_failure::checkpoint_failed:
      return "checkpoint_failed";
  }
  return "unknown";
}

std::uint64_t run_counts::rejected_total() const {
  std::uint64_t total = 0;
  for (const auto& [reason, count] : rejected)
    total += count;
  return total;
}

run_policy::run_policy(run_policy_settings settings)
  : settings_(std::move(settings)),
    last_train_loss_(std::numeric_limits<double>::quiet_NaN()) {}

policy_memory run_policy::memory() const {
  return {last_accuracy_,  last_train_loss_, next_evaluation_, row_loss_sum_,
          row_loss_count_, row_gradients_,   row_time_};
}

void run_policy::restore(const policy_memory& memory) {
  last_accuracy_ = memory.last_accuracy;
  last_train_loss_ = memory.last_train_loss;
  next_evaluation_ = memory.next_evaluation;
  row_loss_sum_ = memory.row_loss_sum;
  row_loss_count_ = memory.row_loss_count;
  row_gradients_ = memory.row_gradients;
  row_time_ = memory.row_time;
}

double run_policy::epoch() const {
  return static_cast<double>(counts_.received)
         * static_cast<double>(settings_.batch_size)
         / static_cast<double>(settings_.samples_per_epoch);
}

std::uint64_t run_policy::gradients_at(double epoch) const {
  return static_cast<std::uint64_t>(
    std::ceil(epoch * static_cast<double>(settings_.samples_per_epoch)
              / static_cast<double>(settings_.batch_size)));
}

run_end run_policy::check_stop(double time_s) const {
  const auto& stop = settings_.stop;
  if (interrupted_)
    return run_end::stopped(stop_reason::interrupted);
  if (stop.epochs > 0 && epoch() >= stop.epochs)
    return run_end::stopped(stop_reason::epochs);
  if (stop.iterations > 0 && counts_.iteration >= stop.iterations)
    return run_end::stopped(stop_reason::iterations);
  if (stop.seconds > 0 && time_s >= stop.seconds)
    return run_end::stopped(stop_reason::seconds);
  if (stop.accuracy > 0 && last_accuracy_ >= stop.accuracy)
    return run_end::stopped(stop_reason::accuracy);
  const auto& m = membership_;
  if ((m.joined > 0 || m.crashed > 0) && m.live == 0)
    return run_end::failed(
      run_failure::no_live_worker,
      "no live worker (" + std::to_string(m.evicted)
        + " evicted after repeated crashes"
        + (m.lost == 0 ? ""
                       : ", " + std::to_string(m.lost)
                           + " lost with their nodes")
        + (m.last_failure.empty() ? "" : "; the last: " + m.last_failure)
        + ")");
  return {};
}

std::uint64_t run_policy::stop_watch_received() const {
  const auto& stop = settings_.stop;
  return stop.epochs > 0
           ? std::max<std::uint64_t>(gradients_at(stop.epochs), 1)
           : 0;
}

std::int64_t run_policy::stop_watch_iteration() const {
  return settings_.stop.iterations > 0 ? settings_.stop.iterations : 0;
}

double run_policy::next_evaluation_epoch() const {
  return static_cast<double>(next_evaluation_)
         / settings_.evaluations_per_epoch;
}

std::uint64_t run_policy::next_evaluation_received() const {
  return std::max<std::uint64_t>(gradients_at(next_evaluation_epoch()), 1);
}

bool run_policy::pass_evaluation_points() {
  auto now = epoch();
  if (now < next_evaluation_epoch())
    return false;
  while (next_evaluation_epoch() <= now)
    ++next_evaluation_;
  return true;
}

std::optional<double> run_policy::loss_since_row() const {
  auto count = counts_.loss_count - row_loss_count_;
  if (count == 0)
    return std::nullopt;
  return (counts_.loss_sum - row_loss_sum_) / static_cast<double>(count);
}

metrics_row
run_policy::make_row(double time_s, double wall_s,
                     const std::optional<model::evaluation>& evaluation) {
  metrics_row row;
  row.time_s = time_s;
  row.wall_s = wall_s;
  row.epoch = epoch();
  row.iteration = counts_.iteration;
  row.gradients = counts_.applied;
  if (auto loss = loss_since_row())
    last_train_loss_ = *loss;
  row.train_loss = last_train_loss_;
  row.test_loss = std::numeric_limits<double>::quiet_NaN();
  row.test_accuracy = std::numeric_limits<double>::quiet_NaN();
  if (evaluation) {
    row.test_loss = evaluation->loss;
    row.test_accuracy = evaluation->accuracy;
    last_accuracy_ = evaluation->accuracy;
  }
  row.rejected = counts_.rejected_total();
  double elapsed = row.time_s - row_time_;
  if (elapsed > 0)
    row.samples_per_second
      = static_cast<double>(row.gradients - row_gradients_)
        * static_cast<double>(settings_.batch_size) / elapsed;
  row_loss_sum_ = counts_.loss_sum;
  row_loss_count_ = counts_.loss_count;
  row_gradients_ = row.gradients;
  row_time_ = row.time_s;
  return row;
}

double run_policy::fraction_done(double time_s) const {
  const auto& stop = settings_.stop;
  double done = 0;
  if (stop.epochs > 0)
    done = std::max(done, epoch() / stop.epochs);
  if (stop.iterations > 0)
    done = std::max(done, static_cast<double>(counts_.iteration)
                            / static_cast<double>(stop.iterations));
  if (stop.seconds > 0)
    done = std::max(done, time_s / stop.seconds);
  return std::min(done, 1.0);
}

progress run_policy::make_progress(double time_s, double wall_s) const {
  progress p;
  p.time_s = time_s;
  p.epoch = epoch();
  p.iteration = counts_.iteration;
  p.gradients_per_second
    = p.time_s > 0 ? static_cast<double>(counts_.applied) / p.time_s : 0;
  // Since the last row; right after a row, since the start.
  p.train_loss = loss_since_row().value_or(
    counts_.loss_count > 0
      ? counts_.loss_sum / static_cast<double>(counts_.loss_count)
      : std::numeric_limits<double>::quiet_NaN());
  p.test_accuracy = last_accuracy_;
  p.done = fraction_done(time_s);
  p.eta_seconds = p.done > 0 ? wall_s * (1 - p.done) / p.done : -1;
  p.live_workers = membership_.live;
  p.rejected = counts_.rejected_total();
  return p;
}

void run_policy::fill_report(run_report& report, const run_end& end,
                             double time_s, double wall_s,
                             double training_seconds) const {
  report.stop_reason = to_string(end.reason);
  if (end.reason == stop_reason::failure)
    report.failure = end.detail;
  const auto& counts = counts_;
  report.iteration_size = counts.iteration_size;
  report.iterations = counts.iteration;
  report.epochs = epoch();
  report.gradients_received = counts.received;
  report.gradients_applied = counts.applied;
  report.gradients_partial = counts.partial;
  report.gradients_duplicate = counts.duplicates;
  report.gradients_rejected.clear();
  for (const auto& [reason, count] : counts.rejected)
    report.gradients_rejected[to_string(reason)] = count;
  report.mean_delay
    = counts.loss_count > 0
        ? counts.delay_sum / static_cast<double>(counts.loss_count)
        : 0;
  report.max_delay = counts.max_delay;
  report.delay_p50 = delay_percentile(counts.delays, 0.5);
  report.delay_p90 = delay_percentile(counts.delays, 0.9);
  report.delay_p99 = delay_percentile(counts.delays, 0.99);
  report.delay_p999 = delay_percentile(counts.delays, 0.999);
  report.time_seconds = time_s;
  report.wall_seconds = wall_s;
  report.samples_per_second
    = training_seconds > 0
        ? static_cast<double>(counts.applied)
            * static_cast<double>(settings_.batch_size) / training_seconds
        : 0;
  if (!report.rows.empty()) {
    const auto& last = report.rows.back();
    report.final_train_loss = last.train_loss;
    report.final_test_loss = last.test_loss;
    report.final_test_accuracy = last.test_accuracy;
  }
  const auto& m = membership_;
  report.joined = m.joined;
  report.crashed = m.crashed;
  report.restarted = m.restarted;
  report.restarts = m.restarted;
  report.evicted = m.evicted;
  report.left = m.left;
  report.lost = m.lost;
  report.nodes_lost = m.nodes_lost;
  report.retries = m.retries;
  report.gradients_lost = m.gradients_lost;
  report.last_failure = m.last_failure;
}

} // namespace ormo::actors
