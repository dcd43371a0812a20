// The `ormo` command line: subcommands `run`, `node`, `help` and `version`,
// help on every level, usage errors as one line and exit status 2.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ormo/config/parse_run_config.hpp"

namespace ormo::tools {

/// Exit status of a bad command line or configuration.
constexpr int exit_usage = 2;

/// What `ormo run` was asked to do: the topology file (none: the built-in
/// one) and the overrides of --out, --set and --deterministic, in the order
/// given (a later one wins).
struct run_arguments {
  std::optional<std::string> file;
  std::vector<config::setting_override> overrides;
  /// `ormo node FILE --name NODE`: run only that node of the topology.
  std::optional<std::string> node;
  /// `ormo run --resume DIR`: go on from the checkpoints in DIR (an output
  /// directory, or the checkpoint directory itself), with the topology
  /// saved there.
  std::optional<std::string> resume;
};

/// The outcome of parsing the command line: either `ormo run` with its
/// arguments, or an exit status when the command line was fully handled
/// here (help or version printed to stdout: 0; usage error printed to
/// stderr as one line plus a hint to --help: exit_usage).
struct command_line {
  std::optional<int> exit_status;
  run_arguments run;
};

/// Parses `argv` (argv[0] is the program). --set values are parsed with
/// config::parse_override, so their errors are the configuration's own.
command_line parse_command_line(int argc, char** argv);

} // namespace ormo::tools
