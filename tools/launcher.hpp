// The launcher of `ormo run` on a topology with [[nodes]]: one child
// process per node (`ormo node FILE --name NODE` with the same overrides),
// as torchrun starts its workers.
//
// Every child's output is forwarded line by line, prefixed with its node's
// name. The run ends when the supervisor node's process exits; its exit
// status is the launcher's. A worker node that exits early is reported and
// the run goes on (the supervisor counts its workers as lost). On SIGINT or
// SIGTERM the children are told the same and, like every child still
// running at the end, killed after a grace period. Children die with the
// launcher even if it is killed (PR_SET_PDEATHSIG).
//
// Declared node faults (`[[faults]]` of kind kill_node or stop_node) are the
// launcher's: `at_seconds` after it started the nodes it sends the node's
// process SIGKILL, or SIGSTOP and SIGCONT `duration_s` later, and prints a
// line for each. Once the supervisor node has exited it adds the faults
// that fired to faults_injected in that node's summary.json.
#pragma once

#include <string>
#include <vector>

#include "ormo/config/parse_run_config.hpp"
#include "ormo/config/run_config.hpp"

namespace ormo::tools {

/// Fails (exit 2, one line naming the node) when a node's host is not this
/// machine (a loopback address or "localhost").
/// REQUIRES: `run.nodes` non-empty; `file` the topology `run` came from.
int launch_nodes(const config::run_config& run, const std::string& file,
                 const std::vector<config::setting_override>& overrides);

} // namespace ormo::tools
