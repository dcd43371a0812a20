// chunk_relay: tensors larger than a chunk cross nodes in pieces.
//
// CAF 0.17 counts a link as alive only when a whole message has arrived, so
// one message of tens of MB on a slow link outlasts the connection timeout.
// A shard whose slice is larger than network.chunk_kib is reached from
// another node through a pair of actors: a shard_proxy on the far node,
// which answers pulls and pushes as the shard's server and orderer do, and a
// shard_relay on the shard's node, in front of them. Between the two a
// tensor travels as chunk messages, then the request or the answer itself
// without its tensor. CAF keeps the order of the messages from one actor to
// another, so each end takes the chunks of a transfer strictly in order and
// checks them against the shard's size: a chunk out of place, too long, or
// a transfer left incomplete fails that request, and nothing of it is
// applied.
//
// Private to the net library.
#pragma once

#include <cstddef>
#include <cstdint>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "ormo/actors/interfaces.hpp"
#include "ormo/actors/shard_route.hpp"

namespace ormo::net {

using chunk_atom = caf::atom_constant<caf::atom("chunk")>;

/// In front of one shard, on the shard's node.
using shard_relay_actor = caf::typed_actor<
  /// A piece of the gradient of transfer `id`: its offset and values.
  caf::reacts_to<chunk_atom, std::uint64_t, std::uint64_t,
                 actors::shared_vector>,
  /// Pull of transfer `id`: the values come back as chunks, then the
  /// snapshot without them.
  caf::replies_to<actors::pull_atom,
                  std::uint64_t>::with<actors::parameter_snapshot>,
  /// Push of transfer `id`, whose gradient came as chunks; the answer's
  /// parameters come back as chunks first.
  caf::replies_to<actors::push_atom, std::uint64_t,
                  actors::gradient_push>::with<actors::push_outcome>,
  /// Its shard was restarted: this is its server and orderer from now on
  /// (taken only from an actor of the relay's own node), so the proxies of
  /// other nodes stay valid.
  caf::reacts_to<actors::route_atom, actors::shard_route>>;

/// On the far node: answers as the shard does (pull, push).
using shard_proxy_actor = caf::typed_actor<
  caf::reacts_to<chunk_atom, std::uint64_t, std::uint64_t,
                 actors::shared_vector>,
  caf::replies_to<actors::pull_atom>::with<actors::parameter_snapshot>,
  caf::replies_to<actors::push_atom, actors::gradient_push>::with<
    actors::push_outcome>>;

/// A relay in front of `shard` (local), sending chunks of `chunk_values`.
shard_relay_actor spawn_shard_relay(caf::actor_system& system,
                                    actors::shard_route shard,
                                    std::size_t chunk_values);

/// A proxy of the remote `relay` of a shard of `size` values; it quits when
/// the relay goes down (with its reason). Each request waits at most
/// `timeout` for the relay's answer.
shard_proxy_actor spawn_shard_proxy(caf::actor_system& system,
                                    shard_relay_actor relay, std::size_t size,
                                    std::size_t chunk_values,
                                    caf::timespan timeout);

/// `route` with its server and orderer replaced by `proxy` (for workers,
/// which only pull and push).
actors::shard_route through(const actors::shard_route& route,
                            const shard_proxy_actor& proxy);

/// Registers the relay's message types.
void add_chunk_types(caf::actor_system_config& cfg);

} // namespace ormo::net
