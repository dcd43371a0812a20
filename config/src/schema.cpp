#include "ormo/config/schema.hpp"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <sstream>
#include <utility>

#include "toml_text.hpp"

namespace ormo::config {

namespace {

using namespace std::chrono_literals;
using detail::format_double;
using detail::quote;

std::string join(std::string_view table_path, std::string_view key) {
  std::string path{table_path};
  if (!path.empty())
    path += '.';
  path += key;
  return path;
}

// Upper bounds that catch typos (an extra digit) before they cost memory or
// a run that never ends (marked † in the docs).
integer_range up_to(std::int64_t lo, std::int64_t hi) {
  return {lo, hi, true};
}

integer_range at_least_integer(std::int64_t lo) {
  return {lo, std::numeric_limits<std::int64_t>::max(), false};
}

optim::real_range above(double lo) {
  return {lo, true};
}
optim::real_range closed(double lo, double hi) {
  return {lo, false, hi, false};
}
optim::real_range left_open(double lo, double hi) {
  return {lo, true, hi, false};
}

key_spec with_docs(key_spec key, std::string_view default_text,
                   std::string_view range_text) {
  key.default_text = default_text;
  key.range_text = range_text;
  return key;
}

document_schema make_run_config_schema() {
  using model::model_kind;
  using optim::algorithm;
  using optim::apply_mode;
  using rc = run_config;
  document_schema schema;
  auto nodes = std::make_unique<table_spec>(table_spec{
    "nodes",
    {with_docs(string_key<node_config>(
                 "name", [](auto& n) -> auto& { return n.name; },
                 "What `ormo node FILE --name NAME` and messages call it."),
               "required", "non-empty; letters, digits, `_`, `-`, `.`; unique"),
     with_docs(string_key<node_config>(
                 "host", [](auto& n) -> auto& { return n.host; },
                 "The address it listens on and the other nodes reach it "
                 "at."),
               "", "non-empty"),
     integer_key<node_config>(
       "port", {0, 65535, false}, [](auto& n) -> auto& { return n.port; },
       "The port it listens on; 0 = none. A node with `shards` or "
       "`supervisor` needs one; two nodes on one host need different "
       "ones."),
     with_docs(integer_list_key<node_config>(
                 "shards", at_least_integer(0),
                 [](auto& n) -> auto& { return n.shards; },
                 "The server shards it hosts; every shard is on exactly one "
                 "node."),
               "", "each in [0, `server.shards`)"),
     with_docs(boolean_key<node_config>(
                 "supervisor", [](auto& n) -> auto& { return n.supervisor; },
                 "Hosts the supervisor and the run monitor, and writes the "
                 "run's outputs."),
               "", "true on exactly one node"),
     with_docs(integer_key<node_config>(
                 "workers", {0, std::numeric_limits<int>::max(), false},
                 [](auto& n) -> auto& { return n.workers; },
                 "Workers it runs. Their sum is `workers.count` (which may "
                 "be left out)."),
               "", "≥ 0; the sum ≥ 1")}});
  auto faults = std::make_unique<table_spec>(table_spec{
    "faults",
    {with_docs(choice_key<fault_config>(
                 "kind",
                 {fault_kind::kill_worker, fault_kind::fail_gradient,
                  fault_kind::slow_worker, fault_kind::freeze_worker,
                  fault_kind::drop, fault_kind::delay, fault_kind::duplicate,
                  fault_kind::reorder, fault_kind::partition,
                  fault_kind::kill_shard, fault_kind::kill_node,
                  fault_kind::stop_node},
                 [](auto& f) -> auto& { return f.kind; },
                 "What happens (see the kinds above)."),
               "required", ""),
     with_docs(string_key<fault_config>(
                 "target", [](auto& f) -> auto& { return f.target; },
                 "`\"worker W\"` (a worker slot), `\"shard S\"`, a link "
                 "`\"worker W <-> shard S\"` or `\"node NAME\"`, as the kind "
                 "needs."),
               "required", "W in [0, `workers.count`), S in [0, "
                           "`server.shards`)"),
     with_docs(number_key<fault_config>(
                 "at_seconds", closed(0, 1e9),
                 [](auto& f) -> auto& { return f.at_seconds; },
                 "Fire this many seconds after the run started (virtual "
                 "seconds when deterministic)."),
               "0 (off)", "[0, 10^9] †; exactly one `at_…` > 0"),
     with_docs(integer_key<fault_config>(
                 "at_iteration", at_least_integer(0),
                 [](auto& f) -> auto& { return f.at_iteration; },
                 "Fire when the first shard's iteration index reaches this, "
                 "as its answers report it."),
               "0 (off)", "≥ 0; exactly one `at_…` > 0"),
     with_docs(integer_key<fault_config>(
                 "at_gradient", at_least_integer(0),
                 [](auto& f) -> auto& { return f.at_gradient; },
                 "Fire when the workers have pushed this many gradients in "
                 "all (each once, however often it is sent)."),
               "0 (off)", "≥ 0; exactly one `at_…` > 0"),
     with_docs(number_key<fault_config>(
                 "duration_s", closed(0, 1e9),
                 [](auto& f) -> auto& { return f.duration_s; },
                 "How long it lasts (virtual seconds when deterministic)."),
               "", "> 0 for the kinds that last, 0 for `kill_…`"),
     with_docs(number_key<fault_config>(
                 "probability", left_open(0, 1),
                 [](auto& f) -> auto& { return f.probability; },
                 "Chance per message (`drop`, `delay`, `duplicate`, "
                 "`reorder`) or per gradient (`fail_gradient`) that it "
                 "strikes, drawn from the run's seed."),
               "", "(0, 1]; 1 for the other kinds"),
     with_docs(number_key<fault_config>(
                 "factor", closed(1, 1e6),
                 [](auto& f) -> auto& { return f.factor; },
                 "`slow_worker`: each gradient takes this many times as "
                 "long."),
               "", "> 1 for `slow_worker`, else 1"),
     with_docs(number_key<fault_config>(
                 "delay_ms", closed(0, 1e9),
                 [](auto& f) -> auto& { return f.delay_ms; },
                 "`delay`: how late a message arrives; `reorder`: how long "
                 "a push waits for a later one to overtake it."),
               "", "> 0 for `delay` and `reorder`, else 0")}});
  schema.tables = {
    {"",
     {table_key("run"), table_key("algorithm"), table_key("model"),
      table_key("data"), table_key("workers"), table_key("server"),
      table_key("output"), table_key("checkpoints"), table_key("network"),
      table_array_key<rc>(
        "nodes", *nodes, [](auto& c) -> auto& { return c.nodes; },
        "The processes of a multi-process run; none = one process."),
      table_array_key<rc>(
        "faults", *faults, [](auto& c) -> auto& { return c.faults; },
        "Faults the runtime injects; none = none.")}},
    {"run",
     {with_docs(integer_key<rc>(
                  "seed", at_least_integer(0),
                  [](auto& c) -> auto& { return c.run.seed; },
                  "Seed for data, sampling and speed draws."),
                "", "0 … 2^63−1"),
      boolean_key<rc>(
        "deterministic", [](auto& c) -> auto& { return c.run.deterministic; },
        "Run under a test scheduler in virtual time: same file and seed, "
        "same metrics."),
      with_docs(
        number_key<rc>(
          "stop_epochs", closed(0, 1e9),
          [](auto& c) -> auto& { return c.run.stop.epochs; },
          "Stop after this many passes over the training set (gradients × "
          "batch size / training samples). 0 = off."),
        "", "[0, 10^9] †"),
      integer_key<rc>(
        "stop_iterations", at_least_integer(0),
        [](auto& c) -> auto& { return c.run.stop.iterations; },
        "Stop after this many closed iterations. 0 = off."),
      // Bounded so that it fits CAF's nanosecond clock (292 years).
      with_docs(
        number_key<rc>(
          "stop_seconds", closed(0, 1e9),
          [](auto& c) -> auto& { return c.run.stop.seconds; },
          "Stop after this many wall-clock seconds (virtual seconds when "
          "deterministic). 0 = off."),
        "", "[0, 10^9] †"),
      number_key<rc>(
        "stop_accuracy", closed(0, 1),
        [](auto& c) -> auto& { return c.run.stop.accuracy; },
        "Stop at the first evaluation whose test accuracy reaches this. "
        "0 = off.")}},
    {"algorithm",
     {choice_key<rc>(
        "name",
        {algorithm::ssgdm, algorithm::asgd, algorithm::asgd_da,
         algorithm::naive_asgdm, algorithm::ormo, algorithm::ormo_da,
         algorithm::shifted_momentum, algorithm::smega2},
        [](auto& c) -> auto& { return c.algorithm.settings.name; },
        "Update rule."),
      number_key<rc>(
        "learning_rate", optim::learning_rate_range,
        [](auto& c) -> auto& { return c.algorithm.settings.learning_rate; },
        "η."),
      number_key<rc>(
        "momentum", optim::momentum_range,
        [](auto& c) -> auto& { return c.algorithm.settings.momentum; },
        "β. Unused by `asgd` and `asgd-da`."),
      integer_or_word_key<rc>(
        "iteration_size", "workers", up_to(1, 65536),
        [](auto& c) -> auto& { return c.algorithm.iteration_size; },
        "K, gradients per iteration (`smega2`: its momentum cycle C). "
        "`\"workers\"`: K follows the number of live workers."),
      number_key<rc>(
        "delay_threshold", optim::delay_threshold_range,
        [](auto& c) -> auto& { return c.algorithm.settings.delay_threshold; },
        "τ_c in iterations: gradients older than this get a smaller step. "
        "`asgd-da` and `ormo-da` only."),
      choice_key<rc>(
        "apply", {apply_mode::on_close, apply_mode::on_arrival},
        [](auto& c) -> auto& { return c.algorithm.settings.apply; },
        "Where OrMo's parameter step goes: when the iteration closes (exact "
        "synchronous order) or at once. `ormo` and `ormo-da` only."),
      integer_key<rc>(
        "warmup_iterations", at_least_integer(0),
        [](auto& c) -> auto& { return c.algorithm.warmup_iterations; },
        "Ramp the learning rate up linearly over this many iterations. "
        "0 = off.")}},
    {"model",
     {choice_key<rc>(
        "kind", {model_kind::softmax, model_kind::mlp},
        [](auto& c) -> auto& { return c.model.kind; }, "Classifier."),
      with_docs(integer_list_key<rc>(
                  "hidden", up_to(1, 65536),
                  [](auto& c) -> auto& { return c.model.hidden; },
                  "Hidden layer sizes. Must be absent or empty for "
                  "`softmax`; may be empty for `mlp`."),
                "`[64]` (mlp), `[]` (softmax)", ""),
      integer_key<rc>(
        "batch_size", up_to(1, 65536),
        [](auto& c) -> auto& { return c.model.batch_size; },
        "Samples per gradient.")}},
    {"data",
     {choice_key<rc>(
        "source", {data_source::synthetic, data_source::fashion_mnist},
        [](auto& c) -> auto& { return c.data.source; }, "Data set."),
      with_docs(string_key<rc>(
                  "path", [](auto& c) -> auto& { return c.data.path; },
                  "Directory of the Fashion-MNIST IDX files."),
                "", "non-empty for fashion-mnist"),
      integer_key<rc>(
        "inputs", up_to(1, 1 << 20),
        [](auto& c) -> auto& { return c.data.inputs; },
        "Synthetic: features per sample."),
      integer_key<rc>(
        "classes", up_to(2, 65536),
        [](auto& c) -> auto& { return c.data.classes; },
        "Synthetic: number of classes."),
      integer_key<rc>(
        "train_samples", up_to(1, 10'000'000),
        [](auto& c) -> auto& { return c.data.train_samples; },
        "Synthetic: training set size."),
      integer_key<rc>(
        "test_samples", up_to(1, 10'000'000),
        [](auto& c) -> auto& { return c.data.test_samples; },
        "Synthetic: test set size."),
      // Bounded so that the samples' variance stays finite.
      with_docs(
        number_key<rc>(
          "noise", closed(0, 1e6),
          [](auto& c) -> auto& { return c.data.noise; },
          "Synthetic: spread of the samples around their cluster centres, "
          "relative to the spread of the centres. Larger is harder."),
        "", "[0, 10^6] †")}},
    {"workers",
     {integer_key<rc>(
        "count", up_to(1, 4096),
        [](auto& c) -> auto& { return c.workers.count; }, "Workers."),
      with_docs(
        number_key<rc>(
          "compute_ms", left_open(0, 1e6),
          [](auto& c) -> auto& { return c.workers.compute_ms; },
          "Deterministic mode: virtual milliseconds one gradient takes at "
          "speed factor 1."),
        "", "(0, 10^6]; see below"),
      with_docs(
        number_key<rc>(
          "compute_jitter", closed(0, 3),
          [](auto& c) -> auto& { return c.workers.compute_jitter; },
          "Deterministic mode: each gradient takes `compute_ms` × factor × "
          "exp(`compute_jitter`·z), z ~ N(0, 1) drawn per gradient from the "
          "worker's seed, so workers do not tick in lock-step. 0 = exact."),
        "", "[0, 3] †"),
      integer_key<rc>(
        "restart_limit", {0, std::numeric_limits<int>::max(), false},
        [](auto& c) -> auto& { return c.workers.restart_limit; },
        "Restarts of a crashed worker before it is evicted."),
      // Bounded so that it fits CAF's nanosecond timespan.
      number_key<rc>(
        "request_timeout_s", left_open(0, 1e6),
        [](auto& c) -> auto& { return c.workers.request_timeout_s; },
        "Real seconds a worker waits for the answers to a pull or push "
        "before it fails (checked by a watchdog, so after once to twice "
        "this), and the longest it may leave its supervisor's question for "
        "a sign of life unanswered (one gradient's computation included) "
        "before it is ended and replaced. Under `ssgdm` also the longest "
        "wait at the barrier: raise it when one gradient takes longer."),
      number_key<rc>(
        "retry_after_s", left_open(0, 1e6),
        [](auto& c) -> auto& { return c.workers.retry_after_s; },
        "Real seconds a push may stay unanswered by a shard before the "
        "worker sends it again (same sequence number: the shard answers as "
        "it did the first time and never applies it twice), and again "
        "after each further interval until `request_timeout_s`. Under "
        "`ssgdm` an answer waits for the iteration's close: a resend then "
        "is harmless, counted in `retries`."),
      with_docs(
        integer_key<rc>(
          "pushes_in_flight", {1, 8, false},
          [](auto& c) -> auto& { return c.workers.pushes_in_flight; },
          "Pushes a worker may have awaiting their answers while it "
          "computes its next gradient on the newest parameters it holds "
          "(each gradient carries the iteration index it was computed at). "
          "1 = compute only after every shard answered."),
        "", "1 … 8; 1 under `ssgdm`"),
      table_key("speed")}},
    {"workers.speed",
     {choice_key<rc>(
        "profile",
        {speed_profile::uniform, speed_profile::factors,
         speed_profile::slow_fraction, speed_profile::lognormal},
        [](auto& c) -> auto& { return c.workers.speed.profile; },
        "`uniform`: all at factor 1. `factors`: worker k at `factors[k]`. "
        "`slow_fraction`: a seeded random `fraction` of the workers at "
        "`factor`. `lognormal`: each worker's factor exp(`sigma`·z), z ~ "
        "N(0, 1), divided by the fastest initial worker's so every factor "
        "is ≥ 1."),
      with_docs(number_list_key<rc>(
                  "factors", closed(1, 1e6),
                  [](auto& c) -> auto& { return c.workers.speed.factors; },
                  "Profile `factors` only (required there, an error "
                  "elsewhere unless empty)."),
                "", "each in [1, 10^6] †; exactly `workers.count` entries"),
      number_key<rc>(
        "fraction", closed(0, 1),
        [](auto& c) -> auto& { return c.workers.speed.fraction; },
        "Profile `slow_fraction`."),
      with_docs(number_key<rc>(
                  "factor", closed(1, 1e6),
                  [](auto& c) -> auto& { return c.workers.speed.factor; },
                  "Profile `slow_fraction`."),
                "", "[1, 10^6] †"),
      with_docs(number_key<rc>(
                  "sigma", closed(0, 3),
                  [](auto& c) -> auto& { return c.workers.speed.sigma; },
                  "Profile `lognormal`."),
                "", "[0, 3] †")}},
    {"server",
     {integer_key<rc>(
       "shards", up_to(1, 256),
       [](auto& c) -> auto& { return c.server.shards; },
       "Parameter shards, each a parameter server and a momentum orderer on "
       "its slice of the parameters.")}},
    {"output",
     {with_docs(string_key<rc>(
                  "dir", [](auto& c) -> auto& { return c.output.dir; },
                  "Where metrics.csv, summary.json and the resolved "
                  "configuration go (created if missing)."),
                "", "non-empty"),
      number_key<rc>(
        "progress_seconds", above(0),
        [](auto& c) -> auto& { return c.output.progress_seconds; },
        "Seconds between progress lines."),
      with_docs(
        number_key<rc>(
          "evaluations_per_epoch", left_open(0, 1e4),
          [](auto& c) -> auto& { return c.output.evaluations_per_epoch; },
          "Test-set evaluations per epoch."),
        "", "(0, 10^4] †")}},
    {"checkpoints",
     {integer_key<rc>(
        "every_iterations", at_least_integer(0),
        [](auto& c) -> auto& { return c.checkpoints.every_iterations; },
        "A checkpoint whenever the iteration index reaches a multiple of "
        "this: in real time each shard's own (a consistent cut of its "
        "parameters, momentum, rule and ledger), in deterministic mode the "
        "whole run's, workers paused (`ormo run --resume` then goes on "
        "bit-exact). 0 = none."),
      integer_key<rc>(
        "keep", up_to(1, 1000),
        [](auto& c) -> auto& { return c.checkpoints.keep; },
        "Checkpoints kept (per shard; per run in deterministic mode), the "
        "newest."),
      string_key<rc>(
        "dir", [](auto& c) -> auto& { return c.checkpoints.dir; },
        "Where checkpoints go; empty = `checkpoints` in the output "
        "directory.")}},
    {"network",
     {duration_key<rc>(
        "heartbeat_interval", {10ms, 1min},
        [](auto& c) -> auto& { return c.network.heartbeat_interval; },
        "Every node sends each peer a heartbeat this often."),
      with_docs(duration_key<rc>(
                  "connection_timeout", {50ms, 1h},
                  [](auto& c) -> auto& { return c.network.connection_timeout; },
                  "A peer silent this long is lost."),
                "", "50ms … 1h; > 2 × `heartbeat_interval`"),
      duration_key<rc>(
        "connect_timeout", {100ms, 1h},
        [](auto& c) -> auto& { return c.network.connect_timeout; },
        "How long a starting node keeps trying to reach a peer it needs."),
      integer_key<rc>(
        "chunk_kib", up_to(4, 65536),
        [](auto& c) -> auto& { return c.network.chunk_kib; },
        "A tensor larger than this (KiB) crosses nodes in chunks of it."),
      boolean_key<rc>(
        "tls", [](auto& c) -> auto& { return c.network.tls; },
        "Nodes talk TLS, each verifying the other's certificate."),
      with_docs(string_key<rc>(
                  "certificate",
                  [](auto& c) -> auto& { return c.network.certificate; },
                  "This node's certificate (PEM file)."),
                "", "a readable file when tls"),
      with_docs(string_key<rc>(
                  "key", [](auto& c) -> auto& { return c.network.key; },
                  "The certificate's private key (PEM file)."),
                "", "a readable file when tls"),
      with_docs(string_key<rc>(
                  "cafile", [](auto& c) -> auto& { return c.network.cafile; },
                  "The authority that signs every node's certificate (PEM)."),
                "", "a readable file when tls")}},
  };
  schema.element_tables.push_back(std::move(nodes));
  schema.element_tables.push_back(std::move(faults));
  return schema;
}

// -- writing ----------------------------------------------------------------

std::string value_text(const key_spec& key, const value& v) {
  std::ostringstream out;
  switch (key.kind) {
    case value_kind::boolean:
      out << (std::get<bool>(v) ? "true" : "false");
      break;
    case value_kind::integer:
      out << std::get<std::int64_t>(v);
      break;
    case value_kind::number:
      out << format_double(std::get<double>(v), true);
      break;
    case value_kind::string:
    case value_kind::choice:
      out << quote(std::get<std::string>(v));
      break;
    case value_kind::integer_or_word:
      if (auto integer = std::get_if<std::int64_t>(&v))
        out << *integer;
      else
        out << quote(std::get<std::string>(v));
      break;
    case value_kind::integer_list: {
      out << '[';
      const char* separator = "";
      for (auto x : std::get<std::vector<std::int64_t>>(v)) {
        out << separator << x;
        separator = ", ";
      }
      out << ']';
      break;
    }
    case value_kind::number_list: {
      out << '[';
      const char* separator = "";
      for (auto x : std::get<std::vector<double>>(v)) {
        out << separator << format_double(x, true);
        separator = ", ";
      }
      out << ']';
      break;
    }
    case value_kind::duration:
      out << quote(format_duration(std::get<std::chrono::nanoseconds>(v)));
      break;
    case value_kind::table:
    case value_kind::table_array:
      break;
  }
  return out.str();
}

void write_keys(std::ostringstream& out, const table_spec& spec,
                const void* root) {
  for (const auto& key : spec.keys)
    if (key.kind != value_kind::table && key.kind != value_kind::table_array)
      out << key.name << " = " << value_text(key, key.get(root)) << '\n';
}

void collect_differences(const table_spec& spec, const std::string& path,
                         const void* a, const void* b,
                         std::vector<std::string>& out) {
  for (const auto& key : spec.keys) {
    auto key_path = join(path, key.name);
    if (key.kind == value_kind::table)
      continue;
    if (key.kind == value_kind::table_array) {
      auto n = key.size(a);
      if (n != key.size(b)) {
        out.push_back(key_path);
        continue;
      }
      for (std::size_t i = 0; i < n; ++i)
        collect_differences(*key.element_table,
                            key_path + "[" + std::to_string(i) + "]",
                            key.element(a, i), key.element(b, i), out);
      continue;
    }
    if (key.get(a) != key.get(b))
      out.push_back(key_path);
  }
}

// -- docs -------------------------------------------------------------------

/// "10^9" for a power of ten from 10^6 on, else the shortest decimal.
std::string doc_number(double x) {
  if (x >= 1e6) {
    auto exponent = std::lround(std::log10(x));
    if (std::pow(10.0, static_cast<double>(exponent)) == x)
      return "10^" + std::to_string(exponent);
  }
  return format_double(x);
}

std::string integer_range_text(const integer_range& range) {
  if (range.hi == std::numeric_limits<std::int64_t>::max()
      || range.hi == std::numeric_limits<int>::max())
    return "≥ " + std::to_string(range.lo);
  return std::to_string(range.lo) + " … " + std::to_string(range.hi)
         + (range.typo_bound ? " †" : "");
}

std::string number_range_text(const optim::real_range& range) {
  if (std::isinf(range.hi))
    return (range.lo_open ? "> " : "≥ ") + doc_number(range.lo);
  return (range.lo_open ? "(" : "[") + doc_number(range.lo) + ", "
         + doc_number(range.hi) + (range.hi_open ? ")" : "]");
}

std::string type_text(const key_spec& key) {
  switch (key.kind) {
    case value_kind::boolean:
      return "bool";
    case value_kind::integer:
      return "int";
    case value_kind::number:
      return "float";
    case value_kind::string:
    case value_kind::choice:
      return "string";
    case value_kind::integer_or_word:
      return "`" + quote(key.words.front()) + "` or int";
    case value_kind::integer_list:
      return "array of int";
    case value_kind::number_list:
      return "array of float";
    case value_kind::duration:
      return "duration";
    case value_kind::table:
      return "table";
    case value_kind::table_array:
      return "array of tables";
  }
  return "";
}

std::string range_text(const key_spec& key) {
  if (!key.range_text.empty())
    return std::string{key.range_text};
  switch (key.kind) {
    case value_kind::integer:
    case value_kind::integer_or_word:
      return integer_range_text(key.integers);
    case value_kind::number:
      return number_range_text(key.numbers);
    case value_kind::choice: {
      std::string text;
      for (auto word : key.words)
        text += (text.empty() ? "`" : ", `") + std::string{word} + "`";
      return text;
    }
    case value_kind::integer_list:
      return "each " + integer_range_text(key.integers);
    case value_kind::number_list:
      return "each " + number_range_text(key.numbers);
    case value_kind::duration:
      if (key.durations.hi == std::chrono::nanoseconds::max())
        return "≥ " + format_duration(key.durations.lo);
      return format_duration(key.durations.lo) + " … "
             + format_duration(key.durations.hi);
    default:
      return "";
  }
}

std::string default_text(const key_spec& key, const void* defaults) {
  if (!key.default_text.empty())
    return std::string{key.default_text};
  switch (key.kind) {
    case value_kind::table_array:
      return "none";
    case value_kind::table:
      return "";
    case value_kind::number:
      return format_double(std::get<double>(key.get(defaults)));
    case value_kind::boolean:
    case value_kind::integer:
      return value_text(key, key.get(defaults));
    default:
      return "`" + value_text(key, key.get(defaults)) + "`";
  }
}

} // namespace

const table_spec* document_schema::find_table(std::string_view path) const {
  for (const auto& table : tables)
    if (table.path == path)
      return &table;
  return nullptr;
}

const document_schema& run_config_schema() {
  static const document_schema schema = make_run_config_schema();
  return schema;
}

const key_spec* find_key(const document_schema& schema,
                         std::string_view key_path) {
  auto dot = key_path.rfind('.');
  auto table_path = dot == std::string_view::npos ? std::string_view{}
                                                  : key_path.substr(0, dot);
  auto name
    = dot == std::string_view::npos ? key_path : key_path.substr(dot + 1);
  auto table = schema.find_table(table_path);
  if (table == nullptr)
    return nullptr;
  for (const auto& key : table->keys)
    if (key.name == name && key.kind != value_kind::table)
      return &key;
  return nullptr;
}

std::string write_document(const document_schema& schema, const void* root) {
  std::ostringstream out;
  bool first_block = true;
  auto block = [&](const std::string& header) {
    if (!first_block)
      out << '\n';
    first_block = false;
    out << header << '\n';
  };
  for (const auto& spec : schema.tables) {
    if (spec.path.empty()) {
      std::ostringstream keys;
      write_keys(keys, spec, root);
      if (!keys.str().empty()) {
        out << keys.str();
        first_block = false;
      }
    } else {
      block("[" + std::string{spec.path} + "]");
      write_keys(out, spec, root);
    }
  }
  // After every table: a `[[path]]` header names its whole path, so the
  // blocks may follow any table, and a reader finds them together at the end.
  for (const auto& spec : schema.tables) {
    for (const auto& key : spec.keys) {
      if (key.kind != value_kind::table_array)
        continue;
      for (std::size_t i = 0; i < key.size(root); ++i) {
        block("[[" + join(spec.path, key.name) + "]]");
        write_keys(out, *key.element_table, key.element(root, i));
      }
    }
  }
  return out.str();
}

std::vector<std::string> differences(const document_schema& schema,
                                     const void* a, const void* b) {
  std::vector<std::string> out;
  for (const auto& spec : schema.tables)
    collect_differences(spec, std::string{spec.path}, a, b, out);
  return out;
}

std::string markdown_key_table(const document_schema& schema,
                               std::string_view path, const void* defaults) {
  auto spec = schema.find_table(path);
  if (spec == nullptr)
    for (const auto& table : schema.tables)
      for (const auto& key : table.keys)
        if (key.kind == value_kind::table_array
            && key.element_table->path == path) {
          spec = key.element_table;
          defaults = key.default_element.get();
        }
  if (spec == nullptr)
    return {};
  std::string text = "| key | type | default | range | meaning |\n"
                     "|---|---|---|---|---|\n";
  for (const auto& key : spec->keys) {
    if (key.kind == value_kind::table)
      continue;
    std::string cells[]
      = {"`" + std::string{key.name} + "`",
         key.type_text.empty() ? type_text(key) : std::string{key.type_text},
         default_text(key, defaults), range_text(key), std::string{key.doc}};
    text += "|";
    for (const auto& cell : cells)
      text += cell.empty() ? " |" : " " + cell + " |";
    text += "\n";
  }
  return text;
}

std::string markdown_key_table(std::string_view path) {
  static const run_config defaults;
  return markdown_key_table(run_config_schema(), path, &defaults);
}

// -- durations --------------------------------------------------------------

namespace {

struct duration_unit {
  std::string_view name;
  std::int64_t nanoseconds;
};

/// Largest first, for format_duration.
constexpr duration_unit duration_units[] = {
  {"h", 3'600'000'000'000}, {"min", 60'000'000'000}, {"s", 1'000'000'000},
  {"ms", 1'000'000},        {"us", 1'000},           {"ns", 1},
};

} // namespace

std::string format_duration(std::chrono::nanoseconds duration) {
  auto count = duration.count();
  if (count == 0)
    return "0s";
  for (const auto& unit : duration_units)
    if (count % unit.nanoseconds == 0)
      return std::to_string(count / unit.nanoseconds) + std::string{unit.name};
  return std::to_string(count) + "ns";
}

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  std::size_t digits = 0;
  bool point = false;
  std::size_t end = 0;
  for (; end < text.size(); ++end) {
    char c = text[end];
    if (c >= '0' && c <= '9')
      ++digits;
    else if (c == '.' && !point)
      point = true;
    else
      break;
  }
  if (digits == 0 || text[end - 1] == '.' || text.front() == '.')
    return std::nullopt;
  auto unit_name = text.substr(end);
  for (const auto& unit : duration_units) {
    if (unit.name != unit_name)
      continue;
    std::string number{text.substr(0, end)};
    long double amount = std::strtold(number.c_str(), nullptr)
                         * static_cast<long double>(unit.nanoseconds);
    if (!(amount <= static_cast<long double>(
            std::numeric_limits<std::int64_t>::max() / 2)))
      return std::nullopt;
    return std::chrono::nanoseconds{std::llround(amount)};
  }
  return std::nullopt;
}

} // namespace ormo::config
