#include "ormo/config/parse_run_config.hpp"

#include <string>

#include "ormo/config/schema.hpp"

namespace ormo::config {

namespace {

/// `# line`; a comment ends at a line break, so control characters become
/// '?' and the line stays one line.
std::string comment(std::string_view line) {
  std::string out = "# ";
  for (char c : line)
    out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
  out += '\n';
  return out;
}

} // namespace

std::string to_toml(const run_config& config) {
  std::string out = comment(
    "ormo run configuration, resolved from "
    + (config.source.empty() ? std::string{"<unknown>"} : config.source) + ".");
  out += comment("Every key is listed; see docs/configuration.md.");
  out += '\n';
  out += write_document(run_config_schema(), &config);
  return out;
}

} // namespace ormo::config
