#include "ormo/actors/training.hpp"

#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/thread_hook.hpp>

#include "ormo/actors/error_code.hpp"
#include "ormo/actors/momentum_orderer.hpp"
#include "ormo/actors/parameter_server.hpp"
#include "ormo/actors/speed_profile.hpp"
#include "ormo/denormals.hpp"
#include "ormo/optim/make_update_rule.hpp"
#include "ormo/random.hpp"

namespace ormo::actors {

std::string to_string(error_code code) {
  switch (code) {
    case error_code::gradient_failed:
      return "gradient_failed";
    case error_code::invalid_reply:
      return "invalid_reply";
    case error_code::invalid_setup:
      return "invalid_setup";
  }
  return "unknown";
}

namespace {

/// Every thread the actor system starts flushes denormals to zero.
class denormal_flushing_hook final : public caf::thread_hook {
public:
  void init(caf::actor_system&) override {
    // nop
  }
  void thread_started() override { flush_denormals_on_this_thread(); }
  void thread_terminates() override {
    // nop
  }
};

} // namespace

void configure(caf::actor_system_config& cfg, bool deterministic) {
  cfg.add_thread_hook<denormal_flushing_hook>();
  cfg.add_message_type<shared_vector>("ormo.shared_vector");
  cfg.add_message_type<parameter_snapshot>("ormo.parameter_snapshot");
  cfg.add_message_type<gradient_push>("ormo.gradient_push");
  cfg.add_message_type<parameter_step>("ormo.parameter_step");
  cfg.add_message_type<push_outcome>("ormo.push_outcome");
  cfg.add_message_type<orderer_stats>("ormo.orderer_stats");
  cfg.add_message_type<membership_stats>("ormo.membership_stats");
  cfg.add_message_type<run_monitor_actor>("ormo.run_monitor_actor");
  cfg.add_error_category(
    caf::atom("ormo"),
    [](std::uint8_t code, caf::atom_value, const caf::message& context) {
      std::string result = "ormo." + to_string(static_cast<error_code>(code));
      if (!context.empty())
        result += ": " + context.get_as<std::string>(0);
      return result;
    });
  if (deterministic)
    cfg.set("scheduler.policy", caf::atom("testing"));
}

caf::expected<training_handles>
spawn_training(caf::actor_system& system, const config::run_config& run,
               const training_problem& problem,
               const training_callbacks& callbacks) {
  if (!problem.make_source)
    return caf::make_error(error_code::invalid_setup,
                           "training_problem.make_source is empty");
  const auto dimension = problem.initial_parameters.size();
  const auto shard_count = static_cast<Eigen::Index>(run.server.shards);
  if (dimension < shard_count)
    return caf::make_error(error_code::invalid_setup,
                           "server.shards: " + std::to_string(shard_count)
                             + " shards for " + std::to_string(dimension)
                             + " parameters");
  const auto workers = run.workers.count;
  const auto iteration_size = run.algorithm.iteration_size.value_or(workers);
  // Slice the parameters and build every rule first: a bad hyper-parameter
  // spawns nothing.
  training_handles handles;
  std::vector<std::shared_ptr<optim::update_rule>> rules;
  for (Eigen::Index s = 0; s < shard_count; ++s) {
    shard_route route;
    route.offset = dimension * s / shard_count;
    route.size = dimension * (s + 1) / shard_count - route.offset;
    auto rule = optim::make_update_rule(run.algorithm.settings,
                                        static_cast<std::size_t>(route.size),
                                        iteration_size);
    if (!rule)
      return caf::make_error(error_code::invalid_setup,
                             "algorithm: " + rule.error().message());
    (*rule)->set_warmup(run.algorithm.warmup_iterations);
    rules.push_back(std::move(rule).value());
    handles.shards.push_back(route);
  }
  for (std::size_t s = 0; s < handles.shards.size(); ++s) {
    auto& route = handles.shards[s];
    route.server = spawn_parameter_server(
      system, problem.initial_parameters.segment(route.offset, route.size));
    route.orderer
      = spawn_momentum_orderer(system, std::move(rules[s]), route.server);
  }
  supervisor_settings settings;
  settings.shards = handles.shards;
  auto make_source = problem.make_source;
  auto slots = static_cast<std::size_t>(workers);
  settings.make_source = [make_source, slots](std::size_t slot) {
    return make_source(slot, slots);
  };
  auto speed = run.workers.speed;
  auto seed = run.run.seed;
  std::optional<caf::timespan> virtual_compute;
  if (run.run.deterministic)
    virtual_compute = std::chrono::duration_cast<caf::timespan>(
      std::chrono::duration<double, std::milli>(run.workers.compute_ms));
  auto jitter = run.workers.compute_jitter;
  auto request_timeout = std::chrono::duration_cast<caf::timespan>(
    std::chrono::duration<double>(run.workers.request_timeout_s));
  settings.timing = [speed, seed, slots, virtual_compute, jitter,
                     request_timeout](std::size_t slot) {
    worker_timing timing;
    timing.slowdown = slowdown_for(speed, slot, slots, seed);
    timing.virtual_compute = virtual_compute;
    timing.jitter = jitter;
    timing.seed = random_source::derive_seed(seed ^ 0x7177e5ull, slot);
    timing.request_timeout = request_timeout;
    return timing;
  };
  // The monitor starts the workers once it is ready to watch them, so the
  // run's clock and its first watch come before the first gradient.
  settings.initial_workers = 0;
  settings.fixed_iteration_size = run.algorithm.iteration_size;
  settings.restart_limit = run.workers.restart_limit;
  // In real time on a thread of its own, as the monitor (run_monitor.hpp):
  // crashes, joins and leaves are handled at once, however busy the
  // workers keep the scheduler.
  handles.supervisor = spawn_supervisor(system, std::move(settings),
                                        !run.run.deterministic);

  handles.report = std::make_shared<run_report>();
  auto& report = *handles.report;
  report.algorithm = optim::to_string(run.algorithm.settings.name);
  report.apply = optim::to_string(run.algorithm.settings.apply);
  report.workers = static_cast<std::uint32_t>(workers);
  report.iteration_size = iteration_size;
  report.deterministic = run.run.deterministic;
  report.seed = run.run.seed;

  run_monitor_settings monitor;
  monitor.shards = handles.shards;
  monitor.supervisor = handles.supervisor;
  monitor.stop = run.run.stop;
  monitor.batch_size = problem.batch_size;
  monitor.samples_per_epoch = problem.samples_per_epoch;
  monitor.evaluations_per_epoch = run.output.evaluations_per_epoch;
  monitor.progress_seconds = run.output.progress_seconds;
  monitor.evaluate = problem.evaluate;
  monitor.on_row = callbacks.on_row;
  monitor.on_progress = callbacks.on_progress;
  monitor.stop_requested = callbacks.stop_requested;
  monitor.report = handles.report;
  monitor.workers_to_start = workers;
  monitor.own_thread = !run.run.deterministic;
  handles.monitor = spawn_run_monitor(system, std::move(monitor));
  return handles;
}

run_report run_training(caf::actor_system& system,
                        const config::run_config& run,
                        const training_problem& problem,
                        const training_callbacks& callbacks) {
  auto* coordinator
    = dynamic_cast<caf::scheduler::test_coordinator*>(&system.scheduler());
  if (run.run.deterministic && coordinator == nullptr) {
    run_report failed;
    failed.failure = "deterministic mode needs an actor system configured "
                     "with ormo::actors::configure(cfg, true)";
    return failed;
  }
  auto handles = spawn_training(system, run, problem, callbacks);
  if (!handles) {
    run_report failed;
    failed.failure = system.render(handles.error());
    return failed;
  }
  if (run.run.deterministic) {
    // Discrete-event simulation: run everything runnable, then jump to the
    // next timeout (a worker's virtual computation, a tick). On this
    // thread, as on the scheduler threads of a real run.
    denormals_flushed flushed;
    for (;;) {
      coordinator->run();
      if (!coordinator->has_pending_timeout())
        break;
      coordinator->trigger_timeout();
    }
  } else {
    caf::scoped_actor self{system};
    self->monitor(handles->monitor);
    self->receive([](const caf::down_msg&) {});
  }
  return *handles->report;
}

} // namespace ormo::actors
