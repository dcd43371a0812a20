#include "ormo/actors/training.hpp"

#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <caf/scheduler/coordinator.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/thread_hook.hpp>

#include "ormo/actors/error_code.hpp"
#include "ormo/actors/link_interceptor.hpp"
#include "ormo/actors/momentum_orderer.hpp"
#include "ormo/actors/parameter_server.hpp"
#include "ormo/actors/run_monitor.hpp"
#include "ormo/actors/supervisor.hpp"
#include "ormo/actors/worker.hpp"
#include "ormo/actors/workers_last_sharing.hpp"
#include "ormo/denormals.hpp"

namespace ormo::actors {

std::string to_string(error_code code) {
  switch (code) {
    case error_code::gradient_failed:
      return "gradient_failed";
    case error_code::invalid_reply:
      return "invalid_reply";
    case error_code::invalid_setup:
      return "invalid_setup";
    case error_code::checkpoint_failed:
      return "checkpoint_failed";
    case error_code::fault_injected:
      return "fault_injected";
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
  cfg.add_message_type<worker_progress>("ormo.worker_progress");
  cfg.add_message_type<paused_run>("ormo.paused_run");
  cfg.add_message_type<std::vector<rejection_reason>>(
    "ormo.rejection_reasons");
  cfg.add_message_type<run_monitor_actor>("ormo.run_monitor_actor");
  // Multi-process runs: membership across nodes.
  cfg.add_message_type<worker_actor>("ormo.worker_actor");
  cfg.add_message_type<worker_host_actor>("ormo.worker_host_actor");
  cfg.add_message_type<supervisor_actor>("ormo.supervisor_actor");
  cfg.add_message_type<shard_route>("ormo.shard_route");
  cfg.add_message_type<parameter_server_actor>("ormo.parameter_server_actor");
  cfg.add_message_type<momentum_orderer_actor>("ormo.momentum_orderer_actor");
  cfg.add_message_type<std::vector<shard_route>>("ormo.shard_routes");
  cfg.add_message_type<std::vector<std::uint64_t>>("ormo.slots");
  // Declared faults.
  cfg.add_message_type<worker_fault>("ormo.worker_fault");
  cfg.add_message_type<link_fault>("ormo.link_fault");
  cfg.add_message_type<fault_injector_actor>("ormo.fault_injector_actor");
  cfg.add_message_type<std::vector<link_interceptor_actor>>(
    "ormo.link_interceptors");
  cfg.add_error_category(
    caf::atom("ormo"),
    [](std::uint8_t code, caf::atom_value, const caf::message& context) {
      std::string result = "ormo." + to_string(static_cast<error_code>(code));
      if (!context.empty())
        result += ": " + context.get_as<std::string>(0);
      return result;
    });
  // In real time, one queue first in first out: workers that share cores
  // take turns, so delays follow the workers' speeds. CAF's default
  // work-stealing runs the newest job of a thread first, and a worker whose
  // answer came back ran again while others starved (docs/performance.md,
  // "Workers taking turns"). The other actors' jobs go ahead of the
  // workers' (workers_last_sharing.hpp).
  if (deterministic)
    cfg.set("scheduler.policy", caf::atom("testing"));
  else
    cfg.load<caf::scheduler::coordinator<workers_last_sharing>>();
}

namespace {

static_assert(std::is_same_v<caf::timespan, std::chrono::nanoseconds>,
              "a plan's durations are CAF's timespans");

worker_timing to_worker_timing(const worker_slot_plan& slot) {
  worker_timing timing;
  timing.slowdown = slot.slowdown;
  timing.virtual_compute = slot.virtual_compute;
  timing.jitter = slot.jitter;
  timing.seed = slot.seed;
  timing.request_timeout = slot.request_timeout;
  timing.retry_after = slot.retry_after;
  timing.pushes_in_flight = slot.pushes_in_flight;
  return timing;
}

caf::error invalid_setup(std::string what) {
  return caf::make_error(error_code::invalid_setup, std::move(what));
}

/// The rule of every shard of `plan`, or why one cannot be built.
caf::expected<std::vector<std::unique_ptr<optim::update_rule>>>
make_rules(const training_plan& plan) {
  std::vector<std::unique_ptr<optim::update_rule>> rules;
  for (const auto& shard : plan.shards) {
    auto rule = make_rule(shard.rule);
    if (!rule)
      return invalid_setup("algorithm: " + rule.error().message());
    rules.push_back(std::move(rule).value());
  }
  return rules;
}

/// Spawns shard `shard` of a plan, from checkpoint `cut` when there is one
/// (whose rule state `rule` was restored from).
shard_route spawn_shard_with(caf::actor_system& system, std::size_t shard,
                             const shard_plan& part,
                             std::unique_ptr<optim::update_rule> rule,
                             const Eigen::VectorXf& initial_parameters,
                             const shard_checkpoint* cut = nullptr) {
  shard_route route;
  route.offset = static_cast<Eigen::Index>(part.offset);
  route.size = static_cast<Eigen::Index>(part.size);
  route.server
    = cut != nullptr
        ? spawn_parameter_server(system, *cut)
        : spawn_parameter_server(
          system, initial_parameters.segment(route.offset, route.size));
  shard_checkpointing checkpointing;
  checkpointing.shard = static_cast<std::uint32_t>(shard);
  checkpointing.offset = static_cast<std::int64_t>(part.offset);
  checkpointing.directory = part.checkpoint_directory;
  checkpointing.every_iterations = part.checkpoint_every;
  checkpointing.keep = part.checkpoint_keep;
  route.orderer = spawn_momentum_orderer(system, std::move(rule), route.server,
                                         std::move(checkpointing), cut);
  return route;
}

} // namespace

worker_timing worker_timing_for(const training_plan& plan, std::size_t slot) {
  return to_worker_timing(worker_timing_of(plan, slot));
}

caf::expected<shard_route>
spawn_shard(caf::actor_system& system, const training_plan& plan,
            std::size_t shard, const Eigen::VectorXf& initial_parameters) {
  const auto& part = plan.shards[shard];
  auto rule = make_rule(part.rule);
  if (!rule)
    return invalid_setup("algorithm: " + rule.error().message());
  return spawn_shard_with(system, shard, part, std::move(rule).value(),
                          initial_parameters);
}

run_monitor_actor spawn_monitor(
  caf::actor_system& system, const training_plan& plan,
  std::vector<shard_route> shards, supervisor_actor supervisor,
  const training_problem& problem, const training_callbacks& callbacks,
  std::shared_ptr<run_report> report, std::vector<std::string> shard_places,
  std::shared_ptr<const run_checkpoint> from,
  std::function<caf::expected<shard_route>(std::size_t)> restart_shard,
  shard_keeper_actor keeper) {
  report->algorithm = plan.report.algorithm;
  report->apply = plan.report.apply;
  report->workers = plan.report.workers;
  report->iteration_size = plan.report.iteration_size;
  report->deterministic = plan.report.deterministic;
  report->seed = plan.report.seed;
  run_monitor_settings monitor;
  monitor.shards = std::move(shards);
  monitor.shard_places = std::move(shard_places);
  monitor.supervisor = std::move(supervisor);
  monitor.stop = plan.monitor.stop;
  monitor.batch_size = plan.monitor.batch_size;
  monitor.samples_per_epoch = plan.monitor.samples_per_epoch;
  monitor.evaluations_per_epoch = plan.monitor.evaluations_per_epoch;
  monitor.progress_seconds = plan.monitor.progress_seconds;
  monitor.evaluate = problem.evaluate;
  monitor.on_row = callbacks.on_row;
  monitor.on_progress = callbacks.on_progress;
  monitor.stop_requested = callbacks.stop_requested;
  monitor.report = std::move(report);
  monitor.workers_to_start = from ? 0 : plan.monitor.workers_to_start;
  monitor.own_thread = plan.monitor.own_thread;
  monitor.checkpoint_every = plan.monitor.checkpoint_every;
  if (!plan.shards.empty())
    monitor.checkpoint_directory = plan.shards.front().checkpoint_directory;
  monitor.checkpoint_keep = plan.monitor.checkpoint_keep;
  monitor.resume_from = std::move(from);
  monitor.restart_shard = std::move(restart_shard);
  monitor.keeper = std::move(keeper);
  return spawn_run_monitor(system, std::move(monitor));
}

namespace {

/// The plan of `run` for `problem`'s sizes, or why there is none.
result<training_plan> plan_of(const config::run_config& run,
                              const training_problem& problem) {
  if (!problem.make_source)
    return status::error(status_code::invalid_argument,
                         "training_problem.make_source is empty");
  plan_inputs inputs;
  inputs.dimension
    = static_cast<std::size_t>(problem.initial_parameters.size());
  inputs.batch_size = problem.batch_size;
  inputs.samples_per_epoch = problem.samples_per_epoch;
  return make_training_plan(run, inputs);
}

} // namespace

std::function<caf::expected<shard_route>(std::size_t)>
shard_restarter(caf::actor_system& system, const training_plan& plan) {
  if (plan.shards.empty()
      || (plan.monitor.checkpoint_every <= 0
          && plan.shards.front().checkpoint_every <= 0))
    return {};
  return [&system, plan](std::size_t s) -> caf::expected<shard_route> {
    std::vector<std::string> refused;
    auto cut = newest_shard_checkpoint(plan, s, refused);
    if (!cut)
      return caf::make_error(error_code::checkpoint_failed,
                             cut.error().message());
    auto rule = make_rule(plan.shards[s].rule);
    if (!rule)
      return invalid_setup("algorithm: " + rule.error().message());
    (*rule)->keep_momentum_elsewhere(); // u is the server's, as in the cut
    if (auto restored = (*rule)->restore(cut->rule); !restored)
      return caf::make_error(error_code::checkpoint_failed,
                             "the checkpoint of shard " + std::to_string(s)
                               + ": " + restored.message());
    return spawn_shard_with(system, s, plan.shards[s], std::move(*rule),
                            Eigen::VectorXf{}, &*cut);
  };
}

caf::expected<training_handles>
spawn_training(caf::actor_system& system, const training_plan& plan,
               const training_problem& problem,
               const training_callbacks& callbacks, const resume_point* from) {
  if (!problem.make_source)
    return invalid_setup("training_problem.make_source is empty");
  if (static_cast<std::size_t>(problem.initial_parameters.size())
      != plan.dimension)
    return invalid_setup("training_problem.initial_parameters: "
                         + std::to_string(problem.initial_parameters.size())
                         + " parameters for a plan of "
                         + std::to_string(plan.dimension));
  // Every rule first: a failure spawns nothing.
  auto rules = make_rules(plan);
  if (!rules)
    return rules.error();
  if (from != nullptr) {
    if (from->shards.size() != plan.shards.size())
      return invalid_setup(
        "a resume point of " + std::to_string(from->shards.size())
        + " shards for a plan of " + std::to_string(plan.shards.size()));
    for (std::size_t s = 0; s < plan.shards.size(); ++s) {
      auto& rule = *(*rules)[s];
      rule.keep_momentum_elsewhere(); // u is the server's, as in the cut
      if (auto restored = rule.restore(from->shards[s].rule); !restored)
        return invalid_setup("the checkpoint of shard " + std::to_string(s)
                             + ": " + restored.message());
    }
  }
  training_handles handles;
  for (std::size_t s = 0; s < plan.shards.size(); ++s)
    handles.shards.push_back(
      spawn_shard_with(system, s, plan.shards[s], std::move((*rules)[s]),
                       problem.initial_parameters,
                       from != nullptr ? &from->shards[s] : nullptr));
  const bool exact = from != nullptr && from->run != nullptr;

  // Faults: the injector, then an interceptor on every link of every
  // initial slot (the first shard's count gradients for the injector).
  fault_injector_actor injector;
  std::vector<link_interceptor_actor> links;
  if (!plan.faults.empty()) {
    fault_injector_settings injection;
    injection.faults = plan.faults;
    injection.seed = plan.report.seed;
    injection.shards = plan.shards.size();
    injection.slots = plan.workers.initial;
    handles.faults = injection.counts = std::make_shared<fault_counts>();
    injector = spawn_fault_injector(system, std::move(injection));
    for (std::size_t slot = 0; slot < plan.workers.initial; ++slot)
      for (std::size_t s = 0; s < plan.shards.size(); ++s) {
        link_settings link;
        link.orderer = handles.shards[s].orderer;
        link.seed = link_seed(plan.report.seed, slot, s, plan.shards.size());
        if (s == 0)
          link.observer = injector;
        links.push_back(spawn_link_interceptor(system, std::move(link)));
      }
  }

  supervisor_settings supervision;
  supervision.shards = handles.shards;
  for (const auto& link : links)
    supervision.links.push_back(link); // as the orderer it stands for
  supervision.make_source
    = [make_source = problem.make_source, slots = plan.workers.initial](
        std::size_t slot) { return make_source(slot, slots); };
  // One process, no declared faults, no shard restarts: no message is
  // lost, so the workers keep no copies and share their gradient buffers.
  auto restart_shard = shard_restarter(system, plan);
  std::shared_ptr<gradient_pool> gradients;
  if (plan.faults.empty() && !restart_shard)
    gradients
      = std::make_shared<gradient_pool>(problem.initial_parameters.size());
  supervision.timing = [plan, gradients](std::size_t slot) {
    auto timing = worker_timing_for(plan, slot);
    timing.gradients = gradients;
    return timing;
  };
  supervision.initial_workers = plan.supervisor.initial_workers;
  supervision.fixed_iteration_size = plan.supervisor.fixed_iteration_size;
  supervision.restart_limit = plan.supervisor.restart_limit;
  if (exact)
    supervision.resume_from
      = paused_run{from->run->workers, from->run->membership};
  handles.supervisor = spawn_supervisor(system, std::move(supervision),
                                        plan.supervisor.own_thread);
  handles.report = std::make_shared<run_report>();
  handles.monitor
    = spawn_monitor(system, plan, handles.shards, handles.supervisor, problem,
                    callbacks, handles.report, {}, exact ? from->run : nullptr,
                    std::move(restart_shard));
  if (injector)
    caf::anon_send(injector, start_atom::value, handles.supervisor,
                   handles.monitor, std::move(links));
  return handles;
}

caf::expected<training_handles>
spawn_training(caf::actor_system& system, const config::run_config& run,
               const training_problem& problem,
               const training_callbacks& callbacks) {
  auto plan = plan_of(run, problem);
  if (!plan)
    return invalid_setup(plan.error().message());
  return spawn_training(system, *plan, problem, callbacks);
}

run_report run_training(caf::actor_system& system,
                        const config::run_config& run,
                        const training_problem& problem,
                        const training_callbacks& callbacks, bool resume) {
  run_report failed;
  auto* coordinator
    = dynamic_cast<caf::scheduler::test_coordinator*>(&system.scheduler());
  if (run.run.deterministic && coordinator == nullptr) {
    failed.failure = "deterministic mode needs an actor system configured "
                     "with ormo::actors::configure(cfg, true)";
    return failed;
  }
  auto plan = plan_of(run, problem);
  if (!plan) {
    failed.failure = plan.error().message();
    return failed;
  }
  std::optional<resume_point> from;
  if (resume) {
    auto found = find_resume_point(*plan);
    if (!found) {
      failed.failure = "cannot resume: " + found.error().message();
      return failed;
    }
    from = std::move(found).value();
    if (from->run)
      coordinator->clock().current_time = caf::actor_clock::time_point{
        std::chrono::nanoseconds{from->run->clock_ns}};
  }
  auto handles = spawn_training(system, *plan, problem, callbacks,
                                from ? &*from : nullptr);
  if (!handles) {
    failed.failure = system.render(handles.error());
    return failed;
  }
  if (from) {
    handles->report->resumed_from = from->files;
    handles->report->refused_checkpoints = from->refused;
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
  auto report = *handles->report;
  if (handles->faults)
    report.faults_injected = handles->faults->snapshot();
  return report;
}

} // namespace ormo::actors
