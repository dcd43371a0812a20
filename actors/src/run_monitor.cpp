#include "ormo/actors/run_monitor.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>

#include "ormo/actors/checkpoint_store.hpp"

namespace ormo::actors {

namespace {

struct monitor_state {
  run_monitor_settings settings;
  std::optional<run_policy> policy;
  caf::actor_clock::time_point start;
  /// When the workers were started (after the initial evaluation), and when
  /// the counts were taken: the window the throughput is measured over.
  caf::actor_clock::time_point training_start;
  caf::actor_clock::time_point counts_time;
  std::chrono::steady_clock::time_point wall_start;
  std::chrono::steady_clock::time_point last_progress;
  /// Each shard's latest counters (index of its route), and the latest
  /// membership: what the whole counts are folded from.
  std::vector<orderer_stats> shard_counts;
  membership_stats membership;
  bool evaluating = false;
  /// When the next tick is due (a resumed run keeps the phase).
  caf::actor_clock::time_point next_tick;
  /// Checkpoints (deterministic mode): the iteration index of the next,
  /// whether one is being taken, and the paused run while an evaluation
  /// in progress is awaited.
  optim::iteration_index next_checkpoint = 0;
  bool checkpointing = false;
  std::optional<paused_run> paused;
  /// Shards restarted, and the gradients they had decided after the
  /// checkpoint they restarted from.
  std::uint32_t shard_restarts = 0;
  /// By shard: its keeper was asked to restart it, no answer yet (downs of
  /// its old actors are then no news).
  std::vector<bool> awaiting_restart;
  std::uint64_t rolled_back = 0;
  /// A stop rule was met (`end`): the counts stay as they were then, while
  /// the final evaluation runs.
  bool stopping = false;
  /// The supervisor's counts at the stop are awaited: the final evaluation
  /// starts after them.
  bool awaiting_membership = false;
  run_end end;
  bool finishing = false;

  static inline const char* name = "ormo.run_monitor";
};

using monitor_pointer = run_monitor_actor::stateful_pointer<monitor_state>;

/// Whether a request failed because its shard went down and restarts.
bool restarting(monitor_pointer self, const caf::error& error) {
  const auto& settings = self->state.settings;
  return (settings.restart_shard || settings.keeper)
         && error == caf::sec::request_receiver_down;
}

double seconds_since_start(monitor_pointer self) {
  return std::chrono::duration<double>(self->clock().now() - self->state.start)
    .count();
}

double wall_seconds(monitor_pointer self) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now()
                                       - self->state.wall_start)
    .count();
}

run_policy& policy(monitor_pointer self) {
  return *self->state.policy;
}

void report_progress(monitor_pointer self) {
  auto& state = self->state;
  if (!state.settings.on_progress)
    return;
  state.settings.on_progress(
    policy(self).make_progress(seconds_since_start(self), wall_seconds(self)));
}

void finish(monitor_pointer self, run_end end);
void cut(monitor_pointer self);

/// Appends a metrics row of the current counts for parameters `w`,
/// evaluated when there is an evaluation function. In real time the
/// monitor has a thread of its own, so the evaluation runs at once however
/// busy the workers keep the scheduler.
void record_row(monitor_pointer self, const Eigen::VectorXf& w) {
  auto& state = self->state;
  auto time_s = seconds_since_start(self);
  auto wall_s = wall_seconds(self);
  std::optional<model::evaluation> evaluation;
  if (state.settings.evaluate)
    evaluation = state.settings.evaluate(w);
  auto row = policy(self).make_row(time_s, wall_s, evaluation);
  state.settings.report->rows.push_back(row);
  state.settings.report->final_parameters = w;
  if (state.settings.on_row)
    state.settings.on_row(row);
}

/// Pulls every shard, then calls `done` with the full parameters.
template <class F>
void pull_parameters(monitor_pointer self, F done) {
  auto& shards = self->state.settings.shards;
  Eigen::Index dimension = 0;
  for (auto& route : shards)
    dimension = std::max(dimension, route.offset + route.size);
  auto assembled = std::make_shared<Eigen::VectorXf>(dimension);
  auto awaiting = std::make_shared<std::size_t>(shards.size());
  for (auto& route : shards) {
    self
      ->request(route.server, self->state.settings.request_timeout,
                pull_atom::value)
      .then(
        [=](const parameter_snapshot& snapshot) {
          if (static_cast<Eigen::Index>(snapshot.parameters.size())
              != route.size) {
            finish(self, run_end::failed(
                           run_failure::invalid_reply,
                           "a server sent "
                             + std::to_string(snapshot.parameters.size())
                             + " parameters for a shard of "
                             + std::to_string(route.size)));
            return;
          }
          assembled->segment(route.offset, route.size) = *snapshot.parameters;
          if (--*awaiting == 0)
            done(*assembled);
        },
        [=](caf::error& error) {
          if (restarting(self, error)) // again, from the restarted shard
            pull_parameters(self, done);
          else
            finish(self, run_end::failed(run_failure::request_failed,
                                         self->system().render(error)));
        });
  }
}

/// The whole gradient's counters. With one shard, that shard's. With
/// several: a gradient is received once every shard has its slice (minimum
/// over the shards); the partial gradients (shards disagreed, as their
/// workers reported) come out of each shard's applied and rejected counts,
/// so applied and rejected count the gradients all shards agree on; the
/// losses and delays are the first shard's.
run_counts whole_counts(const std::vector<orderer_stats>& shards,
                        const membership_stats& membership) {
  run_counts whole;
  const auto& first = shards.front();
  whole.iteration = first.iteration;
  whole.iteration_size = first.iteration_size;
  whole.received = first.received;
  whole.applied = first.accepted;
  whole.rejected = first.rejected;
  whole.loss_sum = first.loss_sum;
  whole.loss_count = first.loss_count;
  whole.delay_sum = first.delay_sum;
  whole.max_delay = first.max_delay;
  whole.delays = first.delays;
  for (const auto& shard : shards)
    whole.duplicates += shard.duplicates;
  if (shards.size() == 1)
    return whole;
  whole.partial = membership.gradients_partial;
  whole.rejected.clear();
  for (std::size_t s = 0; s < shards.size(); ++s) {
    const auto& shard = shards[s];
    whole.iteration = std::min(whole.iteration, shard.iteration);
    whole.received = std::min(whole.received, shard.received);
    auto applied = shard.accepted;
    if (s < membership.partial_applied.size())
      applied -= std::min(applied, membership.partial_applied[s]);
    whole.applied = std::min(whole.applied, applied);
    for (auto [reason, count] : shard.rejected) {
      if (s < membership.partial_rejected.size()) {
        auto found = membership.partial_rejected[s].find(reason);
        if (found != membership.partial_rejected[s].end())
          count -= std::min(count, found->second);
      }
      if (count > 0)
        whole.rejected[reason] = std::max(whole.rejected[reason], count);
    }
  }
  return whole;
}

run_membership membership_of(const membership_stats& m) {
  run_membership membership;
  membership.live = m.live;
  membership.joined = m.joined;
  membership.crashed = m.crashed;
  membership.restarted = m.restarted;
  membership.evicted = m.evicted;
  membership.left = m.left;
  membership.lost = m.lost;
  membership.nodes_lost = m.nodes_lost;
  membership.retries = m.retries;
  membership.gradients_lost = m.gradients_lost;
  membership.last_failure = m.last_failure;
  return membership;
}

/// Pulls the parameters and records a row for them; the final row (a stop
/// rule was met) then finishes the run.
void evaluate_then(monitor_pointer self, bool final_row) {
  self->state.evaluating = true;
  pull_parameters(self, [=](const Eigen::VectorXf& w) {
    auto& state = self->state;
    state.evaluating = false;
    if (state.finishing)
      return;
    record_row(self, w);
    if (state.paused) // a checkpoint waited for this row
      cut(self);
    if (final_row)
      finish(self, state.end);
    else if (state.stopping && !state.awaiting_membership)
      evaluate_then(self, true); // a count was reached while this row was made
    else if (auto end = policy(self).check_stop(seconds_since_start(self));
             end.ended())
      finish(self, std::move(end)); // the accuracy of this row
  });
}

/// A stop rule was met: the counts stay as they are, the workers end (so
/// that the final parameters are those of the counts, give or take the
/// pushes already on their way, and the final evaluation has the cores to
/// itself), and the final row follows the evaluation in progress, if any.
void stop(monitor_pointer self, run_end end) {
  auto& state = self->state;
  state.stopping = true;
  state.end = std::move(end);
  // The final counts take in what the workers reported up to the stop
  // (the supervisor answers before it handles the stop): with several
  // shards the partial gradients, always the crashes, restarts, retries and
  // lost pushes since the last tick. Reports still on their way stay out.
  // The final evaluation follows them (and the evaluation in progress).
  state.awaiting_membership = true;
  auto then_evaluate = [=] {
    auto& state = self->state;
    state.awaiting_membership = false;
    if (!state.finishing && !state.evaluating)
      evaluate_then(self, true);
  };
  self
    ->request(state.settings.supervisor, state.settings.request_timeout,
              stats_atom::value)
    .then(
      [=](membership_stats& membership) {
        auto& state = self->state;
        if (state.finishing)
          return;
        state.membership = std::move(membership);
        policy(self).set_counts(
          whole_counts(state.shard_counts, state.membership));
        policy(self).set_membership(membership_of(state.membership));
        then_evaluate();
      },
      [=](caf::error&) {
        // The supervisor is gone: the counts stay as they are.
        then_evaluate();
      });
  self->send(state.settings.supervisor, stop_atom::value);
}

void finish(monitor_pointer self, run_end end) {
  auto& state = self->state;
  if (state.finishing)
    return;
  state.finishing = true;
  auto training_seconds
    = std::chrono::duration<double>(state.counts_time - state.training_start)
        .count();
  policy(self).fill_report(*state.settings.report, end,
                           seconds_since_start(self), wall_seconds(self),
                           training_seconds);
  state.settings.report->shard_restarts = state.shard_restarts;
  state.settings.report->gradients_rolled_back = state.rolled_back;
  report_progress(self);
  self->send(state.settings.supervisor, stop_atom::value);
  for (auto& route : state.settings.shards) {
    self->send_exit(route.orderer, caf::exit_reason::user_shutdown);
    self->send_exit(route.server, caf::exit_reason::user_shutdown);
  }
  self->quit();
}

/// Asks every orderer that has not yet reached it to call back at the
/// next evaluation point. The monitor acts once the last shard reports (the
/// whole counts take the minimum over the shards); a shard known to be
/// past the point is not asked again, since its answer would come at once.
void arm_watch(monitor_pointer self) {
  auto& state = self->state;
  auto received = policy(self).next_evaluation_received();
  const auto& shards = state.settings.shards;
  for (std::size_t s = 0; s < shards.size(); ++s)
    if (state.shard_counts[s].received < received)
      self->send(shards[s].orderer, watch_atom::value,
                 std::uint8_t{evaluation_watch}, received, iteration_index{0},
                 caf::actor_cast<run_monitor_actor>(self));
}

/// Asks every orderer to call back when the epoch or iteration stop rule
/// is reached.
void arm_stop_watch(monitor_pointer self) {
  auto& state = self->state;
  auto received = policy(self).stop_watch_received();
  auto iteration = policy(self).stop_watch_iteration();
  if (received == 0 && iteration == 0)
    return;
  for (auto& route : state.settings.shards)
    self->send(route.orderer, watch_atom::value, std::uint8_t{stop_watch},
               received, iteration, caf::actor_cast<run_monitor_actor>(self));
}

/// Asks shard 0's orderer to call back at the next checkpoint's iteration.
void arm_checkpoint_watch(monitor_pointer self) {
  auto& state = self->state;
  if (state.settings.checkpoint_every <= 0)
    return;
  self->send(state.settings.shards.front().orderer, watch_atom::value,
             std::uint8_t{checkpoint_watch}, std::uint64_t{0},
             state.next_checkpoint, caf::actor_cast<run_monitor_actor>(self));
}

/// The first multiple of checkpoint_every above `iteration`.
optim::iteration_index checkpoint_after(monitor_pointer self,
                                        optim::iteration_index iteration) {
  auto every = self->state.settings.checkpoint_every;
  return (iteration / every + 1) * every;
}

void fail_checkpoint(monitor_pointer self, const std::string& why) {
  finish(self,
         run_end::failed(run_failure::checkpoint_failed, "checkpoint: " + why));
}

std::int64_t nanoseconds(caf::actor_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           t.time_since_epoch())
    .count();
}

void collect_counts(monitor_pointer self);

/// Every worker is paused and every push answered: each shard writes its
/// part, then the monitor the run's own; the workers go on. The counts are
/// then read afresh, as a run resumed from here reads them first.
void cut(monitor_pointer self) {
  auto run = std::make_shared<paused_run>(std::move(*self->state.paused));
  self->state.paused.reset();
  const auto& shards = self->state.settings.shards;
  auto iterations
    = std::make_shared<std::vector<optim::iteration_index>>(shards.size());
  auto awaiting = std::make_shared<std::size_t>(shards.size());
  for (std::size_t s = 0; s < shards.size(); ++s)
    self
      ->request(shards[s].orderer, self->state.settings.request_timeout,
                checkpoint_atom::value)
      .then(
        [=](iteration_index iteration) {
          (*iterations)[s] = iteration;
          if (--*awaiting != 0)
            return;
          auto& state = self->state;
          if (state.finishing)
            return;
          run_checkpoint checkpoint;
          checkpoint.shard_iterations = *iterations;
          checkpoint.clock_ns = nanoseconds(self->clock().now());
          checkpoint.start_ns = nanoseconds(state.start);
          checkpoint.training_start_ns = nanoseconds(state.training_start);
          checkpoint.next_tick_ns = nanoseconds(state.next_tick);
          checkpoint.policy = policy(self).memory();
          checkpoint.rows = state.settings.report->rows;
          checkpoint.workers = run->workers;
          checkpoint.membership = run->membership;
          checkpoint_store store(state.settings.checkpoint_directory,
                                 state.settings.checkpoint_keep);
          if (auto saved = store.save(checkpoint_store::run_series,
                                      iterations->front(), encode(checkpoint));
              !saved) {
            fail_checkpoint(self, saved.message());
            return;
          }
          state.checkpointing = false;
          state.next_checkpoint = checkpoint_after(self, iterations->front());
          arm_checkpoint_watch(self);
          self->send(state.settings.supervisor, resume_atom::value);
          collect_counts(self);
        },
        [=](caf::error& error) {
          fail_checkpoint(self, "shard " + std::to_string(s) + ": "
                                  + self->system().render(error));
        });
}

/// Pauses the run for a checkpoint; the cut follows once every worker is
/// paused and no evaluation is in progress.
void begin_checkpoint(monitor_pointer self) {
  auto& state = self->state;
  state.checkpointing = true;
  self
    ->request(state.settings.supervisor, state.settings.request_timeout,
              pause_atom::value)
    .then(
      [=](paused_run& run) {
        auto& state = self->state;
        if (state.finishing || state.stopping)
          return;
        state.paused = std::move(run);
        if (!state.evaluating)
          cut(self);
      },
      [=](caf::error& error) {
        fail_checkpoint(self,
                        "pausing the workers: " + self->system().render(error));
      });
}

/// New counters are in: evaluate, report, stop as due.
void on_counts(monitor_pointer self) {
  auto& state = self->state;
  if (state.finishing || state.stopping)
    return;
  auto& p = policy(self);
  p.set_counts(whole_counts(state.shard_counts, state.membership));
  p.set_membership(membership_of(state.membership));
  state.counts_time = self->clock().now();
  if (auto end = p.check_stop(seconds_since_start(self)); end.ended()) {
    stop(self, std::move(end));
    return;
  }
  // An evaluation still in progress stands for a point passed now.
  if (p.pass_evaluation_points() && !state.evaluating)
    evaluate_then(self, false);
  arm_watch(self);
  if (state.settings.checkpoint_every > 0 && !state.checkpointing
      && state.shard_counts.front().iteration >= state.next_checkpoint)
    begin_checkpoint(self);
  auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - state.last_progress).count()
      >= state.settings.progress_seconds) {
    state.last_progress = now;
    report_progress(self);
  }
}

/// The next tick in `delay`.
void schedule_tick(monitor_pointer self, caf::timespan delay) {
  self->state.next_tick = self->clock().now() + delay;
  self->delayed_send(self, delay, tick_atom::value);
}

void collect_counts(monitor_pointer self) {
  auto& state = self->state;
  if (state.stopping)
    return;
  auto shards = std::make_shared<std::vector<orderer_stats>>(
    state.settings.shards.size());
  auto awaiting
    = std::make_shared<std::size_t>(state.settings.shards.size() + 1);
  auto arrived = [=] {
    if (--*awaiting != 0 || self->state.stopping)
      return;
    // Counts only grow: keep a milestone's newer counts of a shard.
    auto& latest = self->state.shard_counts;
    for (std::size_t s = 0; s < latest.size(); ++s)
      if ((*shards)[s].received >= latest[s].received)
        latest[s] = std::move((*shards)[s]);
    on_counts(self);
  };
  auto failed = [=](caf::error& error) {
    if (!restarting(self, error)) // else no counts this tick
      finish(self, run_end::failed(run_failure::request_failed,
                                   self->system().render(error)));
  };
  for (std::size_t s = 0; s < state.settings.shards.size(); ++s) {
    self
      ->request(state.settings.shards[s].orderer,
                state.settings.request_timeout, stats_atom::value)
      .then(
        [=](orderer_stats& shard) {
          (*shards)[s] = std::move(shard);
          arrived();
        },
        failed);
  }
  self
    ->request(state.settings.supervisor, state.settings.request_timeout,
              stats_atom::value)
    .then(
      [=](membership_stats& membership) {
        self->state.membership = std::move(membership);
        arrived();
      },
      failed);
}

void move_to_restarted(monitor_pointer self, std::size_t s, shard_route fresh,
                       const std::string& lost);

/// Shard `s` went down (`why`): it restarts from its newest checkpoint and
/// everyone who reaches it is moved to it, or the run ends.
void restart_shard(monitor_pointer self, std::size_t s, const caf::error& why) {
  auto& state = self->state;
  auto lost = "shard " + std::to_string(s) + " lost ("
              + self->system().render(why) + ")";
  auto cannot = [=](const caf::error& error) {
    finish(self, run_end::failed(run_failure::shard_lost,
                                 lost + "; cannot restart it: "
                                   + self->system().render(error)));
  };
  if (state.settings.keeper) {
    // Its node ends what is left of it and restarts it.
    state.awaiting_restart[s] = true;
    self
      ->request(state.settings.keeper, state.settings.request_timeout,
                restart_atom::value, std::uint64_t{s})
      .then(
        [=](shard_route& fresh) {
          move_to_restarted(self, s, std::move(fresh), lost);
        },
        cannot);
    return;
  }
  auto& route = state.settings.shards[s];
  // The other half of the shard goes too: a shard is its server and
  // orderer together.
  self->send_exit(route.server, caf::exit_reason::kill);
  self->send_exit(route.orderer, caf::exit_reason::kill);
  auto fresh = state.settings.restart_shard(s);
  if (!fresh) {
    cannot(fresh.error());
    return;
  }
  move_to_restarted(self, s, std::move(*fresh), lost);
}

/// Shard `s` restarted as `fresh`: the monitor, its watches and (through
/// the supervisor) everyone who reaches the shard move to it.
void move_to_restarted(monitor_pointer self, std::size_t s, shard_route fresh,
                       const std::string& lost) {
  auto& state = self->state;
  state.awaiting_restart[s] = false;
  if (state.finishing)
    return;
  auto& route = state.settings.shards[s];
  route = std::move(fresh);
  self->monitor(route.server);
  self->monitor(route.orderer);
  ++state.shard_restarts;
  self->send(state.settings.supervisor, route_atom::value, std::uint64_t{s},
             route.server, route.orderer);
  auto before = state.shard_counts[s].received;
  self
    ->request(route.orderer, state.settings.request_timeout, stats_atom::value)
    .then(
      [=](orderer_stats& restored) {
        auto& state = self->state;
        if (before > restored.received)
          state.rolled_back += before - restored.received;
        state.shard_counts[s] = std::move(restored);
        arm_watch(self);
        arm_stop_watch(self);
        if (s == 0)
          arm_checkpoint_watch(self);
      },
      [=](caf::error& error) {
        finish(self, run_end::failed(run_failure::shard_lost,
                                     lost + "; its restart did not answer: "
                                       + self->system().render(error)));
      });
}

/// A resumed run: the monitor as it was at the cut `from`, its rows
/// handed on again; the counts are read afresh (as after the cut).
void go_on(monitor_pointer self, const run_checkpoint& from) {
  auto& state = self->state;
  auto at = [](std::int64_t ns) {
    return caf::actor_clock::time_point{std::chrono::nanoseconds{ns}};
  };
  state.start = at(from.start_ns);
  state.training_start = state.counts_time = at(from.training_start_ns);
  policy(self).restore(from.policy);
  state.settings.report->rows = from.rows;
  if (state.settings.on_row)
    for (const auto& row : from.rows)
      state.settings.on_row(row);
  if (state.settings.checkpoint_every > 0)
    state.next_checkpoint
      = checkpoint_after(self, from.shard_iterations.front());
  arm_watch(self);
  arm_stop_watch(self);
  arm_checkpoint_watch(self);
  auto now = self->clock().now();
  schedule_tick(self, std::max(caf::timespan{0}, at(from.next_tick_ns) - now));
  collect_counts(self);
}

run_monitor_actor::behavior_type run_monitor(monitor_pointer self,
                                             run_monitor_settings settings) {
  auto& state = self->state;
  state.settings = std::move(settings);
  run_policy_settings policy_settings;
  policy_settings.stop = state.settings.stop;
  policy_settings.batch_size = state.settings.batch_size;
  policy_settings.samples_per_epoch = state.settings.samples_per_epoch;
  policy_settings.evaluations_per_epoch = state.settings.evaluations_per_epoch;
  state.policy.emplace(policy_settings);
  state.shard_counts.resize(state.settings.shards.size());
  state.awaiting_restart.resize(state.settings.shards.size());
  for (const auto& route : state.settings.shards) {
    self->monitor(route.server);
    self->monitor(route.orderer);
  }
  self->set_down_handler([=](caf::down_msg& down) {
    auto& state = self->state;
    if (state.finishing)
      return;
    const auto& shards = state.settings.shards;
    for (std::size_t s = 0; s < shards.size(); ++s)
      if (shards[s].server.address() == down.source
          || shards[s].orderer.address() == down.source) {
        if (state.awaiting_restart[s])
          return;
        if (state.settings.restart_shard || state.settings.keeper) {
          restart_shard(self, s, down.reason);
          return;
        }
        auto place = s < state.settings.shard_places.size()
                       ? " on " + state.settings.shard_places[s]
                       : std::string{};
        finish(self, run_end::failed(run_failure::shard_lost,
                                     "shard " + std::to_string(s) + place
                                       + " lost: "
                                       + self->system().render(down.reason)));
        return;
      }
  });
  state.wall_start = std::chrono::steady_clock::now();
  state.last_progress = state.wall_start;
  if (state.settings.resume_from) {
    go_on(self, *state.settings.resume_from);
  } else {
    state.start = self->clock().now();
    if (state.settings.checkpoint_every > 0)
      state.next_checkpoint = state.settings.checkpoint_every;
    // The first row is the initial parameters; then the workers start.
    state.evaluating = true;
    pull_parameters(self, [=](const Eigen::VectorXf& w) {
      auto& state = self->state;
      state.evaluating = false;
      record_row(self, w);
      arm_watch(self);
      arm_stop_watch(self);
      arm_checkpoint_watch(self);
      state.training_start = state.counts_time = self->clock().now();
      if (state.settings.workers_to_start > 0)
        self->send(state.settings.supervisor, add_atom::value,
                   state.settings.workers_to_start);
      self->send(self, tick_atom::value);
    });
  }
  return {
    [=](tick_atom) {
      auto& state = self->state;
      if (state.finishing)
        return;
      if (state.settings.stop_requested && state.settings.stop_requested())
        policy(self).interrupt();
      collect_counts(self);
      schedule_tick(self, self->state.settings.tick);
    },
    [=](fault_atom, std::uint64_t shard) {
      // The orderer's last counters come first (a milestone), then its
      // down: what it decided since its checkpoint is known exactly.
      auto& shards = self->state.settings.shards;
      if (shard < shards.size())
        self->send(shards[shard].orderer, fault_atom::value,
                   caf::actor_cast<run_monitor_actor>(self));
    },
    [=](milestone_atom, orderer_stats& counts) {
      // The watched shard's counters at the count itself (no request that
      // could wait behind the workers); the other shards' and the
      // membership as of their last report.
      auto& state = self->state;
      if (state.finishing || state.stopping)
        return;
      const auto& shards = state.settings.shards;
      auto sender = self->current_sender();
      for (std::size_t s = 0; s < shards.size(); ++s)
        if (shards[s].orderer.address() == sender) {
          if (counts.received >= state.shard_counts[s].received)
            state.shard_counts[s] = std::move(counts);
          break;
        }
      on_counts(self);
    },
  };
}

} // namespace

run_monitor_actor spawn_run_monitor(caf::actor_system& system,
                                    run_monitor_settings settings) {
  if (settings.own_thread)
    return system.spawn<caf::detached>(run_monitor, std::move(settings));
  return system.spawn(run_monitor, std::move(settings));
}

} // namespace ormo::actors
