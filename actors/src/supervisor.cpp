#include "ormo/actors/supervisor.hpp"

#include "supervisor_state.hpp"
#include "worker_state.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/system_messages.hpp>

#include "ormo/actors/error_code.hpp"

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
                std::int32_t restarts, std::string why,
                const worker_host_actor& host = {});

/// The routes the worker in `slot` reaches the shards by.
std::vector<shard_route> routes_of(supervisor_pointer self, std::size_t slot) {
  const auto& settings = self->state.settings;
  auto routes = settings.shards;
  const auto count = routes.size();
  if ((slot + 1) * count <= settings.links.size())
    for (std::size_t s = 0; s < count; ++s)
      routes[s].orderer = settings.links[slot * count + s];
  return routes;
}

/// Gives `handle`, a new worker of `slot`, the slot's faults it inherits
/// (supervisor_state::slot_faults).
void pass_slot_faults(supervisor_pointer self, std::size_t slot,
                      const worker_actor& handle) {
  auto& state = self->state;
  auto faults = state.slot_faults.find(slot);
  if (faults == state.slot_faults.end())
    return;
  auto now = self->clock().now();
  auto& pending = faults->second;
  for (auto fault = pending.begin(); fault != pending.end();) {
    if (fault->second <= now) {
      fault = pending.erase(fault);
      continue;
    }
    auto remaining = fault->first;
    const auto kind = remaining.kind;
    if (kind != worker_fault_kind::kill)
      remaining.duration = fault->second - now;
    self->send(handle, fault_atom::value, remaining);
    if (kind == worker_fault_kind::kill || kind == worker_fault_kind::freeze)
      fault = pending.erase(fault);
    else
      ++fault;
  }
}

/// Spawns the worker of `slot`; `resumed`: one of a resumed run (its id,
/// and where it goes on), otherwise a new one.
void spawn_member(supervisor_pointer self, std::size_t slot,
                  std::int32_t restarts,
                  const worker_progress* resumed = nullptr) {
  auto& state = self->state;
  auto source = state.settings.make_source(slot);
  if (!source) {
    on_failure(self, slot, restarts,
               "slot " + std::to_string(slot)
                 + ": no gradient source: " + source.error().message());
    return;
  }
  auto id = resumed != nullptr ? resumed->id : state.next_id++;
  // Registered before the worker exists, so its first push finds it.
  for (auto& route : state.settings.shards)
    self->send(route.orderer, join_atom::value, id);
  auto handle = self->spawn(
    worker, id, routes_of(self, slot), std::move(source).value(),
    state.settings.timing(slot), caf::actor_cast<supervisor_actor>(self),
    resumed != nullptr ? *resumed : worker_progress{});
  self->monitor(handle);
  auto address = handle.address();
  state.members[address] = {id, slot, restarts, false, handle, {}, {}};
  ++state.stats.joined;
  ++state.stats.live;
  self->send(handle, start_atom::value);
  pass_slot_faults(self, slot, handle);
}

/// A declared fault for a slot: to its live worker, and kept for the
/// workers that replace it while it lasts (or, for a kill or freeze that
/// finds no live worker, for the next one).
void on_worker_fault(supervisor_pointer self, const worker_fault& fault) {
  auto& state = self->state;
  if (state.stopping)
    return;
  bool struck = false;
  for (auto& [address, member] : state.members)
    if (member.slot == fault.slot && !member.removed) {
      self->send(member.handle, fault_atom::value, fault);
      struck = true;
    }
  const bool once = fault.kind == worker_fault_kind::kill
                    || fault.kind == worker_fault_kind::freeze;
  if (once && struck)
    return;
  auto end = fault.kind == worker_fault_kind::kill
               ? caf::actor_clock::time_point::max()
               : self->clock().now() + fault.duration;
  state.slot_faults[static_cast<std::size_t>(fault.slot)].emplace_back(fault,
                                                                       end);
}

void spawn_remote_member(supervisor_pointer self, worker_host_actor host,
                         std::size_t slot, std::int32_t restarts);

/// The enlisted node of `host`, or null when it is gone (or never was).
supervisor_state::node_member* node_of(supervisor_pointer self,
                                       const worker_host_actor& host) {
  auto found = self->state.nodes.find(host.address());
  return found == self->state.nodes.end() ? nullptr : &found->second;
}

void on_failure(supervisor_pointer self, std::size_t slot,
                std::int32_t restarts, std::string why,
                const worker_host_actor& host) {
  auto& state = self->state;
  ++state.stats.crashed;
  state.stats.last_failure = std::move(why);
  if (restarts < state.settings.restart_limit) {
    ++state.stats.restarted;
    if (!host)
      spawn_member(self, slot, restarts + 1);
    else if (node_of(self, host) != nullptr)
      spawn_remote_member(self, host, slot, restarts + 1);
  } else {
    ++state.stats.evicted;
  }
}

/// Registers `id` at every orderer and calls `then` once all of them have
/// answered, or `failed` with the first error.
template <class Then, class Failed>
void join_everywhere(supervisor_pointer self, worker_id id, Then then,
                     Failed failed) {
  auto& state = self->state;
  auto awaiting = std::make_shared<std::size_t>(state.settings.shards.size());
  auto failure = std::make_shared<bool>(false);
  for (auto& route : state.settings.shards)
    self
      ->request(route.orderer, state.settings.remote_timeout, join_atom::value,
                id)
      .then(
        [=]() {
          if (--*awaiting == 0 && !*failure)
            then();
        },
        [=](caf::error& error) {
          if (*failure)
            return;
          *failure = true;
          failed(error);
        });
}

/// A worker of an enlisted node: registered at every orderer first (the
/// orderers are on other nodes, so a plain send could arrive after the
/// worker's first push), then spawned by the node's host.
void spawn_remote_member(supervisor_pointer self, worker_host_actor host,
                         std::size_t slot, std::int32_t restarts) {
  auto& state = self->state;
  auto* node = node_of(self, host);
  if (node == nullptr || state.stopping)
    return;
  auto id = state.next_id++;
  auto name = node->name;
  auto give_up = [=](const caf::error& error) {
    auto& state = self->state;
    for (auto& route : state.settings.shards)
      self->send(route.orderer, leave_atom::value, id);
    if (state.stopping)
      return;
    if (node_of(self, host) == nullptr) {
      ++state.stats.lost; // its node went while the worker was being made
      return;
    }
    on_failure(self, slot, restarts,
               "node " + name + ", slot " + std::to_string(slot)
                 + ": no worker: " + self->system().render(error),
               host);
    update_iteration_size(self);
  };
  join_everywhere(
    self, id,
    [=] {
      self
        ->request(host, self->state.settings.remote_timeout, spawn_atom::value,
                  id, static_cast<std::uint64_t>(slot))
        .then(
          [=](worker_actor& handle) {
            auto& state = self->state;
            if (state.stopping || node_of(self, host) == nullptr) {
              self->send_exit(handle, caf::exit_reason::user_shutdown);
              give_up(caf::sec::request_receiver_down);
              return;
            }
            self->monitor(handle);
            state.members[handle.address()]
              = {id, slot, restarts, false, handle, name, host};
            ++state.stats.joined;
            ++state.stats.live;
            pass_slot_faults(self, slot, handle);
            update_iteration_size(self);
          },
          give_up);
    },
    give_up);
}

/// Ends the membership of node `found`, whose host went down: its workers
/// are lost, never restarted elsewhere; or, when the node was shut down on
/// purpose (`left`: e.g. Ctrl-C there), they left.
void lose_node(supervisor_pointer self,
               std::map<caf::actor_addr, supervisor_state::node_member>::
                 iterator found,
               const std::string& why, bool left) {
  auto& state = self->state;
  auto name = found->second.name;
  state.nodes.erase(found);
  if (!left) {
    ++state.stats.nodes_lost;
    state.stats.last_failure = "node " + name + " lost: " + why;
  }
  for (auto member = state.members.begin(); member != state.members.end();) {
    if (member->second.node != name) {
      ++member;
      continue;
    }
    auto id = member->second.id;
    self->demonitor(member->second.handle.address());
    member = state.members.erase(member);
    state.last_accepted.erase(id);
    state.stats.gradients_per_second.erase(id);
    --state.stats.live;
    ++(left ? state.stats.left : state.stats.lost);
    for (auto& route : state.settings.shards)
      self->send(route.orderer, leave_atom::value, id);
  }
  update_iteration_size(self);
}

caf::result<bool> enlist(supervisor_pointer self, const std::string& name,
                         worker_host_actor host,
                         std::vector<std::uint64_t> offered) {
  auto& state = self->state;
  auto refuse = [&](std::string why) -> caf::result<bool> {
    return caf::make_error(error_code::invalid_setup,
                           "node " + name + " refused: " + why);
  };
  if (state.stopping)
    return refuse("the run is over");
  if (!host)
    return refuse("no worker host");
  auto allowed = state.settings.node_slots.find(name);
  if (allowed == state.settings.node_slots.end())
    return refuse("not a node of this topology");
  std::vector<std::size_t> slots(offered.begin(), offered.end());
  std::sort(slots.begin(), slots.end());
  auto expected = allowed->second;
  std::sort(expected.begin(), expected.end());
  if (slots != expected)
    return refuse("it offers other worker slots than the topology gives it");
  for (auto& [address, node] : state.nodes)
    if (node.name == name)
      return refuse("a node of that name is a member");
  state.nodes[host.address()] = {name, host};
  self->monitor(host);
  for (auto slot : slots)
    spawn_remote_member(self, host, slot, 0);
  return true;
}

void add_workers(supervisor_pointer self, std::int32_t count) {
  for (std::int32_t k = 0; k < count; ++k)
    spawn_member(self, self->state.next_slot++, 0);
  update_iteration_size(self);
}

/// Takes `member` out of the membership and every orderer's ledger; what
/// it was.
supervisor_state::member
forget(supervisor_pointer self,
       std::map<caf::actor_addr, supervisor_state::member>::iterator member) {
  auto& state = self->state;
  auto gone = member->second;
  state.members.erase(member);
  state.last_accepted.erase(gone.id);
  state.stats.gradients_per_second.erase(gone.id);
  --state.stats.live;
  for (auto& route : state.settings.shards)
    self->send(route.orderer, leave_atom::value, gone.id);
  return gone;
}

void on_down(supervisor_pointer self, const caf::down_msg& down) {
  auto& state = self->state;
  auto node = state.nodes.find(down.source);
  if (node != state.nodes.end()) {
    if (!state.stopping)
      lose_node(self, node, self->system().render(down.reason),
                down.reason == caf::exit_reason::user_shutdown);
    return;
  }
  auto found = state.members.find(down.source);
  if (found == state.members.end())
    return;
  auto member = forget(self, found);
  if (state.stopping)
    return;
  auto where = member.node.empty() ? "" : "node " + member.node + ", ";
  if (member.removed)
    ++state.stats.left;
  else if (down.reason == caf::exit_reason::remote_link_unreachable)
    ++state.stats.lost; // its node follows (the host's down message)
  else
    on_failure(self, member.slot, member.restarts,
               where + "worker " + std::to_string(member.id) + " (slot "
                 + std::to_string(member.slot)
                 + "): " + self->system().render(down.reason),
               member.host);
  update_iteration_size(self);
}

/// A local worker gave no sign of life within its request timeout (it is
/// frozen, or its thread is stuck): it is ended, counted as crashed, and
/// its slot restarted, as if it had crashed.
void on_hung(supervisor_pointer self, const caf::actor_addr& address,
             worker_id id, caf::timespan timeout) {
  auto& state = self->state;
  auto found = state.members.find(address);
  if (found == state.members.end() || found->second.id != id)
    return;
  self->demonitor(found->second.handle.address());
  auto member = forget(self, found);
  self->send_exit(member.handle, caf::exit_reason::kill);
  if (state.stopping)
    return;
  char limit[32];
  std::snprintf(limit, sizeof limit, "%g",
                std::chrono::duration<double>(timeout).count());
  on_failure(self, member.slot, member.restarts,
             "worker " + std::to_string(member.id) + " (slot "
               + std::to_string(member.slot)
               + "): no sign of life within " + limit + " s");
  update_iteration_size(self);
}

/// Asks every local worker for a sign of life, unless one is awaited from
/// it already; one that gives none within its request timeout is hung.
/// Remote workers are watched by their nodes' heartbeats instead.
void probe_workers(supervisor_pointer self) {
  auto& state = self->state;
  for (auto& [address, member] : state.members) {
    if (!member.node.empty() || member.removed || member.probed)
      continue;
    member.probed = true;
    auto timeout = state.settings.timing(member.slot).request_timeout;
    auto id = member.id;
    auto at = address;
    self->request(member.handle, timeout, stats_atom::value)
      .then(
        [=](std::uint64_t) {
          auto found = self->state.members.find(at);
          if (found != self->state.members.end())
            found->second.probed = false;
        },
        [=](caf::error& error) {
          if (error == caf::sec::request_timeout)
            on_hung(self, at, id, timeout);
        });
  }
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
      },
            [](caf::error&) {
              // A shard did not answer: no measurement this time (the
              // monitor ends a run whose shard is lost).
            });
}

/// Spawns a resumed run's workers and takes over its counts.
void resume_run(supervisor_pointer self, const paused_run& run) {
  auto& state = self->state;
  const auto& counts = run.membership;
  for (const auto& worker : run.workers) {
    spawn_member(self, worker.slot, 0, &worker);
    state.next_slot = std::max<std::size_t>(state.next_slot, worker.slot + 1);
  }
  state.next_id = counts.next_id;
  auto& stats = state.stats;
  stats.joined = counts.joined;
  stats.left = counts.left;
  stats.crashed = counts.crashed;
  stats.restarted = counts.restarted;
  stats.evicted = counts.evicted;
  stats.retries = counts.retries;
  stats.gradients_lost = counts.gradients_lost;
  update_iteration_size(self);
}

/// The live workers' handles and slots, by worker id.
std::map<worker_id, const supervisor_state::member*>
live_by_id(supervisor_pointer self) {
  std::map<worker_id, const supervisor_state::member*> live;
  for (const auto& [address, member] : self->state.members)
    if (!member.removed)
      live.emplace(member.id, &member);
  return live;
}

/// Moves the link interceptors, the local workers and the enlisted nodes'
/// hosts to restarted shard `s`.
void tell_route(supervisor_pointer self, std::size_t s) {
  auto& state = self->state;
  const auto& shards = state.settings.shards;
  const auto& links = state.settings.links;
  const auto& fresh = shards[s];
  // Interceptors first: a worker sends through its interceptor only
  // after this (the interceptor's mailbox keeps the order).
  for (auto k = s; k < links.size(); k += shards.size())
    self->send(links[k], route_atom::value,
               caf::actor_cast<caf::actor>(fresh.orderer));
  for (const auto& [id, member] : live_by_id(self)) {
    if (member->host)
      continue; // its node's host tells it (below)
    bool intercepted = (member->slot + 1) * shards.size() <= links.size();
    self->send(member->handle, route_atom::value, std::uint64_t{s},
               fresh.server,
               intercepted ? momentum_orderer_actor{} : fresh.orderer);
  }
  for (const auto& [address, node] : state.nodes)
    self->send(node.host, route_atom::value, std::uint64_t{s}, fresh.server,
               fresh.orderer);
}

/// Shard `s` restarted from its checkpoint, whose ledger knows only the
/// workers registered then: every live worker is registered at its
/// orderer again (and answered) before anyone is moved to it.
void rejoin(supervisor_pointer self, std::size_t s) {
  auto& state = self->state;
  auto live = live_by_id(self);
  auto awaiting = std::make_shared<std::size_t>(live.size() + 1);
  auto orderer = state.settings.shards[s].orderer;
  auto joined = [=] {
    if (--*awaiting == 0 && !self->state.stopping)
      tell_route(self, s);
  };
  for (const auto& entry : live)
    self
      ->request(orderer, state.settings.remote_timeout, join_atom::value,
                entry.first)
      .then([=]() { joined(); },
            [=](caf::error&) { joined(); }); // gone again: a new route comes
  joined();
}

/// Pauses every live worker; the answer once all of them are paused.
caf::result<paused_run> pause_run(supervisor_pointer self) {
  auto& state = self->state;
  state.paused = true;
  auto run = std::make_shared<paused_run>();
  const auto& stats = state.stats;
  run->membership
    = {state.next_id,   stats.joined,  stats.left,    stats.crashed,
       stats.restarted, stats.evicted, stats.retries, stats.gradients_lost};
  auto live = live_by_id(self);
  if (live.empty())
    return *run;
  auto promise = std::make_shared<caf::typed_response_promise<paused_run>>(
    self->make_response_promise<paused_run>());
  run->workers.resize(live.size());
  auto awaiting = std::make_shared<std::size_t>(live.size());
  std::size_t k = 0;
  for (const auto& [id, member] : live) {
    auto slot = member->slot;
    self->request(member->handle, caf::infinite, pause_atom::value)
      .then(
        [=](worker_progress& progress) {
          progress.slot = slot;
          run->workers[k] = progress;
          if (--*awaiting == 0 && promise->pending())
            promise->deliver(*run);
        },
        [=](caf::error& error) {
          if (promise->pending())
            promise->deliver(error);
        });
    ++k;
  }
  return *promise;
}

} // namespace

supervisor_actor::behavior_type supervisor(supervisor_pointer self,
                                           supervisor_settings settings) {
  self->state.settings = std::move(settings);
  self->state.last_tick = self->clock().now();
  self->set_down_handler([=](caf::down_msg& down) { on_down(self, down); });
  if (auto& from = self->state.settings.resume_from)
    resume_run(self, *from);
  else
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
    [=](enlist_atom, const std::string& name, worker_host_actor host,
        std::vector<std::uint64_t> slots) {
      return enlist(self, name, std::move(host), std::move(slots));
    },
    [=](stats_atom) { return self->state.stats; },
    [=](retry_atom, std::uint64_t slices) {
      self->state.stats.retries += slices;
    },
    [=](lost_atom, std::uint64_t pushes) {
      self->state.stats.gradients_lost += pushes;
    },
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
    [=](fault_atom, const worker_fault& fault) {
      on_worker_fault(self, fault);
    },
    [=](tick_atom) {
      if (self->state.stopping)
        return;
      measure_speed(self);
      probe_workers(self);
      self->delayed_send(self, self->state.settings.speed_interval,
                         tick_atom::value);
    },
    [=](pause_atom) { return pause_run(self); },
    [=](resume_atom) {
      auto& state = self->state;
      if (!std::exchange(state.paused, false))
        return;
      for (const auto& [id, member] : live_by_id(self))
        self->send(member->handle, resume_atom::value);
    },
    [=](route_atom, std::uint64_t shard, parameter_server_actor& server,
        momentum_orderer_actor& orderer) {
      auto& shards = self->state.settings.shards;
      if (shard >= shards.size())
        return;
      shards[shard].server = std::move(server);
      shards[shard].orderer = std::move(orderer);
      rejoin(self, static_cast<std::size_t>(shard));
    },
    [=](stop_atom) {
      auto& state = self->state;
      state.stopping = true;
      for (auto& [address, member] : state.members)
        self->send_exit(member.handle, caf::exit_reason::user_shutdown);
      // The link interceptors end with the run, not when the last handle
      // to them goes.
      for (auto& link : state.settings.links)
        self->send_exit(link, caf::exit_reason::user_shutdown);
      if (state.nodes.empty()) {
        self->quit();
        return;
      }
      // Every enlisted node hears that the run is over (bounded), so that
      // none waits for a supervisor that is gone.
      auto awaiting = std::make_shared<std::size_t>(state.nodes.size());
      auto answered = [=] {
        if (--*awaiting == 0)
          self->quit();
      };
      for (auto& [address, node] : state.nodes)
        self->request(node.host, state.settings.remote_timeout, stop_atom::value)
          .then([=](bool) { answered(); },
                [=](caf::error&) { answered(); });
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
