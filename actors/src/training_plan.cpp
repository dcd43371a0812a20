#include "ormo/actors/training_plan.hpp"

#include <algorithm>
#include <filesystem>
#include <tuple>
#include <utility>

#include "ormo/actors/speed_profile.hpp"
#include "ormo/random.hpp"

namespace ormo::actors {

namespace {

/// Seeds each slot's jitter draws apart from the speed draws.
constexpr std::uint64_t timing_stream = 0x7177e5ull;

/// Made from the recipe in `workers`, for any slot.
worker_slot_plan make_slot(const workers_plan& workers, std::size_t slot) {
  worker_slot_plan result;
  result.slowdown
    = slowdown_for(workers.speed, slot, workers.initial, workers.seed);
  result.virtual_compute = workers.virtual_compute;
  result.jitter = workers.jitter;
  result.seed = random_source::derive_seed(workers.seed ^ timing_stream, slot);
  result.request_timeout = workers.request_timeout;
  result.retry_after = workers.retry_after;
  result.pushes_in_flight = workers.pushes_in_flight;
  return result;
}

template <class Duration>
std::chrono::nanoseconds to_nanoseconds(Duration value) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(value);
}

bool same_settings(const optim::algorithm_settings& a,
                   const optim::algorithm_settings& b) {
  return a.name == b.name && a.learning_rate == b.learning_rate
         && a.momentum == b.momentum && a.apply == b.apply
         && a.delay_threshold == b.delay_threshold;
}

bool same_speed(const config::speed_config& a, const config::speed_config& b) {
  return a.profile == b.profile && a.factors == b.factors
         && a.fraction == b.fraction && a.factor == b.factor
         && a.sigma == b.sigma;
}

bool same_stop(const config::stop_rules& a, const config::stop_rules& b) {
  return a.epochs == b.epochs && a.iterations == b.iterations
         && a.seconds == b.seconds && a.accuracy == b.accuracy;
}

} // namespace

result<std::unique_ptr<optim::update_rule>> make_rule(const rule_plan& plan) {
  auto rule = optim::make_update_rule(plan.settings, plan.dimension,
                                      plan.iteration_size);
  if (rule)
    (*rule)->set_warmup(plan.warmup_iterations);
  return rule;
}

result<training_plan> make_training_plan(const config::run_config& run,
                                         const plan_inputs& inputs) {
  training_plan plan;
  plan.dimension = inputs.dimension;
  plan.deterministic = run.run.deterministic;
  const auto shard_count = static_cast<std::size_t>(run.server.shards);
  if (inputs.dimension < shard_count)
    return status::error(status_code::invalid_argument,
                         "server.shards: " + std::to_string(shard_count)
                           + " shards for " + std::to_string(inputs.dimension)
                           + " parameters");
  const auto workers = run.workers.count;
  const auto iteration_size = run.algorithm.iteration_size.value_or(workers);
  for (std::size_t s = 0; s < shard_count; ++s) {
    shard_plan shard;
    shard.offset = inputs.dimension * s / shard_count;
    shard.size = inputs.dimension * (s + 1) / shard_count - shard.offset;
    shard.rule.settings = run.algorithm.settings;
    shard.rule.dimension = shard.size;
    shard.rule.iteration_size = iteration_size;
    shard.rule.warmup_iterations = run.algorithm.warmup_iterations;
    shard.checkpoint_directory = config::checkpoint_directory(run);
    shard.checkpoint_every
      = run.run.deterministic ? 0 : run.checkpoints.every_iterations;
    shard.checkpoint_keep
      = run.checkpoints.keep + (run.run.deterministic ? 1 : 0);
    if (auto rule = make_rule(shard.rule); !rule)
      return status::error(status_code::invalid_argument,
                           "algorithm: " + rule.error().message());
    plan.shards.push_back(std::move(shard));
  }

  auto& slots = plan.workers;
  slots.initial = static_cast<std::size_t>(workers);
  slots.speed = run.workers.speed;
  slots.seed = run.run.seed;
  if (run.run.deterministic)
    slots.virtual_compute = to_nanoseconds(
      std::chrono::duration<double, std::milli>(run.workers.compute_ms));
  slots.jitter = run.workers.compute_jitter;
  slots.request_timeout = to_nanoseconds(
    std::chrono::duration<double>(run.workers.request_timeout_s));
  slots.retry_after = to_nanoseconds(
    std::chrono::duration<double>(run.workers.retry_after_s));
  slots.pushes_in_flight = run.workers.pushes_in_flight;
  for (std::size_t slot = 0; slot < slots.initial; ++slot)
    slots.slots.push_back(make_slot(slots, slot));

  plan.supervisor.initial_workers = 0;
  plan.supervisor.fixed_iteration_size = run.algorithm.iteration_size;
  plan.supervisor.restart_limit = run.workers.restart_limit;
  plan.supervisor.own_thread = !run.run.deterministic;

  auto& monitor = plan.monitor;
  monitor.stop = run.run.stop;
  monitor.batch_size = inputs.batch_size;
  monitor.samples_per_epoch = inputs.samples_per_epoch;
  monitor.evaluations_per_epoch = run.output.evaluations_per_epoch;
  monitor.progress_seconds = run.output.progress_seconds;
  monitor.workers_to_start = workers;
  if (run.run.deterministic)
    monitor.checkpoint_every = run.checkpoints.every_iterations;
  monitor.checkpoint_keep = run.checkpoints.keep;
  monitor.own_thread = !run.run.deterministic;

  auto& report = plan.report;
  report.algorithm = optim::to_string(run.algorithm.settings.name);
  report.apply = optim::to_string(run.algorithm.settings.apply);
  report.workers = static_cast<std::uint32_t>(workers);
  report.iteration_size = iteration_size;
  report.deterministic = run.run.deterministic;
  report.seed = run.run.seed;
  for (const auto& fault : run.faults)
    if (!config::is_node_fault(fault.kind))
      plan.faults.push_back(fault);
  return plan;
}

worker_slot_plan worker_timing_of(const training_plan& plan, std::size_t slot) {
  if (slot < plan.workers.slots.size())
    return plan.workers.slots[slot];
  return make_slot(plan.workers, slot);
}

bool operator==(const rule_plan& a, const rule_plan& b) {
  return same_settings(a.settings, b.settings) && a.dimension == b.dimension
         && a.iteration_size == b.iteration_size
         && a.warmup_iterations == b.warmup_iterations;
}

bool operator==(const shard_plan& a, const shard_plan& b) {
  return a.offset == b.offset && a.size == b.size && a.rule == b.rule
         && a.checkpoint_directory == b.checkpoint_directory
         && a.checkpoint_every == b.checkpoint_every
         && a.checkpoint_keep == b.checkpoint_keep;
}

bool operator==(const worker_slot_plan& a, const worker_slot_plan& b) {
  return a.slowdown == b.slowdown && a.virtual_compute == b.virtual_compute
         && a.jitter == b.jitter && a.seed == b.seed
         && a.request_timeout == b.request_timeout
         && a.retry_after == b.retry_after
         && a.pushes_in_flight == b.pushes_in_flight;
}

bool operator==(const workers_plan& a, const workers_plan& b) {
  return a.initial == b.initial && a.slots == b.slots
         && same_speed(a.speed, b.speed) && a.seed == b.seed
         && a.virtual_compute == b.virtual_compute && a.jitter == b.jitter
         && a.request_timeout == b.request_timeout
         && a.retry_after == b.retry_after
         && a.pushes_in_flight == b.pushes_in_flight;
}

bool operator==(const supervisor_plan& a, const supervisor_plan& b) {
  return a.initial_workers == b.initial_workers
         && a.fixed_iteration_size == b.fixed_iteration_size
         && a.restart_limit == b.restart_limit && a.own_thread == b.own_thread;
}

bool operator==(const monitor_plan& a, const monitor_plan& b) {
  return same_stop(a.stop, b.stop) && a.batch_size == b.batch_size
         && a.samples_per_epoch == b.samples_per_epoch
         && a.evaluations_per_epoch == b.evaluations_per_epoch
         && a.progress_seconds == b.progress_seconds
         && a.workers_to_start == b.workers_to_start
         && a.checkpoint_every == b.checkpoint_every
         && a.checkpoint_keep == b.checkpoint_keep
         && a.own_thread == b.own_thread;
}

bool operator==(const report_plan& a, const report_plan& b) {
  return a.algorithm == b.algorithm && a.apply == b.apply
         && a.workers == b.workers && a.iteration_size == b.iteration_size
         && a.deterministic == b.deterministic && a.seed == b.seed;
}

namespace {

bool same_faults(const std::vector<config::fault_config>& a,
                 const std::vector<config::fault_config>& b) {
  auto fields = [](const config::fault_config& f) {
    return std::tie(f.kind, f.target, f.at_seconds, f.at_iteration,
                    f.at_gradient, f.duration_s, f.probability, f.factor,
                    f.delay_ms, f.target_kind, f.worker, f.shard, f.node);
  };
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [&](const auto& x, const auto& y) {
                      return fields(x) == fields(y);
                    });
}

} // namespace

bool operator==(const training_plan& a, const training_plan& b) {
  return a.dimension == b.dimension && a.shards == b.shards
         && a.workers == b.workers && a.supervisor == b.supervisor
         && a.monitor == b.monitor && a.report == b.report
         && a.deterministic == b.deterministic
         && same_faults(a.faults, b.faults);
}

} // namespace ormo::actors
