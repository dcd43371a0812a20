// Reads a TOML document into a struct through its schema: parsing, `--set`
// overrides, unknown keys with "did you mean", typed and range-checked
// values. Private to the config library (it includes toml++).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "ormo/config/schema.hpp"

namespace ormo::config::detail {

/// True for a bare TOML key: [A-Za-z0-9_-]+.
bool is_bare_key(std::string_view part);

/// "a.b.c" -> {"a", "b", "c"}; empty parts are kept.
std::vector<std::string_view> split_key_path(std::string_view key_path);

/// `text` without blanks (space, tab, CR, LF) at either end.
std::string_view trim(std::string_view text);

/// "a.b" from "a" and "b"; just "b" if `table_path` is empty.
std::string join(std::string_view table_path, std::string_view key);

/// "; did you mean \"asgd\"?" for the name in `names` nearest to `name`
/// (case-insensitive edits, ties to the same first letter), empty if none
/// is near.
std::string nearest_word(std::string_view name,
                         const std::vector<std::string_view>& names);

/// Keeps only the first error: after it, calls that would fail report
/// nothing more, so callers check failed() once at the end.
class document_reader {
public:
  document_reader(const document_schema& schema, std::string source_name);

  /// Parses the text, applies the overrides and reports the unknown key or
  /// misplaced value that comes first in the file (override text last).
  status parse(std::string_view toml_text,
               const std::vector<setting_override>& overrides);

  /// Reads every key present into `*root`, in schema order. REQUIRES:
  /// parse() succeeded.
  void read(void* root);

  bool failed() const { return !error_.is_ok(); }

  const status& error() const { return error_; }

  const toml::table& root() const { return root_; }

  /// The node at a key path as messages write it ("workers.count",
  /// "nodes[2].port", "nodes[0].shards[1]"); null if absent.
  const toml::node* lookup(std::string_view key_path) const;

  /// `FILE:LINE:COL` for text from the file, `--set` for text from an
  /// override.
  std::string where(const toml::source_region& region) const;

  /// `FILE:1:1`, for what is missing rather than wrong.
  std::string file_start() const;

  bool from_file(const toml::source_region& region) const;

  /// Records `LOCATION: key_path: what` unless an error is recorded already.
  void fail(std::string location, std::string_view key_path,
            const std::string& what);

  /// Fails at the key's value; if it is absent, at the nearest enclosing
  /// table or array element written in the file, else at the start of the
  /// file. `key_path` as for lookup().
  void fail_at(std::string_view key_path, const std::string& what);

private:
  struct structure_error {
    bool in_file;
    std::uint32_t line;
    std::uint32_t column;
    std::string location;
    std::string key_path;
    std::string what;
  };

  void fail(const toml::node& node, std::string_view key_path,
            const std::string& what);

  status apply_override(const setting_override& setting);

  void note_structure_error(const toml::source_region& region,
                            std::string key_path, std::string what);

  void check_keys(const toml::table& table, const table_spec& spec,
                  const std::string& display_path);

  /// "; did you mean workers.count?" for a near miss in the same table or
  /// the same name in another table.
  std::string suggestion(const table_spec& table,
                         const std::string& display_path,
                         std::string_view name) const;

  void read_table(const toml::table* table, const table_spec& spec,
                  const std::string& display_path, void* root);

  std::optional<value> value_of(const toml::node& node, const key_spec& key,
                                const std::string& path);

  std::optional<std::int64_t> integer_in(const toml::node& node,
                                         const std::string& path,
                                         const integer_range& range);

  std::optional<double> number_in(const toml::node& node,
                                  const std::string& path,
                                  const optim::real_range& range);

  std::optional<std::chrono::nanoseconds>
  duration_in(const toml::node& node, const std::string& path,
              const duration_range& range);

  const document_schema& schema_;
  std::string source_name_;
  toml::table root_;
  status error_;
  std::optional<structure_error> structure_error_;
};

} // namespace ormo::config::detail
