#include "ormo/actors/worker.hpp"

#include "worker_state.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <string>

#include <caf/actor_system.hpp>

#include "ormo/actors/error_code.hpp"
#include "ormo/sole_owner.hpp"

namespace ormo::actors {

namespace {

void pull(worker_pointer self, std::size_t shard);
void compute(worker_pointer self);
void push(worker_pointer self);

void fail(worker_pointer self, const caf::error& error) {
  self->quit(error);
}

/// One reply of the current round is in: when it was the last, pull what is
/// stale or compute on what is fresh.
void reply_arrived(worker_pointer self) {
  auto& state = self->state;
  if (--state.awaiting != 0)
    return;
  if (state.leaving) {
    self->quit();
    return;
  }
  if (!state.stale_shards.empty()) {
    auto stale = std::move(state.stale_shards);
    state.stale_shards.clear();
    state.awaiting = stale.size();
    ++state.rounds;
    for (auto shard : stale)
      pull(self, shard);
    return;
  }
  compute(self);
}

/// All shards answered the push: tell the supervisor when they disagreed.
void report_disagreement(worker_pointer self) {
  auto& state = self->state;
  const auto& outcomes = state.outcomes;
  auto applied = std::count(outcomes.begin(), outcomes.end(),
                            rejection_reason::none);
  if (applied == 0 || static_cast<std::size_t>(applied) == outcomes.size()
      || !state.supervisor)
    return;
  self->send(state.supervisor, partial_atom::value, outcomes);
}

void pull(worker_pointer self, std::size_t shard) {
  auto& state = self->state;
  self->request(state.shards[shard].server, caf::infinite, pull_atom::value)
    .then(
      [=](parameter_snapshot& snapshot) {
        auto& state = self->state;
        if (static_cast<Eigen::Index>(snapshot.parameters.size())
            != state.shards[shard].size) {
          fail(self, caf::make_error(error_code::invalid_reply,
                                     "shard " + std::to_string(shard)
                                       + " sent a snapshot of the wrong size"));
          return;
        }
        state.snapshots[shard] = std::move(snapshot);
        reply_arrived(self);
      },
      [=](caf::error& error) { fail(self, error); });
}

void compute(worker_pointer self) {
  auto& state = self->state;
  const auto shard_count = state.shards.size();
  if (!state.gradient || !sole_owner(state.gradient))
    state.gradient = std::make_shared<Eigen::VectorXf>(
      static_cast<Eigen::Index>(state.source->dimension()));
  if (shard_count > 1)
    for (std::size_t s = 0; s < shard_count; ++s)
      state.assembled.segment(state.shards[s].offset, state.shards[s].size)
        = *state.snapshots[s].parameters;
  const Eigen::VectorXf& parameters
    = shard_count == 1 ? *state.snapshots[0].parameters : state.assembled;
  auto start = std::chrono::steady_clock::now();
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
  auto measured = std::chrono::steady_clock::now() - start;
  for (std::size_t s = 0; s < shard_count; ++s) {
    state.computed_at[s] = state.snapshots[s].iteration;
    state.snapshots[s].parameters.values.reset();
  }
  caf::timespan delay{0};
  if (state.timing.virtual_compute)
    delay = std::chrono::duration_cast<caf::timespan>(
      *state.timing.virtual_compute * state.timing.slowdown
      * std::exp(state.timing.jitter * state.random.normal()));
  else if (state.timing.slowdown > 1)
    delay = std::chrono::duration_cast<caf::timespan>(
      measured * (state.timing.slowdown - 1));
  if (delay.count() > 0)
    self->delayed_send(self, delay, push_atom::value);
  else
    push(self);
}

void push(worker_pointer self) {
  auto& state = self->state;
  const auto shard_count = state.shards.size();
  ++state.sequence;
  state.awaiting = shard_count;
  state.outcomes.assign(shard_count, rejection_reason::none);
  state.outcomes_awaited = shard_count;
  ++state.rounds;
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
  for (std::size_t s = 0; s < shard_count; ++s) {
    const auto& route = state.shards[s];
    gradient_push message;
    message.worker = state.id;
    message.sequence = state.sequence;
    message.computed_at = state.computed_at[s];
    message.gradient = std::move(slices[s]);
    message.first_non_finite = first_non_finite;
    message.loss = state.loss;
    self
      ->request(route.orderer, caf::infinite, push_atom::value,
                std::move(message))
      .then(
        [=](push_outcome& outcome) {
          auto& state = self->state;
          if (outcome.accepted()
              && static_cast<Eigen::Index>(outcome.snapshot.parameters.size())
                   == state.shards[s].size)
            state.snapshots[s] = std::move(outcome.snapshot);
          else
            state.stale_shards.push_back(s);
          state.outcomes[s] = outcome.rejection;
          if (--state.outcomes_awaited == 0)
            report_disagreement(self);
          reply_arrived(self);
        },
        [=](caf::error& error) { fail(self, error); });
  }
}

} // namespace

worker_actor::behavior_type
worker(worker_pointer self, worker_id id, std::vector<shard_route> shards,
       std::shared_ptr<model::gradient_source> source, worker_timing timing,
       supervisor_actor supervisor) {
  auto& state = self->state;
  state.id = id;
  state.supervisor = std::move(supervisor);
  state.shards = std::move(shards);
  state.source = std::move(source);
  state.timing = timing;
  state.random = random_source(timing.seed);
  state.snapshots.resize(state.shards.size());
  state.computed_at.resize(state.shards.size());
  if (state.shards.size() > 1)
    state.assembled.resize(
      static_cast<Eigen::Index>(state.source->dimension()));
  return {
    [=](start_atom) {
      auto& state = self->state;
      state.awaiting = state.shards.size();
      ++state.rounds;
      for (std::size_t s = 0; s < state.shards.size(); ++s)
        pull(self, s);
      self->delayed_send(self, state.timing.request_timeout, tick_atom::value);
    },
    [=](push_atom) { push(self); },
    [=](leave_atom) { self->state.leaving = true; },
    [=](tick_atom) {
      auto& state = self->state;
      if (state.awaiting > 0 && state.rounds == state.rounds_at_tick) {
        auto limit = std::chrono::duration_cast<std::chrono::seconds>(
          state.timing.request_timeout);
        fail(self, caf::make_error(caf::sec::request_timeout,
                                   "no answer from the shards within "
                                     + std::to_string(limit.count()) + " s"));
        return;
      }
      state.rounds_at_tick = state.rounds;
      self->delayed_send(self, state.timing.request_timeout, tick_atom::value);
    },
  };
}

worker_actor spawn_worker(caf::actor_system& system, worker_id id,
                          std::vector<shard_route> shards,
                          std::shared_ptr<model::gradient_source> source,
                          worker_timing timing, supervisor_actor supervisor) {
  auto handle = system.spawn(worker, id, std::move(shards), std::move(source),
                             timing, std::move(supervisor));
  caf::anon_send(handle, start_atom::value);
  return handle;
}

} // namespace ormo::actors
