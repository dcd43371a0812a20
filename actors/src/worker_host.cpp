#include "ormo/actors/worker_host.hpp"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "ormo/actors/error_code.hpp"

namespace ormo::actors {

namespace {

struct worker_host_state {
  worker_host_settings settings;
  /// Every worker it spawned (ended ones too: a message to them is a
  /// no-op), with its slot; shared with the functor that ends them when
  /// the host ends.
  std::shared_ptr<std::vector<std::pair<worker_actor, std::size_t>>> workers
    = std::make_shared<std::vector<std::pair<worker_actor, std::size_t>>>();

  static inline const char* name = "ormo.worker_host";
};

using worker_host_pointer
  = worker_host_actor::stateful_pointer<worker_host_state>;

worker_host_actor::behavior_type host(worker_host_pointer self,
                                      worker_host_settings settings) {
  self->state.settings = std::move(settings);
  // However the host ends (stopped, killed with its node's process), its
  // workers end with it.
  self->attach_functor([workers = self->state.workers,
                        links = self->state.settings.links](const caf::error&) {
    for (auto& worker : *workers)
      caf::anon_send_exit(worker.first, caf::exit_reason::user_shutdown);
    for (auto& slot : links)
      for (auto& link : slot.second)
        caf::anon_send_exit(link, caf::exit_reason::user_shutdown);
  });
  return {
    [=](spawn_atom, worker_id id,
        std::uint64_t slot) -> caf::result<worker_actor> {
      auto& settings = self->state.settings;
      const auto& slots = settings.slots;
      if (std::find(slots.begin(), slots.end(), slot) == slots.end())
        return caf::make_error(error_code::invalid_setup,
                               "slot " + std::to_string(slot)
                                 + " is not one of this node's");
      auto source = settings.make_source(slot);
      if (!source)
        return caf::make_error(error_code::gradient_failed,
                               source.error().message());
      auto shards = settings.shards;
      if (auto links = settings.links.find(slot); links != settings.links.end())
        for (std::size_t s = 0; s < shards.size(); ++s)
          shards[s].orderer = links->second[s];
      auto worker = spawn_worker(self->system(), id, std::move(shards),
                                 std::move(source).value(),
                                 settings.timing(slot), settings.supervisor);
      self->state.workers->emplace_back(worker, slot);
      return worker;
    },
    [=](route_atom, std::uint64_t s, parameter_server_actor& server,
        momentum_orderer_actor& orderer) {
      auto& settings = self->state.settings;
      // From another node: only its supervisor moves it.
      if (self->current_sender() != settings.supervisor.address()
          || s >= settings.shards.size() || !server || !orderer)
        return;
      auto fresh = settings.shards[s];
      fresh.server = std::move(server);
      fresh.orderer = std::move(orderer);
      if (settings.localize)
        fresh = settings.localize(s, fresh);
      settings.shards[s] = fresh;
      // Interceptors first: a worker sends through its interceptor only
      // after this (the interceptor's mailbox keeps the order).
      for (const auto& [slot, links] : settings.links)
        self->send(links[s], route_atom::value,
                   caf::actor_cast<caf::actor>(fresh.orderer));
      for (const auto& [worker, slot] : *self->state.workers) {
        bool intercepted = settings.links.count(slot) != 0;
        self->send(worker, route_atom::value, s, fresh.server,
                   intercepted ? momentum_orderer_actor{} : fresh.orderer);
      }
    },
    [=](stop_atom) {
      self->quit();
      return true;
    },
  };
}

} // namespace

worker_host_actor spawn_worker_host(caf::actor_system& system,
                                    worker_host_settings settings) {
  return system.spawn(host, std::move(settings));
}

} // namespace ormo::actors
