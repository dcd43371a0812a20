// Declared faults in deterministic runs: every kind is injected into a real
// training run, which must still account for every gradient (received =
// applied + rejected + partial; none decided twice; what is missing is
// counted as lost, or was in flight or on a crashed worker), and still
// learn. The injector fires at exact counts, and a faulty run replays.
#include "ormo/actors/fault_injector.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "actors/actor_testing.hpp"
#include "helpers.hpp"
#include "ormo/actors/classification_problem.hpp"
#include "ormo/actors/run_report.hpp"
#include "ormo/config/parse_run_config.hpp"

using namespace ormo;
using namespace ormo::actors;
using namespace ormo::actors::testing;

namespace {

/// Three workers, one shard, 4 epochs of 62.5 gradients (about 85 virtual
/// ms); a push unanswered for 5 ms is sent again, a worker without an
/// answer for 30 to 60 ms fails.
constexpr std::string_view base_run = R"([run]
seed = 5
deterministic = true
stop_epochs = 4
[data]
inputs = 16
train_samples = 2000
test_samples = 500
[model]
kind = "mlp"
hidden = [16]
batch_size = 32
[workers]
count = 3
compute_ms = 1
retry_after_s = 0.005
request_timeout_s = 0.03
[algorithm]
name = "ormo"
learning_rate = 0.1
[output]
evaluations_per_epoch = 4
)";

config::run_config parse(const std::string& text) {
  auto run = config::parse_run_config(text, "<test>");
  INFO(text);
  REQUIRE_MESSAGE(run.has_value(), run.error().message());
  return std::move(run).value();
}

/// Passes every call on and counts the gradients computed.
class counting_source : public model::gradient_source {
public:
  counting_source(std::shared_ptr<model::gradient_source> inner,
                  std::shared_ptr<std::atomic<std::uint64_t>> computed)
    : inner_(std::move(inner)), computed_(std::move(computed)) {}

  std::size_t dimension() const override { return inner_->dimension(); }
  std::size_t batch_size() const override { return inner_->batch_size(); }
  float compute(Eigen::Ref<const Eigen::VectorXf> parameters,
                Eigen::Ref<Eigen::VectorXf> gradient) override {
    ++*computed_;
    return inner_->compute(parameters, gradient);
  }

private:
  std::shared_ptr<model::gradient_source> inner_;
  std::shared_ptr<std::atomic<std::uint64_t>> computed_;
};

struct outcome {
  run_report report;
  /// Gradients the workers computed.
  std::uint64_t computed = 0;
};

outcome run_with(const std::string& text) {
  auto run = parse(text);
  auto problem = make_classification_problem(run);
  REQUIRE(problem);
  auto computed = std::make_shared<std::atomic<std::uint64_t>>(0);
  auto make_source = problem->make_source;
  problem->make_source =
    [=](std::size_t slot,
        std::size_t slots) -> result<std::shared_ptr<model::gradient_source>> {
    auto inner = make_source(slot, slots);
    if (!inner)
      return inner;
    return std::shared_ptr<model::gradient_source>(
      std::make_shared<counting_source>(std::move(inner).value(), computed));
  };
  outcome out;
  {
    deterministic_system env;
    out.report = run_training(env.sys(), run, problem.value(), {});
    CHECK(env.running() == 0);
  }
  out.computed = computed->load();
  return out;
}

/// The properties every faulty run keeps.
void check_accounting(const outcome& run, int pushes_in_flight = 1) {
  const auto& r = run.report;
  INFO(to_json(r));
  CHECK(r.failure.empty());
  CHECK(r.stop_reason == "epochs");
  // Every decided gradient once, by its decision.
  CHECK(r.gradients_received
        == r.gradients_applied + total(r.gradients_rejected)
             + r.gradients_partial);
  // None decided (let alone applied) twice: never more than were computed.
  CHECK(r.gradients_received <= run.computed);
  // The others are accounted for: lost with a failing worker, rolled back
  // with a restarted shard, computed by a worker that crashed before
  // pushing it, or in flight at the end.
  CHECK(run.computed
        <= r.gradients_received + r.gradients_lost + r.gradients_rolled_back
             + r.crashed
             + r.joined * static_cast<std::uint32_t>(pushes_in_flight + 1));
  CHECK(r.crashed == r.restarted + r.evicted);
  CHECK(r.restarts == r.restarted);
  // Still learning (10 classes: chance is 0.1).
  REQUIRE(r.rows.size() >= 2);
  CHECK(r.rows.back().test_accuracy > 0.3);
  CHECK(r.rows.back().test_accuracy > r.rows.front().test_accuracy + 0.1);
}

/// What the injector sent: worker faults (to the supervisor) and link
/// faults (to each link, by index).
struct sent {
  std::vector<worker_fault> to_supervisor;
  std::vector<std::pair<std::size_t, link_fault>> to_links;
};

std::string fault(const std::string& body) {
  return std::string{base_run} + "[[faults]]\n" + body;
}

} // namespace

TEST_CASE("faults: a run without faults counts none") {
  auto run = run_with(std::string{base_run});
  check_accounting(run);
  CHECK(run.report.faults_injected.empty());
  CHECK(run.report.crashed == 0);
  CHECK(run.report.retries == 0);
  CHECK(run.report.gradients_duplicate == 0);
}

TEST_CASE("faults: kill_worker at a gradient count; the supervisor "
          "restarts it") {
  auto run = run_with(fault("kind = \"kill_worker\"\ntarget = \"worker 1\"\n"
                            "at_gradient = 40\n"));
  check_accounting(run);
  const auto& r = run.report;
  CHECK(r.faults_injected
        == std::map<std::string, std::uint64_t>{{"kill_worker", 1}});
  CHECK(r.crashed == 1);
  CHECK(r.restarts == 1);
  CHECK(r.joined == 4);
  CHECK(r.last_failure.find("killed by a declared fault") != std::string::npos);
}

TEST_CASE("faults: kill_worker at an iteration") {
  auto run = run_with(fault("kind = \"kill_worker\"\ntarget = \"worker 0\"\n"
                            "at_iteration = 10\n"));
  check_accounting(run);
  CHECK(run.report.faults_injected.at("kill_worker") == 1);
  CHECK(run.report.crashed == 1);
}

TEST_CASE("faults: fail_gradient crashes the slot's workers while it "
          "lasts") {
  auto run = run_with(
    fault("kind = \"fail_gradient\"\ntarget = \"worker 0\"\nat_seconds = "
          "0.01\nduration_s = 0.01\nprobability = 0.3\n")
    + "");
  check_accounting(run);
  const auto& r = run.report;
  CHECK(r.faults_injected.at("fail_gradient") == 1);
  CHECK(r.crashed >= 1);
  CHECK(r.last_failure.find("declared fault: the gradient function failed")
        != std::string::npos);
}

TEST_CASE("faults: slow_worker and freeze_worker cost time, no crash") {
  auto baseline = run_with(std::string{base_run});
  auto slow = run_with(fault("kind = \"slow_worker\"\ntarget = \"worker 2\"\n"
                             "at_seconds = 0.005\nduration_s = 0.05\n"
                             "factor = 10\n"));
  check_accounting(slow);
  CHECK(slow.report.faults_injected.at("slow_worker") == 1);
  CHECK(slow.report.crashed == 0);
  // One of three workers at a tenth of its speed for 50 of about 85 ms.
  CHECK(slow.report.time_seconds > baseline.report.time_seconds * 1.1);
  // Frozen for less than the request timeout: it goes on after the thaw.
  auto frozen = run_with(fault("kind = \"freeze_worker\"\ntarget = \"worker "
                               "1\"\nat_seconds = 0.01\nduration_s = 0.025\n"));
  check_accounting(frozen);
  CHECK(frozen.report.faults_injected.at("freeze_worker") == 1);
  CHECK(frozen.report.crashed == 0);
  CHECK(frozen.report.time_seconds > baseline.report.time_seconds);
}

TEST_CASE("faults: a worker frozen for longer than its request timeout is "
          "found by the supervisor, ended and replaced") {
  // The supervisor asks each worker for a sign of life every second.
  auto text = fault("kind = \"freeze_worker\"\ntarget = \"worker 1\"\n"
                    "at_seconds = 0.99\nduration_s = 5\n");
  text.replace(text.find("stop_epochs = 4"), 15, "stop_epochs = 60");
  auto run = run_with(text);
  check_accounting(run);
  const auto& r = run.report;
  CHECK(r.faults_injected.at("freeze_worker") == 1);
  CHECK(r.crashed == 1);
  CHECK(r.restarts == 1);
  CHECK(r.last_failure.find("no sign of life within 0.03 s")
        != std::string::npos);
  // Found within a probe interval and a timeout, not after the thaw.
  CHECK(r.time_seconds < 5);
}

TEST_CASE("faults: drop loses pushes and answers; the retries make up for "
          "them") {
  auto run = run_with(fault("kind = \"drop\"\ntarget = \"worker 0 <-> shard "
                            "0\"\nat_seconds = 0.005\nduration_s = 0.03\n"
                            "probability = 0.5\n"));
  check_accounting(run);
  const auto& r = run.report;
  CHECK(r.faults_injected.at("drop") == 1);
  CHECK(r.retries > 0);
  // Lost answers' pushes came again and were answered, never applied.
  CHECK(r.gradients_duplicate > 0);
  CHECK(r.crashed == 0);
}

TEST_CASE("faults: with pipelining, a slice lost for long is still placed "
          "when it comes again, never refused as too old") {
  // While one push's slice to shard 1 is lost, the worker completes others
  // (two in flight, about one a millisecond); its retries come after 100
  // to 200 ms.
  auto text = fault("kind = \"drop\"\ntarget = \"worker 0 <-> shard 1\"\n"
                    "at_seconds = 0.005\nduration_s = 0.3\nprobability = "
                    "0.05\n");
  text.replace(text.find("stop_epochs = 4"), 15, "stop_epochs = 12");
  text.replace(text.find("compute_ms = 1"), 14,
               "compute_ms = 1\npushes_in_flight = 2");
  text.replace(text.find("retry_after_s = 0.005"), 21, "retry_after_s = 0.1");
  text.replace(text.find("request_timeout_s = 0.03"), 24,
               "request_timeout_s = 0.5");
  text += "[server]\nshards = 2\n";
  auto run = run_with(text);
  check_accounting(run, 2);
  const auto& r = run.report;
  CHECK(r.retries > 0);
  CHECK(r.gradients_partial == 0);
  CHECK(r.gradients_rejected.empty());
}

TEST_CASE("faults: delay slows a link without retries") {
  auto baseline = run_with(std::string{base_run});
  auto run = run_with(fault("kind = \"delay\"\ntarget = \"worker 0 <-> shard "
                            "0\"\nat_seconds = 0.005\nduration_s = 0.06\n"
                            "delay_ms = 2\n"));
  check_accounting(run);
  CHECK(run.report.faults_injected.at("delay") == 1);
  CHECK(run.report.retries == 0);
  CHECK(run.report.time_seconds > baseline.report.time_seconds);
}

TEST_CASE("faults: duplicate delivers pushes twice, each applied once") {
  auto run = run_with(fault("kind = \"duplicate\"\ntarget = \"worker 2 <-> "
                            "shard 0\"\nat_seconds = 0.005\nduration_s = "
                            "0.02\n"));
  check_accounting(run);
  const auto& r = run.report;
  CHECK(r.faults_injected.at("duplicate") == 1);
  CHECK(r.gradients_duplicate >= 5);
  CHECK(r.retries == 0);
  CHECK(r.gradients_rejected.empty());
}

TEST_CASE("faults: reorder lets later pushes overtake earlier ones") {
  auto text = fault("kind = \"reorder\"\ntarget = \"worker 1 <-> shard 0\"\n"
                    "at_seconds = 0.005\nduration_s = 0.05\nprobability = "
                    "0.5\ndelay_ms = 3\n");
  text.replace(text.find("compute_ms = 1"), 14,
               "compute_ms = 1\npushes_in_flight = 2");
  auto run = run_with(text);
  check_accounting(run, 2);
  CHECK(run.report.faults_injected.at("reorder") == 1);
  CHECK(run.report.crashed == 0);
}

TEST_CASE("faults: partition cuts a worker off; its watchdog ends it and "
          "the supervisor restarts it") {
  auto run = run_with(fault("kind = \"partition\"\ntarget = \"worker 1\"\n"
                            "at_seconds = 0.01\nduration_s = 0.05\n"));
  check_accounting(run);
  const auto& r = run.report;
  CHECK(r.faults_injected.at("partition") == 1);
  CHECK(r.crashed >= 1);
  CHECK(r.gradients_lost >= 1);
  CHECK(r.retries > 0);
  CHECK(r.last_failure.find("no answer from the shards within 0.03 s")
        != std::string::npos);
}

TEST_CASE("faults: kill_shard restarts the shard from its newest "
          "checkpoint; what it decided since is counted as rolled back") {
  ormo::test::scratch_directory dir;
  auto run = run_with(
    fault("kind = \"kill_shard\"\ntarget = \"shard 0\"\nat_iteration = 40\n"
          "[checkpoints]\nevery_iterations = 15\ndir = \""
          + (dir.path() / "ckpt").string() + "\"\n"));
  check_accounting(run);
  const auto& r = run.report;
  CHECK(r.faults_injected.at("kill_shard") == 1);
  CHECK(r.shard_restarts == 1);
  CHECK(r.crashed == 0); // the workers go on with the restarted shard
  // Killed at iteration 40, restarted from the cut taken just after 30:
  // the gradients it had decided since are gone with it, and counted.
  CHECK(r.gradients_rolled_back >= 3 * 5);
  CHECK(r.gradients_rolled_back <= 3 * 10);
}

TEST_CASE("faults: a faulty deterministic run replays exactly") {
  auto text = std::string{base_run} + R"(
[[faults]]
kind = "drop"
target = "worker 0 <-> shard 0"
at_seconds = 0.005
duration_s = 0.03
probability = 0.3

[[faults]]
kind = "kill_worker"
target = "worker 2"
at_gradient = 60

[[faults]]
kind = "duplicate"
target = "worker 1 <-> shard 0"
at_iteration = 5
duration_s = 0.02
probability = 0.5

[[faults]]
kind = "slow_worker"
target = "worker 1"
at_seconds = 0.02
duration_s = 0.02
factor = 3
)";
  auto first = run_with(text);
  auto second = run_with(text);
  check_accounting(first);
  CHECK(
    first.report.faults_injected
    == std::map<std::string, std::uint64_t>{
      {"drop", 1}, {"duplicate", 1}, {"kill_worker", 1}, {"slow_worker", 1}});
  auto without_wall = [](run_report r) {
    r.wall_seconds = 0;
    r.samples_per_second = 0;
    for (auto& row : r.rows)
      row.wall_s = 0;
    return r;
  };
  CHECK(to_json(without_wall(first.report))
        == to_json(without_wall(second.report)));
  CHECK(to_csv(without_wall(first.report).rows)
        == to_csv(without_wall(second.report).rows));
  CHECK(first.computed == second.computed);
}

TEST_CASE("fault_injector: fires at the exact count, iteration and second") {
  auto run = parse(std::string{base_run} + R"(
[[faults]]
kind = "kill_worker"
target = "worker 1"
at_gradient = 5

[[faults]]
kind = "drop"
target = "worker 2 <-> shard 0"
at_iteration = 3
duration_s = 1
probability = 0.5

[[faults]]
kind = "slow_worker"
target = "worker 0"
at_seconds = 0.5
duration_s = 2
factor = 3

[[faults]]
kind = "partition"
target = "worker 1"
at_gradient = 5
duration_s = 1
)");
  deterministic_system env;
  auto record = std::make_shared<sent>();
  auto supervisor = env.track(env.sys().spawn([=](caf::event_based_actor*) {
    return caf::behavior{[=](fault_atom, const worker_fault& fault) {
      record->to_supervisor.push_back(fault);
    }};
  }));
  std::vector<link_interceptor_actor> links;
  for (std::size_t k = 0; k < 3; ++k)
    links.push_back(caf::actor_cast<link_interceptor_actor>(
      env.track(env.sys().spawn([=](caf::event_based_actor*) {
        return caf::behavior{[=](fault_atom, const link_fault& fault) {
          record->to_links.emplace_back(k, fault);
        }};
      }))));
  fault_injector_settings settings;
  settings.faults = run.faults;
  settings.seed = 5;
  settings.shards = 1;
  settings.counts = std::make_shared<fault_counts>();
  auto injector = env.track(spawn_fault_injector(env.sys(), settings));
  // Gradients before the start count.
  caf::anon_send(injector, tally_atom::value, std::uint64_t{1},
                 iteration_index{0});
  caf::anon_send(injector, start_atom::value,
                 caf::actor_cast<supervisor_actor>(supervisor),
                 run_monitor_actor{}, links);
  env.run();
  for (int k = 0; k < 3; ++k)
    caf::anon_send(injector, tally_atom::value, std::uint64_t{1},
                   iteration_index{2});
  env.run();
  CHECK(record->to_supervisor.empty());
  CHECK(record->to_links.empty());
  // The fifth gradient: the kill and the partition of worker 1.
  caf::anon_send(injector, tally_atom::value, std::uint64_t{1},
                 iteration_index{2});
  env.run();
  REQUIRE(record->to_supervisor.size() == 1);
  CHECK(record->to_supervisor[0].kind == worker_fault_kind::kill);
  CHECK(record->to_supervisor[0].slot == 1);
  REQUIRE(record->to_links.size() == 1);
  CHECK(record->to_links[0].first == 1);
  CHECK(record->to_links[0].second.kind == link_fault_kind::partition);
  CHECK(record->to_links[0].second.duration == std::chrono::seconds(1));
  // Iteration 3: the drop on worker 2's link.
  caf::anon_send(injector, tally_atom::value, std::uint64_t{0},
                 iteration_index{3});
  env.run();
  REQUIRE(record->to_links.size() == 2);
  CHECK(record->to_links[1].first == 2);
  CHECK(record->to_links[1].second.kind == link_fault_kind::drop);
  CHECK(record->to_links[1].second.probability == 0.5);
  // Half a second after the start: the slowdown, not a moment before.
  env.run_for(std::chrono::milliseconds(499));
  CHECK(record->to_supervisor.size() == 1);
  env.run_for(std::chrono::milliseconds(2));
  REQUIRE(record->to_supervisor.size() == 2);
  CHECK(record->to_supervisor[1].kind == worker_fault_kind::slow);
  CHECK(record->to_supervisor[1].slot == 0);
  CHECK(record->to_supervisor[1].factor == 3);
  CHECK(record->to_supervisor[1].duration == std::chrono::seconds(2));
  // Each fault once.
  caf::anon_send(injector, tally_atom::value, std::uint64_t{100},
                 iteration_index{100});
  env.run_for(std::chrono::seconds(10));
  CHECK(record->to_supervisor.size() == 2);
  CHECK(record->to_links.size() == 2);
  CHECK(
    settings.counts->snapshot()
    == std::map<std::string, std::uint64_t>{
      {"drop", 1}, {"kill_worker", 1}, {"partition", 1}, {"slow_worker", 1}});
}

TEST_CASE("faults: a real-time run with faults keeps its counts"
          * doctest::test_suite("real_time")) {
  // Counted triggers, so that every fault fires whatever the timing.
  auto text = std::string{base_run} + R"(
[[faults]]
kind = "drop"
target = "worker 0 <-> shard 0"
at_gradient = 10
duration_s = 0.05
probability = 0.3

[[faults]]
kind = "duplicate"
target = "worker 1 <-> shard 0"
at_gradient = 20
duration_s = 0.05
probability = 0.5

[[faults]]
kind = "freeze_worker"
target = "worker 2"
at_gradient = 30
duration_s = 0.01

[[faults]]
kind = "kill_worker"
target = "worker 1"
at_iteration = 20
)";
  text.replace(text.find("deterministic = true"), 20, "deterministic = false");
  // Long enough in real time (about half a second) for every worker to
  // have joined before the faults fire: a run of 40 epochs sometimes ended
  // before the fourth worker joined, and the kill of its slot struck none.
  text.replace(text.find("stop_epochs = 4"), 15, "stop_epochs = 400");
  auto run = parse(text);
  auto problem = make_classification_problem(run);
  REQUIRE(problem);
  outcome out;
  {
    caf::actor_system_config cfg;
    configure(cfg, /*deterministic=*/false);
    caf::actor_system system{cfg};
    out.report = run_training(system, run, problem.value(), {});
  }
  const auto& r = out.report;
  INFO(to_json(r));
  CHECK(r.failure.empty());
  CHECK(r.gradients_received
        == r.gradients_applied + total(r.gradients_rejected)
             + r.gradients_partial);
  CHECK(r.crashed == r.restarted + r.evicted);
  CHECK(r.crashed >= 1);
  CHECK(
    r.faults_injected
    == std::map<std::string, std::uint64_t>{
      {"drop", 1}, {"duplicate", 1}, {"freeze_worker", 1}, {"kill_worker", 1}});
  CHECK(r.rows.back().test_accuracy > 0.3);
}
