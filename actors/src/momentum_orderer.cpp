#include "ormo/actors/momentum_orderer.hpp"

#include "momentum_orderer_state.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include <caf/actor_system.hpp>

#include "ormo/actors/checkpoint_store.hpp"
#include "ormo/actors/error_code.hpp"
#include "ormo/actors/shard_checkpoint.hpp"

namespace ormo::actors {

namespace {

void check_watch(momentum_orderer_pointer self);

push_outcome reject(momentum_orderer_pointer self, rejection_reason reason,
                    std::string detail) {
  ++self->state.stats.rejected[reason];
  check_watch(self);
  return {reason, std::move(detail), {}};
}

/// The counters as of now.
orderer_stats current_stats(momentum_orderer_pointer self) {
  auto& state = self->state;
  state.stats.iteration = state.rule->iteration();
  state.stats.iteration_size = state.rule->iteration_size();
  return state.stats;
}

/// Tells each watcher, once, that its count is reached.
void check_watch(momentum_orderer_pointer self) {
  auto& state = self->state;
  for (auto& watch : state.watches) {
    if (!watch.watcher)
      continue;
    bool reached
      = (watch.received > 0 && state.stats.received >= watch.received)
        || (watch.iteration > 0 && state.rule->iteration() >= watch.iteration);
    if (reached)
      self->send(std::exchange(watch.watcher, nullptr), milestone_atom::value,
                 current_stats(self));
  }
}

/// What the server must do after `placed`; `gradient` is the placed one
/// (empty for an early close, whose step has no gradient term). A rule with
/// vectors of its own hands out the vector its step applies to instead: it
/// never changes, so the server reads it where it is (a shard's orderer and
/// server share a process).
parameter_step step_for(const momentum_orderer_state& state,
                        const optim::placement& placed,
                        const optim::checked_gradient& gradient) {
  parameter_step step;
  step.update = placed.offset_form;
  if (step.update.coefficients.uses_gradient())
    step.gradient.values
      = placed.step_vector ? placed.step_vector : gradient.shared_values();
  step.iteration = placed.iteration;
  step.closed_iteration = placed.closed_iteration;
  step.hold_until_close = state.synchronous;
  return step;
}

/// The counters a checkpoint keeps.
shard_counters counters_of(const orderer_stats& stats) {
  shard_counters c;
  c.received = stats.received;
  c.accepted = stats.accepted;
  c.duplicates = stats.duplicates;
  c.rejected = stats.rejected;
  c.loss_sum = stats.loss_sum;
  c.loss_count = stats.loss_count;
  c.delay_sum = stats.delay_sum;
  c.max_delay = stats.max_delay;
  c.accepted_by_worker = stats.accepted_by_worker;
  c.delays = stats.delays;
  return c;
}

/// The counters a checkpoint kept.
orderer_stats stats_of(const shard_counters& c) {
  orderer_stats stats;
  stats.received = c.received;
  stats.accepted = c.accepted;
  stats.duplicates = c.duplicates;
  stats.rejected = c.rejected;
  stats.loss_sum = c.loss_sum;
  stats.loss_count = c.loss_count;
  stats.delay_sum = c.delay_sum;
  stats.max_delay = c.max_delay;
  stats.accepted_by_worker = c.accepted_by_worker;
  stats.delays = c.delays;
  return stats;
}

/// Writes this shard's checkpoint: the orderer's part now, the server's
/// after every step sent before. Calls `written(iteration)` once the file
/// is in place; a failure to write ends the orderer
/// (checkpoint_failed), a failed request with its error, and then
/// `written` is not called.
template <class Written>
void write_checkpoint(momentum_orderer_pointer self, Written written) {
  auto& state = self->state;
  auto cut = std::make_shared<shard_checkpoint>();
  cut->shard = state.checkpointing.shard;
  cut->offset = state.checkpointing.offset;
  cut->rule = state.rule->state();
  cut->ledger = state.ledger.records();
  cut->counters = counters_of(state.stats);
  self->request(state.server, caf::infinite, checkpoint_atom::value)
    .then(
      [=](parameter_snapshot& w, shared_vector& u, shared_vector& base) {
        const auto& settings = self->state.checkpointing;
        cut->parameters = *w.parameters;
        cut->size = cut->parameters.size();
        cut->version = w.version;
        cut->server_iteration = w.iteration;
        if (u.values)
          cut->momentum = *u.values;
        if (base.values)
          cut->base = *base.values;
        checkpoint_store store(settings.directory, settings.keep);
        if (auto saved
            = store.save(checkpoint_store::shard_series(settings.shard),
                         cut->rule.iteration, encode(*cut));
            !saved) {
          self->quit(
            caf::make_error(error_code::checkpoint_failed, saved.message()));
          return;
        }
        written(cut->rule.iteration);
      },
      [=](caf::error& error) { self->quit(error); });
}

/// Writes a checkpoint when iteration `closed` is one to checkpoint at.
/// Call after the step that closed it was sent to the server.
void checkpoint_at(momentum_orderer_pointer self,
                   optim::iteration_index closed) {
  auto every = self->state.checkpointing.every_iterations;
  if (every > 0 && closed % every == 0)
    write_checkpoint(self, [](optim::iteration_index) {});
}

/// Closes the open iteration without a new gradient and has the server apply
/// it, which answers the pushes it holds.
void close_early(momentum_orderer_pointer self) {
  auto& state = self->state;
  auto closed = state.rule->close_iteration();
  if (!closed.closed_iteration)
    return;
  // The server's answer is for the held pushes; nobody waits for this one.
  self
    ->request(state.server, caf::infinite, step_atom::value,
              step_for(state, closed, {}))
    .then([](const push_outcome&) {});
  checkpoint_at(self, closed.iteration);
  check_watch(self);
}

/// Has the server apply `step` and answers the pushing worker with the
/// parameters minus `look_ahead` (what the rule says the worker receives
/// instead of w), computed from the w of this very step.
caf::result<push_outcome>
answer_looking_ahead(momentum_orderer_pointer self, parameter_step step,
                     std::shared_ptr<const Eigen::VectorXf> look_ahead) {
  auto promise = self->make_response_promise<push_outcome>();
  self
    ->request(self->state.server, caf::infinite, step_atom::value,
              std::move(step))
    .then(
      [promise, look_ahead](push_outcome& outcome) mutable {
        if (outcome.accepted()
            && outcome.snapshot.parameters.size()
                 == static_cast<std::size_t>(look_ahead->size()))
          outcome.snapshot.parameters
            = share(*outcome.snapshot.parameters - *look_ahead);
        promise.deliver(std::move(outcome));
      },
      [promise](caf::error& error) mutable { promise.deliver(error); });
  return promise;
}

/// The answer to a push received again: the first decision's. An applied
/// push gets the current parameters, or, under the synchronous reference,
/// waits like the first for the close of its iteration.
caf::result<push_outcome> answer_again(momentum_orderer_pointer self,
                                       const push_ledger::decision& first) {
  auto& state = self->state;
  if (first.rejection != rejection_reason::none)
    return push_outcome{first.rejection, first.detail, {}};
  if (state.synchronous && !first.closed_iteration
      && first.iteration == state.rule->iteration()) {
    parameter_step wait; // moves nothing
    wait.iteration = first.iteration;
    wait.hold_until_close = true;
    return self->delegate(state.server, step_atom::value, std::move(wait));
  }
  auto promise = self->make_response_promise<push_outcome>();
  self->request(state.server, caf::infinite, pull_atom::value)
    .then(
      [promise](parameter_snapshot& snapshot) mutable {
        promise.deliver(push_outcome{{}, {}, std::move(snapshot)});
      },
      [promise](caf::error& error) mutable { promise.deliver(error); });
  return promise;
}

} // namespace

momentum_orderer_actor::behavior_type momentum_orderer(
  momentum_orderer_pointer self, std::shared_ptr<optim::update_rule> rule,
  parameter_server_actor server, shard_checkpointing checkpointing,
  push_ledger ledger, orderer_stats stats) {
  auto& state = self->state;
  state.checkpointing = std::move(checkpointing);
  state.ledger = std::move(ledger);
  state.stats = std::move(stats);
  state.synchronous = rule->holds_pushes_until_close();
  state.rule = std::move(rule);
  // u lives beside w in the server: the rule only validates and plans.
  state.rule->keep_momentum_elsewhere();
  state.server = std::move(server);
  return {
    [=](push_atom, gradient_push& push) -> caf::result<push_outcome> {
      auto& state = self->state;
      auto seen = state.ledger.find(push.worker, push.sequence);
      if (seen.what == push_ledger::standing::repeat) {
        ++state.stats.duplicates;
        return answer_again(self, *seen.first);
      }
      ++state.stats.received;
      if (seen.what == push_ledger::standing::unknown_worker)
        return reject(self, rejection_reason::unknown_worker,
                      "worker " + std::to_string(push.worker)
                        + " is not a member");
      if (seen.what == push_ledger::standing::too_old)
        return reject(self, rejection_reason::duplicate_sequence,
                      push.sequence == 0
                        ? "sequence 0 of worker " + std::to_string(push.worker)
                            + " numbers no push (they start at 1)"
                        : "sequence " + std::to_string(push.sequence)
                            + " of worker " + std::to_string(push.worker)
                            + " is older than the last "
                            + std::to_string(push_ledger::window)
                            + " it pushed");
      auto decide = [&](rejection_reason reason, std::string detail) {
        state.ledger.record(push.worker, push.sequence,
                            {reason, detail, state.rule->iteration(), false});
        return reject(self, reason, std::move(detail));
      };
      if (push.first_non_finite >= 0 && push.gradient.finite())
        return decide(rejection_reason::non_finite_value,
                      "gradient value " + std::to_string(push.first_non_finite)
                        + " (in another shard's slice) is not finite");
      auto placed
        = state.rule->place(push.gradient, push.computed_at, push.worker);
      if (!placed.accepted())
        return decide(placed.rejection, std::move(placed.detail));
      state.ledger.record(push.worker, push.sequence,
                          {rejection_reason::none,
                           {},
                           placed.iteration,
                           placed.closed_iteration});
      auto& stats = state.stats;
      ++stats.accepted;
      ++stats.accepted_by_worker[push.worker];
      stats.loss_sum += push.loss;
      ++stats.loss_count;
      stats.delay_sum += static_cast<double>(placed.delay);
      stats.max_delay = std::max(stats.max_delay, placed.delay);
      ++stats.delays[placed.delay];
      check_watch(self);
      auto step = step_for(state, placed, push.gradient);
      auto answer
        = placed.look_ahead
            ? answer_looking_ahead(self, std::move(step),
                                   std::move(placed.look_ahead))
            : self->delegate(state.server, step_atom::value, std::move(step));
      if (placed.closed_iteration)
        checkpoint_at(self, placed.iteration);
      return answer;
    },
    [=](join_atom, worker_id worker) {
      // A rule with a momentum per worker creates it (d floats).
      self->state.ledger.join(worker);
      self->state.rule->join(worker);
    },
    [=](leave_atom, worker_id worker) {
      self->state.ledger.leave(worker);
      self->state.rule->leave(worker);
    },
    [=](resize_atom, std::int32_t iteration_size) {
      auto& state = self->state;
      if (iteration_size < 1)
        return;
      state.rule->set_iteration_size(iteration_size);
      // Asynchronous rules close at the next arrival; the synchronous
      // reference gets none (its workers wait for this close), so it closes
      // now if K shrank to what the iteration holds.
      if (state.synchronous)
        close_early(self);
    },
    [=](watch_atom, std::uint8_t slot, std::uint64_t received,
        iteration_index iteration, run_monitor_actor watcher) {
      if (slot >= watch_slots)
        return;
      self->state.watches[slot] = {received, iteration, std::move(watcher)};
      check_watch(self);
    },
    [=](fault_atom, run_monitor_actor& watcher) {
      self->send(watcher, milestone_atom::value, current_stats(self));
      self->send_exit(self->state.server, caf::exit_reason::kill);
      self->quit(caf::exit_reason::kill);
    },
    [=](route_atom, const caf::actor&) {
      // For link interceptors only.
    },
    [=](checkpoint_atom) -> caf::result<iteration_index> {
      auto promise = self->make_response_promise<iteration_index>();
      write_checkpoint(self, [promise](iteration_index iteration) {
        auto answer = promise; // deliver is not const
        answer.deliver(iteration);
      });
      return promise;
    },
    [=](stats_atom) { return current_stats(self); },
  };
}

momentum_orderer_actor spawn_momentum_orderer(
  caf::actor_system& system, std::shared_ptr<optim::update_rule> rule,
  parameter_server_actor server, shard_checkpointing checkpointing,
  const shard_checkpoint* restored) {
  push_ledger ledger;
  orderer_stats stats;
  if (restored != nullptr) {
    ledger = push_ledger(restored->ledger);
    stats = stats_of(restored->counters);
  }
  return system.spawn(momentum_orderer, std::move(rule), std::move(server),
                      std::move(checkpointing), std::move(ledger),
                      std::move(stats));
}

} // namespace ormo::actors
