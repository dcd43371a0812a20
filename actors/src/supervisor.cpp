#include "ormo/actors/supervisor.hpp"

#include "supervisor_state.hpp"
#include "worker_state.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/system_messages.hpp>

namespace ormo::actors {

namespace {

void update_iteration_size(supervisor_pointer self) {
  auto& state = self->state;
  auto size = state.settings.fixed_iteration_size.value_or(
    static_cast<std::int32_t>(state.stats.live));
  if (size < 1)
    return; // no live worker: keep K until one joins
  for (auto& route : state.settings.shards)
    self->send(route.orderer, resize_atom::value, size);
}

/// A member of `slot` failed (its worker crashed or its gradient source
/// could not be made): a new one takes the slot unless the slot has used up
/// its restarts, then the slot is evicted.
void on_failure(supervisor_pointer self, std::size_t slot,
                std::int32_t restarts, std::string why);

void spawn_member(supervisor_pointer self, std::size_t slot,
                  std::int32_t restarts) {
  auto& state = self->state;
  auto source = state.settings.make_source(slot);
  if (!source) {
    on_failure(self, slot, restarts,
               "slot " + std::to_string(slot)
                 + ": no gradient source: " + source.error().message());
    return;
  }
  auto id = state.next_id++;
  // Registered before the worker exists, so its first push finds it.
  for (auto& route : state.settings.shards)
    self->send(route.orderer, join_atom::value, id);
  auto handle = self->spawn(worker, id, state.settings.shards,
                            std::move(source).value(),
                            state.settings.timing(slot),
                            caf::actor_cast<supervisor_actor>(self));
  self->monitor(handle);
  auto address = handle.address();
  state.members[address] = {id, slot, restarts, false, handle};
  ++state.stats.joined;
  ++state.stats.live;
  self->send(handle, start_atom::value);
}

void on_failure(supervisor_pointer self, std::size_t slot,
                std::int32_t restarts, std::string why) {
  auto& state = self->state;
  ++state.stats.crashed;
  state.stats.last_failure = std::move(why);
  if (restarts < state.settings.restart_limit) {
    ++state.stats.restarted;
    spawn_member(self, slot, restarts + 1);
  } else {
    ++state.stats.evicted;
  }
}

void add_workers(supervisor_pointer self, std::int32_t count) {
  for (std::int32_t k = 0; k < count; ++k)
    spawn_member(self, self->state.next_slot++, 0);
  update_iteration_size(self);
}

void on_down(supervisor_pointer self, const caf::down_msg& down) {
  auto& state = self->state;
  auto found = state.members.find(down.source);
  if (found == state.members.end())
    return;
  auto member = found->second;
  state.members.erase(found);
  state.last_accepted.erase(member.id);
  state.stats.gradients_per_second.erase(member.id);
  --state.stats.live;
  for (auto& route : state.settings.shards)
    self->send(route.orderer, leave_atom::value, member.id);
  if (state.stopping)
    return;
  if (member.removed)
    ++state.stats.left;
  else
    on_failure(self, member.slot, member.restarts,
               "worker " + std::to_string(member.id) + " (slot "
                 + std::to_string(member.slot)
                 + "): " + self->system().render(down.reason));
  update_iteration_size(self);
}

/// Each live worker's gradients per second since the last measurement,
/// counting a gradient once every shard has accepted its slice (the
/// minimum over the shards).
void measure_speed(supervisor_pointer self) {
  auto& state = self->state;
  const auto shard_count = state.settings.shards.size();
  if (shard_count == 0)
    return;
  auto accepted = std::make_shared<std::map<worker_id, std::uint64_t>>();
  auto awaiting = std::make_shared<std::size_t>(shard_count);
  auto first = std::make_shared<bool>(true);
  for (auto& route : state.settings.shards)
    self
      ->request(route.orderer, state.settings.speed_interval,
                stats_atom::value)
      .then([=](const orderer_stats& counts) {
        auto& state = self->state;
        for (auto& [address, member] : state.members) {
          auto found = counts.accepted_by_worker.find(member.id);
          std::uint64_t count
            = found == counts.accepted_by_worker.end() ? 0 : found->second;
          auto known = accepted->find(member.id);
          if (*first || known == accepted->end())
            (*accepted)[member.id] = count;
          else
            known->second = std::min(known->second, count);
        }
        *first = false;
        if (--*awaiting != 0)
          return;
        auto now = self->clock().now();
        double seconds
          = std::chrono::duration<double>(now - state.last_tick).count();
        state.last_tick = now;
        for (auto& [address, member] : state.members) {
          auto count = (*accepted)[member.id];
          auto& last = state.last_accepted[member.id];
          if (seconds > 0)
            state.stats.gradients_per_second[member.id]
              = static_cast<double>(count - last) / seconds;
          last = count;
        }
      });
}

} // namespace

supervisor_actor::behavior_type supervisor(supervisor_pointer self,
                                           supervisor_settings settings) {
  self->state.settings = std::move(settings);
  self->state.last_tick = self->clock().now();
  self->set_down_handler([=](caf::down_msg& down) { on_down(self, down); });
  add_workers(self, self->state.settings.initial_workers);
  self->delayed_send(self, self->state.settings.speed_interval,
                     tick_atom::value);
  return {
    [=](add_atom, std::int32_t count) {
      if (!self->state.stopping && count > 0)
        add_workers(self, count);
    },
    [=](remove_atom, worker_id id) {
      for (auto& [address, member] : self->state.members)
        if (member.id == id && !member.removed) {
          member.removed = true;
          self->send(member.handle, leave_atom::value);
        }
    },
    [=](stats_atom) { return self->state.stats; },
    [=](partial_atom, const std::vector<rejection_reason>& outcomes) {
      auto& stats = self->state.stats;
      ++stats.gradients_partial;
      stats.partial_applied.resize(
        std::max(stats.partial_applied.size(), outcomes.size()));
      stats.partial_rejected.resize(
        std::max(stats.partial_rejected.size(), outcomes.size()));
      for (std::size_t s = 0; s < outcomes.size(); ++s)
        if (outcomes[s] == rejection_reason::none)
          ++stats.partial_applied[s];
        else
          ++stats.partial_rejected[s][outcomes[s]];
    },
    [=](tick_atom) {
      if (self->state.stopping)
        return;
      measure_speed(self);
      self->delayed_send(self, self->state.settings.speed_interval,
                         tick_atom::value);
    },
    [=](stop_atom) {
      auto& state = self->state;
      state.stopping = true;
      for (auto& [address, member] : state.members)
        self->send_exit(member.handle, caf::exit_reason::user_shutdown);
      self->quit();
    },
  };
}

supervisor_actor spawn_supervisor(caf::actor_system& system,
                                  supervisor_settings settings,
                                  bool own_thread) {
  if (own_thread)
    return system.spawn<caf::detached>(supervisor, std::move(settings));
  return system.spawn(supervisor, std::move(settings));
}

} // namespace ormo::actors
