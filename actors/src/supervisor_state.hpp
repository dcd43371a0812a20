// The state and behaviour of the supervisor (see
// ormo/actors/supervisor.hpp); private to the actors library.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ormo/actors/supervisor.hpp"

namespace ormo::actors {

struct supervisor_state {
  struct member {
    worker_id id = 0;
    std::size_t slot = 0;
    /// Restarts of this slot's worker so far.
    std::int32_t restarts = 0;
    bool removed = false;
    worker_actor handle;
    /// The node it runs on (empty: this one) and that node's host.
    std::string node;
    worker_host_actor host;
    /// A sign of life is awaited from it (local workers only).
    bool probed = false;
  };

  /// An enlisted node: its name and worker host.
  struct node_member {
    std::string name;
    worker_host_actor host;
  };

  supervisor_settings settings;
  std::map<caf::actor_addr, member> members;
  /// By the address of their worker hosts.
  std::map<caf::actor_addr, node_member> nodes;
  worker_id next_id = 1;
  std::size_t next_slot = 0;
  membership_stats stats;
  bool stopping = false;
  /// Workers paused (pause_atom) until resume_atom.
  bool paused = false;
  /// Declared faults the next workers of a slot get, with their end: what
  /// remains of the lasting ones (fail_gradient, slow), and, once, a kill
  /// or freeze that found the slot without a live worker (between a crash
  /// and its restart, or before a remote worker was spawned).
  std::map<std::size_t, std::vector<std::pair<worker_fault,
                                              caf::actor_clock::time_point>>>
    slot_faults;
  /// Speed measurement: accepted counts and time at the last tick.
  std::map<worker_id, std::uint64_t> last_accepted;
  caf::actor_clock::time_point last_tick;

  static inline const char* name = "ormo.supervisor";
};

using supervisor_pointer = supervisor_actor::stateful_pointer<supervisor_state>;

supervisor_actor::behavior_type supervisor(supervisor_pointer self,
                                           supervisor_settings settings);

} // namespace ormo::actors
