// Reads a topology file (TOML) into a validated run_config, applies
// command-line overrides, and writes a config back as TOML.
//
// Error behaviour: nothing here throws. A bad file, key or value gives a
// status whose message is one line, `WHERE: key.path: what is wrong`, where
// WHERE is `FILE:LINE:COL` for text from the file and `--set` for text from
// an override. The keys, their types and ranges are documented in
// docs/configuration.md.
//
// Thread-safety: free functions without shared state; safe to call from any
// thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ormo/config/run_config.hpp"
#include "ormo/status.hpp"

namespace ormo::config {

/// One `--set key.path=value` from the command line.
struct setting_override {
  /// Dotted path of a key, e.g. "algorithm.learning_rate".
  std::string key_path;
  /// The text after the first `=`: a TOML value (`0.05`, `true`, `[1, 2]`,
  /// `"x"`), or else taken as a bare string (`asgd`).
  std::string value;
};

/// Splits `key.path=value` at the first `=` and trims blanks around both
/// parts. invalid_argument if there is no `=`, the key is empty or a part of
/// the dotted key is empty or not a bare TOML key ([A-Za-z0-9_-]+). Whether
/// the key exists is checked when the override is applied.
result<setting_override> parse_override(std::string_view text);

/// Parses and validates a topology. `source_name` names the text in error
/// messages and becomes run_config::source ("<string>" if empty). Overrides
/// are applied in order (a later one wins) before validation, so they obey
/// the same rules as the file. Errors: invalid_argument, message as above.
result<run_config>
parse_run_config(std::string_view toml_text, std::string source_name,
                 const std::vector<setting_override>& overrides = {});

/// Reads the file at `path` and parses it with `path` as source name.
/// not_found if the file does not exist, io_error if it cannot be read,
/// invalid_argument if it holds more than 16 MiB (a device such as
/// /dev/zero is not read to its end); every message names the path.
result<run_config>
load_run_config(const std::string& path,
                const std::vector<setting_override>& overrides = {});

/// The built-in default run as TOML text (the same run as
/// examples/default.toml): synthetic data, a small MLP, 4 workers, OrMo, a
/// few epochs; it finishes in seconds.
std::string_view default_topology();

/// parse_run_config(default_topology(), "<built-in>", overrides).
result<run_config>
default_run_config(const std::vector<setting_override>& overrides = {});

/// The configuration as a complete TOML document: every key of every table,
/// so that an output directory can keep exactly what ran. For a config that
/// parse_run_config returned, parsing the result gives an equal config
/// (all fields but `source`, which is a comment here).
std::string to_toml(const run_config& config);

} // namespace ormo::config
