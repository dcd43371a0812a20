#include "ormo/config/parse_run_config.hpp"

#include <algorithm>
#include <cassert>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>

#include <toml++/toml.h>

#include "toml_text.hpp"

namespace ormo::config {

namespace {

using detail::format_double;

// -- the keys a topology may contain -----------------------------------------

enum class key_kind {
  boolean,
  integer,
  number,
  string,
  integer_or_string,
  integer_list,
  number_list,
  table,
};

struct key_spec {
  std::string_view name;
  key_kind kind;
};

struct table_spec {
  /// Dotted path; empty for the document root.
  std::string_view path;
  std::vector<key_spec> keys;
};

/// Every table and key, in the order docs/configuration.md lists them. The
/// readers below must ask for exactly these keys (asserted in debug builds).
const std::vector<table_spec>& schema() {
  using k = key_kind;
  static const std::vector<table_spec> tables = {
    {"",
     {{"run", k::table},
      {"algorithm", k::table},
      {"model", k::table},
      {"data", k::table},
      {"workers", k::table},
      {"server", k::table},
      {"output", k::table}}},
    {"run",
     {{"seed", k::integer},
      {"deterministic", k::boolean},
      {"stop_epochs", k::number},
      {"stop_iterations", k::integer},
      {"stop_seconds", k::number},
      {"stop_accuracy", k::number}}},
    {"algorithm",
     {{"name", k::string},
      {"learning_rate", k::number},
      {"momentum", k::number},
      {"iteration_size", k::integer_or_string},
      {"delay_threshold", k::number},
      {"apply", k::string},
      {"warmup_iterations", k::integer}}},
    {"model",
     {{"kind", k::string},
      {"hidden", k::integer_list},
      {"batch_size", k::integer}}},
    {"data",
     {{"source", k::string},
      {"path", k::string},
      {"inputs", k::integer},
      {"classes", k::integer},
      {"train_samples", k::integer},
      {"test_samples", k::integer},
      {"noise", k::number}}},
    {"workers",
     {{"count", k::integer},
      {"compute_ms", k::number},
      {"compute_jitter", k::number},
      {"restart_limit", k::integer},
      {"request_timeout_s", k::number},
      {"speed", k::table}}},
    {"workers.speed",
     {{"profile", k::string},
      {"factors", k::number_list},
      {"fraction", k::number},
      {"factor", k::number},
      {"sigma", k::number}}},
    {"server", {{"shards", k::integer}}},
    {"output",
     {{"dir", k::string},
      {"progress_seconds", k::number},
      {"evaluations_per_epoch", k::number}}},
  };
  return tables;
}

const table_spec* find_table(std::string_view path) {
  for (const auto& table : schema())
    if (table.path == path)
      return &table;
  return nullptr;
}

const key_spec* find_key(const table_spec& table, std::string_view name) {
  for (const auto& key : table.keys)
    if (key.name == name)
      return &key;
  return nullptr;
}

std::string join(std::string_view table_path, std::string_view key) {
  std::string path{table_path};
  if (!path.empty())
    path += '.';
  path += key;
  return path;
}

// Upper bounds that catch typos (an extra digit) before they cost memory or
// a run that never ends; documented in docs/configuration.md.
constexpr std::int64_t max_workers = 4096;
constexpr std::int64_t max_shards = 256;
constexpr std::int64_t max_iteration_size = 65536;
constexpr std::int64_t max_layer_size = 65536;
constexpr std::int64_t max_batch_size = 65536;
constexpr std::int64_t max_inputs = 1 << 20;
constexpr std::int64_t max_classes = 65536;
constexpr std::int64_t max_samples = 10'000'000;

constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t int_max = std::numeric_limits<int>::max();

// -- "did you mean" ----------------------------------------------------------

/// Optimal string alignment distance (edits, with adjacent transpositions),
/// case-insensitive.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  std::vector<std::vector<std::size_t>> d(
    a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i)
    d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j)
    d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      d[i][j]
        = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2])
          && lower(a[i - 2]) == lower(b[j - 1]))
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

/// "; did you mean workers.count?" for a near miss in the same table or the
/// same name in another table; empty if nothing is close.
std::string suggestion(const table_spec& table, std::string_view name) {
  const key_spec* best = nullptr;
  std::size_t best_distance = 0;
  for (const auto& key : table.keys) {
    auto distance = edit_distance(name, key.name);
    if (best == nullptr || distance < best_distance) {
      best = &key;
      best_distance = distance;
    }
  }
  std::size_t limit = std::clamp<std::size_t>(name.size() / 3, 1, 2);
  if (best != nullptr && best_distance <= limit)
    return "; did you mean " + join(table.path, best->name) + "?";
  for (const auto& other : schema())
    if (&other != &table)
      if (auto key = find_key(other, name))
        return "; did you mean " + join(other.path, key->name) + "?";
  return {};
}

// -- values ------------------------------------------------------------------

std::string type_phrase(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

/// What a key of `kind` holds, as in "expected an integer".
std::string expected_phrase(key_kind kind) {
  switch (kind) {
    case key_kind::boolean:
      return "a boolean";
    case key_kind::integer:
      return "an integer";
    case key_kind::number:
      return "a number";
    case key_kind::string:
      return "a string";
    case key_kind::integer_or_string:
      return "\"workers\" or an integer";
    case key_kind::integer_list:
    case key_kind::number_list:
      return "an array";
    case key_kind::table:
      return "a table";
  }
  return "a value";
}

/// Allowed values of a floating-point key: [lo, hi], each end open or closed;
/// hi = inf for no upper bound. NaN and infinities are never allowed.
struct interval {
  double lo;
  bool lo_open;
  double hi = std::numeric_limits<double>::infinity();
  bool hi_open = false;

  bool contains(double value) const {
    return (lo_open ? value > lo : value >= lo)
           && (hi_open ? value < hi : value <= hi);
  }

  std::string describe_violation(double value) const {
    if (std::isinf(hi))
      return std::string{"must be "} + (lo_open ? "> " : ">= ")
             + format_double(lo) + ", got " + format_double(value);
    return format_double(value) + " is not in " + (lo_open ? "(" : "[")
           + format_double(lo) + ", " + format_double(hi)
           + (hi_open ? ")" : "]");
  }
};

interval at_least(double lo) {
  return {lo, false};
}
interval above(double lo) {
  return {lo, true};
}
interval left_open(double lo, double hi) {
  return {lo, true, hi, false};
}
interval closed(double lo, double hi) {
  return {lo, false, hi, false};
}
interval half_open(double lo, double hi) {
  return {lo, false, hi, true};
}

/// A table of the document (null if absent) and its dotted path.
struct table_view {
  const toml::table* table;
  std::string path;
};

/// Reads typed, range-checked values out of a parsed document. Keeps only
/// the first error: after it, reads that fail leave their outputs alone and
/// report nothing more, so callers check failed() once at the end.
class validator {
public:
  explicit validator(std::string source_name)
    : source_name_(std::move(source_name)) {}

  bool failed() const { return !error_.is_ok(); }

  const status& error() const { return error_; }

  /// `FILE:LINE:COL` for text from the file, `--set` for anything an
  /// override put there (parsed with source "--set", or built without a
  /// source).
  std::string where(const toml::source_region& region) const {
    if (from_file(region))
      return source_name_ + ":" + std::to_string(region.begin.line) + ":"
             + std::to_string(region.begin.column);
    return "--set";
  }

  /// `FILE:1:1`, for what is missing rather than wrong.
  std::string file_start() const { return source_name_ + ":1:1"; }

  bool from_file(const toml::source_region& region) const {
    return region.path != nullptr && *region.path == source_name_
           && region.begin.line > 0;
  }

  void fail(std::string location, std::string_view key_path,
            const std::string& what) {
    if (failed())
      return;
    std::string message = std::move(location);
    message += ": ";
    message += key_path;
    message += ": ";
    message += what;
    error_ = status::error(status_code::invalid_argument, std::move(message));
  }

  void fail(const toml::node& node, std::string_view key_path,
            const std::string& what) {
    fail(where(node.source()), key_path, what);
  }

  /// Fails at the key's value, or at the start of the file if it is absent.
  void fail_at(const table_view& view, std::string_view key,
               const std::string& what) {
    auto node = lookup(view, key);
    fail(node != nullptr ? where(node->source()) : file_start(),
         join(view.path, key), what);
  }

  // -- structure --------------------------------------------------------------

  /// Reports the unknown key or misplaced value that comes first in the
  /// file (override text after all file text).
  void check_structure(const toml::table& root) {
    structure_error_.reset();
    check_keys(root, *find_table(""));
    if (structure_error_)
      fail(structure_error_->location, structure_error_->key_path,
           structure_error_->what);
  }

  table_view sub_table(const toml::table& root, std::string_view path) const {
    const toml::table* table = &root;
    std::size_t start = 0;
    while (table != nullptr && start <= path.size()) {
      auto dot = path.find('.', start);
      auto name = path.substr(start, dot == std::string_view::npos
                                       ? std::string_view::npos
                                       : dot - start);
      auto node = table->get(name);
      table = node != nullptr ? node->as_table() : nullptr;
      if (dot == std::string_view::npos)
        break;
      start = dot + 1;
    }
    return {table, std::string{path}};
  }

  // -- typed reads ------------------------------------------------------------

  void read(const table_view& view, std::string_view key, bool& out) {
    auto node = lookup(view, key);
    if (node == nullptr)
      return;
    if (auto value = node->as_boolean())
      out = value->get();
    else
      fail(*node, join(view.path, key),
           "expected a boolean, got " + type_phrase(*node));
  }

  /// REQUIRES: lo <= hi, both representable in T.
  template <class T>
  void read_integer(const table_view& view, std::string_view key,
                    std::int64_t lo, std::int64_t hi, T& out) {
    auto node = lookup(view, key);
    if (node == nullptr)
      return;
    if (auto value = integer_in(*node, join(view.path, key), lo, hi))
      out = static_cast<T>(*value);
  }

  void read_number(const table_view& view, std::string_view key,
                   const interval& allowed, double& out) {
    auto node = lookup(view, key);
    if (node == nullptr)
      return;
    if (auto value = number_in(*node, join(view.path, key), allowed))
      out = *value;
  }

  void read_string(const table_view& view, std::string_view key,
                   std::string& out) {
    if (auto node = lookup(view, key))
      if (auto value = string_of(*node, join(view.path, key)))
        out = *value;
  }

  /// A name from `choices` (spelled as to_string spells it).
  template <class Enum>
  void read_enum(const table_view& view, std::string_view key,
                 std::initializer_list<Enum> choices, Enum& out) {
    auto node = lookup(view, key);
    if (node == nullptr)
      return;
    auto name = string_of(*node, join(view.path, key));
    if (!name)
      return;
    for (auto choice : choices) {
      if (*name == to_string(choice)) {
        out = choice;
        return;
      }
    }
    std::string names;
    for (auto choice : choices)
      names += std::string{names.empty() ? "" : ", "} + to_string(choice);
    fail(*node, join(view.path, key),
         detail::quote(*name) + " is not one of " + names);
  }

  /// "workers" (none) or an integer in [1, max_iteration_size].
  void read_iteration_size(const table_view& view, std::string_view key,
                           std::optional<int>& out) {
    auto node = lookup(view, key);
    if (node == nullptr)
      return;
    auto path = join(view.path, key);
    if (auto text = node->as_string()) {
      if (text->get() == "workers")
        out.reset();
      else
        fail(*node, path,
             "expected \"workers\" or an integer, got "
               + detail::quote(text->get()));
      return;
    }
    if (!node->is_integer()) {
      fail(*node, path,
           "expected \"workers\" or an integer, got " + type_phrase(*node));
      return;
    }
    if (auto value = integer_in(*node, path, 1, max_iteration_size))
      out = static_cast<int>(*value);
  }

  /// Sets `present` if the key is there.
  template <class T>
  void read_integer_list(const table_view& view, std::string_view key,
                         std::int64_t lo, std::int64_t hi, std::vector<T>& out,
                         bool& present) {
    read_list(view, key, out, present,
              [&](const toml::node& element, const std::string& path) {
                auto value = integer_in(element, path, lo, hi);
                return value ? std::optional<T>{static_cast<T>(*value)}
                             : std::nullopt;
              });
  }

  void read_number_list(const table_view& view, std::string_view key,
                        const interval& allowed, std::vector<double>& out,
                        bool& present) {
    read_list(view, key, out, present,
              [&](const toml::node& element, const std::string& path) {
                return number_in(element, path, allowed);
              });
  }

  /// The node at `key` of the view's table; null if the key or the table is
  /// absent.
  const toml::node* lookup(const table_view& view, std::string_view key) {
    assert(find_table(view.path) != nullptr
           && find_key(*find_table(view.path), key) != nullptr);
    return view.table != nullptr ? view.table->get(key) : nullptr;
  }

private:
  struct structure_error {
    bool in_file;
    std::uint32_t line;
    std::uint32_t column;
    std::string location;
    std::string key_path;
    std::string what;
  };

  void note_structure_error(const toml::source_region& region,
                            std::string key_path, std::string what) {
    structure_error candidate{from_file(region),   region.begin.line,
                              region.begin.column, where(region),
                              std::move(key_path), std::move(what)};
    auto rank = [](const structure_error& e) {
      return std::make_tuple(!e.in_file, e.line, e.column);
    };
    if (!structure_error_ || rank(candidate) < rank(*structure_error_))
      structure_error_ = std::move(candidate);
  }

  void check_keys(const toml::table& table, const table_spec& spec) {
    for (auto&& [key, node] : table) {
      auto path = join(spec.path, key.str());
      auto known = find_key(spec, key.str());
      if (known == nullptr) {
        // Point at the key: for a table header that is its name.
        auto region = from_file(key.source()) ? key.source() : node.source();
        note_structure_error(
          region, path,
          std::string{node.is_table() ? "unknown table" : "unknown key"}
            + suggestion(spec, key.str()));
      } else if (known->kind == key_kind::table) {
        if (auto sub = node.as_table())
          check_keys(*sub, *find_table(path));
        else
          note_structure_error(node.source(), path,
                               "expected a table, got " + type_phrase(node));
      } else if (node.is_table()) {
        note_structure_error(node.source(), path,
                             "expected " + expected_phrase(known->kind)
                               + ", got a table");
      }
    }
  }

  std::optional<std::int64_t> integer_in(const toml::node& node,
                                         const std::string& path,
                                         std::int64_t lo, std::int64_t hi) {
    auto value = node.as_integer();
    if (value == nullptr) {
      fail(node, path, "expected an integer, got " + type_phrase(node));
      return std::nullopt;
    }
    auto x = value->get();
    if (x >= lo && x <= hi)
      return x;
    bool natural_limit = hi == int64_max || hi == int_max;
    if (x < lo && natural_limit)
      fail(node, path,
           "must be >= " + std::to_string(lo) + ", got " + std::to_string(x));
    else
      fail(node, path,
           std::to_string(x) + " is not in [" + std::to_string(lo) + ", "
             + std::to_string(hi) + "]");
    return std::nullopt;
  }

  std::optional<double> number_in(const toml::node& node,
                                  const std::string& path,
                                  const interval& allowed) {
    double x;
    if (auto integer = node.as_integer()) {
      x = static_cast<double>(integer->get());
    } else if (auto floating = node.as_floating_point()) {
      x = floating->get();
    } else {
      fail(node, path, "expected a number, got " + type_phrase(node));
      return std::nullopt;
    }
    if (!std::isfinite(x)) {
      fail(node, path, format_double(x) + " is not a finite number");
      return std::nullopt;
    }
    if (!allowed.contains(x)) {
      fail(node, path, allowed.describe_violation(x));
      return std::nullopt;
    }
    return x;
  }

  std::optional<std::string> string_of(const toml::node& node,
                                       const std::string& path) {
    if (auto value = node.as_string())
      return value->get();
    fail(node, path, "expected a string, got " + type_phrase(node));
    return std::nullopt;
  }

  template <class T, class Element>
  void read_list(const table_view& view, std::string_view key,
                 std::vector<T>& out, bool& present, Element element_value) {
    auto node = lookup(view, key);
    if (node == nullptr)
      return;
    present = true;
    auto path = join(view.path, key);
    auto array = node->as_array();
    if (array == nullptr) {
      fail(*node, path, "expected an array, got " + type_phrase(*node));
      return;
    }
    std::vector<T> values;
    for (std::size_t i = 0; i < array->size(); ++i) {
      auto value
        = element_value((*array)[i], path + "[" + std::to_string(i) + "]");
      if (!value)
        return;
      values.push_back(*value);
    }
    out = std::move(values);
  }

  std::string source_name_;
  status error_;
  std::optional<structure_error> structure_error_;
};

// -- the run -----------------------------------------------------------------

/// Reads every table into `config` (which holds the defaults), then checks
/// the rules that tie keys together.
void read_config(validator& v, const toml::table& root, run_config& config) {
  using optim::algorithm;
  using optim::apply_mode;

  auto run = v.sub_table(root, "run");
  v.read_integer(run, "seed", 0, int64_max, config.run.seed);
  v.read(run, "deterministic", config.run.deterministic);
  v.read_number(run, "stop_epochs", at_least(0), config.run.stop.epochs);
  v.read_integer(run, "stop_iterations", 0, int64_max,
                 config.run.stop.iterations);
  v.read_number(run, "stop_seconds", at_least(0), config.run.stop.seconds);
  v.read_number(run, "stop_accuracy", closed(0, 1), config.run.stop.accuracy);

  auto algo = v.sub_table(root, "algorithm");
  auto& settings = config.algorithm.settings;
  v.read_enum(algo, "name",
              {algorithm::ssgdm, algorithm::asgd, algorithm::asgd_da,
               algorithm::naive_asgdm, algorithm::ormo, algorithm::ormo_da},
              settings.name);
  v.read_number(algo, "learning_rate", above(0), settings.learning_rate);
  v.read_number(algo, "momentum", half_open(0, 1), settings.momentum);
  v.read_iteration_size(algo, "iteration_size",
                        config.algorithm.iteration_size);
  v.read_number(algo, "delay_threshold", above(0), settings.delay_threshold);
  v.read_enum(algo, "apply", {apply_mode::on_close, apply_mode::on_arrival},
              settings.apply);
  v.read_integer(algo, "warmup_iterations", 0, int64_max,
                 config.algorithm.warmup_iterations);

  auto model = v.sub_table(root, "model");
  bool hidden_given = false;
  v.read_enum(model, "kind",
              {model::model_kind::softmax, model::model_kind::mlp},
              config.model.kind);
  v.read_integer_list(model, "hidden", 1, max_layer_size, config.model.hidden,
                      hidden_given);
  v.read_integer(model, "batch_size", 1, max_batch_size,
                 config.model.batch_size);

  auto data = v.sub_table(root, "data");
  v.read_enum(data, "source",
              {data_source::synthetic, data_source::fashion_mnist},
              config.data.source);
  v.read_string(data, "path", config.data.path);
  v.read_integer(data, "inputs", 1, max_inputs, config.data.inputs);
  v.read_integer(data, "classes", 2, max_classes, config.data.classes);
  v.read_integer(data, "train_samples", 1, max_samples,
                 config.data.train_samples);
  v.read_integer(data, "test_samples", 1, max_samples,
                 config.data.test_samples);
  v.read_number(data, "noise", at_least(0), config.data.noise);

  auto workers = v.sub_table(root, "workers");
  v.read_integer(workers, "count", 1, max_workers, config.workers.count);
  v.read_number(workers, "compute_ms", left_open(0, 1e9),
                config.workers.compute_ms);
  v.read_number(workers, "compute_jitter", at_least(0),
                config.workers.compute_jitter);
  v.read_integer(workers, "restart_limit", 0, int_max,
                 config.workers.restart_limit);
  // Bounded so that they fit CAF's nanosecond timespan.
  v.read_number(workers, "request_timeout_s", left_open(0, 1e6),
                config.workers.request_timeout_s);

  auto speed = v.sub_table(root, "workers.speed");
  auto& speeds = config.workers.speed;
  bool factors_given = false;
  v.read_enum(speed, "profile",
              {speed_profile::uniform, speed_profile::factors,
               speed_profile::slow_fraction, speed_profile::lognormal},
              speeds.profile);
  v.read_number_list(speed, "factors", at_least(1), speeds.factors,
                     factors_given);
  v.read_number(speed, "fraction", closed(0, 1), speeds.fraction);
  v.read_number(speed, "factor", at_least(1), speeds.factor);
  v.read_number(speed, "sigma", at_least(0), speeds.sigma);

  auto server = v.sub_table(root, "server");
  v.read_integer(server, "shards", 1, max_shards, config.server.shards);

  auto output = v.sub_table(root, "output");
  v.read_string(output, "dir", config.output.dir);
  v.read_number(output, "progress_seconds", above(0),
                config.output.progress_seconds);
  v.read_number(output, "evaluations_per_epoch", above(0),
                config.output.evaluations_per_epoch);

  if (v.failed())
    return;

  // Rules that tie keys together, each reported at the key that breaks it.
  const auto& stop = config.run.stop;
  if (stop.epochs <= 0 && stop.iterations <= 0 && stop.seconds <= 0
      && stop.accuracy <= 0) {
    // Point at the [run] table if the file has one, else at the file.
    auto run_node = root.get("run");
    v.fail(run_node != nullptr && v.from_file(run_node->source())
             ? v.where(run_node->source())
             : v.file_start(),
           "run",
           "no stop rule; set one of run.stop_epochs, run.stop_iterations, "
           "run.stop_seconds, run.stop_accuracy to a value > 0");
  }
  if (config.model.kind == model::model_kind::softmax) {
    if (!config.model.hidden.empty() && hidden_given)
      v.fail_at(model, "hidden",
                "softmax has no hidden layers; remove model.hidden or set "
                "model.kind = \"mlp\"");
    config.model.hidden.clear();
  }
  if (config.data.source == data_source::fashion_mnist
      && config.data.path.empty())
    v.fail_at(data, "path", "must name the fashion-mnist directory");
  if (config.output.dir.empty())
    v.fail_at(output, "dir", "must not be empty");
  auto count = static_cast<std::size_t>(config.workers.count);
  if (speeds.profile == speed_profile::factors) {
    if (!factors_given)
      v.fail_at(
        speed, "profile",
        "\"factors\" needs workers.speed.factors, one factor per worker");
    else if (speeds.factors.size() != count)
      v.fail_at(speed, "factors",
                std::to_string(speeds.factors.size()) + " factors for "
                  + std::to_string(count) + " workers (workers.count)");
  } else if (!speeds.factors.empty()) {
    v.fail_at(speed, "factors", "only used with profile = \"factors\"");
  }
}

// -- overrides ---------------------------------------------------------------

status invalid(std::string message) {
  return status::error(status_code::invalid_argument, std::move(message));
}

bool is_bare_key(std::string_view part) {
  if (part.empty())
    return false;
  return std::all_of(part.begin(), part.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

std::vector<std::string_view> split_key_path(std::string_view key_path) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    auto dot = key_path.find('.', start);
    if (dot == std::string_view::npos) {
      parts.push_back(key_path.substr(start));
      return parts;
    }
    parts.push_back(key_path.substr(start, dot - start));
    start = dot + 1;
  }
}

std::string_view trim(std::string_view text) {
  auto blank
    = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && blank(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && blank(text.back()))
    text.remove_suffix(1);
  return text;
}

/// Puts the override's value into `root`, creating tables on the way. The
/// key path must name a value in the schema. Errors name `--set`, or the
/// file position of a value that is in the way (e.g. `workers = 3`).
status apply_override(toml::table& root, const setting_override& setting,
                      const validator& v) {
  auto parts = split_key_path(setting.key_path);
  for (auto part : parts)
    if (!is_bare_key(part))
      return invalid("--set: " + setting.key_path
                     + ": not a key path (expected e.g. "
                       "algorithm.learning_rate)");
  // Check the path against the schema first, for a precise message.
  const table_spec* spec = find_table("");
  const key_spec* key = nullptr;
  std::string path;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    key = find_key(*spec, parts[i]);
    if (key == nullptr)
      return invalid("--set: " + setting.key_path + ": unknown key"
                     + suggestion(*spec, parts[i]));
    path = join(path, parts[i]);
    bool last = i + 1 == parts.size();
    if (key->kind == key_kind::table) {
      if (last)
        return invalid("--set: " + setting.key_path
                       + ": is a table; set its keys one by one, e.g. "
                       + join(path, find_table(path)->keys.front().name));
      spec = find_table(path);
    } else if (!last) {
      return invalid("--set: " + setting.key_path + ": " + path
                     + " is not a table");
    }
  }
  // Walk (and make) the tables.
  toml::table* table = &root;
  path.clear();
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    path = join(path, parts[i]);
    auto node = table->get(parts[i]);
    if (node == nullptr) {
      table->insert(parts[i], toml::table{});
      node = table->get(parts[i]);
    }
    table = node->as_table();
    if (table == nullptr)
      return invalid(v.where(node->source()) + ": " + path
                     + ": expected a table, got " + type_phrase(*node));
  }
  auto name = parts.back();
  // The value as TOML (source "--set"), else the text as a bare string.
  // A string key takes the text as it is unless it is a quoted TOML string.
  auto text = trim(setting.value);
  try {
    auto parsed
      = toml::parse("value = " + std::string{text}, std::string_view{"--set"});
    auto node = parsed.get("value");
    if (parsed.size() == 1 && node != nullptr
        && (key->kind != key_kind::string || node->is_string())) {
      node->visit(
        [&](auto& value) { table->insert_or_assign(name, std::move(value)); });
      return status::ok();
    }
  } catch (const toml::parse_error&) {
    // Not a TOML value: a bare string.
  }
  table->insert_or_assign(name, std::string{text});
  return status::ok();
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
  toml::table root;
  try {
    root = toml::parse(toml_text, std::string_view{source_name});
  } catch (const toml::parse_error& error) {
    std::string description{error.description()};
    std::replace(description.begin(), description.end(), '\n', ' ');
    const auto& begin = error.source().begin;
    return invalid(source_name + ":" + std::to_string(begin.line) + ":"
                   + std::to_string(begin.column)
                   + ": invalid TOML: " + description);
  }
  validator v{source_name};
  for (const auto& setting : overrides)
    if (auto applied = apply_override(root, setting, v); !applied)
      return applied;
  v.check_structure(root);
  if (v.failed())
    return v.error();
  run_config config;
  config.source = source_name;
  read_config(v, root, config);
  if (v.failed())
    return v.error();
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
  std::string text{std::istreambuf_iterator<char>{in},
                   std::istreambuf_iterator<char>{}};
  if (in.bad())
    return status::error(status_code::io_error, path + ": read failed");
  return parse_run_config(text, path, overrides);
}

} // namespace ormo::config
