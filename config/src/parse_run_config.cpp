#include "ormo/config/parse_run_config.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "document_reader.hpp"
#include "ormo/config/run_sizes.hpp"
#include "ormo/config/schema.hpp"
#include "toml_text.hpp"

namespace ormo::config {

namespace {

using detail::is_bare_key;
using detail::quote;
using detail::split_key_path;
using detail::trim;

status invalid(std::string message) {
  return status::error(status_code::invalid_argument, std::move(message));
}

bool is_node_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'
           || c == '.';
  });
}

/// `"name" (nodes[i])`.
std::string node_label(const run_config& config, std::size_t i) {
  return quote(config.nodes[i].name) + " (nodes[" + std::to_string(i) + "])";
}

/// The rules of a multi-process topology (`nodes` non-empty); resolves an
/// absent workers.count to the nodes' sum.
void check_nodes(detail::document_reader& reader, run_config& config) {
  const auto& nodes = config.nodes;
  auto path = [](std::size_t i, std::string_view key) {
    return "nodes[" + std::to_string(i) + "]." + std::string{key};
  };
  auto shards = static_cast<std::size_t>(config.server.shards);
  // The node (index) of each shard, once seen.
  std::vector<std::optional<std::size_t>> shard_node(shards);
  std::optional<std::size_t> supervisor;
  std::int64_t workers = 0;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const auto& node = nodes[i];
    if (node.name.empty())
      reader.fail_at(path(i, "name"), reader.lookup(path(i, "name")) == nullptr
                                        ? "missing; every node needs a name"
                                        : "must not be empty");
    else if (!is_node_name(node.name))
      reader.fail_at(path(i, "name"),
                     quote(node.name)
                       + " may contain only letters, digits, '_', '-' and "
                         "'.'");
    for (std::size_t j = 0; j < i; ++j)
      if (nodes[j].name == node.name)
        reader.fail_at(path(i, "name"), quote(node.name)
                                          + " is also the name of nodes["
                                          + std::to_string(j) + "]");
    if (node.host.empty())
      reader.fail_at(path(i, "host"), "must not be empty");
    if (node.port == 0 && (!node.shards.empty() || node.supervisor)) {
      std::string hosted = node.shards.empty() ? "the supervisor" : "shards";
      if (!node.shards.empty() && node.supervisor)
        hosted += " and the supervisor";
      reader.fail_at(path(i, "port"), quote(node.name) + " hosts " + hosted
                                        + ", so it needs a port >= 1");
    }
    for (std::size_t j = 0; j < i && node.port != 0; ++j)
      if (nodes[j].port == node.port && nodes[j].host == node.host)
        reader.fail_at(path(i, "port"), node_label(config, j) + " and "
                                          + node_label(config, i)
                                          + " both listen on " + node.host + ":"
                                          + std::to_string(node.port));
    for (std::size_t k = 0; k < node.shards.size(); ++k) {
      auto shard = node.shards[k];
      if (shard >= config.server.shards) {
        reader.fail_at(path(i, "shards[" + std::to_string(k) + "]"),
                       std::to_string(shard) + " is not in [0, "
                         + std::to_string(config.server.shards - 1)
                         + "] (server.shards = "
                         + std::to_string(config.server.shards) + ")");
        continue;
      }
      auto& owner = shard_node[static_cast<std::size_t>(shard)];
      if (owner && *owner == i)
        reader.fail_at(path(i, "shards"),
                       "shard " + std::to_string(shard) + " is listed twice");
      else if (owner)
        reader.fail_at(path(i, "shards"), "shard " + std::to_string(shard)
                                            + " is on both "
                                            + node_label(config, *owner)
                                            + " and " + node_label(config, i));
      owner = i;
    }
    if (node.supervisor) {
      if (supervisor)
        reader.fail_at(path(i, "supervisor"),
                       "both " + node_label(config, *supervisor) + " and "
                         + node_label(config, i)
                         + " have supervisor = true; exactly one node may");
      supervisor = i;
    }
    workers += node.workers;
  }
  for (std::size_t shard = 0; shard < shards; ++shard)
    if (!shard_node[shard])
      reader.fail_at("server.shards",
                     "shard " + std::to_string(shard) + " is on no node");
  if (!supervisor)
    reader.fail_at("nodes", "no node has supervisor = true; exactly one must");
  if (workers < 1)
    reader.fail_at("nodes",
                   "no node runs workers; set workers >= 1 on at least one");
  if (reader.lookup("workers.count") == nullptr) {
    auto limit = find_key(run_config_schema(), "workers.count")->integers.hi;
    if (workers > limit)
      reader.fail_at("nodes", "the nodes run " + std::to_string(workers)
                                + " workers, more than workers.count allows ("
                                + std::to_string(limit) + ")");
    else if (workers >= 1)
      config.workers.count = static_cast<int>(workers);
  } else if (config.workers.count != workers) {
    reader.fail_at("workers.count",
                   std::to_string(config.workers.count)
                     + " workers, but the nodes run " + std::to_string(workers)
                     + " (the sum of their workers); leave workers.count out "
                       "or make them agree");
  }
  const auto& network = config.network;
  if (network.tls)
    for (auto [name, path] :
         {std::pair{"certificate", &network.certificate},
          std::pair{"key", &network.key}, std::pair{"cafile", &network.cafile}})
      if (path->empty() || !std::ifstream(*path))
        reader.fail_at(std::string("network.") + name,
                       path->empty() ? "needed when network.tls is true"
                                     : "cannot read \"" + *path + "\"");
  if (network.connection_timeout <= 2 * network.heartbeat_interval)
    reader.fail_at("network.connection_timeout",
                   "must be more than twice network.heartbeat_interval ("
                     + format_duration(2 * network.heartbeat_interval)
                     + "), got " + format_duration(network.connection_timeout));
}

/// A float parameter of the update rules whose value does not survive the
/// conversion to float (the updates compute in float).
void check_float_parameters(detail::document_reader& reader,
                            const run_config& config) {
  const auto& settings = config.algorithm.settings;
  auto rate = static_cast<float>(settings.learning_rate);
  if (!std::isfinite(rate))
    reader.fail_at("algorithm.learning_rate",
                   detail::format_double(settings.learning_rate)
                     + " overflows a float (the updates compute in float; "
                       "at most 3.4e+38)");
  else if (rate <= 0)
    reader.fail_at("algorithm.learning_rate",
                   detail::format_double(settings.learning_rate)
                     + " is 0 as a float (the updates compute in float; at "
                       "least 1.4e-45)");
  if (static_cast<float>(settings.momentum) >= 1.0f)
    reader.fail_at("algorithm.momentum",
                   detail::format_double(settings.momentum)
                     + " is 1 as a float (the updates compute in float); "
                       "it must stay below 1");
}

/// The rules on the sizes the configuration implies (run_sizes).
void check_sizes(detail::document_reader& reader, const run_config& config) {
  auto sizes = sizes_of(config);
  if (static_cast<std::uint64_t>(config.server.shards) > sizes.parameters)
    reader.fail_at("server.shards",
                   std::to_string(config.server.shards)
                     + " shards for a model of "
                     + std::to_string(sizes.parameters)
                     + " parameters; each shard needs at least one");
  if (sizes.parameters > model::max_classifier_dimension)
    reader.fail_at(config.model.hidden.empty() ? "data.inputs" : "model.hidden",
                   "a model of " + std::to_string(sizes.parameters)
                     + " parameters is larger than the "
                     + std::to_string(model::max_classifier_dimension)
                     + " allowed");
  if (sizes.train_samples < static_cast<std::uint64_t>(config.workers.count))
    reader.fail_at("data.train_samples",
                   std::to_string(sizes.train_samples) + " samples for "
                     + std::to_string(config.workers.count)
                     + " workers (workers.count); each worker's shard needs "
                       "at least one");
  // The synchronous reference's barrier waits for K gradients and each
  // worker gives one per iteration: with K above the workers it never opens.
  if (config.algorithm.settings.name == optim::algorithm::ssgdm
      && config.algorithm.iteration_size
      && *config.algorithm.iteration_size > config.workers.count)
    reader.fail_at("algorithm.iteration_size",
                   std::to_string(*config.algorithm.iteration_size)
                     + " with algorithm.name = \"ssgdm\" and "
                     + std::to_string(config.workers.count)
                     + " workers: its barrier waits for one gradient of each "
                       "worker and would never open; use \"workers\" or at "
                       "most workers.count");
}

/// Deterministic mode: one gradient's virtual time must stay far from the
/// limits of the virtual clock, whose monitor ticks every 100 ms (a gradient
/// of virtual days would take hours of real time).
void check_virtual_compute(detail::document_reader& reader,
                           const run_config& config) {
  constexpr double max_ms = 1e6;
  const auto& speed = config.workers.speed;
  double slowest = 1;
  const char* key = "workers.compute_ms";
  switch (speed.profile) {
    case speed_profile::uniform:
      break;
    case speed_profile::factors:
      for (auto factor : speed.factors)
        slowest = std::max(slowest, factor);
      key = "workers.speed.factors";
      break;
    case speed_profile::slow_fraction:
      slowest = speed.fraction > 0 ? speed.factor : 1;
      key = "workers.speed.factor";
      break;
    case speed_profile::lognormal:
      // exp(sigma z) over the fastest worker's, z within +-4.
      slowest = std::exp(8 * speed.sigma);
      key = "workers.speed.sigma";
      break;
  }
  auto jitter = std::exp(4 * config.workers.compute_jitter);
  auto longest = config.workers.compute_ms * slowest * jitter;
  if (longest > max_ms) {
    if (slowest == 1)
      key = "workers.compute_ms";
    reader.fail_at(key, "a gradient would take up to "
                          + std::to_string(std::llround(longest))
                          + " virtual ms (workers.compute_ms × the slowest "
                            "speed factor × exp(4 × workers.compute_jitter)); "
                            "at most "
                          + detail::format_double(max_ms)
                          + " in deterministic mode");
  }
}

/// `text` as a non-negative integer below 2^31, or none.
std::optional<int> small_index(std::string_view text) {
  if (text.empty() || text.size() > 9)
    return std::nullopt;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

/// Reads a fault's target ("worker W", "shard S", "worker W <-> shard S")
/// into `fault`; false if it is none of these.
bool parse_fault_target(fault_config& fault) {
  std::vector<std::string_view> words;
  std::string_view text = fault.target;
  while (!(text = trim(text)).empty()) {
    auto end = text.find_first_of(" \t");
    words.push_back(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view{}
                                         : text.substr(end);
  }
  auto index_after = [&](std::size_t at, std::string_view word) {
    return at + 1 < words.size() && words[at] == word
             ? small_index(words[at + 1])
             : std::nullopt;
  };
  if (words.size() == 2) {
    if (words[0] == "node") {
      fault.target_kind = fault_target_kind::node;
      fault.node = std::string{words[1]};
      return true;
    }
    if (auto worker = index_after(0, "worker")) {
      fault.target_kind = fault_target_kind::worker;
      fault.worker = *worker;
      return true;
    }
    if (auto shard = index_after(0, "shard")) {
      fault.target_kind = fault_target_kind::shard;
      fault.shard = *shard;
      return true;
    }
  } else if (words.size() == 5 && words[2] == "<->") {
    auto worker = index_after(0, "worker");
    auto shard = index_after(3, "shard");
    if (worker && shard) {
      fault.target_kind = fault_target_kind::link;
      fault.worker = *worker;
      fault.shard = *shard;
      return true;
    }
  }
  return false;
}

/// The rules of the `[[faults]]` blocks; resolves each target.
void check_faults(detail::document_reader& reader, run_config& config) {
  auto path = [](std::size_t i, std::string_view key) {
    return "faults[" + std::to_string(i) + "]." + std::string{key};
  };
  for (std::size_t i = 0; i < config.faults.size(); ++i) {
    auto& fault = config.faults[i];
    const auto kind = fault.kind;
    const std::string name = quote(to_string(kind));
    if (reader.lookup(path(i, "kind")) == nullptr) {
      reader.fail_at(path(i, "kind"), "missing; every fault needs a kind");
      continue;
    }
    if (kind == fault_kind::kill_shard
        && config.checkpoints.every_iterations <= 0)
      reader.fail_at(path(i, "kind"),
                     "\"kill_shard\" restarts the shard from its newest "
                     "checkpoint: set checkpoints.every_iterations");
    // Where: node faults signal processes, which only a multi-process run
    // has; the others are injected inside one process.
    const bool processes = !config.nodes.empty() && !config.run.deterministic;
    if (is_node_fault(kind) && !processes)
      reader.fail_at(path(i, "kind"),
                     name
                       + " signals a node's process: it needs [[nodes]] "
                         "and run.deterministic = false (a deterministic "
                         "run of nodes is one process)");
    // When: exactly one of the three.
    const char* when[] = {"at_seconds", "at_iteration", "at_gradient"};
    const bool set[] = {fault.at_seconds > 0, fault.at_iteration > 0,
                        fault.at_gradient > 0};
    int first = -1;
    for (int k = 0; k < 3; ++k) {
      if (!set[k])
        continue;
      if (first >= 0)
        reader.fail_at(path(i, when[k]),
                       std::string(when[first])
                         + " is set too; exactly one of at_seconds, "
                           "at_iteration, at_gradient says when it fires");
      else
        first = k;
    }
    if (first < 0)
      reader.fail_at("faults[" + std::to_string(i) + "]",
                     "says not when it fires; set one of at_seconds, "
                     "at_iteration, at_gradient to a value > 0");
    else if (first > 0 && is_node_fault(kind))
      reader.fail_at(path(i, when[first]),
                     name + " fires at a time: set at_seconds (the launcher "
                            "sees no gradients or iterations)");
    // What: the target the kind needs, in range.
    fault_target_kind wanted = fault_target_kind::worker;
    const char* spelling = "\"worker W\"";
    if (is_node_fault(kind)) {
      wanted = fault_target_kind::node;
      spelling = "\"node NAME\"";
    } else if (kind == fault_kind::kill_shard) {
      wanted = fault_target_kind::shard;
      spelling = "\"shard S\"";
    } else if (is_link_fault(kind) && kind != fault_kind::partition) {
      wanted = fault_target_kind::link;
      spelling = "a link \"worker W <-> shard S\"";
    }
    if (reader.lookup(path(i, "target")) == nullptr) {
      reader.fail_at(path(i, "target"),
                     std::string("missing; ") + name + " needs " + spelling);
    } else if (!parse_fault_target(fault)) {
      reader.fail_at(path(i, "target"),
                     quote(fault.target)
                       + " is not \"worker W\", \"shard S\", \"worker W "
                         "<-> shard S\" or \"node NAME\"");
    } else if (fault.target_kind != wanted) {
      reader.fail_at(path(i, "target"), name + " needs " + spelling
                                          + ", got " + quote(fault.target));
    } else if (fault.worker >= config.workers.count) {
      reader.fail_at(path(i, "target"),
                     "worker " + std::to_string(fault.worker)
                       + " is not in [0, "
                       + std::to_string(config.workers.count - 1)
                       + "] (workers.count = "
                       + std::to_string(config.workers.count) + ")");
    } else if (fault.target_kind == fault_target_kind::node) {
      auto node = std::find_if(
        config.nodes.begin(), config.nodes.end(),
        [&](const node_config& n) { return n.name == fault.node; });
      if (node == config.nodes.end())
        reader.fail_at(path(i, "target"),
                       "no node is called " + quote(fault.node));
      else if (node->supervisor)
        reader.fail_at(path(i, "target"),
                       quote(fault.node)
                         + " hosts the supervisor, which writes the run's "
                           "outputs; signal another node");
    } else if (fault.shard >= config.server.shards) {
      reader.fail_at(path(i, "target"),
                     "shard " + std::to_string(fault.shard) + " is not in [0, "
                       + std::to_string(config.server.shards - 1)
                       + "] (server.shards = "
                       + std::to_string(config.server.shards) + ")");
    }
    // How: each setting only where the kind uses it.
    const bool once = kind == fault_kind::kill_worker
                      || kind == fault_kind::kill_shard
                      || kind == fault_kind::kill_node;
    if (once && fault.duration_s != 0)
      reader.fail_at(path(i, "duration_s"),
                     name + " happens once and lasts no time; remove "
                            "duration_s");
    else if (!once && fault.duration_s <= 0)
      reader.fail_at(path(i, "duration_s"),
                     name + " needs duration_s > 0 (how long it lasts)");
    const bool random = kind == fault_kind::fail_gradient
                        || (is_link_fault(kind)
                            && kind != fault_kind::partition);
    if (!random && fault.probability != 1)
      reader.fail_at(path(i, "probability"),
                     name + " strikes for certain; probability is for "
                            "fail_gradient, drop, delay, duplicate and "
                            "reorder");
    if (kind == fault_kind::slow_worker && fault.factor <= 1)
      reader.fail_at(path(i, "factor"),
                     "\"slow_worker\" needs factor > 1 (how many times as "
                     "long a gradient takes)");
    else if (kind != fault_kind::slow_worker && fault.factor != 1)
      reader.fail_at(path(i, "factor"),
                     "only for \"slow_worker\", not " + name);
    const bool delays
      = kind == fault_kind::delay || kind == fault_kind::reorder;
    if (delays && fault.delay_ms <= 0)
      reader.fail_at(path(i, "delay_ms"),
                     name + " needs delay_ms > 0 (" + (kind == fault_kind::delay
                       ? "how late a message arrives)"
                       : "how long a push waits to be overtaken)"));
    else if (!delays && fault.delay_ms != 0)
      reader.fail_at(path(i, "delay_ms"),
                     "only for \"delay\" and \"reorder\", not " + name);
  }
}

/// The rules that tie keys together, checked after every key was read into
/// `config`; each is reported at the key that breaks it.
void check_rules(detail::document_reader& reader, run_config& config) {
  // First: it may set workers.count, which the speed rules use.
  if (!config.nodes.empty())
    check_nodes(reader, config);
  const auto& stop = config.run.stop;
  if (stop.epochs <= 0 && stop.iterations <= 0 && stop.seconds <= 0
      && stop.accuracy <= 0) {
    // Point at the [run] table if the file has one, else at the file.
    auto run_node = reader.root().get("run");
    reader.fail(run_node != nullptr && reader.from_file(run_node->source())
                  ? reader.where(run_node->source())
                  : reader.file_start(),
                "run",
                "no stop rule; set one of run.stop_epochs, "
                "run.stop_iterations, run.stop_seconds, run.stop_accuracy to "
                "a value > 0");
  } else if (stop.accuracy > 0 && stop.epochs <= 0 && stop.iterations <= 0
             && stop.seconds <= 0) {
    reader.fail_at("run.stop_accuracy",
                   "alone it may never be reached and the run would never "
                   "end; also set run.stop_epochs, run.stop_iterations or "
                   "run.stop_seconds as a bound");
  }
  check_float_parameters(reader, config);
  if (config.model.kind == model::model_kind::softmax) {
    if (!config.model.hidden.empty()
        && reader.lookup("model.hidden") != nullptr)
      reader.fail_at("model.hidden",
                     "softmax has no hidden layers; remove model.hidden or "
                     "set model.kind = \"mlp\"");
    config.model.hidden.clear();
  }
  if (config.data.source == data_source::fashion_mnist
      && config.data.path.empty())
    reader.fail_at("data.path", "must name the fashion-mnist directory");
  if (config.output.dir.empty())
    reader.fail_at("output.dir", "must not be empty");
  // The synchronous reference's servers answer only when the iteration
  // closes, which needs every worker's gradient: a worker must not compute
  // ahead of its answer.
  if (config.workers.pushes_in_flight > 1
      && config.algorithm.settings.name == optim::algorithm::ssgdm)
    reader.fail_at("workers.pushes_in_flight",
                   std::to_string(config.workers.pushes_in_flight)
                     + " with algorithm.name = \"ssgdm\"; the synchronous "
                       "reference needs 1 (its servers answer a push only "
                       "when the iteration closes)");
  check_sizes(reader, config);
  const auto& speeds = config.workers.speed;
  auto count = static_cast<std::size_t>(config.workers.count);
  if (speeds.profile == speed_profile::factors) {
    if (reader.lookup("workers.speed.factors") == nullptr)
      reader.fail_at(
        "workers.speed.profile",
        "\"factors\" needs workers.speed.factors, one factor per worker");
    else if (speeds.factors.size() != count)
      reader.fail_at("workers.speed.factors",
                     std::to_string(speeds.factors.size()) + " factors for "
                       + std::to_string(count) + " workers (workers.count)");
  } else if (!speeds.factors.empty()) {
    reader.fail_at("workers.speed.factors",
                   "only used with profile = \"factors\"");
  }
  if (config.run.deterministic)
    check_virtual_compute(reader, config);
  check_faults(reader, config);
}

} // namespace

result<setting_override> parse_override(std::string_view text) {
  auto equals = text.find('=');
  if (equals == std::string_view::npos)
    return invalid("--set: " + std::string{text} + ": expected key.path=value");
  auto key_path = trim(text.substr(0, equals));
  if (key_path.empty())
    return invalid("--set: " + std::string{text}
                   + ": empty key (expected key.path=value)");
  for (auto part : split_key_path(key_path))
    if (!is_bare_key(part))
      return invalid("--set: " + std::string{text} + ": "
                     + std::string{key_path}
                     + " is not a key path (expected e.g. "
                       "algorithm.learning_rate)");
  return setting_override{std::string{key_path},
                          std::string{trim(text.substr(equals + 1))}};
}

result<run_config>
parse_run_config(std::string_view toml_text, std::string source_name,
                 const std::vector<setting_override>& overrides) {
  if (source_name.empty())
    source_name = "<string>";
  detail::document_reader reader{run_config_schema(), source_name};
  if (auto parsed = reader.parse(toml_text, overrides); !parsed)
    return parsed;
  run_config config;
  config.source = source_name;
  reader.read(&config);
  if (!reader.failed())
    check_rules(reader, config);
  if (reader.failed())
    return reader.error();
  return config;
}

result<run_config>
load_run_config(const std::string& path,
                const std::vector<setting_override>& overrides) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto file_status = fs::status(path, ec);
  if (file_status.type() == fs::file_type::not_found)
    return status::error(status_code::not_found, path + ": no such file");
  if (ec)
    return status::error(status_code::io_error, path + ": " + ec.message());
  if (file_status.type() == fs::file_type::directory)
    return status::error(status_code::io_error, path + ": is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return status::error(status_code::io_error,
                         path + ": cannot open: " + std::strerror(errno));
  // A topology is a few KiB; a device or a pipe that never ends (/dev/zero)
  // must not fill the memory first.
  constexpr std::size_t max_bytes = std::size_t{1} << 24;
  std::string text;
  char buffer[1 << 16];
  while (text.size() <= max_bytes
         && in.read(buffer, sizeof buffer).gcount() > 0)
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
  if (in.bad())
    return status::error(status_code::io_error, path + ": read failed");
  if (text.size() > max_bytes)
    return status::error(status_code::invalid_argument,
                         path
                           + ": larger than 16 MiB; a topology file is a "
                             "few KiB");
  return parse_run_config(text, path, overrides);
}

} // namespace ormo::config
