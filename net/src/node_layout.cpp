#include "ormo/net/node_layout.hpp"

#include <algorithm>

namespace ormo::net {

std::string to_string(const endpoint& where) {
  return where.node + " (" + where.host + ":" + std::to_string(where.port)
         + ")";
}

namespace {

endpoint endpoint_of(const config::node_config& node) {
  return {node.name, node.host, static_cast<std::uint16_t>(node.port)};
}

} // namespace

result<node_layout> layout_of(const config::run_config& run,
                              const std::string& name) {
  if (run.nodes.empty())
    return status::error(status_code::invalid_argument, run.source
                         + ": the topology has no [[nodes]]; run it with "
                           "`ormo run`");
  node_layout layout;
  layout.shard_nodes.resize(static_cast<std::size_t>(run.server.shards));
  std::size_t next_slot = 0;
  bool found = false;
  std::string names;
  for (const auto& node : run.nodes) {
    names += (names.empty() ? "" : ", ") + node.name;
    auto& slots = layout.slots_by_node[node.name];
    for (int k = 0; k < node.workers; ++k)
      slots.push_back(next_slot++);
    for (auto shard : node.shards)
      layout.shard_nodes[static_cast<std::size_t>(shard)] = endpoint_of(node);
    if (node.supervisor)
      layout.supervisor_node = endpoint_of(node);
    if (node.name != name)
      continue;
    found = true;
    layout.name = name;
    layout.self = endpoint_of(node);
    for (auto shard : node.shards)
      layout.shards.push_back(static_cast<std::size_t>(shard));
    std::sort(layout.shards.begin(), layout.shards.end());
    layout.supervisor = node.supervisor;
    layout.slots = slots;
  }
  if (!found)
    return status::error(status_code::invalid_argument, run.source + ": no node named \"" + name
                         + "\" (the nodes: " + names + ")");
  return layout;
}

} // namespace ormo::net
