// The configuration schema: one row per key (dotted path, kind, range, the
// struct member it fills, one line of documentation). Reading a document,
// writing it back as TOML, comparing two configs, the "did you mean"
// suggestions, `--set` path checks and the key tables of
// docs/configuration.md all come from these rows. No CAF, no toml++ here.
//
// A schema describes one root struct (run_config for topology files). Rows
// reach their member through an accessor, a generic lambda taking the root
// (or, inside an array of tables, the element) and returning a reference:
//   number_key<run_config>("learning_rate", optim::learning_rate_range,
//     [](auto& c) -> auto& { return c.algorithm.settings.learning_rate; },
//     "η.")
// Adding a key is one row in run_config_schema() (config/src/schema.cpp)
// plus the code that uses the value.
//
// Thread-safety: schemas are immutable after construction; the functions
// here share no state.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "ormo/config/parse_run_config.hpp"
#include "ormo/optim/make_update_rule.hpp"
#include "ormo/status.hpp"

namespace ormo::config {

/// What a key holds, which decides how it is read, checked and written.
enum class value_kind {
  boolean,
  integer,
  /// A float; an integer is accepted.
  number,
  string,
  /// A string from a closed set of names.
  choice,
  /// An integer, or one word meaning "none".
  integer_or_word,
  integer_list,
  number_list,
  /// A string with a unit: "250ms", "2s", "1.5min", "1h" (also "ns", "us").
  /// A bare number is rejected: the unit is always written out.
  duration,
  /// A sub-table; its keys are in the table_spec of its path.
  table,
  /// `[[name]]` blocks, each an element read with `element_table`'s keys.
  table_array,
};

/// A value between a struct and a document. Kinds map to alternatives:
/// boolean → bool; integer → int64; number → double; string and choice →
/// string; integer_or_word → int64, or string (the word) for none; lists →
/// vectors; duration → nanoseconds. Tables and arrays of tables have none.
using value = std::variant<bool, std::int64_t, double, std::string,
                           std::vector<std::int64_t>, std::vector<double>,
                           std::chrono::nanoseconds>;

/// Allowed integers: [lo, hi]. `typo_bound`: hi only catches typos (marked
/// † in the docs).
struct integer_range {
  std::int64_t lo = std::numeric_limits<std::int64_t>::min();
  std::int64_t hi = std::numeric_limits<std::int64_t>::max();
  bool typo_bound = false;
};

/// Allowed durations: [lo, hi].
struct duration_range {
  std::chrono::nanoseconds lo = std::chrono::nanoseconds::zero();
  std::chrono::nanoseconds hi = std::chrono::nanoseconds::max();
};

struct table_spec;

/// One key of a table.
struct key_spec {
  /// The key inside its table (no dots).
  std::string_view name;
  value_kind kind = value_kind::string;
  /// One line for the docs' "meaning" column.
  std::string_view doc;
  /// integer, integer_or_word, integer_list (each element).
  integer_range integers;
  /// number, number_list (each element).
  optim::real_range numbers{std::numeric_limits<double>::lowest(), false,
                            std::numeric_limits<double>::max(), false};
  duration_range durations;
  /// choice: the names in order; integer_or_word: the one word.
  std::vector<std::string_view> words;
  /// Docs columns that the rules after reading decide (e.g. "non-empty");
  /// empty = generated from the kind, range and default.
  std::string_view type_text;
  std::string_view default_text;
  std::string_view range_text;

  /// Value kinds: the member's value, and storing a checked value.
  std::function<value(const void* root)> get;
  std::function<void(void* root, const value&)> set;

  /// table_array: the element keys (REQUIRES: no tables or arrays of
  /// tables among them) and access to the elements.
  const table_spec* element_table = nullptr;
  std::function<std::size_t(const void* root)> size;
  std::function<void(void* root, std::size_t)> resize;
  std::function<const void*(const void* root, std::size_t)> element;
  std::function<void*(void* root, std::size_t)> mutable_element;
  /// table_array: a default-constructed element (the docs' defaults).
  std::shared_ptr<const void> default_element;
};

/// A table and its keys, in document order.
struct table_spec {
  /// Dotted path; empty for the document root. For the element table of an
  /// array of tables: the array's path.
  std::string_view path;
  std::vector<key_spec> keys;
};

/// Every table of a document: the root (path "") first, then the others in
/// the order a written document lists them. A table kind key at path P
/// needs a table with path P.
struct document_schema {
  std::vector<table_spec> tables;
  /// Element tables of arrays of tables (referenced by pointer from their
  /// keys; stored here so that they live as long as the schema).
  std::vector<std::unique_ptr<table_spec>> element_tables;

  /// Null if there is no such table.
  const table_spec* find_table(std::string_view path) const;
};

/// The schema of topology files. Every key of run_config is in it.
const document_schema& run_config_schema();

/// The key (not a table) at a dotted path, e.g. "workers.speed.factor";
/// null if there is none.
const key_spec* find_key(const document_schema& schema,
                         std::string_view key_path);

// -- the generic machinery --------------------------------------------------

/// Reads `toml_text` into `*root` (which holds the defaults) with type and
/// range checks, after applying `overrides`; the same messages as
/// parse_run_config (`FILE:LINE:COL: key.path: what`, inside an array of
/// tables `nodes[2].port`). Cross-key rules are the caller's. REQUIRES:
/// `root` points to the struct `schema` was built for.
status read_document(const document_schema& schema, std::string_view toml_text,
                     const std::string& source_name,
                     const std::vector<setting_override>& overrides,
                     void* root);

/// Typed form of read_document: starts from a default-constructed Root.
template <class Root>
result<Root>
read_document(const document_schema& schema, std::string_view toml_text,
              const std::string& source_name,
              const std::vector<setting_override>& overrides = {}) {
  Root root{};
  if (auto read
      = read_document(schema, toml_text, source_name, overrides, &root);
      !read)
    return read;
  return root;
}

/// Every table with its keys as TOML (table headers, then `key = value`
/// lines), in schema order, then the arrays of tables as `[[path]]` blocks,
/// in schema order. Reading the text back gives equal values.
std::string write_document(const document_schema& schema, const void* root);

/// The dotted paths of the keys whose values differ (`nodes[1].port`,
/// `nodes` when the element counts differ); empty if equal everywhere.
std::vector<std::string> differences(const document_schema& schema,
                                     const void* a, const void* b);

/// The markdown key table of the table at `path`, or of the elements of the
/// array of tables at `path` (header, separator and one row per key, each
/// line ending in '\n'), with defaults read from `defaults` (for elements:
/// from a default-constructed element). Empty if there is no such table.
std::string markdown_key_table(const document_schema& schema,
                               std::string_view path, const void* defaults);

/// markdown_key_table of run_config_schema() with run_config's defaults.
std::string markdown_key_table(std::string_view path);

/// The canonical text of a duration: the largest unit of h, min, s, ms, us,
/// ns that gives a whole number ("90s", "250ms", "1h"); it reads back as
/// the same value.
std::string format_duration(std::chrono::nanoseconds duration);

/// Parses "250ms", "2s", "1.5min", "1h", "10us", "5ns" (a decimal number, no
/// blanks, then a unit; rounded to whole nanoseconds); none if malformed,
/// negative or out of range.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);

// -- building rows ----------------------------------------------------------

namespace detail {

template <class Root, class Access>
auto& member(Access& access, void* root) {
  return access(*static_cast<Root*>(root));
}

template <class Root, class Access>
const auto& member(Access& access, const void* root) {
  return access(*static_cast<const Root*>(root));
}

template <class Root, class Access, class ToValue, class FromValue>
key_spec accessor_key(std::string_view name, value_kind kind,
                      std::string_view doc, Access access, ToValue to_value,
                      FromValue from_value) {
  key_spec key;
  key.name = name;
  key.kind = kind;
  key.doc = doc;
  key.get = [access, to_value](const void* root) mutable -> value {
    return to_value(member<Root>(access, root));
  };
  key.set = [access, from_value](void* root, const value& v) mutable {
    from_value(member<Root>(access, root), v);
  };
  return key;
}

} // namespace detail

template <class Root, class Access>
key_spec boolean_key(std::string_view name, Access access,
                     std::string_view doc) {
  return detail::accessor_key<Root>(
    name, value_kind::boolean, doc, access, [](bool x) { return value{x}; },
    [](bool& out, const value& v) { out = std::get<bool>(v); });
}

/// REQUIRES: the range fits the member's type.
template <class Root, class Access>
key_spec integer_key(std::string_view name, integer_range range, Access access,
                     std::string_view doc) {
  auto key = detail::accessor_key<Root>(
    name, value_kind::integer, doc, access,
    [](const auto& x) { return value{static_cast<std::int64_t>(x)}; },
    [](auto& out, const value& v) {
      out = static_cast<std::decay_t<decltype(out)>>(std::get<std::int64_t>(v));
    });
  key.integers = range;
  return key;
}

template <class Root, class Access>
key_spec number_key(std::string_view name, optim::real_range range,
                    Access access, std::string_view doc) {
  auto key = detail::accessor_key<Root>(
    name, value_kind::number, doc, access, [](double x) { return value{x}; },
    [](double& out, const value& v) { out = std::get<double>(v); });
  key.numbers = range;
  return key;
}

template <class Root, class Access>
key_spec string_key(std::string_view name, Access access,
                    std::string_view doc) {
  return detail::accessor_key<Root>(
    name, value_kind::string, doc, access,
    [](const std::string& x) { return value{x}; },
    [](std::string& out, const value& v) { out = std::get<std::string>(v); });
}

/// An enum member spelled by `to_string(Enum)` (found by ADL); `choices` in
/// the order error messages and docs list them.
template <class Root, class Enum, class Access>
key_spec choice_key(std::string_view name, std::initializer_list<Enum> choices,
                    Access access, std::string_view doc) {
  std::vector<Enum> all(choices);
  auto key = detail::accessor_key<Root>(
    name, value_kind::choice, doc, access,
    [](Enum x) { return value{std::string{to_string(x)}}; },
    [all](Enum& out, const value& v) {
      for (auto choice : all)
        if (std::get<std::string>(v) == to_string(choice))
          out = choice;
    });
  for (auto choice : all)
    key.words.emplace_back(to_string(choice));
  return key;
}

/// A std::optional<integer> member: `word` in the file means none.
template <class Root, class Access>
key_spec integer_or_word_key(std::string_view name, std::string_view word,
                             integer_range range, Access access,
                             std::string_view doc) {
  std::string none{word};
  auto key = detail::accessor_key<Root>(
    name, value_kind::integer_or_word, doc, access,
    [none](const auto& x) {
      return x ? value{static_cast<std::int64_t>(*x)} : value{none};
    },
    [](auto& out, const value& v) {
      using element = typename std::decay_t<decltype(out)>::value_type;
      if (auto integer = std::get_if<std::int64_t>(&v))
        out = static_cast<element>(*integer);
      else
        out.reset();
    });
  key.integers = range;
  key.words = {word};
  return key;
}

/// A std::vector of integers; `range` applies to each element.
template <class Root, class Access>
key_spec integer_list_key(std::string_view name, integer_range range,
                          Access access, std::string_view doc) {
  auto key = detail::accessor_key<Root>(
    name, value_kind::integer_list, doc, access,
    [](const auto& xs) {
      return value{std::vector<std::int64_t>(xs.begin(), xs.end())};
    },
    [](auto& out, const value& v) {
      using element = typename std::decay_t<decltype(out)>::value_type;
      out.clear();
      for (auto x : std::get<std::vector<std::int64_t>>(v))
        out.push_back(static_cast<element>(x));
    });
  key.integers = range;
  return key;
}

/// A std::vector<double>; `range` applies to each element.
template <class Root, class Access>
key_spec number_list_key(std::string_view name, optim::real_range range,
                         Access access, std::string_view doc) {
  auto key = detail::accessor_key<Root>(
    name, value_kind::number_list, doc, access,
    [](const std::vector<double>& xs) { return value{xs}; },
    [](std::vector<double>& out, const value& v) {
      out = std::get<std::vector<double>>(v);
    });
  key.numbers = range;
  return key;
}

/// A std::chrono::nanoseconds member.
template <class Root, class Access>
key_spec duration_key(std::string_view name, duration_range range,
                      Access access, std::string_view doc) {
  auto key = detail::accessor_key<Root>(
    name, value_kind::duration, doc, access,
    [](std::chrono::nanoseconds x) { return value{x}; },
    [](std::chrono::nanoseconds& out, const value& v) {
      out = std::get<std::chrono::nanoseconds>(v);
    });
  key.durations = range;
  return key;
}

/// A sub-table; its keys are the table_spec at the joined path.
inline key_spec table_key(std::string_view name) {
  key_spec key;
  key.name = name;
  key.kind = value_kind::table;
  return key;
}

/// A std::vector<Element> member written as `[[name]]` blocks; `elements`
/// holds the element keys (built for Element) and must outlive the schema.
template <class Root, class Access>
key_spec table_array_key(std::string_view name, const table_spec& elements,
                         Access access, std::string_view doc) {
  key_spec key;
  key.name = name;
  key.kind = value_kind::table_array;
  key.doc = doc;
  key.element_table = &elements;
  key.size = [access](const void* root) mutable {
    return detail::member<Root>(access, root).size();
  };
  key.resize = [access](void* root, std::size_t n) mutable {
    detail::member<Root>(access, root).resize(n);
  };
  key.element = [access](const void* root, std::size_t i) mutable {
    return static_cast<const void*>(&detail::member<Root>(access, root)[i]);
  };
  key.mutable_element = [access](void* root, std::size_t i) mutable {
    return static_cast<void*>(&detail::member<Root>(access, root)[i]);
  };
  using element =
    typename std::decay_t<decltype(access(std::declval<Root&>()))>::value_type;
  key.default_element = std::make_shared<const element>();
  return key;
}

} // namespace ormo::config
