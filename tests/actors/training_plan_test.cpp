// make_training_plan without an actor system: the slices, the rules, the
// worker slots' timing (initial and later), the supervisor's and monitor's
// settings, the errors, and what differs between real time and
// deterministic runs.
#include "ormo/actors/training_plan.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "ormo/actors/speed_profile.hpp"
#include "ormo/actors/training.hpp"

using namespace ormo;
using namespace ormo::actors;
using namespace std::chrono_literals;

namespace {

config::run_config small_run() {
  config::run_config run;
  run.run.seed = 7;
  run.run.deterministic = true;
  run.run.stop.epochs = 3;
  run.run.stop.iterations = 500;
  run.run.stop.seconds = 12.5;
  run.run.stop.accuracy = 0.9;
  run.workers.count = 5;
  run.workers.speed.profile = config::speed_profile::slow_fraction;
  run.workers.speed.fraction = 0.4;
  run.workers.speed.factor = 3;
  run.workers.compute_ms = 1.5;
  run.workers.compute_jitter = 0.3;
  run.workers.restart_limit = 2;
  run.workers.request_timeout_s = 2.5;
  run.workers.pushes_in_flight = 3;
  run.algorithm.settings.name = optim::algorithm::ormo_da;
  run.algorithm.settings.learning_rate = 0.05;
  run.algorithm.settings.momentum = 0.8;
  run.algorithm.settings.apply = optim::apply_mode::on_close;
  run.algorithm.settings.delay_threshold = 3;
  run.algorithm.warmup_iterations = 40;
  run.output.evaluations_per_epoch = 6;
  run.output.progress_seconds = 0.5;
  return run;
}

plan_inputs sizes(std::size_t dimension) {
  plan_inputs inputs;
  inputs.dimension = dimension;
  inputs.batch_size = 16;
  inputs.samples_per_epoch = 1000;
  return inputs;
}

training_plan plan_of(const config::run_config& run,
                      std::size_t dimension = 100) {
  auto plan = make_training_plan(run, sizes(dimension));
  REQUIRE_MESSAGE(plan, plan.error().message());
  return plan.value();
}

std::vector<double> slowdowns(const training_plan& plan) {
  std::vector<double> result;
  for (const auto& slot : plan.workers.slots)
    result.push_back(slot.slowdown);
  return result;
}

} // namespace

TEST_CASE("training_plan: slices cover all parameters in order, no gaps") {
  auto run = small_run();
  for (std::size_t dimension : {1u, 2u, 3u, 7u, 10u, 64u, 101u, 1000u}) {
    for (int shards = 1; shards <= 12; ++shards) {
      if (static_cast<std::size_t>(shards) > dimension)
        continue;
      CAPTURE(dimension);
      CAPTURE(shards);
      run.server.shards = shards;
      auto plan = plan_of(run, dimension);
      CHECK(plan.dimension == dimension);
      REQUIRE(plan.shards.size() == static_cast<std::size_t>(shards));
      std::size_t next = 0;
      std::size_t smallest = dimension;
      std::size_t largest = 0;
      for (const auto& shard : plan.shards) {
        CHECK(shard.offset == next);
        CHECK(shard.size >= 1);
        CHECK(shard.rule.dimension == shard.size);
        next = shard.offset + shard.size;
        smallest = std::min(smallest, shard.size);
        largest = std::max(largest, shard.size);
      }
      CHECK(next == dimension);
      // As even as whole parameters allow.
      CHECK(largest - smallest <= 1);
    }
  }
}

TEST_CASE("training_plan: every shard's rule settings, built again anywhere") {
  auto run = small_run();
  run.server.shards = 3;
  auto plan = plan_of(run, 10);
  REQUIRE(plan.shards.size() == 3);
  for (const auto& shard : plan.shards) {
    CHECK(shard.rule.settings.name == optim::algorithm::ormo_da);
    CHECK(shard.rule.settings.learning_rate == 0.05);
    CHECK(shard.rule.settings.momentum == 0.8);
    CHECK(shard.rule.settings.apply == optim::apply_mode::on_close);
    CHECK(shard.rule.settings.delay_threshold == 3);
    CHECK(shard.rule.iteration_size == 5);
    CHECK(shard.rule.warmup_iterations == 40);
    // A copy of the plain data is all a realiser needs.
    const rule_plan copy = shard.rule;
    auto rule = make_rule(copy);
    REQUIRE_MESSAGE(rule, rule.error().message());
    CHECK(rule.value()->dimension() == shard.size);
    CHECK(rule.value()->iteration_size() == 5);
  }
  CHECK(plan.shards[0].size == 3);
  CHECK(plan.shards[1].size == 3);
  CHECK(plan.shards[2].size == 4);
}

TEST_CASE("training_plan: K follows the workers unless it is fixed") {
  auto run = small_run();
  run.workers.count = 6;
  auto follows = plan_of(run);
  CHECK(follows.shards.front().rule.iteration_size == 6);
  CHECK(follows.report.iteration_size == 6);
  CHECK_FALSE(follows.supervisor.fixed_iteration_size.has_value());

  run.algorithm.iteration_size = 2;
  auto fixed = plan_of(run);
  CHECK(fixed.shards.front().rule.iteration_size == 2);
  CHECK(fixed.report.iteration_size == 2);
  REQUIRE(fixed.supervisor.fixed_iteration_size.has_value());
  CHECK(*fixed.supervisor.fixed_iteration_size == 2);
  CHECK(fixed.report.workers == 6);
  CHECK(fixed.monitor.workers_to_start == 6);
}

TEST_CASE("training_plan: each initial slot's speed factor by profile") {
  auto run = small_run();
  run.workers.count = 8;
  const std::size_t workers = 8;
  auto& speed = run.workers.speed;

  speed.profile = config::speed_profile::uniform;
  CHECK(slowdowns(plan_of(run)) == std::vector<double>(workers, 1.0));

  speed.profile = config::speed_profile::factors;
  speed.factors = {1, 2, 1.5, 4, 1, 1, 3, 1.25};
  CHECK(slowdowns(plan_of(run)) == speed.factors);

  speed.profile = config::speed_profile::slow_fraction;
  speed.fraction = 0.25;
  speed.factor = 5;
  auto slow = slowdowns(plan_of(run));
  REQUIRE(slow.size() == workers);
  CHECK(std::count(slow.begin(), slow.end(), 5.0) == 2);
  CHECK(std::count(slow.begin(), slow.end(), 1.0) == 6);

  speed.profile = config::speed_profile::lognormal;
  speed.sigma = 0.5;
  auto spread = slowdowns(plan_of(run));
  REQUIRE(spread.size() == workers);
  CHECK(*std::min_element(spread.begin(), spread.end()) == 1.0);
  CHECK(*std::max_element(spread.begin(), spread.end()) > 1.0);

  // Whatever the profile, the plan's factors are slowdown_for's.
  for (auto profile :
       {config::speed_profile::uniform, config::speed_profile::factors,
        config::speed_profile::slow_fraction,
        config::speed_profile::lognormal}) {
    speed.profile = profile;
    auto plan = plan_of(run);
    for (std::size_t slot = 0; slot < workers; ++slot)
      CHECK(plan.workers.slots[slot].slowdown
            == slowdown_for(speed, slot, workers, run.run.seed));
  }
}

TEST_CASE("training_plan: the same seed gives the same plan, another one not") {
  auto run = small_run();
  run.workers.count = 12;
  run.workers.speed.profile = config::speed_profile::lognormal;
  auto first = plan_of(run);
  auto again = plan_of(run);
  CHECK(first == again);
  std::set<std::uint64_t> seeds;
  for (const auto& slot : first.workers.slots)
    seeds.insert(slot.seed);
  CHECK(seeds.size() == first.workers.slots.size());

  run.run.seed = 8;
  auto other = plan_of(run);
  CHECK_FALSE(first == other);
  CHECK(slowdowns(first) != slowdowns(other));
  CHECK(first.workers.slots[0].seed != other.workers.slots[0].seed);
  CHECK(other.report.seed == 8);
  // The shards do not depend on the seed.
  CHECK(first.shards == other.shards);
}

TEST_CASE("training_plan: a slot added later gets its timing from the plan") {
  auto run = small_run();
  run.workers.count = 3;
  run.workers.speed.profile = config::speed_profile::slow_fraction;
  run.workers.speed.fraction = 0.5;
  run.workers.speed.factor = 7;
  auto plan = plan_of(run);
  REQUIRE(plan.workers.slots.size() == 3);
  REQUIRE(plan.workers.initial == 3);
  for (std::size_t slot = 0; slot < 3; ++slot)
    CHECK(worker_timing_of(plan, slot) == plan.workers.slots[slot]);

  // Slots past the initial ones: the same timing settings, a seed of their
  // own, and a slowdown drawn as slowdown_for draws a later slot's.
  auto bigger = run;
  bigger.workers.count = 40;
  auto reference = plan_of(bigger);
  std::set<std::uint64_t> seeds;
  std::size_t slowed = 0;
  for (std::size_t slot = 3; slot < 40; ++slot) {
    CAPTURE(slot);
    auto later = worker_timing_of(plan, slot);
    CHECK(later == worker_timing_of(plan, slot));
    CHECK(later.slowdown
          == slowdown_for(run.workers.speed, slot, 3, run.run.seed));
    CHECK(later.virtual_compute == plan.workers.slots[0].virtual_compute);
    CHECK(later.jitter == plan.workers.slots[0].jitter);
    CHECK(later.request_timeout == plan.workers.slots[0].request_timeout);
    CHECK(later.pushes_in_flight == 3);
    CHECK(worker_timing_for(plan, slot).pushes_in_flight == 3);
    // The seed depends on the slot only, not on how many started.
    CHECK(later.seed == reference.workers.slots[slot].seed);
    seeds.insert(later.seed);
    slowed += later.slowdown == 7.0 ? 1 : 0;
  }
  CHECK(seeds.size() == 37);
  CHECK(slowed > 0);
  CHECK(slowed < 37);
}

TEST_CASE("training_plan: supervisor, monitor and report settings copied") {
  auto run = small_run();
  auto plan = plan_of(run);
  CHECK(plan.supervisor.initial_workers == 0);
  CHECK(plan.supervisor.restart_limit == 2);

  CHECK(plan.monitor.stop.epochs == 3);
  CHECK(plan.monitor.stop.iterations == 500);
  CHECK(plan.monitor.stop.seconds == 12.5);
  CHECK(plan.monitor.stop.accuracy == 0.9);
  CHECK(plan.monitor.batch_size == 16);
  CHECK(plan.monitor.samples_per_epoch == 1000);
  CHECK(plan.monitor.evaluations_per_epoch == 6);
  CHECK(plan.monitor.progress_seconds == 0.5);
  CHECK(plan.monitor.workers_to_start == 5);

  CHECK(plan.report.algorithm == "ormo-da");
  CHECK(plan.report.apply == "on_close");
  CHECK(plan.report.workers == 5);
  CHECK(plan.report.iteration_size == 5);
  CHECK(plan.report.deterministic);
  CHECK(plan.report.seed == 7);

  CHECK(plan.workers.initial == 5);
  CHECK(plan.workers.slots.size() == 5);
  for (const auto& slot : plan.workers.slots) {
    CHECK(slot.jitter == 0.3);
    CHECK(slot.request_timeout == 2500ms);
    CHECK(slot.pushes_in_flight == 3);
  }
  CHECK(plan.workers.pushes_in_flight == 3);
  // The slots compare it: a worker's pipelining is part of its timing.
  auto one_in_flight = plan;
  one_in_flight.workers.slots[0].pushes_in_flight = 1;
  CHECK_FALSE(one_in_flight == plan);
  CHECK(plan_of(config::run_config{}).workers.pushes_in_flight == 1);

  // A plan is a value: a changed copy differs, the original does not.
  auto changed = plan;
  changed.monitor.stop.iterations = 501;
  CHECK_FALSE(changed == plan);
  CHECK(plan.monitor.stop.iterations == 500);
}

TEST_CASE("training_plan: more shards than parameters is an error") {
  auto run = small_run();
  run.server.shards = 5;
  auto plan = make_training_plan(run, sizes(3));
  REQUIRE_FALSE(plan);
  CHECK(plan.error().code() == status_code::invalid_argument);
  CHECK(plan.error().message() == "server.shards: 5 shards for 3 parameters");
  run.server.shards = 3;
  CHECK(make_training_plan(run, sizes(3)));
}

TEST_CASE("training_plan: a bad hyper-parameter names the setting") {
  auto run = small_run();
  run.algorithm.settings.learning_rate = -1;
  auto plan = make_training_plan(run, sizes(10));
  REQUIRE_FALSE(plan);
  CHECK(plan.error().code() == status_code::invalid_argument);
  const auto& message = plan.error().message();
  CHECK(message.rfind("algorithm: ", 0) == 0);
  CHECK(message.find("learning rate") != std::string::npos);

  run = small_run();
  run.algorithm.settings.momentum = 1;
  plan = make_training_plan(run, sizes(10));
  REQUIRE_FALSE(plan);
  CHECK(plan.error().message().rfind("algorithm: ", 0) == 0);
  CHECK(plan.error().message().find("momentum") != std::string::npos);

  run = small_run();
  run.algorithm.iteration_size = 0;
  plan = make_training_plan(run, sizes(10));
  REQUIRE_FALSE(plan);
  CHECK(plan.error().message().find("iteration size") != std::string::npos);
}

TEST_CASE("training_plan: real time and deterministic runs differ only in "
          "virtual compute, own threads and who takes checkpoints") {
  auto run = small_run();
  run.checkpoints.every_iterations = 20;
  run.checkpoints.keep = 2;
  auto simulated = plan_of(run);
  CHECK(simulated.deterministic);
  for (const auto& slot : simulated.workers.slots) {
    REQUIRE(slot.virtual_compute.has_value());
    CHECK(*slot.virtual_compute == 1500us);
  }
  CHECK_FALSE(simulated.supervisor.own_thread);
  CHECK_FALSE(simulated.monitor.own_thread);

  run.run.deterministic = false;
  auto real = plan_of(run);
  CHECK_FALSE(real.deterministic);
  CHECK_FALSE(real.report.deterministic);
  for (const auto& slot : real.workers.slots)
    CHECK_FALSE(slot.virtual_compute.has_value());
  CHECK_FALSE(worker_timing_of(real, 9).virtual_compute.has_value());
  CHECK(real.supervisor.own_thread);
  CHECK(real.monitor.own_thread);

  // Real time: each shard on its own; deterministic: the whole run at the
  // monitor's request, the shards keeping one part more than the run.
  CHECK(real.monitor.checkpoint_every == 0);
  CHECK(simulated.monitor.checkpoint_every == 20);
  CHECK(simulated.monitor.checkpoint_keep == 2);
  for (std::size_t s = 0; s < real.shards.size(); ++s) {
    CHECK(real.shards[s].checkpoint_every == 20);
    CHECK(real.shards[s].checkpoint_keep == 2);
    CHECK(simulated.shards[s].checkpoint_every == 0);
    CHECK(simulated.shards[s].checkpoint_keep == 3);
    simulated.shards[s].checkpoint_every = 20;
    simulated.shards[s].checkpoint_keep = 2;
  }

  // Everything else is the same plan.
  CHECK(real.shards == simulated.shards);
  CHECK(slowdowns(real) == slowdowns(simulated));
  for (std::size_t slot = 0; slot < real.workers.slots.size(); ++slot) {
    CHECK(real.workers.slots[slot].seed == simulated.workers.slots[slot].seed);
    CHECK(real.workers.slots[slot].jitter
          == simulated.workers.slots[slot].jitter);
  }
  CHECK(real.monitor.stop.epochs == simulated.monitor.stop.epochs);
  CHECK(real.monitor.workers_to_start == simulated.monitor.workers_to_start);
}
