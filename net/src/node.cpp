#include "ormo/net/node.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <condition_variable>
#include <mutex>
#include <tuple>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/openssl/remote_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>

#include "ormo/actors/error_code.hpp"
#include "ormo/actors/fault_injector.hpp"
#include "ormo/actors/link_interceptor.hpp"
#include "ormo/actors/supervisor.hpp"
#include "ormo/actors/worker_host.hpp"
#include "chunk_relay.hpp"
#include "tls_error_queue.hpp"

namespace ormo::net {

namespace {

using actors::fault_injector_actor;
using actors::routes_atom;
using actors::shard_route;
using actors::stop_atom;
using actors::supervisor_actor;
using supervisor_atom = caf::atom_constant<caf::atom("supervisor")>;
using attach_atom = caf::atom_constant<caf::atom("attach")>;
using injector_atom = caf::atom_constant<caf::atom("injector")>;

using clock_type = std::chrono::steady_clock;

/// The one actor a node publishes: its directory.
using node_actor = caf::typed_actor<
  /// The shards this node hosts: their indices, routes and relays.
  caf::replies_to<routes_atom>::with<std::vector<std::uint64_t>,
                                     std::vector<shard_route>,
                                     std::vector<shard_relay_actor>>,
  /// The run's supervisor (the supervisor node only).
  caf::replies_to<supervisor_atom>::with<supervisor_actor>,
  /// The run's fault injector (the supervisor node of a run with faults).
  caf::replies_to<injector_atom>::with<fault_injector_actor>,
  /// The run's supervisor and its node's directory. This node's part is
  /// over when that directory goes (normally if it ended normally: it is
  /// ended once the run's outputs are written), or when the supervisor goes
  /// with an error (lost). A supervisor that ends normally ends nothing
  /// here: the monitor may still be pulling this node's shards.
  caf::replies_to<attach_atom, supervisor_actor, caf::actor>::with<bool>,
  /// Restarts a shard this node hosts from its newest checkpoint (asked by
  /// the supervisor's node only), moves its relay to it and answers its
  /// route; what is left of the old one is ended first.
  caf::replies_to<actors::restart_atom, std::uint64_t>::with<shard_route>,
  /// The run is over: the node quits normally.
  caf::replies_to<stop_atom>::with<bool>>;

/// Restarts shard s of a run (actors::shard_restarter); empty: no
/// checkpoints, so none restarts.
using shard_restart_function
  = std::function<caf::expected<shard_route>(std::size_t)>;

struct node_state {
  std::vector<std::uint64_t> indices;
  std::vector<shard_route> routes;
  std::vector<shard_relay_actor> relays;
  fault_injector_actor injector;
  shard_restart_function restart;
  /// Shards restarted here, ended with the directory.
  std::shared_ptr<std::vector<shard_route>> restarted
    = std::make_shared<std::vector<shard_route>>();
  supervisor_actor supervisor;
  /// The supervisor node's directory (none on that node itself).
  caf::actor_addr supervisor_node;
  bool attached = false;

  static inline const char* name = "ormo.node";
};

using node_pointer = node_actor::stateful_pointer<node_state>;

node_actor::behavior_type node_directory(node_pointer self,
                                         std::vector<std::uint64_t> indices,
                                         std::vector<shard_route> routes,
                                         std::vector<shard_relay_actor> relays,
                                         fault_injector_actor injector,
                                         shard_restart_function restart) {
  self->state.indices = std::move(indices);
  self->state.injector = std::move(injector);
  self->state.restart = std::move(restart);
  self->attach_functor([restarted = self->state.restarted](const caf::error&) {
    for (auto& route : *restarted) {
      caf::anon_send_exit(route.orderer, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(route.server, caf::exit_reason::user_shutdown);
    }
  });
  self->state.routes = std::move(routes);
  self->state.relays = std::move(relays);
  self->set_down_handler([=](caf::down_msg& down) {
    const auto& state = self->state;
    const bool normal = down.reason == caf::exit_reason::normal
                        || down.reason == caf::exit_reason::user_shutdown;
    const char* lost = nullptr;
    if (down.source == state.supervisor_node) {
      if (normal) {
        self->quit();
        return;
      }
      lost = "lost the supervisor's node: ";
    } else if (down.source == state.supervisor.address() && !normal) {
      lost = "lost the supervisor: ";
    } else {
      return;
    }
    self->quit(caf::make_error(actors::error_code::invalid_setup,
                               lost + self->system().render(down.reason)));
  });
  return {
    [=](routes_atom) {
      return std::make_tuple(self->state.indices, self->state.routes,
                             self->state.relays);
    },
    [=](supervisor_atom) -> caf::result<supervisor_actor> {
      if (!self->state.supervisor)
        return caf::make_error(actors::error_code::invalid_setup,
                               "this node has no supervisor (yet)");
      return self->state.supervisor;
    },
    [=](injector_atom) -> caf::result<fault_injector_actor> {
      if (!self->state.injector)
        return caf::make_error(actors::error_code::invalid_setup,
                               "this node injects no faults");
      return self->state.injector;
    },
    [=](attach_atom, supervisor_actor supervisor,
        caf::actor supervisor_node) -> caf::result<bool> {
      if (!supervisor || !supervisor_node)
        return caf::make_error(actors::error_code::invalid_setup,
                               "attached to no supervisor");
      auto& state = self->state;
      if (state.attached)
        return state.supervisor == supervisor;
      state.attached = true;
      state.supervisor = supervisor;
      self->monitor(supervisor);
      if (supervisor_node.address() != self->address()) {
        state.supervisor_node = supervisor_node.address();
        self->monitor(supervisor_node);
      }
      return true;
    },
    [=](actors::restart_atom, std::uint64_t s) -> caf::result<shard_route> {
      auto& state = self->state;
      const auto& sender = self->current_sender();
      if (!state.supervisor || !sender
          || sender->node() != state.supervisor.node())
        return caf::make_error(actors::error_code::invalid_setup,
                               "only the supervisor's node restarts a shard");
      auto at = std::find(state.indices.begin(), state.indices.end(), s);
      if (at == state.indices.end())
        return caf::make_error(actors::error_code::invalid_setup,
                               "shard " + std::to_string(s)
                                 + " is not on this node");
      if (!state.restart)
        return caf::make_error(actors::error_code::invalid_setup,
                               "no checkpoints to restart shard "
                                 + std::to_string(s) + " from");
      auto k = static_cast<std::size_t>(at - state.indices.begin());
      auto& route = state.routes[k];
      self->send_exit(route.orderer, caf::exit_reason::kill);
      self->send_exit(route.server, caf::exit_reason::kill);
      auto fresh = state.restart(static_cast<std::size_t>(s));
      if (!fresh)
        return fresh.error();
      route = *fresh;
      state.restarted->push_back(route);
      self->send(state.relays[k], actors::route_atom::value, route);
      return route;
    },
    [=](stop_atom) {
      self->quit();
      return true;
    },
  };
}

/// On the supervisor's node: restarts a shard on the node that hosts it
/// (`owners[s]`, checked against `routes[s]`'s slice) and answers its
/// route as the monitor reaches it: a shard it reaches through this node's
/// proxy (`proxied[s]`) keeps that proxy, whose relay moved to the
/// restarted shard.
actors::shard_keeper_actor::behavior_type
shard_keeper(actors::shard_keeper_actor::pointer self,
             std::vector<node_actor> owners, std::vector<shard_route> routes,
             std::vector<bool> proxied, caf::timespan timeout) {
  return {
    [=](actors::restart_atom, std::uint64_t s) -> caf::result<shard_route> {
      if (s >= owners.size())
        return caf::make_error(actors::error_code::invalid_setup,
                               "no shard " + std::to_string(s));
      auto promise = self->make_response_promise<shard_route>();
      self->request(owners[s], timeout, actors::restart_atom::value, s)
        .then(
          [=](shard_route& fresh) mutable {
            const auto& known = routes[s];
            if (!fresh.server || !fresh.orderer || fresh.offset != known.offset
                || fresh.size != known.size) {
              promise.deliver(caf::make_error(
                actors::error_code::invalid_reply,
                "the restarted shard " + std::to_string(s)
                  + " came back with another slice or no actors"));
              return;
            }
            if (proxied[s])
              fresh.server = known.server;
            promise.deliver(std::move(fresh));
          },
          [=](caf::error& error) mutable { promise.deliver(error); });
      return promise;
    },
  };
}

caf::error node_error(std::string what) {
  return caf::make_error(actors::error_code::invalid_setup, std::move(what));
}

/// What a node spawned, kept alive and ended on every way out (never
/// another node's actors).
struct node_parts {
  std::vector<shard_route> local_shards;
  std::vector<shard_relay_actor> relays;
  std::vector<shard_proxy_actor> proxies;
  node_actor directory;
  actors::worker_host_actor host;
  supervisor_actor supervisor;
  actors::run_monitor_actor monitor;
  fault_injector_actor injector;
  actors::shard_keeper_actor keeper;

  ~node_parts() {
    auto end = [](const auto& handle) {
      if (handle)
        caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
    };
    end(injector);
    end(keeper);
    end(monitor);
    end(supervisor);
    end(host);
    for (auto& proxy : proxies)
      end(proxy);
    for (auto& relay : relays)
      end(relay);
    for (auto& route : local_shards) {
      end(route.orderer);
      end(route.server);
    }
    end(directory);
  }
};

class node_runner {
public:
  node_runner(caf::actor_system& system, const config::run_config& run,
              const actors::training_plan& plan, const node_layout& layout,
              const actors::training_problem& problem,
              const node_callbacks& callbacks)
    : system_(system),
      run_(run),
      plan_(plan),
      layout_(layout),
      problem_(problem),
      callbacks_(callbacks),
      self_(system),
      parts_{} {
    auto twice = 2 * run.network.connection_timeout;
    request_timeout_ = std::max<caf::timespan>(twice, std::chrono::seconds(1));
  }

  node_outcome run();

private:
  void say(const std::string& line) {
    if (callbacks_.on_status)
      callbacks_.on_status(line);
  }

  bool interrupted() const {
    return callbacks_.training.stop_requested
           && callbacks_.training.stop_requested();
  }

  /// An error as one line: ormo's own errors by their text alone.
  std::string why(const caf::error& error) const {
    const auto& context = error.context();
    if (error.category() == caf::atom("ormo") && context.size() == 1
        && context.match_element<std::string>(0))
      return context.get_as<std::string>(0);
    return system_.render(error);
  }

  node_outcome failed(std::string message) {
    node_outcome outcome;
    outcome.exit_status = 1;
    outcome.message = std::move(message);
    return outcome;
  }

  node_outcome interrupted_outcome() {
    node_outcome outcome;
    outcome.exit_status = 130;
    outcome.message = "interrupted";
    return outcome;
  }

  caf::error spawn_local_shards();
  caf::error publish();
  /// The directory of `peer`, retrying until connect_timeout.
  caf::expected<node_actor> reach(const endpoint& peer);
  /// One attempt to reach `peer`, bounded by `deadline` (at least 1 s).
  caf::expected<node_actor> connect(const endpoint& peer,
                                    clock_type::time_point deadline);
  caf::error gather_routes();
  caf::error take_routes(const endpoint& peer,
                         const std::vector<std::uint64_t>& indices,
                         const std::vector<shard_route>& routes,
                         const std::vector<shard_relay_actor>& relays);
  /// Values per chunk of a tensor crossing nodes.
  std::size_t chunk_values() const {
    return static_cast<std::size_t>(run_.network.chunk_kib) * 1024
           / sizeof(float);
  }
  /// The routes for workers (`whole` = true: pulls and pushes) or for the
  /// monitor (pulls only) on this node: a remote shard larger than a chunk
  /// through a proxy of its relay.
  std::vector<shard_route> routes_for(bool whole);
  /// By shard: whether this node reaches it through a proxy (routes_for
  /// made one).
  std::vector<bool> proxied_shards() const;
  caf::expected<supervisor_actor> find_supervisor(const node_actor& peer);
  /// The link interceptors of `slot`, one in front of each of `shards`'
  /// orderers, made known to the injector.
  std::vector<actors::momentum_orderer_actor>
  spawn_links(std::size_t slot, const std::vector<shard_route>& shards);
  /// The injector of the supervisor node `peer`, if the run has faults.
  caf::error find_injector(const node_actor& peer);
  caf::error enlist_host();
  node_outcome run_supervisor_node();
  node_outcome run_member_node();
  void stop_peers();

  caf::actor_system& system_;
  const config::run_config& run_;
  const actors::training_plan& plan_;
  const node_layout& layout_;
  const actors::training_problem& problem_;
  const node_callbacks& callbacks_;
  caf::scoped_actor self_;
  node_parts parts_;
  caf::timespan request_timeout_;
  /// The run's supervisor (on this node: also in parts_).
  supervisor_actor supervisor_;
  /// The run's fault injector, if it has faults (on this node: also in
  /// parts_), and what it fired (the supervisor node only).
  fault_injector_actor injector_;
  std::shared_ptr<actors::fault_counts> faults_fired_;
  /// Every shard, in order, as this node reaches it, and its relay.
  std::vector<shard_route> routes_;
  std::vector<shard_relay_actor> relays_;
  /// By shard index, spawned on first use.
  std::map<std::size_t, shard_proxy_actor> proxies_;
  /// The directories of the other nodes this node reached, by name.
  std::map<std::string, node_actor> peers_;
};

caf::error node_runner::spawn_local_shards() {
  std::vector<std::uint64_t> indices;
  for (auto shard : layout_.shards) {
    auto route = actors::spawn_shard(system_, plan_, shard,
                                     problem_.initial_parameters);
    if (!route)
      return route.error();
    indices.push_back(shard);
    parts_.local_shards.push_back(*route);
    parts_.relays.push_back(spawn_shard_relay(system_, *route, chunk_values()));
  }
  if (layout_.supervisor && !plan_.faults.empty()) {
    actors::fault_injector_settings injection;
    injection.faults = plan_.faults;
    injection.seed = plan_.report.seed;
    injection.shards = plan_.shards.size();
    injection.slots = plan_.workers.initial;
    faults_fired_ = injection.counts = std::make_shared<actors::fault_counts>();
    injector_ = parts_.injector
      = actors::spawn_fault_injector(system_, std::move(injection));
  }
  parts_.directory = system_.spawn(
    node_directory, std::move(indices), parts_.local_shards, parts_.relays,
    injector_, actors::shard_restarter(system_, plan_));
  return caf::none;
}

caf::error node_runner::publish() {
  if (layout_.self.port == 0)
    return caf::none;
  const auto& where = layout_.self;
  auto port = run_.network.tls
                ? caf::openssl::publish(parts_.directory, where.port,
                                        where.host.c_str(), true)
                : system_.middleman().publish(parts_.directory, where.port,
                                              where.host.c_str(), true);
  if (!port)
    return node_error("cannot listen on " + layout_.self.host + ":"
                      + std::to_string(layout_.self.port) + ": "
                      + system_.render(port.error()));
  say("listening on " + layout_.self.host + ":" + std::to_string(*port));
  return caf::none;
}

caf::expected<node_actor> node_runner::reach(const endpoint& peer) {
  if (peer.node == layout_.name)
    return parts_.directory;
  auto known = peers_.find(peer.node);
  if (known != peers_.end())
    return known->second;
  auto deadline = clock_type::now() + run_.network.connect_timeout;
  auto pause = std::chrono::milliseconds(50);
  bool told = false;
  for (;;) {
    auto handle = connect(peer, deadline);
    if (handle) {
      peers_[peer.node] = *handle;
      say("reached " + to_string(peer));
      return *handle;
    }
    if (interrupted())
      return node_error("interrupted");
    if (clock_type::now() >= deadline) {
      auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(
        run_.network.connect_timeout);
      std::string hint;
      if (handle.error() == caf::sec::disconnect_during_handshake)
        hint = ": it closed the connection during the handshake (the same "
               "network.tls on both? certificates of one authority?)";
      return node_error("cannot reach node " + to_string(peer) + " within "
                        + std::to_string(limit.count()) + " ms ("
                        + system_.render(handle.error())
                        + "; network.connect_timeout)" + hint);
    }
    if (!told) {
      say("waiting for " + to_string(peer) + " ...");
      told = true;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::milliseconds>(2 * pause,
                                                std::chrono::milliseconds(500));
  }
}

caf::expected<node_actor>
node_runner::connect(const endpoint& peer, clock_type::time_point deadline) {
  if (!run_.network.tls)
    return system_.middleman().remote_actor<node_actor>(peer.host, peer.port);
  // CAF 0.17's TLS handshake can wait for ever (a peer with another
  // authority, or one without TLS): it runs on a thread of its own, and
  // this node gives up at the deadline.
  struct attempt {
    std::mutex mutex;
    std::condition_variable done;
    std::optional<caf::expected<node_actor>> result;
  };
  auto shared = std::make_shared<attempt>();
  auto& system = system_;
  std::thread([shared, &system, peer] {
    auto result
      = caf::openssl::remote_actor<node_actor>(system, peer.host, peer.port);
    std::lock_guard<std::mutex> guard{shared->mutex};
    shared->result = std::move(result);
    shared->done.notify_all();
  }).detach();
  std::unique_lock<std::mutex> lock{shared->mutex};
  auto limit = std::max(deadline, clock_type::now() + std::chrono::seconds(1));
  if (!shared->done.wait_until(lock, limit,
                               [&] { return shared->result.has_value(); }))
    return node_error("no TLS session with node " + to_string(peer)
                      + " (a certificate its authority did not sign, or a "
                        "peer without TLS?)");
  return std::move(*shared->result);
}

caf::error node_runner::take_routes(
  const endpoint& peer, const std::vector<std::uint64_t>& indices,
  const std::vector<shard_route>& routes,
  const std::vector<shard_relay_actor>& relays) {
  auto wrong = [&](std::string what) {
    return node_error("node " + to_string(peer) + " answered wrong routes: "
                      + what);
  };
  if (indices.size() != routes.size() || indices.size() != relays.size())
    return wrong(std::to_string(indices.size()) + " indices for "
                 + std::to_string(routes.size()) + " routes and "
                 + std::to_string(relays.size()) + " relays");
  std::size_t expected = 0;
  for (const auto& owner : layout_.shard_nodes)
    expected += owner.node == peer.node ? 1 : 0;
  if (indices.size() != expected)
    return wrong(std::to_string(indices.size()) + " shards, the topology "
                 + "gives it " + std::to_string(expected));
  for (std::size_t k = 0; k < indices.size(); ++k) {
    auto index = indices[k];
    if (index >= plan_.shards.size()
        || layout_.shard_nodes[index].node != peer.node)
      return wrong("shard " + std::to_string(index) + " is not its");
    const auto& route = routes[k];
    const auto& part = plan_.shards[index];
    if (route.offset != static_cast<Eigen::Index>(part.offset)
        || route.size != static_cast<Eigen::Index>(part.size))
      return wrong("shard " + std::to_string(index) + " holds another slice");
    if (!route.server || !route.orderer || !relays[k])
      return wrong("shard " + std::to_string(index) + " has no actors");
    routes_[index] = route;
    relays_[index] = relays[k];
  }
  return caf::none;
}

std::vector<shard_route> node_runner::routes_for(bool whole) {
  auto routes = routes_;
  for (std::size_t s = 0; s < routes.size(); ++s) {
    auto size = static_cast<std::size_t>(routes[s].size);
    if (layout_.shard_nodes[s].node == layout_.name || size <= chunk_values())
      continue;
    auto& proxy = proxies_[s];
    if (!proxy) {
      proxy = spawn_shard_proxy(system_, relays_[s], size, chunk_values(),
                                plan_.workers.request_timeout);
      parts_.proxies.push_back(proxy);
    }
    auto proxied = through(routes[s], proxy);
    routes[s].server = proxied.server;
    if (whole)
      routes[s].orderer = proxied.orderer;
  }
  return routes;
}

std::vector<bool> node_runner::proxied_shards() const {
  std::vector<bool> proxied;
  for (std::size_t s = 0; s < plan_.shards.size(); ++s)
    proxied.push_back(proxies_.count(s) != 0);
  return proxied;
}

caf::error node_runner::gather_routes() {
  routes_.assign(plan_.shards.size(), shard_route{});
  relays_.assign(plan_.shards.size(), shard_relay_actor{});
  std::vector<std::string> done;
  for (const auto& peer : layout_.shard_nodes) {
    if (std::find(done.begin(), done.end(), peer.node) != done.end())
      continue;
    done.push_back(peer.node);
    auto directory = reach(peer);
    if (!directory)
      return directory.error();
    caf::error failure;
    self_->request(*directory, request_timeout_, routes_atom::value)
      .receive(
        [&](std::vector<std::uint64_t>& indices,
            std::vector<shard_route>& routes,
            std::vector<shard_relay_actor>& relays) {
          failure = take_routes(peer, indices, routes, relays);
        },
        [&](caf::error& error) {
          failure = node_error("node " + to_string(peer)
                               + " gave no routes: " + why(error));
        });
    if (failure)
      return failure;
  }
  return caf::none;
}

caf::expected<supervisor_actor>
node_runner::find_supervisor(const node_actor& peer) {
  auto deadline = clock_type::now() + run_.network.connect_timeout;
  for (;;) {
    caf::expected<supervisor_actor> found = caf::sec::none;
    self_->request(peer, request_timeout_, supervisor_atom::value)
      .receive([&](supervisor_actor& supervisor) { found = supervisor; },
               [&](caf::error& error) { found = std::move(error); });
    if (found && *found)
      return found;
    if (clock_type::now() >= deadline || interrupted())
      return node_error("the supervisor node "
                        + to_string(layout_.supervisor_node)
                        + " has no supervisor: "
                        + why(found.error()));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::vector<actors::momentum_orderer_actor>
node_runner::spawn_links(std::size_t slot,
                         const std::vector<shard_route>& shards) {
  std::vector<actors::link_interceptor_actor> links;
  for (std::size_t s = 0; s < shards.size(); ++s) {
    actors::link_settings link;
    link.orderer = shards[s].orderer;
    link.seed = actors::link_seed(plan_.report.seed, slot, s, shards.size());
    if (s == 0)
      link.observer = injector_;
    links.push_back(actors::spawn_link_interceptor(system_, std::move(link)));
  }
  self_->send(injector_, actors::links_atom::value,
              static_cast<std::uint64_t>(slot), links);
  return {links.begin(), links.end()};
}

caf::error node_runner::find_injector(const node_actor& peer) {
  if (plan_.faults.empty())
    return caf::none;
  caf::error failure;
  self_->request(peer, request_timeout_, injector_atom::value)
    .receive([&](fault_injector_actor& injector) { injector_ = injector; },
             [&](caf::error& error) { failure = error; });
  if (!failure && !injector_)
    failure = node_error("no injector");
  if (failure)
    return node_error("the supervisor node "
                      + to_string(layout_.supervisor_node)
                      + " has no fault injector: " + why(failure));
  return caf::none;
}

caf::error node_runner::enlist_host() {
  if (layout_.slots.empty())
    return caf::none;
  actors::worker_host_settings settings;
  settings.shards = routes_for(true);
  if (injector_)
    for (auto slot : layout_.slots)
      settings.links[slot] = spawn_links(slot, settings.shards);
  settings.make_source = [make_source = problem_.make_source,
                          slots = plan_.workers.initial](std::size_t slot) {
    return make_source(slot, slots);
  };
  settings.timing = [plan = plan_](std::size_t slot) {
    return actors::worker_timing_for(plan, slot);
  };
  settings.slots = layout_.slots;
  settings.supervisor = supervisor_;
  // A restarted shard reached through a proxy keeps it: its relay moved.
  settings.localize = [whole = settings.shards, proxied = proxied_shards()](
                        std::size_t s, const shard_route& fresh) {
    return proxied[s] ? whole[s] : fresh;
  };
  parts_.host = actors::spawn_worker_host(system_, std::move(settings));
  std::vector<std::uint64_t> slots(layout_.slots.begin(), layout_.slots.end());
  caf::error failure;
  self_
    ->request(supervisor_, request_timeout_, actors::enlist_atom::value,
              layout_.name, parts_.host, slots)
    .receive([](bool) {},
             [&](caf::error& error) {
               failure = node_error("cannot enlist: " + why(error));
             });
  if (!failure)
    say("enlisted " + std::to_string(slots.size()) + " worker slot(s)");
  return failure;
}

void node_runner::stop_peers() {
  for (auto& [name, peer] : peers_)
    self_->request(peer, request_timeout_, stop_atom::value)
      .receive([](bool) {}, [](caf::error&) {});
}

node_outcome node_runner::run_supervisor_node() {
  if (auto error = gather_routes())
    return failed(why(error));
  actors::supervisor_settings supervision;
  supervision.shards = routes_;
  supervision.initial_workers = 0;
  supervision.fixed_iteration_size = plan_.supervisor.fixed_iteration_size;
  supervision.restart_limit = plan_.supervisor.restart_limit;
  supervision.remote_timeout = request_timeout_;
  for (const auto& [name, slots] : layout_.slots_by_node)
    supervision.node_slots[name] = slots;
  parts_.supervisor
    = actors::spawn_supervisor(system_, std::move(supervision), false);
  supervisor_ = parts_.supervisor;
  auto report = std::make_shared<actors::run_report>();
  auto plan = plan_;
  plan.monitor.workers_to_start = 0;
  // Not on threads of their own: a node runs workers_last_sharing (first
  // in first out, these before any worker: nothing starves them), and with them
  // detached a supervisor node sometimes never ended (~actor_system waiting
  // for a detached thread whose actor had quit but was never destroyed).
  plan.monitor.own_thread = false;
  std::vector<std::string> places;
  for (const auto& owner : layout_.shard_nodes)
    places.push_back("node " + to_string(owner));
  auto monitor_routes = routes_for(false);
  if (actors::shard_restarter(system_, plan_)) {
    std::vector<node_actor> owners;
    for (const auto& owner : layout_.shard_nodes)
      owners.push_back(owner.node == layout_.name ? parts_.directory
                                                  : peers_.at(owner.node));
    parts_.keeper
      = system_.spawn(shard_keeper, std::move(owners), monitor_routes,
                      proxied_shards(), request_timeout_);
  }
  parts_.monitor = actors::spawn_monitor(
    system_, plan, monitor_routes, parts_.supervisor, problem_,
    callbacks_.training, report, std::move(places), nullptr, {}, parts_.keeper);
  self_->monitor(parts_.monitor);
  if (injector_)
    self_->send(injector_, actors::start_atom::value, parts_.supervisor,
                parts_.monitor, std::vector<actors::link_interceptor_actor>{});
  for (auto& entry : peers_) {
    // Not a structured binding: a lambda cannot capture one in C++17.
    const auto& name = entry.first;
    auto& peer = entry.second;
    caf::error failure;
    self_
      ->request(peer, request_timeout_, attach_atom::value, parts_.supervisor,
                caf::actor_cast<caf::actor>(parts_.directory))
      .receive([](bool) {},
               [&](caf::error& error) {
                 failure = node_error("node " + name + " did not attach: "
                                      + why(error));
               });
    if (failure)
      return failed(why(failure));
  }
  self_->send(parts_.directory, attach_atom::value, parts_.supervisor,
              caf::actor_cast<caf::actor>(parts_.directory));
  if (auto error = publish())
    return failed(why(error));
  if (auto error = enlist_host())
    return failed(why(error));
  self_->receive([](const caf::down_msg&) {});
  // The monitor stopped the supervisor, which tells every enlisted node;
  // then the shard nodes hear it from here.
  self_->monitor(parts_.supervisor);
  self_->receive([](const caf::down_msg&) {},
                 caf::after(request_timeout_ + std::chrono::seconds(1))
                   >> [] {});
  stop_peers();
  node_outcome outcome;
  outcome.report = *report;
  if (faults_fired_)
    outcome.report.faults_injected = faults_fired_->snapshot();
  if (!report->failure.empty()) {
    outcome.exit_status = 1;
    outcome.message = report->failure;
  } else if (report->stop_reason == "interrupted") {
    outcome.exit_status = 130;
    outcome.message = "interrupted";
  }
  return outcome;
}

node_outcome node_runner::run_member_node() {
  if (auto error = publish())
    return failed(why(error));
  self_->monitor(parts_.directory);
  if (!layout_.slots.empty()) {
    if (auto error = gather_routes())
      return failed(why(error));
    auto directory = reach(layout_.supervisor_node);
    if (!directory)
      return failed(why(directory.error()));
    auto supervisor = find_supervisor(*directory);
    if (!supervisor)
      return failed(why(supervisor.error()));
    supervisor_ = *supervisor; // another node's: never ended from here
    if (auto error = find_injector(*directory))
      return failed(why(error));
    self_->send(parts_.directory, attach_atom::value, supervisor_,
                caf::actor_cast<caf::actor>(*directory));
    if (auto error = enlist_host())
      return failed(why(error));
    // A node with only workers is done when the supervisor has stopped its
    // host (the supervisor's own end may then reach it only as a lost
    // link, the supervisor node's process being gone).
    if (layout_.shards.empty())
      self_->monitor(parts_.host);
  }
  // Until the directory quits (stopped, or its supervisor went) or, on a
  // node with only workers, the host was stopped.
  auto attach_deadline = clock_type::now() + run_.network.connect_timeout;
  std::optional<caf::error> ended;
  while (!ended) {
    self_->receive([&](caf::down_msg& down) { ended = down.reason; },
                   caf::after(std::chrono::milliseconds(100)) >> [] {});
    if (ended)
      break;
    if (interrupted())
      return interrupted_outcome();
    if (clock_type::now() >= attach_deadline) {
      bool attached = false;
      self_->request(parts_.directory, request_timeout_, supervisor_atom::value)
        .receive([&](supervisor_actor&) { attached = true; },
                 [](caf::error&) {});
      if (!attached)
        return failed("no supervisor node attached within the "
                      "network.connect_timeout");
      attach_deadline = clock_type::time_point::max();
    }
  }
  if (*ended && *ended != caf::exit_reason::user_shutdown)
    return failed(why(*ended));
  node_outcome outcome;
  outcome.message = "the run is over";
  return outcome;
}

node_outcome node_runner::run() {
  if (auto error = spawn_local_shards())
    return failed(why(error));
  if (layout_.supervisor)
    return run_supervisor_node();
  return run_member_node();
}

} // namespace

void configure_network(caf::actor_system_config& cfg,
                       const config::network_config& network) {
  cfg.load<caf::io::middleman>();
  // Measured with `ormo-bench transport` (docs/performance.md): the
  // middleman's own thread deserializes (no hand-off to a BASP worker, one
  // copy less). The scheduler is actors::configure's workers_last_sharing,
  // which sleeps instead of polling.
  cfg.set("middleman.workers", std::size_t{0});
  if (network.tls) {
    empty_tls_errors_after_reading();
    cfg.load<caf::openssl::manager>();
    cfg.openssl_certificate = network.certificate;
    cfg.openssl_key = network.key;
    cfg.openssl_cafile = network.cafile;
  }
  cfg.add_message_type<node_actor>("ormo.node_actor");
  add_chunk_types(cfg);
  cfg.set("middleman.heartbeat-interval",
          caf::timespan{network.heartbeat_interval});
  cfg.set("middleman.connection-timeout",
          caf::timespan{network.connection_timeout});
}

node_outcome run_node(caf::actor_system& system,
                      const config::run_config& run,
                      const actors::training_plan& plan,
                      const node_layout& layout,
                      const actors::training_problem& problem,
                      const node_callbacks& callbacks) {
  node_runner runner{system, run, plan, layout, problem, callbacks};
  return runner.run();
}

} // namespace ormo::net
