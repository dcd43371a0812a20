// link_interceptor: one worker's link to one shard's orderer, with faults.
//
// It has the orderer's typed interface and sits in the worker's route in
// place of the orderer (as leveldb's EnvWrapper sits under the database),
// so neither the worker nor the orderer knows it is there. Without an
// active fault it forwards each push and its answer unchanged; the other
// orderer messages pass straight on. Pulls go to the server directly and
// are never touched (a worker does not send a pull again).
//
// Faults (link_fault), each active for its duration from its arrival, on
// the actor clock (virtual in deterministic mode), several at once:
// - drop: each push on its way in and each answer on its way back is lost
//   with the fault's probability (the worker sends the push again after
//   workers.retry_after_s; the orderer answers a repeat as the first);
// - delay: each push and each answer arrives `delay` late with the
//   probability;
// - duplicate: each push reaches the orderer twice with the probability
//   (the second is a repeat: answered as the first, counted in
//   orderer_stats.duplicates, never applied); the worker gets one answer;
// - reorder: each push is held, with the probability, until the next push
//   on the link has passed it or `delay` has passed;
// - partition: every push and every answer is lost.
// Random draws come from a random_source seeded by the settings, so a
// deterministic run replays them.
//
// Counting for the fault injector: an interceptor with an `observer` tells
// it of each gradient it sees for the first time (a worker's sequence
// number above any it saw from that worker) and of each higher iteration
// index an accepted answer reports (tally_atom).
#pragma once

#include <cstdint>

#include <caf/fwd.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/timespan.hpp>

#include "ormo/actors/interfaces.hpp"

namespace ormo::actors {

enum class link_fault_kind : std::uint8_t {
  drop,
  delay,
  duplicate,
  reorder,
  partition,
};

/// A fault of one link, active for `duration` from its arrival.
struct link_fault {
  link_fault_kind kind = link_fault_kind::drop;
  caf::timespan duration{0};
  /// Per message: the chance that it strikes (partition: always).
  double probability = 1;
  /// delay: how late; reorder: the longest a push is held.
  caf::timespan delay{0};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, link_fault& x) {
  auto kind = static_cast<std::uint8_t>(x.kind);
  exact<double> probability{x.probability};
  return f(caf::meta::type_name("link_fault"), kind,
           caf::meta::load_callback([&]() -> caf::error {
             if (kind > static_cast<std::uint8_t>(link_fault_kind::partition))
               return caf::sec::invalid_argument;
             x.kind = static_cast<link_fault_kind>(kind);
             return caf::none;
           }),
           x.duration, probability, x.delay);
}

/// Hears from the interceptors in front of the first shard (see above).
using fault_observer_actor = caf::typed_actor<
  /// New gradients seen, and the highest iteration index reported so far
  /// (0: none yet).
  caf::reacts_to<tally_atom, std::uint64_t, iteration_index>>;

/// An orderer with faults in front: the orderer's interface, plus the
/// injector's faults and its own timers.
/// (release_atom: a held or delayed message is due; its key.)
using link_interceptor_actor
  = momentum_orderer_actor::extend<caf::reacts_to<fault_atom, link_fault>,
                                   caf::reacts_to<release_atom, std::uint64_t>>;

struct link_settings {
  /// Where pushes go.
  momentum_orderer_actor orderer;
  /// Seeds the draws (one stream per link).
  std::uint64_t seed = 0;
  /// Told of the gradients and iterations this link sees; may be null.
  fault_observer_actor observer;
};

/// Spawns an interceptor for one worker-shard link.
link_interceptor_actor spawn_link_interceptor(caf::actor_system& system,
                                              link_settings settings);

} // namespace ormo::actors
