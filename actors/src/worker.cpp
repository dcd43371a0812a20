#include "ormo/actors/worker.hpp"

#include "worker_state.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <exception>
#include <functional>
#include <iterator>
#include <string>
#include <utility>

#include <caf/actor_system.hpp>

#include "ormo/actors/error_code.hpp"
#include "ormo/actors/push_ledger.hpp"
#include "ormo/sole_owner.hpp"

namespace ormo::actors {

namespace {

/// `span` as a timespan, about 146 years when longer (a cast of an
/// out-of-range double is undefined).
template <class Rep, class Period>
caf::timespan saturated(std::chrono::duration<Rep, Period> span) {
  using seconds = std::chrono::duration<double>;
  // Half the range: no rounding near it can overflow.
  const auto longest
    = std::chrono::duration_cast<seconds>(caf::timespan::max()).count() / 2;
  const auto wanted = std::chrono::duration_cast<seconds>(span).count();
  if (!(wanted < longest)) // NaN too
    return std::chrono::duration_cast<caf::timespan>(seconds{longest});
  return std::chrono::duration_cast<caf::timespan>(seconds{wanted});
}

void pull(worker_pointer self, std::size_t shard);
void pulled(worker_pointer self, std::size_t shard,
            parameter_snapshot& snapshot);
void pull_failed(worker_pointer self, std::size_t shard, std::uint64_t route,
                 const caf::error& error);
void try_compute(worker_pointer self);
void compute(worker_pointer self);
void push(worker_pointer self);

/// Ends the worker with `error`, telling its supervisor how many pushes
/// had not every answer yet (lost to it).
void fail(worker_pointer self, const caf::error& error) {
  auto& state = self->state;
  if (!state.pushes.empty() && state.supervisor)
    self->send(state.supervisor, lost_atom::value,
               static_cast<std::uint64_t>(state.pushes.size()));
  state.pushes.clear();
  state.ended = true;
  self->quit(error);
}

/// While the worker is frozen, keeps `handle` to run at the thaw (in
/// arrival order) and returns true; otherwise returns false.
template <class Handle>
bool deferred(worker_pointer self, Handle&& handle) {
  if (!self->state.frozen)
    return false;
  self->state.deferred.emplace_back(std::forward<Handle>(handle));
  return true;
}

/// Keeps the snapshot a push answer brought as shard `shard`'s newest
/// parameters unless the worker holds a newer version (answers from one
/// server arrive in its order, so this keeps the later of two).
void take_snapshot(worker_pointer self, std::size_t shard,
                   parameter_snapshot& snapshot) {
  auto& held = self->state.snapshots[shard];
  if (snapshot.version >= held.version)
    held = std::move(snapshot);
}

/// A reply was handled: a leaving worker quits once nothing is awaited or
/// in progress, a paused one answers its pause then; the others compute
/// when they may.
void reply_handled(worker_pointer self) {
  auto& state = self->state;
  const bool idle = state.awaiting == 0 && !state.computing;
  if (state.leaving) {
    if (idle) {
      state.ended = true;
      self->quit();
    }
    return;
  }
  if (state.paused) {
    if (idle && state.pause.pending())
      state.pause.deliver(
        worker_progress{state.id, 0, state.sequence, state.batches});
    return;
  }
  try_compute(self);
}

/// Every shard answered a push: tell the supervisor when they disagreed.
void report_disagreement(worker_pointer self,
                         const std::vector<rejection_reason>& outcomes) {
  auto& state = self->state;
  auto applied
    = std::count(outcomes.begin(), outcomes.end(), rejection_reason::none);
  if (applied == 0 || static_cast<std::size_t>(applied) == outcomes.size()
      || !state.supervisor)
    return;
  self->send(state.supervisor, partial_atom::value, outcomes);
}

/// Shard `shard` answered the push numbered `sequence`; a second answer
/// (to a slice sent again) changes nothing.
void push_answered(worker_pointer self, std::uint64_t sequence,
                   std::size_t shard, push_outcome& outcome) {
  auto& state = self->state;
  auto record = std::find_if(
    state.pushes.begin(), state.pushes.end(),
    [sequence](const push_in_flight& p) { return p.sequence == sequence; });
  if (record == state.pushes.end() || record->answered[shard]) {
    if (sequence > state.sequence)
      fail(self, caf::make_error(error_code::invalid_reply,
                                 "shard " + std::to_string(shard)
                                   + " answered push "
                                   + std::to_string(sequence)
                                   + ", which was never sent"));
    return;
  }
  record->answered[shard] = true;
  ++state.replies;
  --state.awaiting;
  if (outcome.accepted()
      && static_cast<Eigen::Index>(outcome.snapshot.parameters.size())
           == state.shards[shard].size) {
    take_snapshot(self, shard, outcome.snapshot);
  } else {
    record->stale_shards.push_back(shard);
    state.stale[shard] = true;
  }
  record->outcomes[shard] = outcome.rejection;
  if (--record->awaited == 0) {
    report_disagreement(self, record->outcomes);
    auto stale = std::move(record->stale_shards);
    state.pushes.erase(record);
    if (!state.leaving)
      for (auto s : stale)
        // Not when a pull answered since the rejection.
        if (state.stale[s] && !state.pulling[s])
          pull(self, s);
  }
  reply_handled(self);
}

/// Whether `error` says that shard `shard`, as routed when the request
/// was sent (its `route` count), was down; the shard then counts as down
/// until its restarted route comes, unless that came already.
bool bounced(worker_pointer self, std::size_t shard, std::uint64_t route,
             const caf::error& error) {
  if (error != caf::sec::request_receiver_down)
    return false;
  auto& state = self->state;
  if (state.route_changes[shard] == route)
    state.shard_down[shard] = true;
  return true;
}

void pull(worker_pointer self, std::size_t shard) {
  auto& state = self->state;
  const auto route = state.route_changes[shard];
  state.pulling[shard] = true;
  ++state.pulls_awaited;
  ++state.awaiting;
  self->request(state.shards[shard].server, caf::infinite, pull_atom::value)
    .then(
      [=](parameter_snapshot& snapshot) {
        if (!deferred(self, [=]() mutable { pulled(self, shard, snapshot); }))
          pulled(self, shard, snapshot);
      },
      [=](caf::error& error) {
        if (!deferred(self, [=] { pull_failed(self, shard, route, error); }))
          pull_failed(self, shard, route, error);
      });
}

/// A pull of shard `shard` (routed as `route` counted) failed: the worker
/// ends, unless the shard was down (see bounced): then it pulls again from
/// a restarted shard's route, now or when that comes.
void pull_failed(worker_pointer self, std::size_t shard, std::uint64_t route,
                 const caf::error& error) {
  if (!bounced(self, shard, route, error)) {
    fail(self, error);
    return;
  }
  auto& state = self->state;
  --state.awaiting;
  --state.pulls_awaited;
  state.pulling[shard] = false;
  state.stale[shard] = true; // no computing on it before a pull
  if (state.route_changes[shard] != route)
    pull(self, shard);
}

/// Shard `shard` answered a pull.
void pulled(worker_pointer self, std::size_t shard,
            parameter_snapshot& snapshot) {
  auto& state = self->state;
  if (static_cast<Eigen::Index>(snapshot.parameters.size())
      != state.shards[shard].size) {
    fail(self, caf::make_error(error_code::invalid_reply,
                               "shard " + std::to_string(shard)
                                 + " sent a snapshot of the wrong size"));
    return;
  }
  ++state.replies;
  --state.awaiting;
  --state.pulls_awaited;
  state.pulling[shard] = false;
  state.stale[shard] = false;
  // The server's state when it answered: newer than anything held.
  state.snapshots[shard] = std::move(snapshot);
  reply_handled(self);
}

/// Computes the next gradient when the worker may: not leaving or paused,
/// not already
/// computing, fewer than pushes_in_flight pushes unanswered, no pull awaited
/// and parameters for every shard that are not stale.
void try_compute(worker_pointer self) {
  auto& state = self->state;
  if (state.leaving || state.paused || state.computing
      || state.pushes.size()
           >= static_cast<std::size_t>(state.timing.pushes_in_flight)
      || state.pulls_awaited > 0)
    return;
  // The next push's number stays less than a ledger's window above the
  // oldest unanswered one: an orderer then still holds that one's decision
  // or knows it undecided, however often it must be sent again.
  if (!state.pushes.empty()
      && state.sequence + 1 - state.pushes.front().sequence
           >= push_ledger::window)
    return;
  bool ready = true;
  for (std::size_t s = 0; s < state.shards.size(); ++s) {
    if (state.stale[s]) {
      ready = false;
    } else if (!state.snapshots[s].parameters.values) {
      // Released and no answer brought new ones (not expected): pull.
      pull(self, s);
      ready = false;
    }
  }
  if (ready)
    compute(self);
}

/// The CPU time the calling thread has used: what a computation cost,
/// without the time the thread waited for a core (on a loaded machine a
/// wall-clock measure made slowed workers wait for others' work too).
std::chrono::nanoseconds thread_cpu_time() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return std::chrono::seconds(now.tv_sec)
         + std::chrono::nanoseconds(now.tv_nsec);
}

void compute(worker_pointer self) {
  auto& state = self->state;
  const auto shard_count = state.shards.size();
  if (state.timing.gradients) {
    state.gradient = state.timing.gradients->take();
  } else if (!state.gradient || !sole_owner(state.gradient)) {
    // Pipelining: the last gradient may still be on its way; a free spare
    // saves an allocation (and its page faults) per gradient.
    auto& spares = state.spare_gradients;
    auto spare = std::find_if(spares.begin(), spares.end(),
                              [](auto& g) { return sole_owner(g); });
    if (spare != spares.end()) {
      std::swap(*spare, state.gradient);
    } else {
      if (state.gradient
          && spares.size() + 1
               < static_cast<std::size_t>(state.timing.pushes_in_flight))
        spares.push_back(std::move(state.gradient));
      state.gradient = std::make_shared<Eigen::VectorXf>(
        static_cast<Eigen::Index>(state.source->dimension()));
    }
  }
  if (shard_count > 1)
    for (std::size_t s = 0; s < shard_count; ++s)
      state.assembled.segment(state.shards[s].offset, state.shards[s].size)
        = *state.snapshots[s].parameters;
  const Eigen::VectorXf& parameters
    = shard_count == 1 ? *state.snapshots[0].parameters : state.assembled;
  const auto now = self->clock().now();
  if (now < state.fail_until
      && state.fault_random.uniform() < state.fail_probability) {
    fail(self, caf::make_error(error_code::gradient_failed,
                               "declared fault: the gradient function "
                               "failed"));
    return;
  }
  const double slowdown
    = state.timing.slowdown * (now < state.slow_until ? state.slow_factor : 1);
  const auto start = thread_cpu_time();
  ++state.batches;
  try {
    state.loss = state.source->compute(parameters, *state.gradient);
  } catch (const std::exception& e) {
    fail(self, caf::make_error(error_code::gradient_failed, e.what()));
    return;
  } catch (...) {
    fail(self,
         caf::make_error(error_code::gradient_failed, "unknown exception"));
    return;
  }
  const auto measured = thread_cpu_time() - start;
  // After this push the worker computes again before an answer comes only
  // when fewer than pushes_in_flight pushes are then unanswered.
  const bool release = state.pushes.size() + 1 >= static_cast<std::size_t>(
                         state.timing.pushes_in_flight);
  for (std::size_t s = 0; s < shard_count; ++s) {
    state.computed_at[s] = state.snapshots[s].iteration;
    if (release)
      state.snapshots[s].parameters.values.reset();
  }
  state.computing = true;
  caf::timespan delay{0};
  if (state.timing.virtual_compute)
    delay = saturated(*state.timing.virtual_compute * slowdown
                      * std::exp(state.timing.jitter * state.random.normal()));
  else if (slowdown > 1)
    delay = saturated(measured * (slowdown - 1));
  if (delay.count() > 0)
    self->delayed_send(self, delay, push_atom::value);
  else
    push(self);
}

void send_slice(worker_pointer self, std::uint64_t sequence, std::size_t shard,
                gradient_push message);

/// Sends the slice for `shard` of unanswered push `sequence` again, if the
/// worker keeps it; false if not.
bool resend_slice(worker_pointer self, std::uint64_t sequence,
                  std::size_t shard);

/// The slice of push `sequence` to shard `shard` (routed as `route`
/// counted) failed: the worker ends, unless the shard was down (see
/// bounced): then the slice goes to a restarted shard's route, now or when
/// that comes (a worker drawing from a gradient_pool keeps no slice, and
/// its shards are never restarted).
void push_failed(worker_pointer self, std::uint64_t sequence, std::size_t shard,
                 std::uint64_t route, const caf::error& error) {
  if (!bounced(self, shard, route, error))
    fail(self, error);
  else if (self->state.route_changes[shard] != route)
    resend_slice(self, sequence, shard);
}

/// Sends push `sequence`'s slice `message` to shard `shard`.
void send_slice(worker_pointer self, std::uint64_t sequence, std::size_t shard,
                gradient_push message) {
  const auto route = self->state.route_changes[shard];
  self
    ->request(self->state.shards[shard].orderer, caf::infinite,
              push_atom::value, message)
    .then(
      [=](push_outcome& outcome) {
        if (!deferred(self, [=]() mutable {
              push_answered(self, sequence, shard, outcome);
            }))
          push_answered(self, sequence, shard, outcome);
      },
      [=](caf::error& error) {
        if (!deferred(
              self, [=] { push_failed(self, sequence, shard, route, error); }))
          push_failed(self, sequence, shard, route, error);
      });
}

bool resend_slice(worker_pointer self, std::uint64_t sequence,
                  std::size_t shard) {
  for (const auto& record : self->state.pushes)
    if (record.sequence == sequence) {
      // Unanswered and kept (see worker_timing::gradients).
      if (record.answered[shard] || record.slices[shard].gradient.size() == 0)
        return false;
      send_slice(self, sequence, shard, record.slices[shard]);
      return true;
    }
  return false;
}

/// Sends again every slice unanswered for retry_after, and tells the
/// supervisor how many.
void send_again(worker_pointer self) {
  auto& state = self->state;
  auto now = self->clock().now();
  std::uint64_t resent = 0;
  for (auto& record : state.pushes)
    for (std::size_t s = 0; s < record.slices.size(); ++s)
      if (!record.answered[s] && !state.shard_down[s]
          && now - record.sent_at[s] >= state.timing.retry_after
          && resend_slice(self, record.sequence, s)) {
        record.sent_at[s] = now;
        ++resent;
      }
  if (resent > 0 && state.supervisor)
    self->send(state.supervisor, retry_atom::value, resent);
}

/// Asked to pause: computes nothing new and answers the pause once every
/// push is answered.
void pause(worker_pointer self) {
  self->state.paused = true;
  reply_handled(self);
}

/// After a pause: the newest parameters, as a worker resumed from a
/// checkpoint takes them, then on.
void resume(worker_pointer self) {
  auto& state = self->state;
  if (!std::exchange(state.paused, false))
    return;
  for (std::size_t s = 0; s < state.shards.size(); ++s)
    if (!state.pulling[s])
      pull(self, s);
}

/// Shard `shard` restarted with `server` and `orderer` (null: the worker
/// keeps its interceptor). Its unanswered slices go there at once, and its
/// parameters are pulled again.
void take_route(worker_pointer self, std::uint64_t shard,
                parameter_server_actor server, momentum_orderer_actor orderer) {
  auto& state = self->state;
  if (shard >= state.shards.size())
    return;
  auto& route = state.shards[shard];
  route.server = std::move(server);
  if (orderer)
    route.orderer = std::move(orderer);
  ++state.route_changes[shard];
  state.shard_down[shard] = false;
  auto now = self->clock().now();
  std::uint64_t resent = 0;
  for (auto& record : state.pushes)
    if (resend_slice(self, record.sequence, shard)) {
      record.sent_at[shard] = now;
      ++resent;
    }
  if (resent > 0 && state.supervisor)
    self->send(state.supervisor, retry_atom::value, resent);
  if (!state.pulling[shard]) {
    state.stale[shard] = true;
    pull(self, shard);
  }
}

void push(worker_pointer self) {
  auto& state = self->state;
  const auto shard_count = state.shards.size();
  state.computing = false;
  ++state.sequence;
  state.awaiting += shard_count;
  // Checked here, on the worker's thread, once per slice: the servers trust
  // the proof and read the gradient only in their update passes.
  std::vector<optim::checked_gradient> slices;
  std::int64_t first_non_finite = -1;
  for (std::size_t s = 0; s < shard_count; ++s) {
    const auto& route = state.shards[s];
    if (shard_count == 1)
      slices.push_back(optim::checked_gradient::check(state.gradient));
    else
      slices.push_back(
        optim::checked_gradient::check(std::make_shared<const Eigen::VectorXf>(
          state.gradient->segment(route.offset, route.size))));
    if (first_non_finite < 0 && !slices.back().finite())
      first_non_finite
        = static_cast<std::int64_t>(static_cast<std::size_t>(route.offset)
                                    + slices.back().first_non_finite());
  }
  const auto sequence = state.sequence;
  push_in_flight record;
  record.sequence = sequence;
  for (std::size_t s = 0; s < shard_count; ++s) {
    gradient_push message;
    message.worker = state.id;
    message.sequence = sequence;
    message.computed_at = state.computed_at[s];
    message.gradient = std::move(slices[s]);
    message.first_non_finite = first_non_finite;
    message.loss = state.loss;
    record.slices.push_back(std::move(message));
  }
  record.outcomes.assign(shard_count, rejection_reason::none);
  record.answered.assign(shard_count, false);
  record.sent_at.assign(shard_count, self->clock().now());
  record.awaited = shard_count;
  state.pushes.push_back(std::move(record));
  for (std::size_t s = 0; s < shard_count; ++s)
    send_slice(self, sequence, s, state.pushes.back().slices[s]);
  if (state.timing.gradients) { // nothing is lost: keep no copy
    for (auto& slice : state.pushes.back().slices)
      slice.gradient = {};
    state.gradient.reset();
  }
  try_compute(self);
}

/// The watchdog's tick: ends the worker when requests are awaited and no
/// answer came since the last tick.
void watchdog(worker_pointer self) {
  auto& state = self->state;
  if (state.awaiting > 0 && state.replies == state.replies_at_tick) {
    // "0.2 s", not "0 s", for a timeout below a second.
    char limit[32];
    std::snprintf(
      limit, sizeof limit, "%g",
      std::chrono::duration<double>(state.timing.request_timeout).count());
    fail(self, caf::make_error(caf::sec::request_timeout,
                               "no answer from the shards within "
                                 + std::string{limit} + " s"));
    return;
  }
  state.replies_at_tick = state.replies;
  self->delayed_send(self, state.timing.request_timeout, tick_atom::value);
}

/// The retry timer: sends again what is unanswered for too long.
void retry(worker_pointer self) {
  send_again(self);
  self->delayed_send(self, self->state.timing.retry_after, retry_atom::value);
}

/// The end of a freeze (unless a later one lasts longer): runs what
/// arrived meanwhile, in order, until one of them ends or freezes it again.
void thaw(worker_pointer self) {
  auto& state = self->state;
  if (!state.frozen || self->clock().now() < state.frozen_until)
    return;
  state.frozen = false;
  auto pending = std::move(state.deferred);
  state.deferred.clear();
  for (std::size_t k = 0; k < pending.size(); ++k) {
    if (state.ended)
      return;
    if (state.frozen) {
      state.deferred.insert(state.deferred.begin(),
                            std::make_move_iterator(pending.begin() + k),
                            std::make_move_iterator(pending.end()));
      return;
    }
    pending[k]();
  }
}

/// A declared fault strikes: kill ends the worker at once (telling its
/// supervisor of the pushes it leaves); fail_gradient and slow hold for
/// their duration; freeze holds every message and answer until it is over
/// (a timer of its own, a freeze of duration 0, ends it).
void on_fault(worker_pointer self, const worker_fault& fault) {
  auto& state = self->state;
  const auto now = self->clock().now();
  switch (fault.kind) {
    case worker_fault_kind::kill:
      fail(self, caf::make_error(error_code::fault_injected,
                                 "killed by a declared fault"));
      break;
    case worker_fault_kind::fail_gradient:
      state.fail_until = now + fault.duration;
      state.fail_probability = fault.probability;
      state.fault_random
        = random_source(random_source::derive_seed(fault.seed, state.id));
      break;
    case worker_fault_kind::slow:
      state.slow_until = now + fault.duration;
      state.slow_factor = fault.factor;
      break;
    case worker_fault_kind::freeze: {
      state.frozen = true;
      state.frozen_until = std::max(state.frozen_until, now + fault.duration);
      worker_fault end;
      end.kind = worker_fault_kind::freeze;
      end.slot = fault.slot;
      self->delayed_send(self, fault.duration, fault_atom::value, end);
      break;
    }
  }
}

} // namespace

worker_actor::behavior_type
worker(worker_pointer self, worker_id id, std::vector<shard_route> shards,
       std::shared_ptr<model::gradient_source> source, worker_timing timing,
       supervisor_actor supervisor, worker_progress from) {
  auto& state = self->state;
  state.id = id;
  state.sequence = from.sequence;
  state.batches = from.batches;
  state.to_skip = from.batches;
  state.supervisor = std::move(supervisor);
  state.shards = std::move(shards);
  state.source = std::move(source);
  state.timing = timing;
  state.random = random_source(timing.seed);
  state.snapshots.resize(state.shards.size());
  state.computed_at.resize(state.shards.size());
  state.stale.assign(state.shards.size(), false);
  state.shard_down.assign(state.shards.size(), false);
  state.route_changes.assign(state.shards.size(), 0);
  state.pulling.assign(state.shards.size(), false);
  if (state.shards.size() > 1)
    state.assembled.resize(
      static_cast<Eigen::Index>(state.source->dimension()));
  return {
    [=](start_atom) {
      auto& state = self->state;
      if (!state.source->skip(std::exchange(state.to_skip, 0))) {
        fail(self, caf::make_error(error_code::gradient_failed,
                                   "this gradient source cannot skip to "
                                   "where a resumed run was"));
        return;
      }
      if (state.timing.virtual_compute)
        for (std::uint64_t k = 0; k < state.batches; ++k)
          state.random.normal(); // the jitter drawn before
      for (std::size_t s = 0; s < state.shards.size(); ++s)
        pull(self, s);
      self->delayed_send(self, state.timing.request_timeout, tick_atom::value);
      if (state.timing.retry_after < state.timing.request_timeout)
        self->delayed_send(self, state.timing.retry_after, retry_atom::value);
    },
    [=](push_atom) {
      if (!deferred(self, [=] { push(self); }))
        push(self);
    },
    [=](leave_atom) {
      if (!deferred(self, [=] { self->state.leaving = true; }))
        self->state.leaving = true;
    },
    [=](tick_atom) {
      if (!deferred(self, [=] { watchdog(self); }))
        watchdog(self);
    },
    [=](retry_atom) {
      if (!deferred(self, [=] { retry(self); }))
        retry(self);
    },
    [=](fault_atom, const worker_fault& fault) {
      if (fault.kind == worker_fault_kind::freeze
          && fault.duration.count() <= 0)
        thaw(self); // its own timer
      else if (!deferred(self, [=] { on_fault(self, fault); }))
        on_fault(self, fault);
    },
    [=](stats_atom) -> caf::result<std::uint64_t> {
      if (!self->state.frozen)
        return self->state.sequence;
      auto promise = self->make_response_promise<std::uint64_t>();
      self->state.deferred.emplace_back(
        [=]() mutable { promise.deliver(self->state.sequence); });
      return promise;
    },
    [=](pause_atom) -> caf::result<worker_progress> {
      auto& state = self->state;
      state.pause = self->make_response_promise<worker_progress>();
      auto answer = state.pause;
      if (!deferred(self, [=] { pause(self); }))
        pause(self);
      return answer;
    },
    [=](route_atom, std::uint64_t shard, parameter_server_actor& server,
        momentum_orderer_actor& orderer) {
      if (!deferred(self, [=] { take_route(self, shard, server, orderer); }))
        take_route(self, shard, std::move(server), std::move(orderer));
    },
    [=](resume_atom) {
      if (!deferred(self, [=] { resume(self); }))
        resume(self);
    },
  };
}

worker_actor spawn_worker(caf::actor_system& system, worker_id id,
                          std::vector<shard_route> shards,
                          std::shared_ptr<model::gradient_source> source,
                          worker_timing timing, supervisor_actor supervisor) {
  auto handle = system.spawn(worker, id, std::move(shards), std::move(source),
                             timing, std::move(supervisor), worker_progress{});
  caf::anon_send(handle, start_atom::value);
  return handle;
}

} // namespace ormo::actors
