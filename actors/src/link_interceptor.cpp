#include "ormo/actors/link_interceptor.hpp"

#include <map>
#include <optional>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "ormo/random.hpp"

namespace ormo::actors {

namespace {

using outcome_promise = caf::typed_response_promise<push_outcome>;

struct link_interceptor_state {
  struct active_fault {
    link_fault fault;
    caf::actor_clock::time_point until;
  };

  struct held_push {
    gradient_push push;
    outcome_promise promise;
  };

  struct held_answer {
    push_outcome outcome;
    outcome_promise promise;
  };

  link_settings settings;
  random_source random{0};
  /// Faults received, in order; expired ones are removed when seen.
  std::vector<active_fault> faults;
  /// Delayed or held messages by key (release_atom).
  std::map<std::uint64_t, held_push> pushes;
  std::map<std::uint64_t, held_answer> answers;
  std::uint64_t next_key = 1;
  /// The push held for reordering, if any.
  std::optional<std::uint64_t> reordered;
  /// Counting: the last worker seen, its highest sequence number, and the
  /// highest iteration index an answer reported.
  bool seen_push = false;
  worker_id last_worker = 0;
  std::uint64_t last_sequence = 0;
  iteration_index last_iteration = 0;

  static inline const char* name = "ormo.link_interceptor";
};

using interceptor_pointer
  = link_interceptor_actor::stateful_pointer<link_interceptor_state>;

/// The first active fault of `kind`, or null; drops expired faults.
const link_fault* active(interceptor_pointer self, link_fault_kind kind) {
  auto& faults = self->state.faults;
  auto now = self->clock().now();
  faults.erase(std::remove_if(faults.begin(), faults.end(),
                              [now](const auto& f) { return f.until <= now; }),
               faults.end());
  for (const auto& f : faults)
    if (f.fault.kind == kind)
      return &f.fault;
  return nullptr;
}

/// Whether a fault of `kind` strikes this message: it is active and its
/// draw (made only then, so the draws replay) falls below its probability.
bool strikes(interceptor_pointer self, link_fault_kind kind) {
  auto fault = active(self, kind);
  if (fault == nullptr)
    return false;
  if (kind == link_fault_kind::partition)
    return true;
  return self->state.random.uniform() < fault->probability;
}

void tally_push(interceptor_pointer self, const gradient_push& push) {
  auto& state = self->state;
  if (!state.settings.observer)
    return;
  if (state.seen_push && push.worker == state.last_worker
      && push.sequence <= state.last_sequence)
    return; // sent again
  state.seen_push = true;
  state.last_worker = push.worker;
  state.last_sequence = push.sequence;
  self->send(state.settings.observer, tally_atom::value, std::uint64_t{1},
             state.last_iteration);
}

void tally_answer(interceptor_pointer self, const push_outcome& outcome) {
  auto& state = self->state;
  if (!state.settings.observer || !outcome.accepted()
      || outcome.snapshot.iteration <= state.last_iteration)
    return;
  state.last_iteration = outcome.snapshot.iteration;
  self->send(state.settings.observer, tally_atom::value, std::uint64_t{0},
             state.last_iteration);
}

/// An answer on its way back to the worker.
void answer(interceptor_pointer self, push_outcome outcome,
            outcome_promise promise) {
  tally_answer(self, outcome);
  if (strikes(self, link_fault_kind::partition)
      || strikes(self, link_fault_kind::drop))
    return; // lost: the worker sends the push again
  if (strikes(self, link_fault_kind::delay)) {
    auto key = self->state.next_key++;
    self->state.answers.emplace(
      key, link_interceptor_state::held_answer{std::move(outcome), promise});
    self->delayed_send(self, active(self, link_fault_kind::delay)->delay,
                       release_atom::value, key);
    return;
  }
  promise.deliver(std::move(outcome));
}

/// Sends a push to the orderer (twice when duplicate strikes) and routes
/// its answer back.
void forward(interceptor_pointer self, gradient_push push,
             outcome_promise promise) {
  const bool twice = strikes(self, link_fault_kind::duplicate);
  auto& orderer = self->state.settings.orderer;
  self->request(orderer, caf::infinite, push_atom::value, push)
    .then(
      [=](push_outcome& outcome) mutable {
        answer(self, std::move(outcome), promise);
      },
      [=](caf::error& error) mutable { promise.deliver(std::move(error)); });
  if (twice)
    self->request(orderer, caf::infinite, push_atom::value, std::move(push))
      .then([](push_outcome&) {}, [](caf::error&) {});
}

/// Holds a push until release_atom with its key arrives after `wait`.
std::uint64_t hold(interceptor_pointer self, gradient_push push,
                   outcome_promise promise, caf::timespan wait) {
  auto key = self->state.next_key++;
  self->state.pushes.emplace(
    key, link_interceptor_state::held_push{std::move(push), promise});
  self->delayed_send(self, wait, release_atom::value, key);
  return key;
}

/// A push from the worker, on its way in.
void arrive(interceptor_pointer self, gradient_push push,
            outcome_promise promise) {
  auto& state = self->state;
  if (strikes(self, link_fault_kind::partition)
      || strikes(self, link_fault_kind::drop))
    return; // lost: the worker sends it again
  if (strikes(self, link_fault_kind::delay)) {
    hold(self, std::move(push), promise,
         active(self, link_fault_kind::delay)->delay);
    return;
  }
  std::optional<link_interceptor_state::held_push> overtaken;
  if (state.reordered) {
    auto held = state.pushes.find(*state.reordered);
    overtaken = std::move(held->second);
    state.pushes.erase(held);
    state.reordered.reset();
  } else if (strikes(self, link_fault_kind::reorder)) {
    state.reordered = hold(self, std::move(push), promise,
                           active(self, link_fault_kind::reorder)->delay);
    return;
  }
  forward(self, std::move(push), promise);
  if (overtaken)
    forward(self, std::move(overtaken->push), overtaken->promise);
}

link_interceptor_actor::behavior_type link_interceptor(interceptor_pointer self,
                                                       link_settings settings) {
  self->state.random = random_source(settings.seed);
  self->state.settings = std::move(settings);
  // The orderer changes when its shard restarts.
  auto orderer = [self] { return self->state.settings.orderer; };
  return {
    [=](push_atom, gradient_push& push) -> caf::result<push_outcome> {
      tally_push(self, push);
      auto promise = self->make_response_promise<push_outcome>();
      arrive(self, std::move(push), promise);
      return promise;
    },
    [=](join_atom, worker_id w) { self->send(orderer(), join_atom::value, w); },
    [=](leave_atom, worker_id w) {
      self->send(orderer(), leave_atom::value, w);
    },
    [=](resize_atom, std::int32_t k) {
      self->send(orderer(), resize_atom::value, k);
    },
    [=](stats_atom) { return self->delegate(orderer(), stats_atom::value); },
    [=](watch_atom, std::uint8_t slot, std::uint64_t received,
        iteration_index iteration, run_monitor_actor watcher) {
      self->send(orderer(), watch_atom::value, slot, received, iteration,
                 std::move(watcher));
    },
    [=](checkpoint_atom) {
      return self->delegate(orderer(), checkpoint_atom::value);
    },
    [=](fault_atom, run_monitor_actor& watcher) {
      self->send(orderer(), fault_atom::value, std::move(watcher));
    },
    [=](route_atom, const caf::actor& restarted) {
      self->state.settings.orderer
        = caf::actor_cast<momentum_orderer_actor>(restarted);
    },
    [=](fault_atom, const link_fault& fault) {
      self->state.faults.push_back(
        {fault, self->clock().now() + fault.duration});
    },
    [=](release_atom, std::uint64_t key) {
      auto& state = self->state;
      if (auto push = state.pushes.find(key); push != state.pushes.end()) {
        auto held = std::move(push->second);
        state.pushes.erase(push);
        if (state.reordered == key)
          state.reordered.reset();
        forward(self, std::move(held.push), held.promise);
      } else if (auto answer = state.answers.find(key);
                 answer != state.answers.end()) {
        auto held = std::move(answer->second);
        state.answers.erase(answer);
        held.promise.deliver(std::move(held.outcome));
      }
    },
  };
}

} // namespace

link_interceptor_actor spawn_link_interceptor(caf::actor_system& system,
                                              link_settings settings) {
  return system.spawn(link_interceptor, std::move(settings));
}

} // namespace ormo::actors
