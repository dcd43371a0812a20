// What a run measured: the rows of metrics.csv and the fields of
// summary.json. Plain data, no CAF.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <Eigen/Core>

namespace ormo::actors {

/// One evaluation point (one line of metrics.csv).
struct metrics_row {
  /// Seconds since the start: virtual in deterministic mode.
  double time_s = 0;
  /// Real seconds since the start (the only column that differs between
  /// deterministic replays).
  double wall_s = 0;
  double epoch = 0;
  std::int64_t iteration = 0;
  std::uint64_t gradients = 0;
  /// Mean minibatch loss of the gradients applied since the previous row.
  double train_loss = 0;
  double test_loss = 0;
  double test_accuracy = 0;
  std::uint64_t rejected = 0;
  /// Samples of applied gradients per second since the previous row (in
  /// time_s).
  double samples_per_second = 0;
};

/// The whole run, as summary.json reports it.
struct run_report {
  /// Empty on success; otherwise one line saying why the run failed.
  std::string failure;
  /// A resumed run: the checkpoint files it went on from, and the newer
  /// ones it refused (each with why).
  std::vector<std::string> resumed_from;
  std::vector<std::string> refused_checkpoints;
  std::string algorithm;
  std::string apply;
  std::uint32_t workers = 0;
  std::int32_t iteration_size = 0;
  std::int64_t iterations = 0;
  double epochs = 0;
  std::uint64_t gradients_received = 0;
  /// Applied by every shard.
  std::uint64_t gradients_applied = 0;
  /// Applied by some shards and rejected by others (never with one shard):
  /// received = applied + rejected + partial + in flight.
  std::uint64_t gradients_partial = 0;
  /// Rejected by every shard, by reason name.
  std::map<std::string, std::uint64_t> gradients_rejected;
  /// Push slices received again after their decision (a retry, a copy a
  /// link made), over all shards: answered as the first, applied never.
  std::uint64_t gradients_duplicate = 0;
  /// Push slices the workers sent again for want of an answer.
  std::uint64_t retries = 0;
  /// Pushes still awaiting an answer when their worker failed (each may
  /// have been applied or not: the worker never learnt which). A process
  /// killed outright cannot tell: its pushes in flight are not counted.
  std::uint64_t gradients_lost = 0;
  double mean_delay = 0;
  std::int64_t max_delay = 0;
  /// Percentiles of t - i over the gradients the first shard applied
  /// (nearest rank): 50, 90, 99 and 99.9.
  std::int64_t delay_p50 = 0;
  std::int64_t delay_p90 = 0;
  std::int64_t delay_p99 = 0;
  std::int64_t delay_p999 = 0;
  double final_train_loss = 0;
  double final_test_loss = 0;
  double final_test_accuracy = 0;
  double time_seconds = 0;
  double wall_seconds = 0;
  /// Applied gradients * batch size per second of training: from the
  /// workers' start (after the initial evaluation) to the last count of
  /// applied gradients (before the final evaluation). Evaluations during
  /// training and all server work count against it.
  double samples_per_second = 0;
  /// The gradient computation alone on this machine (all usable cores at
  /// once, no server work), when measured; 0 otherwise.
  double compute_bound_samples_per_second = 0;
  bool deterministic = false;
  std::uint64_t seed = 0;
  std::string stop_reason;
  std::uint32_t joined = 0;
  std::uint32_t crashed = 0;
  std::uint32_t restarted = 0;
  std::uint32_t evicted = 0;
  std::uint32_t left = 0;
  /// Workers lost with their node, and the nodes lost (multi-process).
  std::uint32_t lost = 0;
  std::uint32_t nodes_lost = 0;
  /// Restarts of crashed workers by the supervisor.
  std::uint32_t restarts = 0;
  /// Shards restarted from their checkpoints while the run went on, and
  /// the gradients they had decided after those checkpoints (their effect
  /// lost with the shard, counted here, not guessed).
  std::uint32_t shard_restarts = 0;
  std::uint64_t gradients_rolled_back = 0;
  /// Declared faults that fired, by kind ("kill_worker", "drop", ...).
  std::map<std::string, std::uint64_t> faults_injected;
  /// The supervisor's last failure (a crash, a lost node); may be empty.
  std::string last_failure;
  std::vector<metrics_row> rows;
  /// The parameters of the last evaluation (the end of the run).
  Eigen::VectorXf final_parameters;
};

/// The CSV header line of metrics.csv.
std::string csv_header();

/// One row as a CSV line (with its newline).
std::string to_csv_line(const metrics_row& row);

/// The CSV header and one line per row.
std::string to_csv(const std::vector<metrics_row>& rows);

/// summary.json.
std::string to_json(const run_report& report);

} // namespace ormo::actors
