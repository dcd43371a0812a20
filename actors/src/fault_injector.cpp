#include "ormo/actors/fault_injector.hpp"

#include <chrono>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "ormo/random.hpp"

namespace ormo::actors {

namespace {

using config::fault_kind;

/// Seed streams: one for the faults' own draws, one per link.
constexpr std::uint64_t fault_stream = 0x6661756c74ull; // "fault"
constexpr std::uint64_t link_stream = 0x6c696e6bull;    // "link"

struct fault_injector_state {
  fault_injector_settings settings;
  supervisor_actor supervisor;
  /// Restarts killed shards (fault_atom).
  run_monitor_actor monitor;
  std::vector<link_interceptor_actor> links;
  bool started = false;
  /// Indices of the faults waiting for a count, in file order.
  std::vector<std::size_t> counted;
  std::uint64_t gradients = 0;
  iteration_index iteration = 0;

  static inline const char* name = "ormo.fault_injector";
};

using injector_pointer
  = fault_injector_actor::stateful_pointer<fault_injector_state>;

caf::timespan seconds(double s) {
  return std::chrono::duration_cast<caf::timespan>(
    std::chrono::duration<double>(s));
}

void fire(injector_pointer self, std::size_t index) {
  auto& state = self->state;
  const auto& fault = state.settings.faults[index];
  if (state.settings.counts)
    state.settings.counts->add(config::to_string(fault.kind));
  const auto slot = static_cast<std::size_t>(fault.worker);
  const auto shards = state.settings.shards;
  worker_fault for_worker;
  for_worker.slot = slot;
  for_worker.duration = seconds(fault.duration_s);
  for_worker.probability = fault.probability;
  for_worker.factor = fault.factor;
  for_worker.seed = random_source::derive_seed(
    random_source::derive_seed(state.settings.seed, fault_stream), index);
  link_fault for_link;
  for_link.duration = seconds(fault.duration_s);
  for_link.probability = fault.probability;
  for_link.delay = seconds(fault.delay_ms / 1000);
  auto to_worker = [&](worker_fault_kind kind) {
    for_worker.kind = kind;
    if (state.supervisor)
      self->send(state.supervisor, fault_atom::value, for_worker);
  };
  auto to_link = [&](link_fault_kind kind, std::size_t shard) {
    for_link.kind = kind;
    auto at = slot * shards + shard;
    if (at < state.links.size())
      self->send(state.links[at], fault_atom::value, for_link);
  };
  const auto shard = static_cast<std::size_t>(fault.shard);
  switch (fault.kind) {
    case fault_kind::kill_worker:
      to_worker(worker_fault_kind::kill);
      break;
    case fault_kind::fail_gradient:
      to_worker(worker_fault_kind::fail_gradient);
      break;
    case fault_kind::slow_worker:
      to_worker(worker_fault_kind::slow);
      break;
    case fault_kind::freeze_worker:
      to_worker(worker_fault_kind::freeze);
      break;
    case fault_kind::drop:
      to_link(link_fault_kind::drop, shard);
      break;
    case fault_kind::delay:
      to_link(link_fault_kind::delay, shard);
      break;
    case fault_kind::duplicate:
      to_link(link_fault_kind::duplicate, shard);
      break;
    case fault_kind::reorder:
      to_link(link_fault_kind::reorder, shard);
      break;
    case fault_kind::partition:
      for (std::size_t s = 0; s < shards; ++s)
        to_link(link_fault_kind::partition, s);
      break;
    case fault_kind::kill_shard:
      if (state.monitor)
        self->send(state.monitor, fault_atom::value,
                   static_cast<std::uint64_t>(shard));
      break;
    case fault_kind::kill_node:
    case fault_kind::stop_node:
      break; // the launcher's (see config::is_node_fault)
  }
}

/// Fires, in file order, the counted faults whose count is reached.
void fire_counted(injector_pointer self) {
  auto& state = self->state;
  auto& counted = state.counted;
  for (auto at = counted.begin(); at != counted.end();) {
    const auto& fault = state.settings.faults[*at];
    bool due
      = (fault.at_gradient > 0
         && state.gradients >= static_cast<std::uint64_t>(fault.at_gradient))
        || (fault.at_iteration > 0 && state.iteration >= fault.at_iteration);
    if (!due) {
      ++at;
      continue;
    }
    auto index = *at;
    at = counted.erase(at);
    fire(self, index);
  }
}

fault_injector_actor::behavior_type
fault_injector(injector_pointer self, fault_injector_settings settings) {
  self->state.settings = std::move(settings);
  self->set_down_handler([=](caf::down_msg&) { self->quit(); });
  return {
    [=](start_atom, supervisor_actor supervisor, run_monitor_actor monitor,
        std::vector<link_interceptor_actor> links) {
      auto& state = self->state;
      if (state.started)
        return;
      state.started = true;
      state.supervisor = std::move(supervisor);
      state.links = std::move(links);
      if (monitor)
        self->monitor(monitor);
      state.monitor = std::move(monitor);
      const auto& faults = state.settings.faults;
      for (std::size_t i = 0; i < faults.size(); ++i) {
        if (faults[i].at_seconds > 0)
          self->delayed_send(self, seconds(faults[i].at_seconds),
                             fault_atom::value, static_cast<std::uint64_t>(i));
        else
          state.counted.push_back(i);
      }
      fire_counted(self);
    },
    [=](links_atom, std::uint64_t slot,
        std::vector<link_interceptor_actor>& slot_links) {
      auto& state = self->state;
      const auto shards = state.settings.shards;
      // From another node: a malformed one is ignored.
      if (slot >= state.settings.slots || slot_links.size() != shards)
        return;
      auto first = static_cast<std::size_t>(slot) * shards;
      if (state.links.size() < first + shards)
        state.links.resize(first + shards);
      std::move(slot_links.begin(), slot_links.end(),
                state.links.begin() + static_cast<std::ptrdiff_t>(first));
    },
    [=](fault_atom, std::uint64_t index) {
      if (index < self->state.settings.faults.size())
        fire(self, static_cast<std::size_t>(index));
    },
    [=](tally_atom, std::uint64_t gradients, iteration_index iteration) {
      auto& state = self->state;
      state.gradients += gradients;
      if (iteration > state.iteration)
        state.iteration = iteration;
      if (state.started)
        fire_counted(self);
    },
  };
}

} // namespace

fault_injector_actor spawn_fault_injector(caf::actor_system& system,
                                          fault_injector_settings settings) {
  return system.spawn(fault_injector, std::move(settings));
}

std::uint64_t link_seed(std::uint64_t seed, std::size_t slot, std::size_t shard,
                        std::size_t shards) {
  return random_source::derive_seed(
    random_source::derive_seed(seed, link_stream), slot * shards + shard);
}

} // namespace ormo::actors
