// Spelling numbers and strings as TOML text, shared by the parser's error
// messages and to_toml. Private to the config library.
#pragma once

#include <string>
#include <string_view>

namespace ormo::config::detail {

/// Shortest decimal text that reads back as exactly `value` ("0.1", "2",
/// "1e-07", "inf", "nan"). With `as_toml_float`, a finite integral value
/// gets a ".0" so that TOML reads it as a float, and non-finite values are
/// spelled "inf", "-inf" and "nan" as TOML does.
std::string format_double(double value, bool as_toml_float = false);

/// `text` as a TOML basic string, quotes included; escapes `"`, `\` and
/// control characters, passes other bytes (UTF-8) through.
std::string quote(std::string_view text);

} // namespace ormo::config::detail
