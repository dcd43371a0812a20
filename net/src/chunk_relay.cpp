#include "chunk_relay.hpp"

#include <map>
#include <memory>
#include <string>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/stateful_actor.hpp>

#include "ormo/actors/error_code.hpp"

namespace ormo::net {

namespace {

using actors::gradient_push;
using actors::parameter_snapshot;
using actors::pull_atom;
using actors::push_atom;
using actors::push_outcome;
using actors::shared_vector;

caf::error chunk_error(std::string what) {
  return caf::make_error(actors::error_code::invalid_reply, std::move(what));
}

/// A tensor arriving in chunks, strictly in order.
struct assembly {
  std::shared_ptr<Eigen::VectorXf> values;
  std::size_t filled = 0;

  /// False (and nothing taken) for a chunk that is not the next one or
  /// does not fit in `size` values.
  bool take(std::uint64_t offset, const shared_vector& piece,
            std::size_t size) {
    if (!values)
      values = std::make_shared<Eigen::VectorXf>(
        static_cast<Eigen::Index>(size));
    if (offset != filled || piece.empty() || piece.size() > size - filled)
      return false;
    values->segment(static_cast<Eigen::Index>(filled),
                    static_cast<Eigen::Index>(piece.size()))
      = *piece;
    filled += piece.size();
    return true;
  }

  bool complete(std::size_t size) const { return values && filled == size; }
};

/// Sends `values` to `to` as chunks of transfer `id`.
template <class Self, class Handle>
void send_chunks(Self* self, const Handle& to, std::uint64_t id,
                 const Eigen::VectorXf& values, std::size_t chunk_values) {
  const auto size = static_cast<std::size_t>(values.size());
  for (std::size_t offset = 0; offset < size; offset += chunk_values) {
    auto count = std::min(chunk_values, size - offset);
    self->send(to, chunk_atom::value, id, static_cast<std::uint64_t>(offset),
               actors::share(values.segment(static_cast<Eigen::Index>(offset),
                                            static_cast<Eigen::Index>(count))));
  }
}

// -- relay --------------------------------------------------------------------

/// Open transfers one sender may have (a worker has at most a few pushes in
/// flight); more are a broken or hostile peer.
constexpr std::size_t max_open_transfers = 16;

struct relay_state {
  actors::shard_route shard;
  std::size_t chunk_values = 0;
  /// Gradients arriving, by sender and transfer id; a sender that goes
  /// down takes its assemblies with it.
  std::map<std::pair<caf::actor_addr, std::uint64_t>, assembly> incoming;
  std::map<caf::actor_addr, std::size_t> open_by_sender;

  std::size_t size() const { return static_cast<std::size_t>(shard.size); }

  static inline const char* name = "ormo.shard_relay";
};

using relay_pointer = shard_relay_actor::stateful_pointer<relay_state>;

shard_relay_actor::behavior_type relay(relay_pointer self,
                                       actors::shard_route shard,
                                       std::size_t chunk_values) {
  self->state.shard = std::move(shard);
  self->state.chunk_values = chunk_values;
  auto forget = [=](const caf::actor_addr& sender, std::uint64_t id) {
    auto& state = self->state;
    if (state.incoming.erase({sender, id}) != 0
        && --state.open_by_sender[sender] == 0) {
      state.open_by_sender.erase(sender);
      self->demonitor(sender);
    }
  };
  self->set_down_handler([=](caf::down_msg& down) {
    auto& state = self->state;
    for (auto i = state.incoming.begin(); i != state.incoming.end();)
      i = i->first.first == down.source ? state.incoming.erase(i) : ++i;
    state.open_by_sender.erase(down.source);
  });
  return {
    [=](chunk_atom, std::uint64_t id, std::uint64_t offset,
        const shared_vector& piece) {
      auto& state = self->state;
      auto sender = self->current_sender();
      auto key = std::make_pair(caf::actor_cast<caf::actor_addr>(sender), id);
      auto found = state.incoming.find(key);
      if (found == state.incoming.end()) {
        auto& open = state.open_by_sender[key.first];
        if (open >= max_open_transfers)
          return; // dropped: the push of this transfer fails
        if (open++ == 0)
          self->monitor(sender); // its assemblies go with it

        found = state.incoming.emplace(key, assembly{}).first;
      }
      if (!found->second.take(offset, piece, state.size()))
        found->second.filled = state.size() + 1; // poisoned: never complete
    },
    [=](pull_atom, std::uint64_t id) {
      auto proxy = caf::actor_cast<shard_proxy_actor>(self->current_sender());
      auto promise = self->make_response_promise<parameter_snapshot>();
      self->request(self->state.shard.server, caf::infinite, pull_atom::value)
        .then(
          [=](parameter_snapshot& snapshot) mutable {
            if (!snapshot.parameters.empty())
              send_chunks(self, proxy, id, *snapshot.parameters,
                          self->state.chunk_values);
            snapshot.parameters = {};
            promise.deliver(std::move(snapshot));
          },
          [=](caf::error& error) mutable { promise.deliver(error); });
      return promise;
    },
    [=](push_atom, std::uint64_t id, gradient_push& push) {
      auto& state = self->state;
      auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
      auto proxy = caf::actor_cast<shard_proxy_actor>(self->current_sender());
      auto promise = self->make_response_promise<push_outcome>();
      auto found = state.incoming.find({sender, id});
      if (found == state.incoming.end()
          || !found->second.complete(state.size())) {
        forget(sender, id);
        promise.deliver(chunk_error(
          "shard relay: the gradient of transfer " + std::to_string(id)
          + " arrived incomplete or out of order"));
        return promise;
      }
      push.gradient = optim::checked_gradient::check(
        std::move(found->second.values));
      forget(sender, id);
      self
        ->request(state.shard.orderer, caf::infinite, push_atom::value,
                  std::move(push))
        .then(
          [=](push_outcome& outcome) mutable {
            if (!outcome.snapshot.parameters.empty())
              send_chunks(self, proxy, id, *outcome.snapshot.parameters,
                          self->state.chunk_values);
            outcome.snapshot.parameters = {};
            promise.deliver(std::move(outcome));
          },
          [=](caf::error& error) mutable { promise.deliver(error); });
      return promise;
    },
    [=](actors::route_atom, actors::shard_route& restarted) {
      const auto& sender = self->current_sender();
      auto& shard = self->state.shard;
      if (!sender || sender->node() != self->node()
          || restarted.offset != shard.offset || restarted.size != shard.size)
        return;
      shard = std::move(restarted);
    },
  };
}

// -- proxy --------------------------------------------------------------------

struct proxy_state {
  shard_relay_actor relay;
  std::size_t size = 0;
  std::size_t chunk_values = 0;
  caf::timespan timeout{};
  std::uint64_t next_id = 1;
  /// Parameters arriving from the relay, by transfer id (only those this
  /// proxy asked for).
  std::map<std::uint64_t, assembly> incoming;

  static inline const char* name = "ormo.shard_proxy";
};

using proxy_pointer = shard_proxy_actor::stateful_pointer<proxy_state>;

/// The parameters of transfer `id`, complete, or an error.
caf::expected<shared_vector> take_parameters(proxy_pointer self,
                                             std::uint64_t id) {
  auto& state = self->state;
  auto found = state.incoming.find(id);
  if (found == state.incoming.end() || !found->second.complete(state.size)) {
    state.incoming.erase(id);
    return chunk_error("shard proxy: the parameters of transfer "
                       + std::to_string(id)
                       + " arrived incomplete or out of order");
  }
  shared_vector values{std::move(found->second.values)};
  state.incoming.erase(found);
  return values;
}

shard_proxy_actor::behavior_type proxy(proxy_pointer self,
                                       shard_relay_actor relay,
                                       std::size_t size,
                                       std::size_t chunk_values,
                                       caf::timespan timeout) {
  auto& state = self->state;
  state.relay = std::move(relay);
  state.size = size;
  state.chunk_values = chunk_values;
  state.timeout = timeout;
  self->monitor(state.relay);
  self->set_down_handler([=](caf::down_msg& down) {
    if (down.source == self->state.relay.address())
      self->quit(down.reason);
  });
  return {
    [=](chunk_atom, std::uint64_t id, std::uint64_t offset,
        const shared_vector& piece) {
      auto& state = self->state;
      if (self->current_sender() != state.relay.address())
        return; // only the relay sends parameters
      auto found = state.incoming.find(id);
      if (found == state.incoming.end())
        return; // not asked for
      if (!found->second.take(offset, piece, state.size))
        found->second.filled = state.size + 1; // poisoned
    },
    [=](pull_atom) {
      auto& state = self->state;
      auto id = state.next_id++;
      state.incoming[id];
      auto promise = self->make_response_promise<parameter_snapshot>();
      self->request(state.relay, state.timeout, pull_atom::value, id)
        .then(
          [=](parameter_snapshot& snapshot) mutable {
            auto values = take_parameters(self, id);
            if (!values) {
              promise.deliver(values.error());
              return;
            }
            snapshot.parameters = std::move(*values);
            promise.deliver(std::move(snapshot));
          },
          [=](caf::error& error) mutable {
            self->state.incoming.erase(id);
            promise.deliver(error);
          });
      return promise;
    },
    [=](push_atom, gradient_push& push) {
      auto& state = self->state;
      auto id = state.next_id++;
      auto promise = self->make_response_promise<push_outcome>();
      if (push.gradient.size() > 0)
        send_chunks(self, state.relay, id, push.gradient.values(),
                    state.chunk_values);
      push.gradient = {};
      state.incoming[id];
      self
        ->request(state.relay, state.timeout, push_atom::value, id,
                  std::move(push))
        .then(
          [=](push_outcome& outcome) mutable {
            if (outcome.accepted()) {
              auto values = take_parameters(self, id);
              if (!values) {
                promise.deliver(values.error());
                return;
              }
              outcome.snapshot.parameters = std::move(*values);
            } else {
              self->state.incoming.erase(id);
            }
            promise.deliver(std::move(outcome));
          },
          [=](caf::error& error) mutable {
            self->state.incoming.erase(id);
            promise.deliver(error);
          });
      return promise;
    },
  };
}

} // namespace

shard_relay_actor spawn_shard_relay(caf::actor_system& system,
                                    actors::shard_route shard,
                                    std::size_t chunk_values) {
  return system.spawn(relay, std::move(shard), chunk_values);
}

shard_proxy_actor spawn_shard_proxy(caf::actor_system& system,
                                    shard_relay_actor relay, std::size_t size,
                                    std::size_t chunk_values,
                                    caf::timespan timeout) {
  return system.spawn(proxy, std::move(relay), size, chunk_values, timeout);
}

actors::shard_route through(const actors::shard_route& route,
                            const shard_proxy_actor& proxy) {
  auto result = route;
  result.server = caf::actor_cast<actors::parameter_server_actor>(proxy);
  result.orderer = caf::actor_cast<actors::momentum_orderer_actor>(proxy);
  return result;
}

void add_chunk_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<shard_relay_actor>("ormo.shard_relay_actor");
  cfg.add_message_type<std::vector<shard_relay_actor>>(
    "ormo.shard_relay_actors");
}

} // namespace ormo::net
