// ormo: train with asynchronous SGD and ordered momentum on CAF actors.
//
//   ormo run [FILE] [--out DIR] [--set key.path=value]... [--deterministic]
//   ormo node FILE --name NODE [--out DIR] [--set key.path=value]...
//   ormo help [COMMAND] | ormo version   (and -h, --help, --version)
//
// Exit status: 0 success, 2 bad usage or configuration, 1 runtime failure,
// 130 interrupted (Ctrl-C: the run ends with its outputs written); every
// failure ends with one line saying why.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "ormo/actors/classification_problem.hpp"
#include "ormo/actors/training.hpp"
#include "command_line.hpp"
#include "ormo/config/parse_run_config.hpp"
#include "ormo/denormals.hpp"
#include "ormo/net/node.hpp"
#include "ormo/whole_file.hpp"
#include "huge_page_heap.hpp"
#include "launcher.hpp"
#include "memory_check.hpp"
#include "output_dir.hpp"
#include "progress_printer.hpp"

namespace {

constexpr int exit_failure = 1;
constexpr int exit_interrupted = 130; // 128 + SIGINT, as shells report it
/// The topology a run with checkpoints saves beside them.
constexpr const char* saved_topology = "config.toml";

/// Set by the first Ctrl-C; the run then ends cleanly with its outputs. A
/// second Ctrl-C kills the process.
std::atomic<bool> interrupted{false};

void on_interrupt(int signal) {
  interrupted = true;
  std::signal(signal, SIG_DFL);
}

/// SIGINT and SIGTERM end a run cleanly (a second one kills). A closed
/// stdout (`ormo run | head`) does not end the run: its outputs still
/// matter, and the lines are then dropped.
void handle_interrupts() {
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  std::signal(SIGPIPE, SIG_IGN);
}

/// The scheduler of real-time runs.
void configure_scheduler(caf::actor_system_config& cfg) {
  // CAF's default (at least 4 scheduler threads) oversubscribes small
  // machines: workers then preempt each other mid-gradient (measured on 2
  // cores: 40 % of the compute bound instead of 49 %). One thread per core,
  // and at least 2 so that the monitor is never starved by the workers.
  auto threads = std::max(2u, std::thread::hardware_concurrency());
  cfg.set("scheduler.max-threads", std::size_t{threads});
  // An idle scheduler thread polls longer before it sleeps: the next
  // message is usually microseconds away (+4 % measured, 48 -> 52 %).
  cfg.set("work-stealing.aggressive-poll-attempts", std::size_t{10000});
}

/// Samples per second of the gradient computation alone on `cores` threads
/// at once (no actors, no server work; each thread its own data shard, as a
/// worker), measured for about `seconds`: the yardstick of the end-to-end
/// throughput. Concurrent, because cores share caches and memory bandwidth.
double compute_samples_per_second(const ormo::actors::training_problem& problem,
                                  unsigned cores, double seconds) {
  using clock = std::chrono::steady_clock;
  std::vector<double> rates(cores, 0);
  std::vector<std::shared_ptr<ormo::model::gradient_source>> sources;
  for (unsigned core = 0; core < cores; ++core) {
    auto source = problem.make_source(core, cores);
    if (!source)
      return 0; // not measured
    sources.push_back(std::move(source).value());
  }
  auto measure = [&](unsigned core) {
    ormo::denormals_flushed flushed; // as on the actor system's threads
    auto& source = sources[core];
    const Eigen::VectorXf& parameters = problem.initial_parameters;
    Eigen::VectorXf gradient(parameters.size());
    for (int k = 0; k < 3; ++k) // warm caches and scratch buffers
      source->compute(parameters, gradient);
    auto start = clock::now();
    double elapsed = 0;
    std::size_t samples = 0;
    while (elapsed < seconds) {
      source->compute(parameters, gradient);
      samples += source->batch_size();
      elapsed = std::chrono::duration<double>(clock::now() - start).count();
    }
    rates[core] = static_cast<double>(samples) / elapsed;
  };
  std::vector<std::thread> threads;
  for (unsigned core = 1; core < cores; ++core)
    threads.emplace_back(measure, core);
  measure(0);
  for (auto& thread : threads)
    thread.join();
  double total = 0;
  for (auto rate : rates)
    total += rate;
  return total;
}

/// A run's files: its all-or-nothing output directory and metrics.csv in
/// it, with the first write error. Rows are written by the monitor's thread
/// while the main thread waits; `write_failed` tells any thread.
struct run_outputs {
  ormo::tools::output_dir dir;
  std::ofstream metrics;
  /// Set once, before write_failed.
  std::string write_error;
  std::atomic<bool> write_failed{false};
  /// Set once, before stalled: why the run was stopped as going nowhere.
  std::string stall_reason;
  std::atomic<bool> stalled{false};

  explicit run_outputs(ormo::tools::output_dir d) : dir(std::move(d)) {}

  /// Records the first failed write of `file` (errno as the stream left it).
  void fail_write(const char* file) {
    if (write_failed)
      return;
    int reason = errno;
    write_error = (dir.target() / file).string() + ": cannot write"
                  + (reason != 0 ? std::string{": "} + std::strerror(reason)
                                 : std::string{});
    write_failed = true;
  }
};

/// Opens the output directory (a staging directory beside output.dir) with
/// config.toml and metrics.csv's header in it, or says why not and gives
/// the exit status.
std::variant<std::unique_ptr<run_outputs>, int>
prepare_outputs(const ormo::config::run_config& config) {
  auto dir = ormo::tools::output_dir::open(config.output.dir);
  if (!dir) {
    std::fprintf(stderr, "ormo: %s\n", dir.error().message().c_str());
    return dir.error().code() == ormo::status_code::invalid_argument
             ? ormo::tools::exit_usage
             : exit_failure;
  }
  auto outputs = std::make_unique<run_outputs>(std::move(dir).value());
  if (auto written
      = outputs->dir.write_file("config.toml", ormo::config::to_toml(config));
      !written) {
    std::fprintf(stderr, "ormo: %s\n", written.message().c_str());
    return exit_failure;
  }
  errno = 0;
  outputs->metrics.open(outputs->dir.staging() / "metrics.csv",
                        std::ios::trunc);
  outputs->metrics << ormo::actors::csv_header();
  if (!outputs->metrics.flush()) {
    outputs->fail_write("metrics.csv");
    std::fprintf(stderr, "ormo: %s\n", outputs->write_error.c_str());
    return exit_failure;
  }
  return outputs;
}

/// Says how the run ended, writes summary.json and replaces the output
/// directory with the run's (or keeps the previous one when the run failed
/// or a file could not be written); the exit status.
int finish(const ormo::actors::run_report& report, run_outputs& outputs);

/// Ends a run stopped before training (interrupted or failed while
/// loading): the output directory keeps what it held.
int abandon(run_outputs& outputs, int exit_status) {
  outputs.dir.discard();
  if (exit_status == exit_interrupted)
    std::fprintf(stderr, "ormo: interrupted before training; %s unchanged\n",
                 outputs.dir.target().c_str());
  return exit_status;
}

/// make_classification_problem, with an exhausted memory as an error.
ormo::result<ormo::actors::training_problem>
load_problem(const ormo::config::run_config& config) {
  try {
    return ormo::actors::make_classification_problem(config);
  } catch (const std::bad_alloc&) {
    return ormo::status::error(
      ormo::status_code::io_error,
      "out of memory while loading the data and building the model (see "
      "data.*, model.hidden and model.batch_size in "
        + config.source + ")");
  }
}

ormo::actors::plan_inputs
inputs_of(const ormo::actors::training_problem& problem) {
  ormo::actors::plan_inputs inputs;
  inputs.dimension
    = static_cast<std::size_t>(problem.initial_parameters.size());
  inputs.batch_size = problem.batch_size;
  inputs.samples_per_epoch = problem.samples_per_epoch;
  return inputs;
}

/// Watches the progress reports for a run that goes nowhere: every gradient
/// between two reports rejected (a diverged model gives only non-finite
/// gradients, and no iteration ever closes again).
class stall_watch {
public:
  /// The reason to stop, or empty.
  std::string check(const ormo::actors::progress& p) {
    std::string reason;
    if (seen_ && p.iteration == iteration_
        && p.rejected >= rejected_ + min_rejections)
      reason = "no iteration closed while "
               + std::to_string(p.rejected - rejected_)
               + " gradients in a row were rejected (a diverged model gives "
                 "only non-finite gradients: see algorithm.learning_rate; "
                 "summary.json counts the reasons)";
    seen_ = true;
    iteration_ = p.iteration;
    rejected_ = p.rejected;
    return reason;
  }

private:
  static constexpr std::uint64_t min_rejections = 100;
  bool seen_ = false;
  std::int64_t iteration_ = 0;
  std::uint64_t rejected_ = 0;
};

/// A run's rows go to `outputs` (null: a node without the supervisor),
/// its progress to `printer`; Ctrl-C, SIGTERM, a failed write or a run
/// that goes nowhere asks it to stop.
ormo::actors::training_callbacks
run_callbacks(run_outputs* outputs, ormo::tools::progress_printer& printer) {
  ormo::actors::training_callbacks callbacks;
  callbacks.on_row = [outputs](const ormo::actors::metrics_row& row) {
    if (outputs == nullptr || outputs->write_failed)
      return;
    errno = 0;
    outputs->metrics << ormo::actors::to_csv_line(row);
    if (!outputs->metrics.flush())
      outputs->fail_write("metrics.csv");
  };
  auto watch = std::make_shared<stall_watch>();
  callbacks.on_progress
    = [&printer, outputs, watch](const ormo::actors::progress& p) {
        printer.print(p);
        if (outputs == nullptr || outputs->stalled)
          return;
        if (auto reason = watch->check(p); !reason.empty()) {
          outputs->stall_reason = std::move(reason);
          outputs->stalled = true;
        }
      };
  callbacks.stop_requested = [outputs] {
    return interrupted.load()
           || (outputs != nullptr
               && (outputs->write_failed.load() || outputs->stalled.load()));
  };
  return callbacks;
}

/// `ormo node FILE --name NODE`: this process runs one node's part.
int run_node(const ormo::config::run_config& config, const std::string& name) {
  auto layout = ormo::net::layout_of(config, name);
  if (!layout) {
    std::fprintf(stderr, "ormo: %s\n", layout.error().message().c_str());
    return ormo::tools::exit_usage;
  }
  if (config.run.deterministic) {
    std::fprintf(stderr, "ormo: run.deterministic: a node runs in real time; "
                         "`ormo run FILE --deterministic` runs the whole "
                         "topology in one process in virtual time\n");
    return ormo::tools::exit_usage;
  }
  if (auto refused = ormo::tools::check_memory(config, layout->slots.size());
      refused != 0)
    return refused;
  std::unique_ptr<run_outputs> outputs;
  if (layout->supervisor) {
    auto prepared = prepare_outputs(config);
    if (auto* exit_status = std::get_if<int>(&prepared))
      return *exit_status;
    outputs = std::move(std::get<0>(prepared));
  }
  std::printf("ormo: node %s of %s: %zu shard(s), %zu worker(s)%s\n",
              name.c_str(), config.source.c_str(), layout->shards.size(),
              layout->slots.size(),
              layout->supervisor
                ? ("; supervisor, output in " + config.output.dir).c_str()
                : "");
  std::fflush(stdout);
  auto problem = load_problem(config);
  if (!problem) {
    std::fprintf(stderr, "ormo: %s\n", problem.error().message().c_str());
    return exit_failure;
  }
  if (interrupted) {
    if (outputs)
      return abandon(*outputs, exit_interrupted);
    std::fprintf(stderr, "ormo: node %s: interrupted before training\n",
                 name.c_str());
    return exit_interrupted;
  }
  auto plan = ormo::actors::make_training_plan(config, inputs_of(*problem));
  if (!plan) {
    std::fprintf(stderr, "ormo: %s\n", plan.error().message().c_str());
    return ormo::tools::exit_usage;
  }
  ormo::tools::progress_printer printer(stdout);
  ormo::net::node_callbacks callbacks;
  callbacks.training = run_callbacks(outputs.get(), printer);
  callbacks.on_status = [&](const std::string& line) {
    printer.finish_line();
    std::printf("ormo: node %s: %s\n", name.c_str(), line.c_str());
    std::fflush(stdout);
  };
  caf::actor_system_config cfg;
  ormo::actors::configure(cfg, false);
  ormo::net::configure_network(cfg, config.network);
  configure_scheduler(cfg);
  ormo::net::node_outcome outcome;
  {
    caf::actor_system system{cfg};
    outcome = ormo::net::run_node(system, config, *plan, *layout, *problem,
                                  callbacks);
  }
  printer.finish_line();
  bool started = !outcome.report.stop_reason.empty();
  if (outputs && started)
    return finish(outcome.report, *outputs);
  if (outcome.exit_status == 0)
    std::printf("ormo: node %s: %s\n", name.c_str(), outcome.message.c_str());
  else
    std::fprintf(stderr, "ormo: node %s: %s\n", name.c_str(),
                 outcome.message.c_str());
  return outcome.exit_status;
}

/// The topology a run saved beside its checkpoints, for `--resume DIR`
/// (an output directory, or its checkpoint directory); the checkpoints are
/// then read from where it was found.
ormo::result<ormo::config::run_config>
load_saved_run(const std::string& dir,
               std::vector<ormo::config::setting_override> overrides) {
  namespace fs = std::filesystem;
  for (const auto& place : {fs::path(dir) / "checkpoints", fs::path(dir)}) {
    auto saved = place / saved_topology;
    std::error_code error;
    if (!fs::is_regular_file(saved, error))
      continue;
    overrides.insert(overrides.begin(),
                     {"checkpoints.dir", '"' + place.string() + '"'});
    return ormo::config::load_run_config(saved.string(), overrides);
  }
  return ormo::status::error(
    ormo::status_code::not_found,
    "--resume " + dir + ": no saved topology ("
      + (fs::path(dir) / "checkpoints" / saved_topology).string()
      + "); a run saves it when checkpoints.every_iterations is set");
}

/// Saves the topology beside the checkpoints, so that `--resume` finds it
/// even when the run never finished; false after saying why not.
bool save_topology(const ormo::config::run_config& config) {
  namespace fs = std::filesystem;
  fs::path dir = ormo::config::checkpoint_directory(config);
  std::error_code error;
  fs::create_directories(dir, error);
  auto text = ormo::config::to_toml(config);
  auto failed = error
                  ? ormo::whole_file_failure{"cannot create", error.value()}
                  : ormo::write_whole_file(
                    dir / saved_topology,
                    dir / ("." + std::string{saved_topology} + ".tmp"), {text});
  if (failed)
    std::fprintf(stderr, "ormo: %s: %s: %s\n", (dir / saved_topology).c_str(),
                 failed.step, std::strerror(failed.error));
  return !failed;
}

int run(const ormo::tools::run_arguments& arguments) {
  // From the start: a signal while the data loads ends the run cleanly too.
  handle_interrupts();
  auto loaded
    = arguments.resume ? load_saved_run(*arguments.resume, arguments.overrides)
      : arguments.file
        ? ormo::config::load_run_config(*arguments.file, arguments.overrides)
        : ormo::config::default_run_config(arguments.overrides);
  if (!loaded) {
    std::fprintf(stderr, "%s\n", loaded.error().message().c_str());
    return ormo::tools::exit_usage;
  }
  const auto& config = *loaded;
  if (arguments.node)
    return run_node(config, *arguments.node);
  if (arguments.resume && !config.nodes.empty() && !config.run.deterministic) {
    std::fprintf(stderr, "ormo: --resume: a multi-process topology cannot "
                         "resume yet (its nodes would each need to)\n");
    return ormo::tools::exit_usage;
  }
  if (!config.nodes.empty() && !config.run.deterministic)
    return ormo::tools::launch_nodes(config, *arguments.file,
                                     arguments.overrides);
  if (auto refused = ormo::tools::check_memory(
        config, static_cast<std::uint64_t>(config.workers.count));
      refused != 0)
    return refused;
  auto prepared = prepare_outputs(config);
  if (auto* exit_status = std::get_if<int>(&prepared))
    return *exit_status;
  auto& outputs = *std::get<0>(prepared);
  // A resumed run keeps the topology its checkpoints were made with.
  if (config.checkpoints.every_iterations > 0 && !arguments.resume
      && !save_topology(config))
    return abandon(outputs, exit_failure);
  std::printf("ormo: %s, %s (%s), %d workers, %s data; output in %s\n",
              config.source.c_str(),
              ormo::optim::to_string(config.algorithm.settings.name),
              ormo::optim::to_string(config.algorithm.settings.apply),
              config.workers.count, ormo::config::to_string(config.data.source),
              outputs.dir.target().c_str());
  std::fflush(stdout);
  auto problem = load_problem(config);
  if (!problem) {
    std::fprintf(stderr, "ormo: %s\n", problem.error().message().c_str());
    return abandon(outputs, exit_failure);
  }
  if (interrupted)
    return abandon(outputs, exit_interrupted);
  // The bound of real-time runs: each core computing gradients and nothing
  // else (virtual time has no such bound), measured before and after the
  // run, so that a change of the machine's load during the run (it is
  // shared) moves the bound as it moves the run.
  unsigned bound_cores = 0;
  if (!config.run.deterministic) {
    auto cores = std::max(1u, std::thread::hardware_concurrency());
    bound_cores = std::min<unsigned>(cores, config.workers.count);
  }
  double bound_before
    = bound_cores > 0 ? compute_samples_per_second(*problem, bound_cores, 0.3)
                      : 0;
  ormo::tools::progress_printer printer(stdout);
  auto callbacks = run_callbacks(&outputs, printer);
  caf::actor_system_config cfg;
  ormo::actors::configure(cfg, config.run.deterministic);
  if (!config.run.deterministic)
    configure_scheduler(cfg);
  ormo::actors::run_report report;
  {
    caf::actor_system system{cfg};
    report = ormo::actors::run_training(system, config, *problem, callbacks,
                                        arguments.resume.has_value());
  }
  printer.finish_line();
  for (const auto& file : report.refused_checkpoints)
    std::fprintf(stderr, "ormo: passed over %s\n", file.c_str());
  if (!report.resumed_from.empty())
    std::printf("ormo: resumed from %s\n", report.resumed_from.front().c_str());
  double compute_bound = bound_before;
  if (bound_cores > 0 && report.failure.empty()
      && report.stop_reason != "interrupted")
    compute_bound
      = (bound_before + compute_samples_per_second(*problem, bound_cores, 0.3))
        / 2;
  report.compute_bound_samples_per_second = compute_bound;
  return finish(report, outputs);
}

int finish(const ormo::actors::run_report& report, run_outputs& outputs) {
  const auto& target = outputs.dir.target();
  errno = 0;
  outputs.metrics.close();
  if (outputs.metrics.fail())
    outputs.fail_write("metrics.csv");
  // Where the outputs of a run that did not finish went, for its last line.
  auto keep_partial = [&] {
    auto kept = outputs.dir.keep_partial();
    if (!kept)
      return "; " + kept.error().message();
    return "; " + target.string() + " unchanged, this run's outputs in "
           + kept->string();
  };
  if (outputs.write_failed) {
    auto where = keep_partial();
    std::fprintf(stderr, "ormo: %s%s\n", outputs.write_error.c_str(),
                 where.c_str());
    return exit_failure;
  }
  if (auto written
      = outputs.dir.write_file("summary.json", ormo::actors::to_json(report));
      !written) {
    auto where = keep_partial();
    std::fprintf(stderr, "ormo: %s%s\n", written.message().c_str(),
                 where.c_str());
    return exit_failure;
  }
  if (!report.failure.empty() || outputs.stalled) {
    const auto& why
      = report.failure.empty() ? outputs.stall_reason : report.failure;
    auto where = keep_partial();
    std::fprintf(stderr, "ormo: run failed: %s%s\n", why.c_str(),
                 where.c_str());
    return exit_failure;
  }
  if (auto committed = outputs.dir.commit(); !committed) {
    std::fprintf(stderr, "ormo: %s\n", committed.message().c_str());
    return exit_failure;
  }
  if (report.stop_reason == "interrupted") {
    std::fprintf(stderr, "ormo: interrupted at epoch %.2f; outputs in %s\n",
                 report.epochs, target.c_str());
    return exit_interrupted;
  }
  double compute_bound = report.compute_bound_samples_per_second;
  char bound[64] = "";
  if (compute_bound > 0)
    std::snprintf(bound, sizeof bound, " (%.0f%% of the compute bound)",
                  100 * report.samples_per_second / compute_bound);
  std::printf("ormo: done (%s): %lld iterations, %llu gradients applied, "
              "train loss %.4f, test accuracy %.2f%%, %.0f samples/s%s, "
              "%.1f s\n",
              report.stop_reason.c_str(),
              static_cast<long long>(report.iterations),
              static_cast<unsigned long long>(report.gradients_applied),
              report.final_train_loss, 100 * report.final_test_accuracy,
              report.samples_per_second, bound, report.wall_seconds);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  // Before anything large is allocated; a no-op where it cannot work.
  ormo::tools::serve_heap_from_huge_pages(std::size_t{1} << 30);
  auto command_line = ormo::tools::parse_command_line(argc, argv);
  if (command_line.exit_status)
    return *command_line.exit_status;
  try {
    return run(command_line.run);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "ormo: out of memory\n");
  } catch (const std::exception& error) {
    std::fprintf(stderr, "ormo: internal error: %s\n", error.what());
  }
  return exit_failure;
}
