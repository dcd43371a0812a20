// run_training in deterministic mode: the same file and seed replay the same
// run; the counts of the report add up; the stop rules end the run where
// they say.
#include "ormo/actors/training.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <caf/scoped_actor.hpp>

#include "actors/actor_testing.hpp"
#include "actors/checkpoint_testing.hpp"
#include "helpers.hpp"
#include "ormo/actors/checkpoint_file.hpp"
#include "ormo/actors/checkpoint_store.hpp"
#include "ormo/actors/classification_problem.hpp"
#include "ormo/actors/run_checkpoint.hpp"
#include "ormo/actors/shard_checkpoint.hpp"

using namespace ormo;
using namespace ormo::actors;
using namespace ormo::actors::testing;

namespace {

config::run_config small_run(std::uint64_t seed) {
  config::run_config run;
  run.source = "<test>";
  run.run.seed = seed;
  run.run.deterministic = true;
  run.run.stop.epochs = 2;
  run.data.inputs = 16;
  run.data.train_samples = 2000;
  run.data.test_samples = 500;
  run.model.kind = model::model_kind::mlp;
  run.model.hidden = {16};
  run.model.batch_size = 32;
  run.workers.count = 3;
  run.workers.speed.profile = config::speed_profile::slow_fraction;
  run.workers.speed.fraction = 0.34;
  run.workers.speed.factor = 4;
  run.workers.compute_ms = 1;
  run.workers.compute_jitter = 0.2;
  run.algorithm.settings.name = optim::algorithm::ormo;
  run.algorithm.settings.learning_rate = 0.1;
  run.output.evaluations_per_epoch = 4;
  return run;
}

/// One run in a fresh deterministic actor system.
run_report run_once(const config::run_config& run) {
  auto problem = make_classification_problem(run);
  REQUIRE(problem);
  deterministic_system env;
  auto report = run_training(env.sys(), run, problem.value(), {});
  CHECK(env.running() == 0);
  return report;
}

bool same(double a, double b) {
  return a == b || (std::isnan(a) && std::isnan(b));
}

/// Every column but wall_s.
bool same_rows(const std::vector<metrics_row>& a,
               const std::vector<metrics_row>& b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t k = 0; k < a.size(); ++k) {
    const auto& x = a[k];
    const auto& y = b[k];
    if (!same(x.time_s, y.time_s) || !same(x.epoch, y.epoch)
        || x.iteration != y.iteration || x.gradients != y.gradients
        || !same(x.train_loss, y.train_loss) || !same(x.test_loss, y.test_loss)
        || !same(x.test_accuracy, y.test_accuracy) || x.rejected != y.rejected
        || !same(x.samples_per_second, y.samples_per_second))
      return false;
  }
  return true;
}

void check_report(const run_report& report, const config::run_config& run) {
  CHECK(report.failure.empty());
  CHECK(report.stop_reason == "epochs");
  CHECK(report.algorithm == "ormo");
  CHECK(report.deterministic);
  CHECK(report.seed == run.run.seed);
  CHECK(report.workers == 3);
  CHECK(report.iteration_size == 3);
  CHECK(report.joined == 3);
  CHECK(report.crashed + report.evicted + report.left == 0);
  CHECK(report.gradients_partial == 0);
  CHECK(report.gradients_received
        == report.gradients_applied + total(report.gradients_rejected));
  CHECK(report.gradients_rejected.empty());
  // Stopped at 2 epochs (125 gradients of 32 samples), give or take the
  // gradients in flight when the milestone was read.
  const double per_gradient = 32.0 / 2000.0;
  CHECK(report.gradients_applied >= 125);
  CHECK(report.gradients_applied <= 125 + 3);
  CHECK(report.epochs
        == doctest::Approx(static_cast<double>(report.gradients_applied)
                           * per_gradient));
  CHECK(report.iterations
        == static_cast<std::int64_t>(report.gradients_applied / 3));
  REQUIRE_FALSE(report.rows.empty());
  const auto& last = report.rows.back();
  CHECK(last.epoch >= 2);
  CHECK(last.epoch <= 2 + 3 * per_gradient);
  CHECK(last.gradients == report.gradients_applied);
  CHECK(report.final_test_accuracy == last.test_accuracy);
  CHECK(report.final_train_loss == last.train_loss);
  // An evaluation every quarter epoch, in order, in virtual time.
  CHECK(report.rows.size() >= 8);
  CHECK(report.rows.size() <= 10);
  for (std::size_t k = 1; k < report.rows.size(); ++k) {
    CAPTURE(k);
    CHECK(report.rows[k].epoch > report.rows[k - 1].epoch);
    CHECK(report.rows[k].time_s > report.rows[k - 1].time_s);
    CHECK(report.rows[k].gradients >= report.rows[k - 1].gradients);
    CHECK(report.rows[k].epoch >= 0.25 * static_cast<double>(k));
  }
  CHECK(report.time_seconds > 0);
  // Virtual time: 3 workers, one of them 4x slower, 1 ms per gradient
  // (times exp(0.2 z), mean 1.02): about 2.25 gradients per millisecond.
  const double expected_seconds
    = static_cast<double>(report.gradients_applied) / 2250.0 * 1.02;
  CHECK(std::abs(report.time_seconds / expected_seconds - 1) < 0.1);
  // It learned something (10 classes: chance is 0.1).
  CHECK(last.test_accuracy > 0.3);
}

/// Hands every actor of a spawned topology to `env`, which ends them all.
void track_all(deterministic_system& env, const training_handles& handles) {
  for (const auto& route : handles.shards) {
    env.track(route.server);
    env.track(route.orderer);
  }
  env.track_supervisor(handles.supervisor);
  env.track(handles.monitor);
}

} // namespace

TEST_CASE("training: a deterministic run replays exactly") {
  const auto run = small_run(42);
  const auto first = run_once(run);
  const auto second = run_once(run);
  check_report(first, run);
  check_report(second, run);
  CHECK(same_rows(first.rows, second.rows));
  CHECK(first.gradients_received == second.gradients_received);
  CHECK(first.gradients_applied == second.gradients_applied);
  CHECK(first.gradients_rejected == second.gradients_rejected);
  CHECK(first.iterations == second.iterations);
  CHECK(first.mean_delay == second.mean_delay);
  CHECK(first.max_delay == second.max_delay);
  CHECK(first.time_seconds == second.time_seconds);
  CHECK(first.final_test_loss == second.final_test_loss);

  // Another seed: another run.
  const auto other_run = small_run(43);
  const auto other = run_once(other_run);
  check_report(other, other_run);
  CHECK_FALSE(same_rows(first.rows, other.rows));
}

TEST_CASE("training: rows go to on_row as they are made") {
  const auto run = small_run(7);
  auto problem = make_classification_problem(run);
  REQUIRE(problem);
  deterministic_system env;
  std::vector<metrics_row> seen;
  training_callbacks callbacks;
  callbacks.on_row = [&](const metrics_row& row) { seen.push_back(row); };
  auto report = run_training(env.sys(), run, problem.value(), callbacks);
  CHECK(same_rows(seen, report.rows));
}

TEST_CASE("training: a stop request ends the run with a complete report") {
  auto run = small_run(9);
  run.run.stop.epochs = 100;
  auto problem = make_classification_problem(run);
  REQUIRE(problem);
  deterministic_system env;
  training_callbacks callbacks;
  auto polls = std::make_shared<int>(0);
  // Ticks come every 100 virtual ms: the third poll asks to stop.
  callbacks.stop_requested = [polls] { return ++*polls >= 3; };
  auto report = run_training(env.sys(), run, problem.value(), callbacks);
  CHECK(report.failure.empty());
  CHECK(report.stop_reason == "interrupted");
  CHECK(*polls == 3);
  CHECK(report.epochs > 1);
  CHECK(report.epochs < 100);
  REQUIRE_FALSE(report.rows.empty());
  // The last row is a fresh evaluation at the counts of the stop.
  CHECK(report.rows.back().gradients == report.gradients_applied);
  CHECK(report.rows.back().time_s == doctest::Approx(0.2));
  CHECK(env.running() == 0);
}

TEST_CASE("training: an iteration stop rule stops at that iteration") {
  auto run = small_run(5);
  run.run.stop.epochs = 0;
  run.run.stop.iterations = 20;
  run.algorithm.iteration_size = 2;
  auto problem = make_classification_problem(run);
  REQUIRE(problem);
  deterministic_system env;
  auto report = run_training(env.sys(), run, problem.value(), {});
  CHECK(report.failure.empty());
  CHECK(report.stop_reason == "iterations");
  CHECK(report.iteration_size == 2);
  CHECK(report.iterations >= 20);
  CHECK(report.iterations <= 21);
  CHECK(report.gradients_applied >= 40);
  CHECK(report.gradients_applied <= 43);
  REQUIRE_FALSE(report.rows.empty());
  CHECK(report.rows.back().iteration == report.iterations);
  CHECK(env.running() == 0);
}

TEST_CASE("training: bad settings fail without spawning anything") {
  deterministic_system env;
  auto run = small_run(1);
  auto problem = make_classification_problem(run);
  REQUIRE(problem);
  auto too_many_shards = run;
  too_many_shards.server.shards
    = static_cast<int>(problem.value().initial_parameters.size()) + 1;
  auto report = run_training(env.sys(), too_many_shards, problem.value(), {});
  CHECK(report.failure.find("server.shards") != std::string::npos);
  CHECK(env.running() == 0);
  auto bad_rate = run;
  bad_rate.algorithm.settings.learning_rate = -1;
  report = run_training(env.sys(), bad_rate, problem.value(), {});
  CHECK(report.failure.find("algorithm") != std::string::npos);
  CHECK(env.running() == 0);
  CHECK(report.rows.empty());
  auto no_source = problem.value();
  no_source.make_source = nullptr;
  report = run_training(env.sys(), run, no_source, {});
  CHECK(report.failure.find("make_source") != std::string::npos);
  CHECK(env.running() == 0);
}

TEST_CASE("training: two shards give a complete run") {
  auto run = small_run(3);
  run.server.shards = 2;
  const auto report = run_once(run);
  check_report(report, run);
}

TEST_CASE("training: with two shards, a gradient one shard rejects counts "
          "as partial, not as applied") {
  auto run = small_run(3);
  run.server.shards = 2;
  run.workers.count = 2;
  run.workers.speed.profile = config::speed_profile::uniform;
  run.workers.compute_jitter = 0;
  run.run.stop.epochs = 1;
  auto problem = make_classification_problem(run);
  REQUIRE(problem);
  deterministic_system env;
  auto handles = spawn_training(env.sys(), run, problem.value(), {});
  REQUIRE(handles);
  track_all(env, *handles);
  env.run_for(std::chrono::milliseconds(3));
  // Shard 1 alone forgets worker 1: it rejects worker 1's later slices as
  // from an unknown worker, shard 0 applies them.
  const auto& first = handles->shards[0];
  const auto& second = handles->shards[1];
  caf::anon_send(second.orderer, leave_atom::value, worker_id{1});
  auto before_first = env.ask<orderer_stats>(first.orderer, stats_atom::value);
  auto before_second
    = env.ask<orderer_stats>(second.orderer, stats_atom::value);
  env.run_for(std::chrono::milliseconds(10));
  auto m = env.ask<membership_stats>(handles->supervisor, stats_atom::value);
  auto after_first = env.ask<orderer_stats>(first.orderer, stats_atom::value);
  auto after_second = env.ask<orderer_stats>(second.orderer, stats_atom::value);
  // Every push worker 1 made since is partial: applied by shard 0 only.
  const auto pushes = after_first.accepted_by_worker.at(1)
                      - before_first.accepted_by_worker.at(1);
  REQUIRE(pushes >= 5);
  CHECK(m.gradients_partial == pushes);
  REQUIRE(m.partial_applied.size() == 2);
  CHECK(m.partial_applied[0] == pushes);
  CHECK(m.partial_applied[1] == 0);
  REQUIRE(m.partial_rejected.size() == 2);
  CHECK(m.partial_rejected[0].empty());
  CHECK(m.partial_rejected[1]
        == std::map<rejection_reason, std::uint64_t>{
          {rejection_reason::unknown_worker, pushes}});
  CHECK(after_second.rejected.at(rejection_reason::unknown_worker)
        == pushes);
  CHECK(after_second.accepted_by_worker.at(1)
        == before_second.accepted_by_worker.at(1));
  // Worker 2 is untouched.
  CHECK(after_first.accepted_by_worker.at(2)
          - before_first.accepted_by_worker.at(2)
        == after_second.accepted_by_worker.at(2)
             - before_second.accepted_by_worker.at(2));
  // The run ends at its epoch and its report counts whole gradients: the
  // partial ones are neither applied nor rejected.
  env.run_for(std::chrono::seconds(10));
  const auto& report = *handles->report;
  CHECK(report.stop_reason == "epochs");
  CHECK(report.gradients_partial >= pushes);
  CHECK(report.gradients_rejected.count("duplicate_sequence") == 0);
  const auto counted = report.gradients_applied + report.gradients_partial
                       + total(report.gradients_rejected);
  CHECK(counted <= report.gradients_received);
  CHECK(report.gradients_received - counted <= 2); // in flight at the stop
}

TEST_CASE("training: a deterministic run on a threaded system spawns nothing"
          * doctest::test_suite("real_time")) {
  const auto run = small_run(1);
  auto problem = make_classification_problem(run);
  REQUIRE(problem);
  caf::actor_system_config cfg;
  configure(cfg, /*deterministic=*/false);
  caf::actor_system system{cfg};
  auto report = run_training(system, run, problem.value(), {});
  CHECK(report.failure.find("deterministic") != std::string::npos);
  CHECK(system.registry().running() == 0);
  // (~actor_system waits for the background run to reach its stop rule.)
}

TEST_CASE("training: a run whose workers are all evicted ends with a failure") {
  auto run = small_run(1);
  run.workers.count = 2;
  run.workers.restart_limit = 1;
  training_problem problem;
  problem.initial_parameters = Eigen::VectorXf::Zero(4);
  problem.make_source = [](std::size_t, std::size_t) -> source_result {
    return source_of<throwing_source>(Eigen::VectorXf::Ones(4), 1);
  };
  problem.samples_per_epoch = 100;
  problem.batch_size = 1;
  deterministic_system env;
  auto handles = spawn_training(env.sys(), run, problem, {});
  REQUIRE(handles);
  track_all(env, *handles);
  env.run_for(std::chrono::seconds(10));
  // The run is over, as a failure, and says why.
  CHECK_FALSE(handles->report->stop_reason.empty());
  CHECK(handles->report->evicted == 2);
  CHECK_FALSE(handles->report->failure.empty());
}

TEST_CASE("training: a shard that goes down ends the run naming it") {
  auto run = small_run(3);
  run.server.shards = 2;
  run.run.stop.epochs = 100;
  auto problem = make_classification_problem(run);
  REQUIRE(problem);
  deterministic_system env;
  auto handles = spawn_training(env.sys(), run, problem.value(), {});
  REQUIRE(handles);
  track_all(env, *handles);
  env.run_for(std::chrono::milliseconds(20));
  REQUIRE(handles->report->stop_reason.empty());
  caf::anon_send_exit(handles->shards[1].orderer, caf::exit_reason::kill);
  env.run_for(std::chrono::milliseconds(1));
  CHECK(handles->report->stop_reason == "failure");
  CHECK(handles->report->failure == "shard 1 lost: exit_reason(kill)");
}

TEST_CASE("training: a run whose gradient sources cannot be made ends with "
          "a failure that says why") {
  auto run = small_run(1);
  run.workers.count = 2;
  run.workers.restart_limit = 1;
  training_problem problem;
  problem.initial_parameters = Eigen::VectorXf::Zero(4);
  problem.make_source = [](std::size_t, std::size_t) -> source_result {
    return status::error(status_code::not_found, "no such data file");
  };
  problem.samples_per_epoch = 100;
  problem.batch_size = 1;
  deterministic_system env;
  auto report = run_training(env.sys(), run, problem, {});
  CHECK(report.stop_reason == "failure");
  CHECK(report.evicted == 2);
  CHECK(report.crashed == 4);
  CHECK(report.joined == 0);
  CHECK(report.failure.find("no live worker") != std::string::npos);
  CHECK(report.failure.find("no such data file") != std::string::npos);
  CHECK(env.running() == 0);
}

namespace {

/// x * 1e-10f for x = 1e-30f: 1e-40 as a denormal, 0 when flushed.
float denormal_product() {
  volatile float x = 1e-30f;
  return x * 1e-10f;
}

} // namespace

TEST_CASE("training: the actor system's threads flush denormals to zero"
          * doctest::test_suite("real_time")) {
  REQUIRE(denormal_product() != 0.0f); // not flushed on the test's thread
  caf::actor_system_config cfg;
  configure(cfg, false);
  caf::actor_system system{cfg};
  auto computer = system.spawn(
    [] { return caf::behavior{[](int) { return denormal_product(); }}; });
  caf::scoped_actor self{system};
  float product = -1;
  self->request(computer, caf::infinite, 0)
    .receive([&](float value) { product = value; },
             [&](caf::error& error) { FAIL(system.render(error)); });
  CHECK(product == 0.0f);
  self->send_exit(computer, caf::exit_reason::kill);
}

TEST_CASE("training: a deterministic run restores the caller's float mode") {
  REQUIRE(denormal_product() != 0.0f);
  auto report = run_once(small_run(3));
  CHECK(report.failure.empty());
  CHECK(denormal_product() != 0.0f);
}

namespace {

/// quadratic_source whose every third gradient has a NaN in its last value.
class sometimes_nan_source : public quadratic_source {
public:
  using quadratic_source::quadratic_source;

  float compute(Eigen::Ref<const Eigen::VectorXf> parameters,
                Eigen::Ref<Eigen::VectorXf> gradient) override {
    auto loss = quadratic_source::compute(parameters, gradient);
    if (calls % 3 == 0)
      gradient[gradient.size() - 1] = NAN;
    return loss;
  }
};

} // namespace

TEST_CASE("training: with two shards a NaN gradient is rejected once") {
  auto run = small_run(5);
  run.server.shards = 2;
  run.workers.speed.profile = config::speed_profile::uniform;
  training_problem problem;
  const Eigen::VectorXf target = Eigen::VectorXf::LinSpaced(8, -1, 1);
  problem.initial_parameters = Eigen::VectorXf::Zero(8);
  problem.make_source
    = [target](std::size_t, std::size_t) -> source_result {
    return source_of<sometimes_nan_source>(target);
  };
  problem.samples_per_epoch = 300;
  problem.batch_size = 1;
  deterministic_system env;
  auto report = run_training(env.sys(), run, problem, {});
  REQUIRE(report.failure.empty());
  // 2 epochs of 300 gradients; a third of them carry a NaN in the second
  // shard's slice, and both shards refused them.
  CHECK(report.gradients_received >= 600);
  REQUIRE(report.gradients_rejected.count("non_finite_value") == 1);
  auto rejected = report.gradients_rejected.at("non_finite_value");
  CHECK(report.gradients_received
        == report.gradients_applied + total(report.gradients_rejected));
  CHECK(rejected >= report.gradients_received / 3 - 3);
  CHECK(rejected <= report.gradients_received / 3 + 3);
  // Neither shard applied a part of them: the parameters stayed finite
  // and approached the target.
  CHECK(report.final_parameters.allFinite());
  CHECK((report.final_parameters - target).norm() < 0.5 * target.norm());
}

TEST_CASE("training: a real-time run stops at exactly its epoch count"
          * doctest::test_suite("real_time")) {
  // Real threads: the orderer reports its counters with the milestone, so
  // however the scheduler runs the monitor the count is the rule's.
  auto run = small_run(6);
  run.run.deterministic = false;
  run.workers.count = 4;
  run.workers.speed.profile = config::speed_profile::uniform;
  run.output.evaluations_per_epoch = 8;
  auto problem = make_classification_problem(run);
  REQUIRE(problem);
  caf::actor_system_config cfg;
  configure(cfg, false);
  caf::actor_system system{cfg};
  auto report = run_training(system, run, problem.value(), {});
  REQUIRE(report.failure.empty());
  CHECK(report.stop_reason == "epochs");
  // 2 epochs of 2000 samples in gradients of 32: ceil(125).
  CHECK(report.gradients_received == 125);
  CHECK(report.gradients_received
        == report.gradients_applied + total(report.gradients_rejected));
  CHECK(report.rows.back().gradients == report.gradients_applied);
}

TEST_CASE(
  "training: workers.request_timeout_s bounds the wait at the barrier") {
  // SSGDm, the second worker 10x slower: the first waits about 9 ms of
  // virtual time at each barrier.
  auto barrier_run = [](double timeout_s) {
    auto run = small_run(7);
    run.algorithm.settings.name = optim::algorithm::ssgdm;
    run.workers.count = 2;
    run.workers.speed.profile = config::speed_profile::factors;
    run.workers.speed.factors = {1, 10};
    run.workers.compute_jitter = 0;
    run.workers.restart_limit = 0;
    run.workers.request_timeout_s = timeout_s;
    run.run.stop.epochs = 0.5;
    return run_once(run);
  };
  auto patient = barrier_run(1);
  CHECK(patient.failure.empty());
  CHECK(patient.crashed == 0);
  auto hasty = barrier_run(0.002);
  CHECK(hasty.crashed > 0);
}

TEST_CASE("training: a deterministic run is cut every N iterations with its "
          "workers paused: every shard's part and the run's own") {
  ormo::test::scratch_directory dir;
  auto run = small_run(5);
  run.server.shards = 2;
  run.checkpoints.every_iterations = 10;
  run.checkpoints.keep = 2;
  run.checkpoints.dir = (dir.path() / "saved").string();
  const auto report = run_once(run);
  REQUIRE_MESSAGE(report.failure.empty(), report.failure);
  REQUIRE(report.iterations >= 30);
  checkpoint_store store(dir.path() / "saved", 2);
  auto runs = store.files(checkpoint_store::run_series);
  REQUIRE(runs.size() == 2);
  std::int64_t previous = 0;
  for (const auto& file : runs) {
    CAPTURE(file);
    auto payload = read_checkpoint_file(file);
    REQUIRE(payload);
    auto cut = decode_run_checkpoint(*payload);
    REQUIRE_MESSAGE(cut, cut.error().message());
    REQUIRE(cut->shard_iterations.size() == 2);
    // Taken at the first moment every push was answered after a multiple
    // of 10: every shard had decided the same pushes.
    auto iteration = cut->shard_iterations[0];
    CHECK(iteration == cut->shard_iterations[1]);
    CHECK(iteration / 10 > previous / 10);
    CHECK(iteration % 10 < 3);
    previous = iteration;
    CHECK(cut->workers.size() == 3);
    CHECK_FALSE(cut->rows.empty());
    CHECK(cut->clock_ns >= cut->training_start_ns);
    std::uint64_t pushed = 0;
    for (const auto& worker : cut->workers) {
      CHECK(worker.sequence == worker.batches); // nothing lost or pending
      pushed += worker.sequence;
    }
    for (std::uint32_t shard = 0; shard < 2; ++shard) {
      CAPTURE(shard);
      auto part = store.at(checkpoint_store::shard_series(shard), iteration);
      REQUIRE(part);
      auto shard_cut = decode_shard_checkpoint(part->payload);
      REQUIRE_MESSAGE(shard_cut, shard_cut.error().message());
      CHECK(shard_cut->shard == shard);
      // The server had applied exactly the steps the orderer had sent.
      CHECK(shard_cut->server_iteration == shard_cut->rule.iteration);
      const auto& c = shard_cut->counters;
      std::uint64_t rejected = 0;
      for (const auto& [reason, count] : c.rejected)
        rejected += count;
      CHECK(c.received == c.accepted + rejected);
      CHECK(c.received == pushed); // every push decided, none in flight
      CHECK(c.loss_count == c.accepted);
      CHECK(shard_cut->ledger.size() == 3);
      CHECK(shard_cut->momentum.size() == shard_cut->size);
    }
  }
  CHECK(previous <= report.iterations);
  // One more shard part than cuts: a crash between a cut's parts and its
  // own file still finds the previous cut whole.
  CHECK(store.files(checkpoint_store::shard_series(0)).size() == 3);
}

TEST_CASE("training: a real-time shard writes its checkpoint at each "
          "multiple of N iterations on its own"
          * doctest::test_suite("real_time")) {
  ormo::test::scratch_directory dir;
  auto run = small_run(5);
  run.run.deterministic = false;
  run.checkpoints.every_iterations = 10;
  run.checkpoints.keep = 2;
  run.checkpoints.dir = (dir.path() / "saved").string();
  auto problem = make_classification_problem(run);
  REQUIRE(problem);
  caf::actor_system_config cfg;
  configure(cfg, false);
  caf::actor_system system{cfg};
  const auto report = run_training(system, run, problem.value(), {});
  REQUIRE_MESSAGE(report.failure.empty(), report.failure);
  checkpoint_store store(dir.path() / "saved", 2);
  auto files = store.files(checkpoint_store::shard_series(0));
  REQUIRE_FALSE(files.empty());
  for (const auto& file : files) {
    auto cut = decode_shard_checkpoint(*read_checkpoint_file(file));
    REQUIRE(cut);
    CHECK(cut->rule.iteration % 10 == 0);
  }
  CHECK(store.files(checkpoint_store::run_series).empty());
}

TEST_CASE("training: a deterministic run resumed from a checkpoint ends "
          "bit-exact as the run that never stopped") {
  struct variant {
    const char* name;
    int shards;
    optim::algorithm algorithm;
    double jitter;
    int pushes_in_flight;
  };
  for (auto v :
       {variant{"ormo, 1 shard", 1, optim::algorithm::ormo, 0.2, 1},
        variant{"ormo, 2 shards, pipelined", 2, optim::algorithm::ormo, 0.2, 2},
        variant{"naive-asgdm, no jitter", 1, optim::algorithm::naive_asgdm, 0,
                1},
        variant{"ssgdm", 1, optim::algorithm::ssgdm, 0.2, 1}}) {
    std::string name = v.name;
    CAPTURE(name);
    ormo::test::scratch_directory dir;
    auto run = small_run(11);
    run.server.shards = v.shards;
    run.algorithm.settings.name = v.algorithm;
    run.workers.compute_jitter = v.jitter;
    run.workers.pushes_in_flight = v.pushes_in_flight;
    run.checkpoints.every_iterations = 10;
    run.checkpoints.keep = 100;
    run.checkpoints.dir = (dir.path() / "saved").string();
    const auto whole = run_once(run);
    REQUIRE_MESSAGE(whole.failure.empty(), whole.failure);
    REQUIRE(whole.iterations >= 30);

    keep_only_cut(dir.path() / "saved", 1);
    auto problem = make_classification_problem(run);
    REQUIRE(problem);
    deterministic_system env;
    auto resumed = run_training(env.sys(), run, problem.value(), {}, true);
    REQUIRE_MESSAGE(resumed.failure.empty(), resumed.failure);
    REQUIRE(resumed.resumed_from.size() == 1 + v.shards);
    CHECK(resumed.refused_checkpoints.empty());
    CHECK(same_rows(resumed.rows, whole.rows));
    CHECK(resumed.final_parameters == whole.final_parameters);
    CHECK(resumed.iterations == whole.iterations);
    CHECK(resumed.gradients_received == whole.gradients_received);
    CHECK(resumed.gradients_applied == whole.gradients_applied);
    CHECK(resumed.time_seconds == whole.time_seconds);
    CHECK(resumed.joined == whole.joined);
  }
}

TEST_CASE("training: a resumed run passes over a damaged checkpoint to the "
          "one before, and fails naming the place when there is none") {
  ormo::test::scratch_directory dir;
  auto run = small_run(11);
  run.checkpoints.every_iterations = 10;
  run.checkpoints.keep = 100;
  run.checkpoints.dir = (dir.path() / "saved").string();
  const auto whole = run_once(run);
  REQUIRE_MESSAGE(whole.failure.empty(), whole.failure);
  keep_only_cut(dir.path() / "saved", 1);
  checkpoint_store store(dir.path() / "saved", 100);
  auto runs = store.files(checkpoint_store::run_series);
  REQUIRE(runs.size() == 2);
  std::filesystem::resize_file(runs[1], 30); // truncated
  auto problem = make_classification_problem(run);
  REQUIRE(problem);
  {
    deterministic_system env;
    auto resumed = run_training(env.sys(), run, problem.value(), {}, true);
    REQUIRE_MESSAGE(resumed.failure.empty(), resumed.failure);
    REQUIRE(resumed.refused_checkpoints.size() == 1);
    CHECK(resumed.refused_checkpoints[0].find(runs[1].string())
          != std::string::npos);
    CHECK(resumed.resumed_from.front() == runs[0].string());
    // From an earlier cut of the same run: the same end.
    CHECK(same_rows(resumed.rows, whole.rows));
    CHECK(resumed.final_parameters == whole.final_parameters);
  }
  std::filesystem::remove_all(dir.path() / "saved");
  deterministic_system env;
  auto none = run_training(env.sys(), run, problem.value(), {}, true);
  CHECK(none.failure.find("cannot resume") != std::string::npos);
  CHECK_MESSAGE(none.failure.find((dir.path() / "saved").string())
                  != std::string::npos,
                none.failure);
}

TEST_CASE("training: a checkpoint that cannot be written fails the run, "
          "naming the place") {
  ormo::test::scratch_directory dir;
  {
    std::ofstream blocker(dir.path() / "file");
    blocker << "not a directory";
  }
  auto run = small_run(5);
  run.checkpoints.every_iterations = 10;
  run.checkpoints.dir = (dir.path() / "file" / "saved").string();
  const auto report = run_once(run);
  CHECK(report.stop_reason == "failure");
  CHECK_MESSAGE(report.failure.find(run.checkpoints.dir) != std::string::npos,
                report.failure);
}
