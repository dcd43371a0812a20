// node_layout: what one node of a multi-process topology runs and whom it
// reaches, read off the `[[nodes]]` of a validated run_config. No CAF.
//
// Worker slots are dealt to the nodes in the order the file lists them:
// the first node's workers take slots 0 .. w0 - 1, the next ones follow, so
// that a slot (its data shard, its speed) is the same whichever process
// runs it, and the same as in a one-process run of the same file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ormo/config/run_config.hpp"
#include "ormo/status.hpp"

namespace ormo::net {

/// Where a node listens and is reached.
struct endpoint {
  std::string node;
  std::string host;
  std::uint16_t port = 0;
};

/// "name (host:port)", for messages.
std::string to_string(const endpoint& where);

struct node_layout {
  /// This node.
  std::string name;
  endpoint self;
  /// Indices of the shards it hosts, ascending.
  std::vector<std::size_t> shards;
  bool supervisor = false;
  /// The worker slots it runs.
  std::vector<std::size_t> slots;
  /// The node with the supervisor (may be this one).
  endpoint supervisor_node;
  /// For every shard, the node that hosts it (may be this one).
  std::vector<endpoint> shard_nodes;
  /// Every node's worker slots, by name (the supervisor accepts these).
  std::map<std::string, std::vector<std::size_t>> slots_by_node;
};

/// The layout of node `name`. Fails, naming the nodes there are, when the
/// topology has no node of that name or no nodes at all.
/// REQUIRES: `run` passed config validation.
result<node_layout> layout_of(const config::run_config& run,
                              const std::string& name);

} // namespace ormo::net
