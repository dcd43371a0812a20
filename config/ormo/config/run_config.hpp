// Everything one training run is made of, as plain structs: what a topology
// file says after parsing and validation. No CAF, no toml++ in this header.
//
// Every field has the default a file that omits the key gets. Validation
// guarantees the ranges documented here: each key's range is in its row of
// the schema (ormo/config/schema.hpp, rows in config/src/schema.cpp), the
// rules that tie keys together in config/src/parse_run_config.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ormo/model/make_classifier.hpp"
#include "ormo/optim/make_update_rule.hpp"

namespace ormo::config {

/// When training stops: at the first rule that is reached. At least one of
/// them is set (> 0).
struct stop_rules {
  /// Passes over the training set, counted in gradients received * batch
  /// size / training samples. 0 = off.
  double epochs = 0;
  /// Closed iterations. 0 = off.
  std::int64_t iterations = 0;
  /// Wall-clock seconds (virtual seconds in deterministic mode). 0 = off.
  double seconds = 0;
  /// Test accuracy in (0, 1] reached at an evaluation. 0 = off.
  double accuracy = 0;
};

struct run_settings {
  std::uint64_t seed = 1;
  /// Run under CAF's test coordinator with virtual time: same file and seed
  /// give the same metrics.
  bool deterministic = false;
  stop_rules stop;
};

struct algorithm_config {
  /// name, learning_rate, momentum, apply, delay_threshold.
  optim::algorithm_settings settings;
  /// K. None: "workers", K follows the number of live workers.
  std::optional<int> iteration_size;
  /// Iterations over which the learning rate ramps up linearly from
  /// learning_rate / warmup_iterations to learning_rate. 0 = off.
  std::int64_t warmup_iterations = 0;
};

struct model_config {
  model::model_kind kind = model::model_kind::mlp;
  /// Hidden layer sizes (mlp only), each >= 1.
  std::vector<int> hidden = {64};
  /// >= 1.
  int batch_size = 32;
};

enum class data_source { synthetic, fashion_mnist };

struct data_config {
  data_source source = data_source::synthetic;
  /// Directory of the IDX files (fashion-mnist only).
  std::string path = "/usr/share/datasets/fashion-mnist";
  /// Synthetic problem sizes (synthetic only).
  int inputs = 32;
  int classes = 10;
  std::int64_t train_samples = 20000;
  std::int64_t test_samples = 4000;
  double noise = 0.5;
};

/// How much slower than nominal each worker computes.
enum class speed_profile {
  uniform,       ///< All workers at factor 1.
  factors,       ///< factors[k] for worker k.
  slow_fraction, ///< A seeded random `fraction` of the workers at `factor`.
  lognormal,     ///< Factor exp(sigma * z), z ~ N(0, 1) per worker, divided
                 ///< by the fastest initial worker's (so all are >= 1).
};

struct speed_config {
  speed_profile profile = speed_profile::uniform;
  /// profile = factors: one per worker (size == workers.count), each >= 1.
  std::vector<double> factors;
  /// profile = slow_fraction: in [0, 1].
  double fraction = 0.25;
  /// profile = slow_fraction: >= 1.
  double factor = 4;
  /// profile = lognormal: >= 0.
  double sigma = 0.5;
};

struct workers_config {
  /// >= 1. With nodes: the sum of their workers (a file that leaves it out
  /// gets the sum).
  int count = 4;
  speed_config speed;
  /// Deterministic mode: virtual milliseconds one gradient takes at factor 1;
  /// > 0.
  double compute_ms = 1.0;
  /// Deterministic mode: spread of each gradient's virtual time, which is
  /// compute_ms * factor * exp(compute_jitter * z), z ~ N(0, 1) drawn per
  /// gradient from the worker's seed (real machines never tick in step);
  /// >= 0, 0 = every gradient takes exactly compute_ms * factor.
  double compute_jitter = 0.2;
  /// Restarts of a crashed worker before the supervisor evicts it; >= 0.
  int restart_limit = 3;
  /// Real seconds a worker waits for the answers to a pull or push before
  /// it fails (a watchdog checks, so within once to twice this), and the
  /// longest it may leave its supervisor's question for a sign of life
  /// unanswered before it is ended and replaced; under the synchronous
  /// reference also the longest wait at the barrier; > 0.
  double request_timeout_s = 60;
  /// Real seconds a push may stay unanswered by a shard before the worker
  /// sends it to that shard again (same sequence number: answered as the
  /// first, never applied twice); again after each further interval,
  /// until request_timeout_s; > 0.
  double retry_after_s = 2;
  /// Pushes a worker may have awaiting their answers while it computes its
  /// next gradient on the newest parameters it holds; 1 ... 8, 1 = compute
  /// only after every shard answered. 1 under ssgdm.
  int pushes_in_flight = 1;
};

struct server_config {
  /// Parameter shards, each a parameter_server + momentum_orderer; >= 1.
  int shards = 1;
};

struct output_config {
  /// Where metrics.csv and summary.json go (created if missing).
  std::string dir = "ormo-out";
  /// Seconds between progress lines; > 0.
  double progress_seconds = 2;
  /// Test-set evaluations per epoch; > 0.
  double evaluations_per_epoch = 4;
};

/// Periodic checkpoints of every shard (see docs/fault-tolerance.md).
struct checkpoint_config {
  /// A checkpoint each time the iteration index reaches a multiple of
  /// this (real time: each shard on its own; deterministic: the whole run,
  /// its workers paused); 0 = none.
  std::int64_t every_iterations = 0;
  /// Checkpoints kept per shard (the newest); 1 ... 1000.
  int keep = 3;
  /// Where they go; empty = `checkpoints` in the output directory.
  std::string dir;
};

/// One process of a multi-process topology (a `[[nodes]]` block). A topology
/// without nodes runs in one process.
struct node_config {
  /// Unique among the nodes; letters, digits, '_', '-' and '.'.
  std::string name;
  /// The address the node listens on and the others reach it at.
  std::string host = "127.0.0.1";
  /// The port it listens on; 0 = none (a node hosting only workers needs
  /// none, a node hosting shards or the supervisor must have one).
  int port = 0;
  /// Indices of the shards it hosts (a parameter server and its orderer
  /// each); every shard of the topology is on exactly one node.
  std::vector<std::int64_t> shards;
  /// Hosts the supervisor and the run monitor and writes the run's outputs;
  /// exactly one node does.
  bool supervisor = false;
  /// Workers it runs; the nodes' workers add up to workers.count.
  int workers = 0;
};

/// How nodes find each other and notice a lost peer (multi-process only).
struct network_config {
  /// Every node sends a heartbeat to each peer this often.
  std::chrono::nanoseconds heartbeat_interval = std::chrono::milliseconds(500);
  /// A peer silent this long is lost (> 2 * heartbeat_interval, so that a
  /// late heartbeat does not lose a live peer).
  std::chrono::nanoseconds connection_timeout = std::chrono::seconds(5);
  /// How long a node keeps trying to reach a peer it needs when it starts.
  std::chrono::nanoseconds connect_timeout = std::chrono::seconds(30);
  /// A tensor larger than this (KiB) crosses nodes in chunks of this size,
  /// so that one message never keeps a link silent past connection_timeout.
  int chunk_kib = 4096;
  /// TLS between nodes: every node presents `certificate` (with `key`) and
  /// accepts only peers whose certificate `cafile` signed. Paths as given
  /// (relative to the working directory).
  bool tls = false;
  std::string certificate;
  std::string key;
  std::string cafile;
};

/// What a declared fault does (see docs/fault-tolerance.md, "Declared
/// faults").
enum class fault_kind {
  kill_worker,   ///< The worker ends with an error; its supervisor restarts it.
  fail_gradient, ///< Its gradient function fails (the worker crashes).
  slow_worker,   ///< Its gradients take `factor` times as long.
  freeze_worker, ///< It handles no message at all.
  drop,          ///< A link loses messages.
  delay,         ///< A link delivers messages late.
  duplicate,     ///< A link delivers pushes twice.
  reorder,       ///< A link lets a later push overtake an earlier one.
  partition,     ///< A worker is cut off from every shard.
  kill_shard,    ///< A shard ends and restarts from its checkpoint.
  kill_node,     ///< A node's process is killed (SIGKILL).
  stop_node,     ///< A node's process is stopped (SIGSTOP, then SIGCONT).
};

/// What a fault's `target` names, once validated.
enum class fault_target_kind { worker, shard, link, node };

/// One `[[faults]]` block: a fault the runtime injects at a given point.
/// Validation guarantees: exactly one of at_seconds, at_iteration and
/// at_gradient is > 0 (at_seconds for the node kinds); target parsed into
/// target_kind, worker, shard and node (each in range, the kind's kind of
/// target); duration_s > 0 exactly for the kinds that last; probability,
/// factor and delay_ms only where the kind uses them (their defaults
/// elsewhere). The node kinds only in a multi-process run (`nodes`, not
/// deterministic), and not on the supervisor's node; the other kinds only
/// in one process (no `nodes`, or deterministic).
struct fault_config {
  fault_kind kind = fault_kind::kill_worker;
  /// "worker W", "shard S", "worker W <-> shard S" (a link) or "node NAME".
  std::string target;
  /// When it fires: seconds since the run started (virtual seconds when
  /// deterministic), the first shard's iteration index, or gradients the
  /// workers pushed; 0 = not this one.
  double at_seconds = 0;
  std::int64_t at_iteration = 0;
  std::int64_t at_gradient = 0;
  /// How long it lasts, in seconds (virtual when deterministic); 0 for the
  /// kinds that happen once.
  double duration_s = 0;
  /// Per message (links) or per gradient (fail_gradient): the chance that
  /// the fault strikes; in (0, 1].
  double probability = 1;
  /// slow_worker: how many times as long a gradient takes; > 1.
  double factor = 1;
  /// delay: how late a message arrives; reorder: how long a push may wait
  /// to be overtaken. Milliseconds (virtual when deterministic).
  double delay_ms = 0;

  /// Resolved from `target` by validation.
  fault_target_kind target_kind = fault_target_kind::worker;
  /// The worker slot and the shard index; -1 when the target has none.
  int worker = -1;
  int shard = -1;
  /// The node's name (kill_node, stop_node).
  std::string node;
};

struct run_config {
  /// The file it came from ("<built-in>" for the default topology).
  std::string source;
  run_settings run;
  algorithm_config algorithm;
  model_config model;
  data_config data;
  workers_config workers;
  server_config server;
  output_config output;
  checkpoint_config checkpoints;
  network_config network;
  /// Empty: one process.
  std::vector<node_config> nodes;
  /// Faults to inject; empty: none.
  std::vector<fault_config> faults;
};

/// "synthetic" or "fashion-mnist".
const char* to_string(data_source source);

/// Where `run`'s checkpoints go: checkpoints.dir, or `checkpoints` in
/// output.dir when that is empty.
std::string checkpoint_directory(const run_config& run);

/// "uniform", "factors", "slow_fraction" or "lognormal".
const char* to_string(speed_profile profile);

/// "kill_worker", "fail_gradient", ..., the spelling of `kind` in a file.
const char* to_string(fault_kind kind);

/// True for the kinds that act on a worker-shard link (or, partition, on
/// every link of a worker).
bool is_link_fault(fault_kind kind);

/// True for the kinds that signal a node's process (injected by `ormo run`'s
/// launcher).
bool is_node_fault(fault_kind kind);

} // namespace ormo::config
